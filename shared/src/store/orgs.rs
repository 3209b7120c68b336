//! Organisations and their admin keys, as records.

use serde::{Deserialize, Serialize};

use super::{from_record, table_keys, to_attrs, Condition, Store, StoreError, Versioned, Write};
use crate::domain::roles::Role;
use crate::domain::{Event, OrgId, Organisation};

/// An admin API key as stored: its hash is the sort key; only a short prefix is kept for display.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminKey {
    pub org_id: OrgId,
    pub prefix: String,
    pub name: String,
    pub created_at: String,
    /// Keys made before roles existed are owners.
    #[serde(default = "owner")]
    pub role: Role,
    /// When the key last authenticated a request (kept to the minute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
}

fn owner() -> Role {
    Role::Owner
}

/// An admin key with where it is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAdminKey {
    /// `ak_` and the first 16 hex digits of the key's hash: how routes name it.
    pub id: String,
    pub hash: String,
    pub key: AdminKey,
}

/// The id of the admin key whose SHA-256 is `hash`.
pub fn admin_key_id(hash: &str) -> String {
    format!("ak_{}", &hash[..16.min(hash.len())])
}

/// The write that stores a new admin key (refused if its hash is taken).
pub fn new_admin_key(org: &OrgId, hash: &str, key: &AdminKey) -> Write {
    Write::put(
        table_keys::admin_key(org, hash).record(to_attrs(key)),
        Condition::NotExists,
    )
}

/// Records that the key was used now; nothing happens if it was revoked meanwhile.
pub async fn mark_admin_key_used(store: &dyn Store, org: &OrgId, hash: &str, key: &AdminKey) -> Result<(), StoreError> {
    let record = table_keys::admin_key(org, hash).record(to_attrs(key));
    match store.transact(vec![Write::put(record, Condition::Exists)]).await {
        Ok(()) | Err(StoreError::ConditionFailed { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The write that revokes an admin key (refused if it was revoked meanwhile).
pub fn revoke_admin_key(org: &OrgId, hash: &str) -> Write {
    Write::Delete {
        key: table_keys::admin_key(org, hash),
        condition: Condition::Exists,
    }
}

/// A check for a transaction: the admin key is still there.
pub fn admin_key_remains(org: &OrgId, hash: &str) -> Write {
    Write::Check {
        key: table_keys::admin_key(org, hash),
        condition: Condition::Exists,
    }
}

/// A page of the organisation's admin keys, in hash order.
pub async fn admin_keys(
    store: &dyn Store,
    org: &OrgId,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<StoredAdminKey>, Option<String>), StoreError> {
    let page = store
        .query(&table_keys::org_pk(org), table_keys::ADMIN_KEY_PREFIX, after, limit)
        .await?;
    let mut keys = Vec::with_capacity(page.records.len());
    for record in page.records {
        let hash = super::Key::of(&record)
            .and_then(|k| k.sk.strip_prefix(table_keys::ADMIN_KEY_PREFIX).map(str::to_string))
            .unwrap_or_default();
        keys.push(StoredAdminKey {
            id: admin_key_id(&hash),
            hash,
            key: from_record(record)?,
        });
    }
    Ok((keys, page.next))
}

pub async fn create_org(
    store: &dyn Store,
    org: &Organisation,
    admin_key_hash: &str,
    admin_key: &AdminKey,
    also: Vec<Write>,
) -> Result<(), StoreError> {
    let org_record = table_keys::org(&org.id).record(to_attrs(org));
    let mut writes = vec![
        Write::put_versioned(org_record, 0),
        new_admin_key(&org.id, admin_key_hash, admin_key),
    ];
    writes.extend(also);
    store.transact(writes).await
}

pub async fn get_org(store: &dyn Store, id: &OrgId) -> Result<Option<Versioned<Organisation>>, StoreError> {
    super::get_versioned(store, &table_keys::org(id)).await
}

/// Saves a changed organisation if nobody changed it since it was read at `version`, with the
/// events the change raises and the change's other writes (its audit entry).
pub async fn update_org(
    store: &dyn Store,
    org: &Organisation,
    version: u64,
    events: &[Event],
    also: Vec<Write>,
) -> Result<(), StoreError> {
    let mut writes = vec![Write::put_versioned(
        table_keys::org(&org.id).record(to_attrs(org)),
        version,
    )];
    writes.extend(events.iter().map(super::outbox::event_write));
    writes.extend(also);
    store.transact(writes).await
}

pub async fn find_admin_key(store: &dyn Store, org: &OrgId, key_hash: &str) -> Result<Option<AdminKey>, StoreError> {
    store
        .get(&table_keys::admin_key(org, key_hash))
        .await?
        .map(from_record)
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_made_before_roles_are_owners() {
        let record = json!({"org_id": "acme", "prefix": "gh_admin_acme.ab12…", "name": "first admin key",
            "created_at": "2026-01-01T00:00:00Z"});
        let key: AdminKey = from_record(record.as_object().unwrap().clone()).unwrap();
        assert_eq!((key.role, key.last_used_at), (Role::Owner, None));
        assert_eq!(admin_key_id(&"ab".repeat(32)), format!("ak_{}", "ab".repeat(8)));
    }
}
