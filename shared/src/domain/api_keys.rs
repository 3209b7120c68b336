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
    /// Epoch second from which the key no longer works.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<i64>,
    /// The secret the key had before its last roll, working until its grace period ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<PreviousSecret>,
    pub created_at: String,
    pub updated_at: String,
}

/// A rolled key's former secret: the same key (one quota, one usage), a different hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreviousSecret {
    pub key_hash: String,
    pub prefix: String,
    /// Epoch second from which it no longer works.
    pub valid_until: i64,
}

/// The longest grace period of a rolled key's former secret.
pub const MAX_ROLL_GRACE_SECS: i64 = 30 * 24 * 3600;

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
        prefix: prefix_of(&key),
        key_hash: token_hash(key.expose()),
        valid_until: None,
        previous: None,
        created_at: now.to_string(),
        updated_at: now.to_string(),
    };
    (key, record)
}

fn prefix_of(key: &Secret) -> String {
    format!("{}…", &key.expose()[..KEY_PREFIX.len() + 4])
}

impl ApiKey {
    /// Gives the key a new secret (returned, shown once); the current one keeps working until
    /// `valid_until` and is then the key's `previous`. A former secret still in its grace period
    /// is dropped: its hash is returned, to be ended at once.
    pub fn roll(&mut self, valid_until: i64, now: &str) -> (Secret, Option<PreviousSecret>) {
        let key = new_token(KEY_PREFIX);
        let retired = PreviousSecret {
            key_hash: std::mem::replace(&mut self.key_hash, token_hash(key.expose())),
            prefix: std::mem::replace(&mut self.prefix, prefix_of(&key)),
            valid_until,
        };
        self.updated_at = now.to_string();
        (key, self.previous.replace(retired))
    }

    /// The hashes the gate knows this key by: its secret's, and its former secret's after a roll.
    pub fn hashes(&self) -> Vec<&str> {
        std::iter::once(self.key_hash.as_str())
            .chain(self.previous.as_ref().map(|p| p.key_hash.as_str()))
            .collect()
    }

    /// The key as listed: never the hash.
    pub fn view(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "developer_id": self.developer_id,
            "policy_ids": self.policy_ids,
            "catalog_id": self.catalog_id,
            "request_id": self.request_id,
            "prefix": self.prefix,
            "previous": self.previous.as_ref().map(|p| serde_json::json!({
                "prefix": p.prefix,
                "valid_until": super::epoch_rfc3339(p.valid_until),
            })),
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
