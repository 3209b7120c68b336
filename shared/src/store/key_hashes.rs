//! API keys by their hash, for the gateway: a verifier holds only the key, so it cannot name the
//! organisation whose partition keeps the key. One item a key (`KEYHASH#{sha256}`), its own
//! partition, written in the same transaction that makes, changes or revokes the key, so it never
//! says more or less than the key itself.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{from_record, is_expired, table_keys, to_attrs, Condition, Record, Store, StoreError, Write, EXPIRES_AT};
use crate::domain::api_keys::ApiKey;
use crate::domain::{now_epoch, now_rfc3339, DeveloperId, KeyId, OrgId, PolicyId};

/// How long a revoked key's item stays, so a gateway is told `REVOKED` rather than `NOT_FOUND`.
pub const REVOKED_KEPT_SECS: i64 = 90 * 24 * 3600;

/// What a gateway needs of a key, found by its hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyByHash {
    pub org_id: OrgId,
    pub key_id: KeyId,
    pub developer_id: DeveloperId,
    pub policy_ids: Vec<PolicyId>,
    /// Whether the developer holding it is active; a status change rewrites it.
    #[serde(default = "active")]
    pub developer_active: bool,
    /// When the key was revoked (then the item is kept [`REVOKED_KEPT_SECS`] only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// Epoch second from which the key no longer works (a rolled key's grace period).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<i64>,
}

fn active() -> bool {
    true
}

impl KeyByHash {
    fn of(key: &ApiKey, developer_active: bool) -> Self {
        Self {
            org_id: key.org_id.clone(),
            key_id: key.id.clone(),
            developer_id: key.developer_id.clone(),
            policy_ids: key.policy_ids.clone(),
            developer_active,
            revoked_at: None,
            valid_until: key.valid_until,
        }
    }
}

/// The item of a new key (a hash is never reused: refused if one exists), held by a developer who is
/// active or not.
pub fn create(key: &ApiKey, developer_active: bool) -> Write {
    Write::put(
        table_keys::key_by_hash(&key.key_hash).record(to_attrs(&KeyByHash::of(key, developer_active))),
        Condition::NotExists,
    )
}

/// Sets some attributes of an existing key's item, leaving the others (another change's) as they are.
fn set(key_hash: &str, attrs: impl IntoIterator<Item = (&'static str, Value)>) -> Write {
    Write::Update {
        key: table_keys::key_by_hash(key_hash),
        set: attrs.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<Record>(),
        add: vec![],
        condition: Condition::Exists,
    }
}

/// A changed key's policies, on each hash it is known by.
pub fn update(key: &ApiKey) -> Vec<Write> {
    key.hashes()
        .into_iter()
        .map(|hash| set(hash, [("policy_ids", json!(key.policy_ids))]))
        .collect()
}

/// A secret that works until `valid_until` (a rolled key's former one): answered `EXPIRED` from
/// then, for [`REVOKED_KEPT_SECS`], then forgotten.
pub fn end_at(key_hash: &str, valid_until: i64) -> Write {
    set(
        key_hash,
        [
            ("valid_until", json!(valid_until)),
            (EXPIRES_AT, json!(valid_until + REVOKED_KEPT_SECS)),
        ],
    )
}

/// Whether the developer holding the key is active.
pub fn set_developer_active(key_hash: &str, active: bool) -> Write {
    set(key_hash, [("developer_active", json!(active))])
}

/// A revoked key, on each hash it is known by: its items say so for [`REVOKED_KEPT_SECS`], then go.
/// Written whole (revocation is final, so nothing another change wrote matters any more), and
/// written even where a key had no item.
pub fn revoke(key: &ApiKey) -> Vec<Write> {
    let revoked = KeyByHash {
        revoked_at: Some(now_rfc3339()),
        ..KeyByHash::of(key, false)
    };
    let mut attrs = to_attrs(&revoked);
    attrs.insert(EXPIRES_AT.into(), json!(now_epoch() + REVOKED_KEPT_SECS));
    key.hashes()
        .into_iter()
        .map(|hash| Write::put(table_keys::key_by_hash(hash).record(attrs.clone()), Condition::None))
        .collect()
}

/// The key with this hash, if there is one.
pub async fn find(store: &dyn Store, key_hash: &str) -> Result<Option<KeyByHash>, StoreError> {
    match store.get(&table_keys::key_by_hash(key_hash)).await? {
        Some(record) if !is_expired(&record, now_epoch()) => Ok(Some(from_record(record)?)),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::api_keys::mint_key;
    use crate::secret::token_hash;
    use crate::store::MemoryStore;

    fn update_of_hash(hash: &str) -> Write {
        set_developer_active(hash, true)
    }

    #[tokio::test]
    async fn a_key_is_found_by_its_hash_until_it_is_revoked() {
        let store = MemoryStore::new();
        let org = OrgId::parse("acme").unwrap();
        let developer = DeveloperId::generate();
        let policy = PolicyId::generate();
        let (plain, mut key) = mint_key(
            &org,
            &developer,
            vec![policy.clone()],
            None,
            None,
            "2026-01-01T00:00:00Z",
        );
        store.transact(vec![create(&key, true)]).await.unwrap();
        let found = find(&store, &token_hash(plain.expose()))
            .await
            .unwrap()
            .expect("found by its hash");
        assert_eq!(
            (found.org_id, found.key_id, found.policy_ids),
            (org.clone(), key.id.clone(), vec![policy])
        );
        assert!(
            store.transact(vec![create(&key, true)]).await.is_err(),
            "one item a hash"
        );

        // Changes of different parts leave each other's parts alone.
        key.policy_ids = vec![];
        store.transact(update(&key)).await.unwrap();
        store
            .transact(vec![set_developer_active(&key.key_hash, false)])
            .await
            .unwrap();
        let found = find(&store, &key.key_hash).await.unwrap().unwrap();
        assert_eq!((found.policy_ids, found.developer_active), (vec![], false));
        store.transact(revoke(&key)).await.unwrap();
        let found = find(&store, &key.key_hash).await.unwrap().unwrap();
        assert!(found.revoked_at.is_some(), "a revoked key is known as revoked");
        assert!(!found.developer_active);
        let unknown = token_hash("gh_live_never_issued");
        assert!(
            store.transact(vec![update_of_hash(&unknown)]).await.is_err(),
            "no item is made by a change"
        );
    }
}
