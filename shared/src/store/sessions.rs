//! Login sessions, password reset tokens and Generate Key links: stored under the SHA-256 of the token, expiring (checked
//! in code, since TTL deletion is lazy), and ended all at once when a password changes.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Versioned;
use super::{from_record, is_expired, table_keys, to_attrs, Condition, Store, StoreError, Write, GSI1PK, GSI1SK};
use crate::domain::{now_epoch, DeveloperId, KnownAddresses, OrgId};

/// At most this many sessions are ended in one transaction with the change that ends them.
const MAX_ENDED: usize = 90;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub developer_id: DeveloperId,
    pub created_at: String,
    pub expires_at: i64,
    /// Epoch milliseconds, compared with the developer's `sessions_valid_after`.
    #[serde(default)]
    pub started_at: i64,
}

/// A new session, indexed under its developer (GSI1) so all of theirs can be ended at once.
pub fn start(org: &OrgId, token_hash: &str, session: &Session) -> Write {
    let mut attrs = to_attrs(session);
    attrs.insert(
        GSI1PK.into(),
        json!(table_keys::developer_items_pk(org, &session.developer_id)),
    );
    attrs.insert(
        GSI1SK.into(),
        json!(table_keys::developer_item_sk(table_keys::SESSION_KIND, token_hash)),
    );
    Write::put(table_keys::session(org, token_hash).record(attrs), Condition::NotExists)
}

/// The live session of this token, if any.
pub async fn find(
    store: &dyn Store,
    org: &OrgId,
    developer: &DeveloperId,
    token_hash: &str,
) -> Result<Option<Session>, StoreError> {
    match store.get(&table_keys::session(org, token_hash)).await? {
        // The token names its developer too; a session is theirs only if both agree.
        Some(r) if !is_expired(&r, now_epoch()) => {
            let session: Session = from_record(r)?;
            Ok((&session.developer_id == developer).then_some(session))
        }
        _ => Ok(None),
    }
}

pub fn end(org: &OrgId, token_hash: &str) -> Write {
    Write::Delete {
        key: table_keys::session(org, token_hash),
        condition: Condition::None,
    }
}

/// Deletes for every session of the developer (the newest [`MAX_ENDED`]; older ones expire).
pub async fn end_all(store: &dyn Store, org: &OrgId, developer: &DeveloperId) -> Result<Vec<Write>, StoreError> {
    let page = store
        .query_gsi1(
            &table_keys::developer_items_pk(org, developer),
            &table_keys::developer_item_sk(table_keys::SESSION_KIND, ""),
            None,
            MAX_ENDED,
        )
        .await?;
    Ok(page
        .records
        .iter()
        .filter_map(super::Key::of)
        .map(|key| Write::Delete {
            key,
            condition: Condition::None,
        })
        .collect())
}

/// The developer's recent login addresses, with the version a change must match (0: none yet).
pub async fn known_addresses(
    store: &dyn Store,
    org: &OrgId,
    developer: &DeveloperId,
) -> Result<Versioned<KnownAddresses>, StoreError> {
    Ok(
        super::get_versioned(store, &table_keys::known_addresses(org, developer))
            .await?
            .unwrap_or(Versioned {
                value: KnownAddresses::default(),
                version: 0,
            }),
    )
}

pub fn remember_addresses(org: &OrgId, developer: &DeveloperId, known: &KnownAddresses, version: u64) -> Write {
    Write::put_versioned(
        table_keys::known_addresses(org, developer).record(to_attrs(known)),
        version,
    )
}

pub fn forget_addresses(org: &OrgId, developer: &DeveloperId) -> Write {
    Write::Delete {
        key: table_keys::known_addresses(org, developer),
        condition: Condition::None,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResetToken {
    pub developer_id: DeveloperId,
    pub expires_at: i64,
}

pub fn issue_reset(org: &OrgId, token_hash: &str, token: &ResetToken) -> Write {
    Write::put(
        table_keys::password_reset(org, token_hash).record(to_attrs(token)),
        Condition::NotExists,
    )
}

/// The live reset token with this hash, if any.
pub async fn find_reset(store: &dyn Store, org: &OrgId, token_hash: &str) -> Result<Option<ResetToken>, StoreError> {
    match store.get(&table_keys::password_reset(org, token_hash)).await? {
        Some(r) if !is_expired(&r, now_epoch()) => Ok(Some(from_record(r)?)),
        _ => Ok(None),
    }
}

/// Uses up a reset token: the delete fails if another request used it first.
pub fn use_reset(org: &OrgId, token_hash: &str) -> Write {
    Write::Delete {
        key: table_keys::password_reset(org, token_hash),
        condition: Condition::Exists,
    }
}

/// A Generate Key link of secure key approval: one use, by one developer, for one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyLink {
    pub developer_id: DeveloperId,
    pub request_id: crate::domain::KeyRequestId,
    pub expires_at: i64,
}

pub fn issue_key_link(org: &OrgId, token_hash: &str, link: &KeyLink) -> Write {
    Write::put(
        table_keys::key_link(org, token_hash).record(to_attrs(link)),
        Condition::NotExists,
    )
}

pub async fn find_key_link(store: &dyn Store, org: &OrgId, token_hash: &str) -> Result<Option<KeyLink>, StoreError> {
    match store.get(&table_keys::key_link(org, token_hash)).await? {
        Some(r) if !is_expired(&r, now_epoch()) => Ok(Some(from_record(r)?)),
        _ => Ok(None),
    }
}

/// Uses up a Generate Key link: fails if it was used meanwhile.
pub fn use_key_link(org: &OrgId, token_hash: &str) -> Write {
    Write::Delete {
        key: table_keys::key_link(org, token_hash),
        condition: Condition::Exists,
    }
}
