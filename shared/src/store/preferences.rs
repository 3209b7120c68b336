//! A person's notification preferences: one record of their own (`ORG#{org}#PREFS#{person}`), read
//! by the event router for each person an event notifies.

use super::sessions::Account;
use serde::Deserialize;
use serde_json::Value;

use super::{from_record, get_versioned, table_keys, to_attrs, Store, StoreError, Versioned, Write, GSI2PK, GSI2SK};
use crate::domain::notifications::Preferences;
use crate::domain::OrgId;

/// The person's preferences (none chosen: the defaults), with the version a change must match.
pub async fn get(store: &dyn Store, org: &OrgId, person: Account<'_>) -> Result<Versioned<Preferences>, StoreError> {
    Ok(get_versioned(store, &table_keys::preferences(org, person.id()))
        .await?
        .unwrap_or(Versioned {
            value: Preferences::default(),
            version: 0,
        }))
}

/// The write that saves the person's preferences read at `version`. Preferences that take a digest
/// are listed in GSI2 under [`table_keys::DIGEST_TAKERS_PK`], so the digest job finds them.
pub fn save(org: &OrgId, person: Account, preferences: &Preferences, version: u64) -> Write {
    let mut attrs = to_attrs(preferences);
    if !preferences.digests.is_empty() {
        attrs.insert(GSI2PK.into(), Value::from(table_keys::DIGEST_TAKERS_PK));
        attrs.insert(GSI2SK.into(), Value::from(format!("{org}#{}", person.id())));
        attrs.insert("org_id".into(), Value::from(org.as_str()));
        attrs.insert("person_id".into(), Value::from(person.id()));
    }
    Write::put_versioned(table_keys::preferences(org, person.id()).record(attrs), version)
}

/// A person who takes a digest, with their preferences.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DigestTaker {
    pub org_id: OrgId,
    pub person_id: String,
    #[serde(flatten)]
    pub preferences: Preferences,
}

/// Every person, in every organisation, whose preferences take a digest (GSI2, page by page).
pub async fn digest_takers(store: &dyn Store) -> Result<Vec<DigestTaker>, StoreError> {
    let mut takers = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store
            .query_gsi2(table_keys::DIGEST_TAKERS_PK, after.as_deref(), false, 100)
            .await?;
        let last = page
            .last()
            .and_then(|r| r.get(GSI2SK))
            .and_then(Value::as_str)
            .map(str::to_string);
        let full = page.len() == 100;
        for record in page {
            takers.push(from_record(record)?);
        }
        match last.filter(|_| full) {
            Some(last) => after = Some(last),
            None => return Ok(takers),
        }
    }
}

/// The write that forgets them (the account is removed).
pub fn forget(org: &OrgId, person: Account) -> Write {
    Write::Delete {
        key: table_keys::preferences(org, person.id()),
        condition: super::Condition::None,
    }
}
