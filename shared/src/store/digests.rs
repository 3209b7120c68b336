//! Where each admin user's digest stands: the window last sent and the instant it covered up to,
//! one record per (admin user, digest type), changed with a condition on its version so a window is
//! sent once however often the schedule fires.

use serde::{Deserialize, Serialize};

use super::{get_versioned, table_keys, to_attrs, Store, StoreError, Versioned, Write};
use crate::domain::{AdminUserId, OrgId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestCursor {
    /// The window the last digest was sent in (`2026-12-02T05`, `2026-12-02`).
    pub window: String,
    /// Epoch milliseconds up to which requests were gathered; the next digest starts there.
    pub until_ms: i64,
}

/// The cursor at its version (`None` at version 0 when no digest was ever sent).
pub async fn get(
    store: &dyn Store,
    org: &OrgId,
    admin: &AdminUserId,
    digest_type: &str,
) -> Result<Versioned<Option<DigestCursor>>, StoreError> {
    Ok(
        match get_versioned(store, &table_keys::digest_cursor(org, admin, digest_type)).await? {
            Some(found) => Versioned {
                value: Some(found.value),
                version: found.version,
            },
            None => Versioned {
                value: None,
                version: 0,
            },
        },
    )
}

/// Moves the cursor, refused if another run moved it since it was read at `version`.
pub fn save(org: &OrgId, admin: &AdminUserId, digest_type: &str, cursor: &DigestCursor, version: u64) -> Write {
    Write::put_versioned(
        table_keys::digest_cursor(org, admin, digest_type).record(to_attrs(cursor)),
        version,
    )
}
