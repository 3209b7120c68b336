//! Login sessions, password links (reset and invitation) and Generate Key links: stored under the
//! SHA-256 of the token, expiring (checked in code, since TTL deletion is lazy), and ended all at once
//! when a password changes. Sessions, password links and known addresses belong to an [`Account`]: a
//! developer or an admin user, told apart by their ids' prefixes.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Versioned;
use super::{from_record, is_expired, table_keys, to_attrs, Condition, Store, StoreError, Write, GSI1PK, GSI1SK};
use crate::domain::{now_epoch, AdminUserId, DeveloperId, KnownAddresses, OrgId};

/// Whose a session, password link or address list is.
#[derive(Debug, Clone, Copy)]
pub enum Account<'a> {
    Developer(&'a DeveloperId),
    Admin(&'a AdminUserId),
}

impl Account<'_> {
    pub fn id(&self) -> &str {
        match self {
            Account::Developer(id) => id.as_str(),
            Account::Admin(id) => id.as_str(),
        }
    }

    /// The GSI1 partition of what the account owns.
    fn items_pk(&self, org: &OrgId) -> String {
        match self {
            Account::Developer(id) => table_keys::developer_items_pk(org, id),
            Account::Admin(id) => table_keys::admin_items_pk(org, id),
        }
    }
}

/// At most this many sessions are ended in one transaction with the change that ends them.
const MAX_ENDED: usize = 90;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// The developer's or admin user's id (`dev_…`, `adm_…`).
    #[serde(alias = "developer_id")]
    pub account_id: String,
    pub created_at: String,
    pub expires_at: i64,
    /// Epoch milliseconds, compared with the developer's `sessions_valid_after`.
    #[serde(default)]
    pub started_at: i64,
}

/// A new session, indexed under its account (GSI1) so all of theirs can be ended at once.
pub fn start(org: &OrgId, token_hash: &str, account: Account, session: &Session) -> Write {
    let mut attrs = to_attrs(session);
    attrs.insert(GSI1PK.into(), json!(account.items_pk(org)));
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
    account: Account<'_>,
    token_hash: &str,
) -> Result<Option<Session>, StoreError> {
    match store.get(&table_keys::session(org, token_hash)).await? {
        // The token names its account too; a session is theirs only if both agree.
        Some(r) if !is_expired(&r, now_epoch()) => {
            let session: Session = from_record(r)?;
            Ok((session.account_id == account.id()).then_some(session))
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

/// Deletes for every session of the account (the newest [`MAX_ENDED`]; older ones expire, and the
/// account's `sessions_valid_after` ends them anyway).
pub async fn end_all(store: &dyn Store, org: &OrgId, account: Account<'_>) -> Result<Vec<Write>, StoreError> {
    let page = store
        .query_gsi1(
            &account.items_pk(org),
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

/// The account's recent login addresses, with the version a change must match (0: none yet).
pub async fn known_addresses(
    store: &dyn Store,
    org: &OrgId,
    account: Account<'_>,
) -> Result<Versioned<KnownAddresses>, StoreError> {
    Ok(
        super::get_versioned(store, &table_keys::known_addresses(org, account.id()))
            .await?
            .unwrap_or(Versioned {
                value: KnownAddresses::default(),
                version: 0,
            }),
    )
}

pub fn remember_addresses(org: &OrgId, account: Account, known: &KnownAddresses, version: u64) -> Write {
    Write::put_versioned(
        table_keys::known_addresses(org, account.id()).record(to_attrs(known)),
        version,
    )
}

pub fn forget_addresses(org: &OrgId, account: Account) -> Write {
    Write::Delete {
        key: table_keys::known_addresses(org, account.id()),
        condition: Condition::None,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResetToken {
    /// Whose password the link sets (`dev_…` or `adm_…`).
    #[serde(alias = "developer_id")]
    pub account_id: String,
    pub expires_at: i64,
    /// Epoch milliseconds when it was made: a link made before the account's `links_valid_after`
    /// (a later password, status or email change) no longer works.
    #[serde(default)]
    pub issued_at: i64,
    /// A link that confirms the account's email address (and sets no password).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub confirms_email: bool,
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
