//! API keys by their hash, for the gateway: a verifier holds only the key, so it cannot name the
//! organisation whose partition keeps the key. One item a key (`KEYHASH#{sha256}`), its own
//! partition, written in the same transaction that makes, changes or revokes the key, so it never
//! says more or less than the key itself.

use serde::{Deserialize, Serialize};

use super::{from_record, table_keys, to_attrs, Condition, Store, StoreError, Write};
use crate::domain::api_keys::ApiKey;
use crate::domain::{DeveloperId, KeyId, OrgId, PolicyId};

/// What a gateway needs of a key, found by its hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyByHash {
    pub org_id: OrgId,
    pub key_id: KeyId,
    pub developer_id: DeveloperId,
    pub policy_ids: Vec<PolicyId>,
}

impl KeyByHash {
    fn of(key: &ApiKey) -> Self {
        Self {
            org_id: key.org_id.clone(),
            key_id: key.id.clone(),
            developer_id: key.developer_id.clone(),
            policy_ids: key.policy_ids.clone(),
        }
    }
}

/// The item of a new key (a hash is never reused: refused if one exists).
pub fn create(key: &ApiKey) -> Write {
    Write::put(
        table_keys::key_by_hash(&key.key_hash).record(to_attrs(&KeyByHash::of(key))),
        Condition::NotExists,
    )
}

/// The item of a changed key (its policies), which must exist.
pub fn update(key: &ApiKey) -> Write {
    Write::put(
        table_keys::key_by_hash(&key.key_hash).record(to_attrs(&KeyByHash::of(key))),
        Condition::Exists,
    )
}

/// Removes a revoked key's item.
pub fn delete(key: &ApiKey) -> Write {
    Write::Delete {
        key: table_keys::key_by_hash(&key.key_hash),
        condition: Condition::None,
    }
}

/// The key with this hash, if there is one.
pub async fn find(store: &dyn Store, key_hash: &str) -> Result<Option<KeyByHash>, StoreError> {
    store
        .get(&table_keys::key_by_hash(key_hash))
        .await?
        .map(from_record)
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::api_keys::mint_key;
    use crate::secret::token_hash;
    use crate::store::MemoryStore;

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
        store.transact(vec![create(&key)]).await.unwrap();
        let found = find(&store, &token_hash(plain.expose()))
            .await
            .unwrap()
            .expect("found by its hash");
        assert_eq!(
            (found.org_id, found.key_id, found.policy_ids),
            (org.clone(), key.id.clone(), vec![policy])
        );
        assert!(store.transact(vec![create(&key)]).await.is_err(), "one item a hash");

        key.policy_ids = vec![];
        store.transact(vec![update(&key)]).await.unwrap();
        assert_eq!(find(&store, &key.key_hash).await.unwrap().unwrap().policy_ids, vec![]);
        store.transact(vec![delete(&key)]).await.unwrap();
        assert_eq!(find(&store, &key.key_hash).await.unwrap(), None);
        assert!(
            store.transact(vec![update(&key)]).await.is_err(),
            "a revoked key is not brought back"
        );
    }
}
