//! A person's notification preferences: one record of their own (`ORG#{org}#PREFS#{person}`), read
//! by the event router for each person an event notifies.

use super::sessions::Account;
use super::{get_versioned, table_keys, to_attrs, Store, StoreError, Versioned, Write};
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

/// The write that saves the person's preferences read at `version`.
pub fn save(org: &OrgId, person: Account, preferences: &Preferences, version: u64) -> Write {
    Write::put_versioned(
        table_keys::preferences(org, person.id()).record(to_attrs(preferences)),
        version,
    )
}

/// The write that forgets them (the account is removed).
pub fn forget(org: &OrgId, person: Account) -> Write {
    Write::Delete {
        key: table_keys::preferences(org, person.id()),
        condition: super::Condition::None,
    }
}
