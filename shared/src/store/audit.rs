//! Audit entries as records: each in a partition of its own (one per admin write), listed newest
//! first through the organisation's sharded GSI2 listing, expiring after the retention. Only ever
//! created (a put that requires the key to be new); nothing here changes or deletes one.

use serde_json::Value;

use super::{list_sharded, listing_attrs, table_keys, to_attrs, Condition, Store, StoreError, Write, EXPIRES_AT};
use crate::domain::audit::AuditEntry;
use crate::domain::{now_epoch, OrgId};

/// The write that records `entry`, kept `retention_secs`.
pub fn record(entry: &AuditEntry, retention_secs: i64) -> Write {
    let mut attrs = to_attrs(entry);
    attrs.insert(EXPIRES_AT.into(), Value::from(now_epoch() + retention_secs));
    attrs.extend(listing_attrs(&entry.org_id, table_keys::AUDIT_KIND, entry.id.as_str()));
    let key = table_keys::spread(&entry.org_id, table_keys::AUDIT_KIND, entry.id.as_str());
    Write::put(key.record(attrs), Condition::NotExists)
}

/// A page of the organisation's audit log, newest first, after the cursor (the last entry's id).
pub async fn list(
    store: &dyn Store,
    org: &OrgId,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<AuditEntry>, Option<String>), StoreError> {
    list_sharded(store, org, table_keys::AUDIT_KIND, after, true, limit)
        .await?
        .decode()
}
