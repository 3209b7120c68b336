//! Every key and key prefix of the table, built in one place (key scheme 2; the README's data section
//! has the table of records and the rule).
//!
//! The rule: a partition key is chosen by how often it is written. Every partition key starts with
//! `ORG#{org}` (so no key reaches across organisations), except the deployment-wide suppression list
//! (and, in GSI2, the sparse list of digest takers).
//! - Records an admin lists together and that change rarely (the organisation, its admin keys, APIs,
//!   policies, catalog entries) share the organisation's partition `ORG#{org}`.
//! - Records written per request or per delivery get a partition of their own:
//!   `ORG#{org}#{KIND}#{id or hash}` with the sort key `{KIND}` (developers, the email guard, outbox
//!   events, key requests, keys, deliveries, sessions, reset tokens, rate-limit counters, Generate
//!   Key links, endpoint health, opt-outs, a developer's pending key requests).
//! - Organisation-wide listings of such records go through GSI2 under a write-sharded partition key,
//!   `ORG#{org}#LIST#{KIND}#{n}` with `n` = [`shard_of`] the id, sorted by the time-ordered id; a page
//!   merges the [`LIST_SHARDS`] shards. What one developer owns (key requests, keys, sessions) is
//!   indexed under the developer in GSI1, one query away.

use sha2::{Digest, Sha256};

use super::Key;
use crate::domain::{AdminUserId, DeveloperId, EventId, KeyId, OrgId};

pub fn org_pk(org: &OrgId) -> String {
    format!("ORG#{org}")
}

pub fn org(org: &OrgId) -> Key {
    Key::new(org_pk(org), "ORG")
}

/// A record in a partition of its own: `ORG#{org}#{kind}#{id}`, sort key `{kind}`.
fn own(org: &OrgId, kind: &str, id: &str) -> Key {
    Key::new(format!("ORG#{org}#{kind}#{id}"), kind)
}

/// An admin API key, addressed by the SHA-256 of the key (in the organisation's partition: written
/// when an organisation is made or its keys change).
pub fn admin_key(org: &OrgId, key_hash: &str) -> Key {
    Key::new(org_pk(org), format!("{ADMIN_KEY_PREFIX}{key_hash}"))
}

/// The sort-key prefix of the organisation's admin keys.
pub const ADMIN_KEY_PREFIX: &str = "ADMINKEY#";

pub fn developer(org: &OrgId, id: &DeveloperId) -> Key {
    own(org, "DEV", id.as_str())
}

/// The guard that keeps one account per (lower-cased) email in an organisation.
pub fn developer_email(org: &OrgId, normalized_email: &str) -> Key {
    own(org, "DEVEMAIL", normalized_email)
}

/// The sort key of every outbox event, which is how the event router tells them in the stream.
pub const EVENT_SK: &str = "EVENT";

/// An outbox event; its insertion is what the stream carries to the event router.
pub fn event(org: &OrgId, id: &EventId) -> Key {
    own(org, EVENT_SK, id.as_str())
}

/// Sort-key prefixes of the organisation's catalog (`<PREFIX><id>` in its partition).
pub const API_PREFIX: &str = "API#";
pub const POLICY_PREFIX: &str = "POLICY#";
pub const BUDGET_PREFIX: &str = "BUDGET#";
pub const CATALOG_PREFIX: &str = "CATALOG#";

/// Kinds of record with a partition of their own and an organisation-wide listing in GSI2.
pub const KEY_REQUEST_KIND: &str = "KEYREQ";
pub const API_KEY_KIND: &str = "KEY";
pub const DELIVERY_KIND: &str = "DELIVERY";
pub const AUDIT_KIND: &str = "AUDIT";

/// A delivery: in shard [`delivery_shard`] of the organisation's delivery partitions, sorted by
/// its (time-ordered) id, so the delivery log is read from the table without an index.
pub fn delivery(org: &OrgId, delivery_id: &str) -> Key {
    Key::new(delivery_shard_pk(org, delivery_shard(delivery_id)), delivery_id)
}

/// Where key scheme 2 kept a delivery (listed through GSI2): read for one release after the move.
pub fn scheme2_delivery(org: &OrgId, delivery_id: &str) -> Key {
    own(org, DELIVERY_KIND, delivery_id)
}

/// What every delivery partition key holds, for telling delivery records in a scan.
pub const DELIVERY_PART: &str = "#DELIVERY#";

/// How many partitions an organisation's deliveries are spread over. One organisation at 10,000
/// events/s with two notifications each writes ~20,000 claims/s plus their outcome records; a
/// partition takes 1,000 writes/s. Changing it moves every delivery (a key scheme change).
pub const DELIVERY_SHARDS: u8 = 32;

/// The delivery partition of an id: the first byte of its SHA-256, modulo [`DELIVERY_SHARDS`].
pub fn delivery_shard(delivery_id: &str) -> u8 {
    Sha256::digest(delivery_id.as_bytes())[0] % DELIVERY_SHARDS
}

/// Delivery partition `n` of the organisation.
pub fn delivery_shard_pk(org: &OrgId, n: u8) -> String {
    format!("ORG#{org}{DELIVERY_PART}{n}")
}

/// How the attempts of one worker batch for one organisation ended (`deliveries::record_outcomes`).
pub fn delivery_outcomes(org: &OrgId, batch: &str) -> Key {
    own(org, "OUTCOMES", batch)
}

/// What every outcome record's partition key holds.
pub const OUTCOMES_PART: &str = "#OUTCOMES#";

/// The marker of a health notice raised today for `cause` (`store::notices`): its own partition,
/// written at most once a day per cause.
pub fn notice_marker(org: &OrgId, cause: &str, day: &str) -> Key {
    own(org, "NOTICE", &format!("{cause}#{day}"))
}

/// An organisation's email counts of one day (`store::mail_stats`): its own partition.
pub fn mail_stats(org: &OrgId, day: &str) -> Key {
    own(org, "MAILSTATS", day)
}

/// A key request, key or audit entry: its own partition.
pub fn spread(org: &OrgId, kind: &str, id: &str) -> Key {
    own(org, kind, id)
}

/// The prefix every id of a listed kind starts with, so a cursor (an id) can be checked.
pub fn listed_id_prefix(kind: &str) -> &'static str {
    match kind {
        KEY_REQUEST_KIND => "kr_",
        API_KEY_KIND => "key_",
        DELIVERY_KIND => "evt_",
        AUDIT_KIND => "aud_",
        _ => "",
    }
}

/// How many GSI2 partitions each organisation-wide listing is spread over. Changing it moves every
/// listed record (a key scheme change).
pub const LIST_SHARDS: u8 = 8;

/// The listing shard of an id: the first byte of its SHA-256, modulo [`LIST_SHARDS`].
pub fn shard_of(id: &str) -> u8 {
    Sha256::digest(id.as_bytes())[0] % LIST_SHARDS
}

/// The GSI2 partition of shard `n` of the organisation's listing of `kind`.
pub fn listing_shard_pk(org: &OrgId, kind: &str, n: u8) -> String {
    format!("ORG#{org}#LIST#{kind}#{n}")
}

/// GSI1 partition of what one developer owns (key requests, API keys, sessions), sorted by
/// `<KIND>#<id or hash>`, so a developer's items are read without reading anyone else's.
pub fn developer_items_pk(org: &OrgId, developer: &DeveloperId) -> String {
    format!("ORG#{org}#DEV#{developer}")
}

/// The GSI1 sort key of a record a developer owns.
pub fn developer_item_sk(kind: &str, id: &str) -> String {
    format!("{kind}#{id}")
}

/// GSI1 partition of what one admin user owns (their sessions), sorted like a developer's.
pub fn admin_items_pk(org: &OrgId, admin: &AdminUserId) -> String {
    format!("ORG#{org}#ADMIN#{admin}")
}

/// An admin user, in the organisation's partition (admins are few and change rarely; a login
/// reads the record and writes only the session).
pub fn admin_user(org: &OrgId, id: &AdminUserId) -> Key {
    Key::new(org_pk(org), format!("{ADMIN_USER_PREFIX}{id}"))
}

/// The sort-key prefix of the organisation's admin users.
pub const ADMIN_USER_PREFIX: &str = "ADMINUSER#";

/// The guard that keeps one admin user per (lower-cased) email in an organisation.
pub fn admin_email(org: &OrgId, normalized_email: &str) -> Key {
    Key::new(org_pk(org), format!("ADMINEMAIL#{normalized_email}"))
}

/// GSI1 partition of an organisation's developers, sorted by `<lower-cased email>#<id>` (written
/// when an account is made or changes, not per request).
pub fn developer_search_pk(org: &OrgId) -> String {
    format!("ORG#{org}#DEVEMAIL")
}

pub fn developer_search_sk(normalized_email: &str, id: &DeveloperId) -> String {
    format!("{normalized_email}#{id}")
}

/// The partition of one person's in-app notifications (a developer's or an admin user's id).
pub fn inbox_pk(org: &OrgId, person_id: &str) -> String {
    format!("ORG#{org}#INBOX#{person_id}")
}

/// A person's notification preferences (a developer's or an admin user's id).
pub fn preferences(org: &OrgId, person_id: &str) -> Key {
    own(org, "PREFS", person_id)
}

/// Where an admin user's digest of a notification type stands (the last window sent): one record
/// of its own, written once per window.
pub fn digest_cursor(org: &OrgId, admin: &AdminUserId, digest_type: &str) -> Key {
    own(org, "DIGEST", &format!("{admin}#{digest_type}"))
}

/// The GSI2 partition listing every person, in every organisation, who takes a digest: a sparse
/// index of the preference records that name one (the scheduled digest job reads it). The one
/// deployment-wide partition besides the suppression list: written only when someone changes
/// their digest choice, read once per scheduled run.
pub const DIGEST_TAKERS_PK: &str = "DIGESTS";

/// The sort-key prefix of inbox items.
pub const INBOX_ITEM_PREFIX: &str = "ITEM#";

pub const SESSION_KIND: &str = "SESSION";

/// A login session, addressed by the SHA-256 of its token.
pub fn session(org: &OrgId, token_hash: &str) -> Key {
    own(org, SESSION_KIND, token_hash)
}

/// The addresses an account (developer or admin user, by id) recently logged in from (written per
/// login from a new address).
pub fn known_addresses(org: &OrgId, account_id: &str) -> Key {
    own(org, "LOGINS", account_id)
}

pub fn password_reset(org: &OrgId, token_hash: &str) -> Key {
    own(org, "RESET", token_hash)
}

/// A rate-limit counter: limit `name` (`domain::limits::Limit::name`) for the subject whose SHA-256
/// is `subject_hash` (a source address, a recipient, an email tried at login); each its own partition.
pub fn rate_counter(org: &OrgId, name: &str, subject_hash: &str) -> Key {
    own(org, "LIMIT", &format!("{name}#{subject_hash}"))
}

/// The key requests of one developer still waiting for a decision (checked when they ask for another).
pub fn pending_key_requests(org: &OrgId, developer: &DeveloperId) -> Key {
    own(org, "PENDINGREQS", developer.as_str())
}

pub fn key_link(org: &OrgId, token_hash: &str) -> Key {
    own(org, "KEYLINK", token_hash)
}

/// A webhook endpoint's health (failing since, disabled), addressed by the SHA-256 of its URL.
pub fn endpoint(org: &OrgId, url_hash: &str) -> Key {
    own(org, "ENDPOINT", url_hash)
}

/// GSI1 partition listing the organisation's endpoint health records (written when an endpoint
/// starts or stops failing, not per delivery), sorted by URL hash.
pub fn endpoints_pk(org: &OrgId) -> String {
    format!("ORG#{org}#ENDPOINTS")
}

/// The deployment's suppression list (bounced or complained addresses), like SES's account-level
/// list: a bad address hurts the sender's reputation whichever organisation writes to it. Keyed by
/// the SHA-256 of the lower-cased address, each address a partition of its own.
pub fn suppressed(email_hash: &str) -> Key {
    Key::new(format!("SUPPRESSED#{email_hash}"), "SUPPRESSED")
}

/// An API key found by its SHA-256 alone, as a gateway finds it (it knows no organisation): each
/// key a partition of its own.
pub fn key_by_hash(key_hash: &str) -> Key {
    Key::new(format!("KEYHASH#{key_hash}"), "KEYHASH")
}

/// The units of one key's limit (`quota` or `rate`) that verifiers have leased in the window
/// starting at `window_start`: written per lease, so each window a partition of its own.
pub fn allowance(org: &OrgId, key: &KeyId, limit: &str, window_start: i64) -> Key {
    own(org, "ALLOWANCE", &format!("{key}#{limit}#{window_start}"))
}

/// The partition of one key's daily use (sort keys `DAY#{yyyy-mm-dd}`): written once per key per
/// flush, never per call, and read a week at a time.
pub fn usage_pk(org: &OrgId, key: &KeyId) -> String {
    format!("ORG#{org}#USAGE#{key}")
}

pub const USAGE_DAY_PREFIX: &str = "DAY#";

pub fn usage_day(org: &OrgId, key: &KeyId, day: &str) -> Key {
    Key::new(usage_pk(org, key), format!("{USAGE_DAY_PREFIX}{day}"))
}

/// The kind under which one day's usage records are listed organisation-wide (GSI2, sharded by key
/// id), for the day's top keys.
pub fn usage_listing_kind(day: &str) -> String {
    format!("USAGE#{day}")
}

/// What a key or developer (by id) spent in one month (`2026-12`): written per spend report.
pub fn spend(org: &OrgId, subject: &str, month: &str) -> Key {
    own(org, "SPEND", &format!("{subject}#{month}"))
}

/// A spend report, by the SHA-256 of the id its reporter gave it, so a report sent twice counts once.
pub fn spend_report(org: &OrgId, id_hash: &str) -> Key {
    own(org, "SPENDREPORT", id_hash)
}

/// One address's opt-out of one category of an organisation's emails (List-Unsubscribe).
pub fn opt_out(org: &OrgId, email_hash: &str, category: &str) -> Key {
    own(org, "OPTOUT", &format!("{email_hash}#{category}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_starts_with_its_organisation_and_ids_spread_over_the_shards() {
        let org = OrgId::parse("acme").unwrap();
        let dev = DeveloperId::generate();
        for key in [
            developer(&org, &dev),
            event(&org, &EventId::generate()),
            spread(&org, DELIVERY_KIND, "evt_1.email.ab"),
            session(&org, "abc"),
            rate_counter(&org, "login_failures_per_email", "abc"),
            pending_key_requests(&org, &dev),
        ] {
            assert!(key.pk.starts_with("ORG#acme#"), "{key:?}");
        }
        let mut seen = [0u32; LIST_SHARDS as usize];
        for _ in 0..800 {
            seen[shard_of(EventId::generate().as_str()) as usize] += 1;
        }
        assert!(seen.iter().all(|&n| (50..=150).contains(&n)), "{seen:?}");
    }
}
