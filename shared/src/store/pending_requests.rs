//! The key requests of one developer still waiting for a decision: the ids, in a record of their own,
//! written in the transaction that creates a request. Decisions do not write it (so deciding never
//! races a developer asking); the service drops the ids of decided requests when the list is full.

use serde::{Deserialize, Serialize};

use super::{get_versioned, table_keys, to_attrs, Condition, Store, StoreError, Versioned, Write};
use crate::domain::{DeveloperId, KeyRequestId, OrgId};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PendingKeyRequests {
    pub ids: Vec<KeyRequestId>,
}

/// The list as stored, at its version (an empty list at version 0 when there is none).
pub async fn get(
    store: &dyn Store,
    org: &OrgId,
    developer: &DeveloperId,
) -> Result<Versioned<PendingKeyRequests>, StoreError> {
    Ok(get_versioned(store, &table_keys::pending_key_requests(org, developer))
        .await?
        .unwrap_or(Versioned {
            value: PendingKeyRequests::default(),
            version: 0,
        }))
}

/// Writes the list, refused if it changed since it was read at `version`.
pub fn write(org: &OrgId, developer: &DeveloperId, pending: &PendingKeyRequests, version: u64) -> Write {
    Write::put_versioned(
        table_keys::pending_key_requests(org, developer).record(to_attrs(pending)),
        version,
    )
}

/// Forgets the list (the developer is removed).
pub fn forget(org: &OrgId, developer: &DeveloperId) -> Write {
    Write::Delete {
        key: table_keys::pending_key_requests(org, developer),
        condition: Condition::None,
    }
}
