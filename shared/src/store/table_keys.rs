//! Every key and key prefix of the table, built in one place. Partition keys start with the
//! organisation, except the deployment-wide suppression list.

use super::Key;
use crate::domain::{DeveloperId, EventId, OrgId};

pub fn org_pk(org: &OrgId) -> String {
    format!("ORG#{org}")
}

pub fn org(org: &OrgId) -> Key {
    Key::new(org_pk(org), "ORG")
}

/// An admin API key, addressed by the SHA-256 of the key.
pub fn admin_key(org: &OrgId, key_hash: &str) -> Key {
    Key::new(org_pk(org), format!("ADMINKEY#{key_hash}"))
}

pub fn developer(org: &OrgId, id: &DeveloperId) -> Key {
    Key::new(org_pk(org), format!("DEV#{id}"))
}

/// The guard that keeps one account per (lower-cased) email in an organisation.
pub fn developer_email(org: &OrgId, normalized_email: &str) -> Key {
    Key::new(org_pk(org), format!("DEVEMAIL#{normalized_email}"))
}

pub const EVENT_PREFIX: &str = "EVENT#";

/// An outbox event; its insertion is what the stream carries to the event router.
pub fn event(org: &OrgId, id: &EventId) -> Key {
    Key::new(org_pk(org), format!("{EVENT_PREFIX}{id}"))
}

/// Sort-key prefixes of the organisation's resources (`<PREFIX><id>`).
pub const API_PREFIX: &str = "API#";
pub const POLICY_PREFIX: &str = "POLICY#";
pub const CATALOG_PREFIX: &str = "CATALOG#";
pub const KEY_REQUEST_PREFIX: &str = "KEYREQ#";
pub const API_KEY_PREFIX: &str = "KEY#";

/// GSI1 partition of what one developer owns (key requests, API keys), sorted by the record's own
/// sort key, so a developer's items are read without reading the organisation's.
pub fn developer_items_pk(org: &OrgId, developer: &DeveloperId) -> String {
    format!("ORG#{org}#DEV#{developer}")
}

pub const DELIVERY_PREFIX: &str = "DELIVERY#";

/// The record that makes one delivery (an event to one recipient or endpoint) happen once.
pub fn delivery(org: &OrgId, delivery_id: &str) -> Key {
    Key::new(org_pk(org), format!("{DELIVERY_PREFIX}{delivery_id}"))
}

/// GSI1 partition of an organisation's developers, sorted by `<lower-cased email>#<id>`.
pub fn developer_search_pk(org: &OrgId) -> String {
    format!("ORG#{org}#DEVEMAIL")
}

pub fn developer_search_sk(normalized_email: &str, id: &DeveloperId) -> String {
    format!("{normalized_email}#{id}")
}

/// Sessions sort under their developer, so all of one developer's sessions can be found and ended.
pub fn session_prefix(id: &DeveloperId) -> String {
    format!("SESSION#{id}#")
}

pub fn session(org: &OrgId, id: &DeveloperId, token_hash: &str) -> Key {
    Key::new(org_pk(org), format!("{}{token_hash}", session_prefix(id)))
}

pub fn password_reset(org: &OrgId, token_hash: &str) -> Key {
    Key::new(org_pk(org), format!("RESET#{token_hash}"))
}

/// Failed-login counters: `kind` is `email` or `address`, `subject_hash` the SHA-256 of either.
pub fn login_throttle(org: &OrgId, kind: &str, subject_hash: &str) -> Key {
    Key::new(org_pk(org), format!("THROTTLE#{kind}#{subject_hash}"))
}

pub fn key_link(org: &OrgId, token_hash: &str) -> Key {
    Key::new(org_pk(org), format!("KEYLINK#{token_hash}"))
}

pub const ENDPOINT_PREFIX: &str = "ENDPOINT#";

/// A webhook endpoint's health (failing since, disabled), addressed by the SHA-256 of its URL.
pub fn endpoint(org: &OrgId, url_hash: &str) -> Key {
    Key::new(org_pk(org), format!("{ENDPOINT_PREFIX}{url_hash}"))
}

/// The deployment's suppression list (bounced or complained addresses), like SES's account-level
/// list: a bad address hurts the sender's reputation whichever organisation writes to it. Keyed by
/// the SHA-256 of the lower-cased address.
pub fn suppressed(email_hash: &str) -> Key {
    Key::new("SUPPRESSED", email_hash)
}

/// One address's opt-out of one category of an organisation's emails (List-Unsubscribe).
pub fn opt_out(org: &OrgId, email_hash: &str, category: &str) -> Key {
    Key::new(org_pk(org), format!("OPTOUT#{email_hash}#{category}"))
}
