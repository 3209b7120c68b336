//! Digests of pending key requests: an admin user who decides key requests may take them as one
//! email an hour or a day (`digests` in their preferences) instead of one email per request. The
//! scheduled job ([`send_due`]) sends each taker the requests made since their last digest that
//! still wait for a decision, once per window (UTC hour or day) however often it fires; an owner
//! sends them at once with [`send_now`]. Nothing is sent for a window without a pending request.

use std::collections::HashMap;

use super::auth::OrgAdmin;
use super::{AppState, ServiceError};
use crate::domain::api_keys::{KeyRequest, KeyRequestStatus};
use crate::domain::catalog::CatalogEntry;
use crate::domain::event_data::{DigestedRequest, EventData, KeyRequestDigest};
use crate::domain::notifications::{notification_type, Audience, Cadence, NotificationType, Preferences, DIGESTS};
use crate::domain::roles::Permission;
use crate::domain::{AdminUser, AdminUserId, Event, OrgId, ValidationErrors};
use crate::store::digests::{self, DigestCursor};
use crate::store::sessions::Account;
use crate::store::{admin_users, every_page, outbox, preferences, resources, table_keys, Store, StoreError};

/// What a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DigestRun {
    /// Digests due (takers whose window had not been sent).
    pub due: usize,
    /// Digests sent (due ones with at least one pending request).
    pub sent: usize,
}

impl DigestRun {
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::NotDue => {}
            Outcome::Empty => self.due += 1,
            Outcome::Sent => {
                self.due += 1;
                self.sent += 1;
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// This window was sent already (or another run is sending it).
    NotDue,
    /// Due, but no request waits: the cursor moved, nothing was sent.
    Empty,
    Sent,
}

/// Sends every digest due at `now_ms` in every organisation (the scheduled job).
#[tracing::instrument(name = "send_digests", skip(store))]
pub async fn send_due(store: &dyn Store, now_ms: i64) -> Result<DigestRun, StoreError> {
    let mut run = DigestRun::default();
    for taker in preferences::digest_takers(store).await? {
        let Some(admin) = AdminUserId::parse(&taker.person_id) else {
            continue;
        };
        // Read again: the role may have changed since the choice was made.
        let Some(user) = admin_users::get(store, &taker.org_id, &admin).await?.map(|u| u.value) else {
            continue;
        };
        for outcome in send_for(store, &user, &taker.preferences, now_ms, false).await? {
            run.add(outcome);
        }
    }
    tracing::info!(due = run.due, sent = run.sent, "digests sent");
    Ok(run)
}

/// Sends at once the digest of every admin user of the caller's organisation who takes one,
/// covering the requests since their last digest (owners; `send_digests`).
pub async fn send_now(state: &AppState, admin: &OrgAdmin) -> Result<DigestRun, ServiceError> {
    admin.require(Permission::SendDigests)?;
    let store = state.store.as_ref();
    let org = &admin.org;
    let users: Vec<AdminUser> =
        every_page(|after| async move { admin_users::page(store, org, after.as_deref(), 100).await })
            .await?
            .into_iter()
            .map(|u| u.value)
            .collect();
    let now_ms = crate::domain::now_epoch_millis();
    let mut run = DigestRun::default();
    // Only those who may take a digest have their preferences read.
    for user in users.iter().filter(|u| digests_of(u).next().is_some()) {
        let chosen = preferences::get(store, org, Account::Admin(&user.id)).await?.value;
        for outcome in send_for(store, user, &chosen, now_ms, true).await? {
            run.add(outcome);
        }
    }
    // The run is the admin's write: recorded once, after the digests it wrote.
    store
        .transact(vec![super::audit::entry(
            state,
            admin,
            "notifications.digests_sent",
            None,
            vec![],
        )])
        .await?;
    tracing::info!(%org, due = run.due, sent = run.sent, "digests sent at once");
    Ok(run)
}

/// The digests `user` takes, each sent if due (or whatever the window when `at_once`).
async fn send_for(
    store: &dyn Store,
    user: &AdminUser,
    chosen: &Preferences,
    now_ms: i64,
    at_once: bool,
) -> Result<Vec<Outcome>, StoreError> {
    let mut outcomes = Vec::new();
    for (t, digest_type) in digests_of(user) {
        let cadence = chosen.cadence(t);
        if cadence != Cadence::Immediate {
            outcomes.push(send_one(store, user, digest_type, cadence, now_ms, at_once).await?);
        }
    }
    Ok(outcomes)
}

/// The digest types `user` may take (those of types reaching a permission their role holds), each
/// with the type it gathers.
fn digests_of(user: &AdminUser) -> impl Iterator<Item = (&'static NotificationType, &'static str)> + '_ {
    DIGESTS.iter().filter_map(|(gathered, digest_type)| {
        let t = notification_type(gathered)?;
        let Audience::Holders(permission) = t.audience else {
            return None;
        };
        user.acts_with(permission).then_some((t, *digest_type))
    })
}

/// One admin user's digest: the requests made since their last one (or one window back) that still
/// wait, in an outbox event written with the cursor's move, so a window is sent once.
async fn send_one(
    store: &dyn Store,
    user: &AdminUser,
    digest_type: &str,
    cadence: Cadence,
    now_ms: i64,
    at_once: bool,
) -> Result<Outcome, StoreError> {
    let org = &user.org_id;
    let cursor = digests::get(store, org, &user.id, digest_type).await?;
    let window = cadence.window_of(now_ms);
    if !at_once && cursor.value.as_ref().is_some_and(|c| c.window == window) {
        return Ok(Outcome::NotDue);
    }
    let from_ms = cursor
        .value
        .as_ref()
        .map(|c| c.until_ms)
        .unwrap_or(now_ms - cadence.length_ms());
    let pending = pending_between(store, org, from_ms, now_ms).await?;
    let moved = DigestCursor {
        window: window.clone(),
        until_ms: now_ms,
    };
    let mut writes = vec![digests::save(org, &user.id, digest_type, &moved, cursor.version)];
    if !pending.is_empty() {
        let names = catalog_names(store, org).await?;
        let count = pending.len();
        let requests = pending
            .into_iter()
            .take(KeyRequestDigest::LISTED)
            .map(|r| DigestedRequest {
                catalog_name: r
                    .catalog_id
                    .as_ref()
                    .and_then(|c| names.get(c.as_str()).cloned())
                    .unwrap_or_else(|| "-".into()),
                request_id: r.id,
                email: r.developer_email,
                created_at: r.created_at,
            })
            .collect::<Vec<_>>();
        let data = EventData::KeyRequestDigest(KeyRequestDigest {
            admin_id: user.id.clone(),
            email: user.email.clone(),
            cadence,
            window,
            from: rfc3339(from_ms),
            to: rfc3339(now_ms),
            count,
            more: count - requests.len(),
            requests,
        });
        let event = Event::new(org.clone(), data.kind(), crate::domain::now_rfc3339(), data.public());
        writes.push(outbox::event_write(&event));
    }
    let sent = writes.len() > 1;
    match store.transact(writes).await {
        Ok(()) if sent => Ok(Outcome::Sent),
        Ok(()) => Ok(Outcome::Empty),
        // Another run moved the cursor first: it sends this window.
        Err(StoreError::ConditionFailed { .. }) => Ok(Outcome::NotDue),
        Err(e) => Err(e),
    }
}

/// The organisation's key requests made in `[from_ms, to_ms)` that still wait, oldest first (ids are
/// time-ordered, so the listing is read from the window's first possible id and stops past its last).
async fn pending_between(
    store: &dyn Store,
    org: &OrgId,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<KeyRequest>, StoreError> {
    let id_at = |ms: i64| {
        let ulid = ulid::Ulid::from_parts(ms.max(0) as u64, 0);
        format!(
            "{}{}",
            table_keys::listed_id_prefix(table_keys::KEY_REQUEST_KIND),
            ulid.to_string().to_lowercase()
        )
    };
    let end = id_at(to_ms);
    let mut after = Some(id_at(from_ms));
    let mut pending = Vec::new();
    while let Some(cursor) = after.take() {
        let (page, next) = resources::list::<KeyRequest>(store, org, Some(&cursor), 100).await?;
        for request in page {
            if request.id.as_str() >= end.as_str() {
                return Ok(pending);
            }
            if request.status == KeyRequestStatus::Pending {
                pending.push(request);
            }
        }
        after = next;
    }
    Ok(pending)
}

/// The names of the organisation's catalog entries, by id.
async fn catalog_names(store: &dyn Store, org: &OrgId) -> Result<HashMap<String, String>, StoreError> {
    let entries: Vec<CatalogEntry> =
        every_page(|after| async move { resources::list::<CatalogEntry>(store, org, after.as_deref(), 100).await })
            .await?;
    Ok(entries.into_iter().map(|e| (e.id.to_string(), e.name)).collect())
}

fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// The cursor moves that a change of digest choices needs: a digest taken from now on (or at
/// another cadence) starts its window now, so the first one covers the requests since the choice
/// (a request before it was emailed at once) and the schedule does not send one in this window.
pub(crate) async fn start_windows(
    store: &dyn Store,
    org: &OrgId,
    admin: &AdminUserId,
    before: &Preferences,
    after: &Preferences,
) -> Result<Vec<crate::store::Write>, StoreError> {
    let now_ms = crate::domain::now_epoch_millis();
    let mut writes = Vec::new();
    for (gathered, digest_type) in DIGESTS {
        let Some(t) = notification_type(gathered) else {
            continue;
        };
        let cadence = after.cadence(t);
        if cadence == Cadence::Immediate || cadence == before.cadence(t) {
            continue;
        }
        let cursor = digests::get(store, org, admin, digest_type).await?;
        let started = DigestCursor {
            window: cadence.window_of(now_ms),
            // Requests left for a digest at the old cadence stay in the next one.
            until_ms: match (&cursor.value, before.cadence(t)) {
                (Some(c), Cadence::Hourly | Cadence::Daily) => c.until_ms,
                _ => now_ms,
            },
        };
        writes.push(digests::save(org, admin, digest_type, &started, cursor.version));
    }
    Ok(writes)
}

/// A developer has no digest: `digests` names only types that go to admin users.
pub(crate) fn refuse_for_developers(chosen: &Preferences) -> Result<(), ServiceError> {
    let mut errors = ValidationErrors::default();
    for name in chosen.digests.keys() {
        errors.push(
            format!("digests.{name}"),
            "goes to admin users; a developer has no digest",
        );
    }
    if errors.0.is_empty() {
        Ok(())
    } else {
        Err(errors.into())
    }
}
