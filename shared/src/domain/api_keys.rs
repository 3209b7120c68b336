//! Key requests and API keys. A plaintext key exists only in the answer that shows it once and in
//! the sealed part of the event that mails it; the table keeps its SHA-256 and a short prefix.

use serde::{Deserialize, Serialize};

use super::catalog::ApprovalMode;
use super::{CatalogId, DeveloperId, Email, KeyId, KeyRequestId, OrgId, PolicyId};
use crate::secret::{new_token, token_hash, Secret};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyRequestStatus {
    Pending,
    Approved,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyRequest {
    pub id: KeyRequestId,
    pub org_id: OrgId,
    pub developer_id: DeveloperId,
    pub developer_email: Email,
    /// The catalog entry asked for; none when an admin subscribed the developer directly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_id: Option<CatalogId>,
    pub policy_ids: Vec<PolicyId>,
    pub fields: serde_json::Map<String, serde_json::Value>,
    /// The mode that decides it, fixed when it was made.
    pub approval: ApprovalMode,
    pub status: KeyRequestStatus,
    /// The key issued for it, once there is one (with secure approval, after the link is redeemed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<KeyId>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: KeyId,
    pub org_id: OrgId,
    pub developer_id: DeveloperId,
    pub policy_ids: Vec<PolicyId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_id: Option<CatalogId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<KeyRequestId>,
    /// The first characters of the key, to recognise it (`gh_live_ab12…`).
    pub prefix: String,
    /// SHA-256 of the key.
    pub key_hash: String,
    /// Epoch second from which the key no longer works: a rolled key's grace period ends then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
}

pub const KEY_PREFIX: &str = "gh_live_";

/// A new key: the plaintext (shown once), and the record that keeps only its hash and prefix.
pub fn mint_key(
    org: &OrgId,
    developer: &DeveloperId,
    policy_ids: Vec<PolicyId>,
    catalog_id: Option<CatalogId>,
    request_id: Option<KeyRequestId>,
    now: &str,
) -> (Secret, ApiKey) {
    let key = new_token(KEY_PREFIX);
    let record = ApiKey {
        id: KeyId::generate(),
        org_id: org.clone(),
        developer_id: developer.clone(),
        policy_ids,
        catalog_id,
        request_id,
        prefix: format!("{}…", &key.expose()[..KEY_PREFIX.len() + 4]),
        key_hash: token_hash(key.expose()),
        valid_until: None,
        created_at: now.to_string(),
        updated_at: now.to_string(),
    };
    (key, record)
}

impl ApiKey {
    /// The key as listed: never the hash.
    pub fn view(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "developer_id": self.developer_id,
            "policy_ids": self.policy_ids,
            "catalog_id": self.catalog_id,
            "request_id": self.request_id,
            "prefix": self.prefix,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_keys_keep_only_a_hash_and_a_prefix() {
        let org = OrgId::parse("acme").unwrap();
        let (key, record) = mint_key(&org, &DeveloperId::generate(), vec![], None, None, "now");
        assert!(key.expose().starts_with(KEY_PREFIX));
        assert_eq!(record.key_hash, token_hash(key.expose()));
        assert!(key.expose().starts_with(record.prefix.trim_end_matches('…')));
        let stored = serde_json::to_string(&record).unwrap();
        assert!(!stored.contains(key.expose()));
        assert!(!record.view().to_string().contains(&record.key_hash));
    }
}
