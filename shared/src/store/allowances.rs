//! Allowances: how many units of one key's quota or rate window the verifiers have leased. A
//! verifier takes a block with one versioned write and answers from it until it runs out, so a hot
//! key costs a write per block, not per call; the window's record is its own partition and expires
//! a day after the window ends.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{get_versioned, table_keys, to_attrs, Store, StoreError, Versioned, Write, EXPIRES_AT};
use crate::domain::gate::Window;
use crate::domain::{KeyId, OrgId};

/// Which of a policy's limits an allowance counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitKind {
    Quota,
    Rate,
}

impl LimitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LimitKind::Quota => "quota",
            LimitKind::Rate => "rate",
        }
    }
}

/// The units leased in one window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allowance {
    pub granted: u64,
}

/// Where `key`'s `kind` allowance for `window` is kept.
pub fn key(org: &OrgId, key: &KeyId, kind: LimitKind, window: Window) -> super::Key {
    table_keys::allowance(org, key, kind.as_str(), window.start)
}

/// The allowance as it stands (nothing leased when there is no record), with its version.
pub async fn read(
    store: &dyn Store,
    org: &OrgId,
    key_id: &KeyId,
    kind: LimitKind,
    window: Window,
) -> Result<Versioned<Allowance>, StoreError> {
    Ok(get_versioned::<Allowance>(store, &key(org, key_id, kind, window))
        .await?
        .unwrap_or(Versioned {
            value: Allowance::default(),
            version: 0,
        }))
}

/// The write that records `allowance` for the window, read at `version`: refused if another
/// verifier leased meanwhile.
pub fn write(
    org: &OrgId,
    key_id: &KeyId,
    kind: LimitKind,
    window: Window,
    allowance: Allowance,
    version: u64,
) -> Write {
    let mut attrs = to_attrs(&allowance);
    attrs.insert(EXPIRES_AT.into(), json!(window.end() + 24 * 3600));
    Write::put_versioned(key(org, key_id, kind, window).record(attrs), version)
}
