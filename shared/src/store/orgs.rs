//! Organisations and their admin keys, as records.

use serde::{Deserialize, Serialize};

use super::{from_record, table_keys, to_attrs, Condition, Store, StoreError, Versioned, Write};
use crate::domain::{Event, OrgId, Organisation};

/// An admin API key as stored: its hash is the sort key; only a short prefix is kept for display.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminKey {
    pub org_id: OrgId,
    pub prefix: String,
    pub name: String,
    pub created_at: String,
}

pub async fn create_org(
    store: &dyn Store,
    org: &Organisation,
    admin_key_hash: &str,
    admin_key: &AdminKey,
) -> Result<(), StoreError> {
    let org_record = table_keys::org(&org.id).record(to_attrs(org));
    let key_record = table_keys::admin_key(&org.id, admin_key_hash).record(to_attrs(admin_key));
    store
        .transact(vec![
            Write::put_versioned(org_record, 0),
            Write::put(key_record, Condition::NotExists),
        ])
        .await
}

pub async fn get_org(store: &dyn Store, id: &OrgId) -> Result<Option<Versioned<Organisation>>, StoreError> {
    super::get_versioned(store, &table_keys::org(id)).await
}

/// Saves a changed organisation if nobody changed it since it was read at `version`, with the
/// events the change raises.
pub async fn update_org(
    store: &dyn Store,
    org: &Organisation,
    version: u64,
    events: &[Event],
) -> Result<(), StoreError> {
    let mut writes = vec![Write::put_versioned(
        table_keys::org(&org.id).record(to_attrs(org)),
        version,
    )];
    writes.extend(events.iter().map(super::outbox::event_write));
    store.transact(writes).await
}

pub async fn find_admin_key(store: &dyn Store, org: &OrgId, key_hash: &str) -> Result<Option<AdminKey>, StoreError> {
    store
        .get(&table_keys::admin_key(org, key_hash))
        .await?
        .map(from_record)
        .transpose()
}
