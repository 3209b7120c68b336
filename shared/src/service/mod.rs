//! The use cases: every rule of the portal and the admin API, one module per area. A function here
//! takes the [`AppState`] and typed input, and returns domain results or a [`ServiceError`]; it knows
//! no HTTP type. Every change that raises events is one store transaction holding the change, its
//! guards and its events (the outbox), conditioned so that a race loses cleanly.
//!
//! - [`auth`]: who is calling (root key, admin keys, developer sessions).
//! - [`accounts`]: sign-up, login, profile, password reset, password links.
//! - [`developers`]: admins search, invite, edit and remove developers.
//! - [`orgs`]: organisations, settings, the webhook signing secret.
//! - [`admin_keys`]: admin keys with their roles.
//! - [`audit`]: the audit log every admin write records itself in.
//! - [`catalog`]: APIs, policies, catalog entries and the published catalog.
//! - [`api_keys`]: key requests, approvals, Generate Key links, keys.
//! - [`deliveries`]: the delivery log, replays, webhook endpoint health.
//! - [`email_templates`]: previews and test emails.
//! - [`unsubscribe`]: one-click opt-outs.
//! - [`limits`]: the abuse limits, per source address, per recipient, per login.
//! - [`gate`]: whether an API key may make a call (verify route, authorizer): rates, quotas, usage.
//! - [`usage`]: key use by day with the policy's limits, for developers and admins.
//! - [`budgets`]: monthly budgets of keys and developers, spend reports and their thresholds.

pub mod accounts;
pub mod admin_accounts;
pub mod admin_keys;
pub mod admin_users;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod budgets;
pub mod catalog;
pub mod credentials;
pub mod deliveries;
pub mod developers;
pub mod digests;
pub mod email_templates;
mod error;
pub mod gate;
pub mod limits;
pub mod notification_types;
pub mod notifications;
pub mod orgs;
pub mod unsubscribe;
pub mod usage;

pub use error::{OrConflict, ServiceError};

use std::sync::Arc;

use crate::config::Config;
use crate::crypto::SecretBox;
use crate::domain::event_data::EventData;
use crate::domain::{now_rfc3339, Event, FieldError, LinkBase, OrgId, Organisation, ValidationErrors};
use crate::queue::JobSender;
use crate::secret::Secret;
use crate::store::{orgs as org_store, Store};
use crate::templates::Templates;

/// What every use case may use, built once at start (see `app`).
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    pub secrets: SecretBox,
    /// Where replayed deliveries and test emails go.
    pub email_jobs: Arc<dyn JobSender>,
    pub webhook_jobs: Arc<dyn JobSender>,
    /// For template previews and test emails.
    pub templates: Arc<Templates>,
    /// This process's leases, policies read and use counted at the gate.
    pub gate: Arc<gate::Gate>,
    /// Organisations read in the last few seconds, for requests that decide nothing about security.
    pub orgs: Arc<OrgCache>,
}

/// Organisations this API instance read in the last `ttl` (`ORG_CACHE_SECS`, 5 by default; 0 turns
/// it off), so that the reads of one busy organisation do not all land on its partition (DynamoDB
/// serves ~3,000 strongly consistent reads a second from one item). A change made through this
/// instance is seen at once; one made through another instance, within `ttl`. What a request decides
/// about security (sign-ups, logins, password links, keys issued, admin changes, settings changed)
/// reads the organisation exactly ([`load_org`]); revocations (keys, sessions, admin keys) are
/// records of their own, read exactly.
pub struct OrgCache {
    ttl: std::time::Duration,
    entries: std::sync::Mutex<std::collections::HashMap<OrgId, (std::time::Instant, Organisation)>>,
}

impl OrgCache {
    pub fn new(ttl: std::time::Duration) -> Self {
        Self {
            ttl,
            entries: Default::default(),
        }
    }

    fn get(&self, org: &OrgId) -> Option<Organisation> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(org)
            .filter(|(read, _)| read.elapsed() < self.ttl)
            .map(|(_, o)| o.clone())
    }

    fn put(&self, org: &Organisation) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        // A bound on memory: an instance serving many organisations forgets the stale ones.
        if entries.len() >= 10_000 {
            entries.retain(|_, (read, _)| read.elapsed() < self.ttl);
        }
        entries.insert(org.id.clone(), (std::time::Instant::now(), org.clone()));
    }
}

impl AppState {
    /// A new event of `org`, its private part (if any) sealed for the person it concerns.
    pub(crate) fn raise(&self, org: &OrgId, data: impl Into<EventData>) -> Event {
        let data = data.into();
        let private = data.private();
        let mut event = Event::new(org.clone(), data.kind(), now_rfc3339(), data.public());
        event.private_sealed = private.map(|p| self.secrets.seal(&Secret::new(p.to_string())));
        event
    }

    /// The base of the organisation's emailed links (its own portal, or the deployment's with
    /// the organisation in the path).
    pub(crate) fn link_base(&self, org: &Organisation) -> LinkBase {
        org.link_base(&self.config.portal_url)
    }
}

/// The organisation with this id as stored now (a strongly consistent read), or 404.
pub async fn load_org(state: &AppState, org: &OrgId) -> Result<Organisation, ServiceError> {
    let found = org_store::get_org(state.store.as_ref(), org)
        .await?
        .ok_or(ServiceError::NotFound("organisation"))?
        .value;
    state.orgs.put(&found);
    Ok(found)
}

/// The organisation with this id as read in the last few seconds ([`OrgCache`]), or 404: for
/// requests that decide nothing about security (the catalog, preferences, profiles).
pub async fn load_org_recent(state: &AppState, org: &OrgId) -> Result<Organisation, ServiceError> {
    match state.orgs.get(org) {
        Some(found) => Ok(found),
        None => load_org(state, org).await,
    }
}

/// [`load_org_recent`] of the organisation named in a path (any text), or 404.
pub async fn load_org_named_recent(state: &AppState, org: &str) -> Result<Organisation, ServiceError> {
    let id = OrgId::parse(org).map_err(|_| ServiceError::NotFound("organisation"))?;
    load_org_recent(state, &id).await
}

/// The organisation named in a path (any text), or 404.
pub async fn load_org_named(state: &AppState, org: &str) -> Result<Organisation, ServiceError> {
    let id = OrgId::parse(org).map_err(|_| ServiceError::NotFound("organisation"))?;
    load_org(state, &id).await
}

/// A list's page size: `default` when not given, 1 to 100 when given.
/// A page of a list and the cursor of the next page (`None` on the last); see `store::Page`.
pub type Paged<T> = (Vec<T>, Option<String>);

pub fn page_limit(limit: Option<usize>, default: usize) -> Result<usize, ServiceError> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=100).contains(&n) => Ok(n),
        Some(_) => Err(ValidationErrors::from(FieldError::new("limit", "must be from 1 to 100")).into()),
    }
}

/// Runs password hashing (and other CPU-heavy work) off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, ServiceError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ServiceError::Internal(anyhow::Error::new(e).context("password hashing task")))
}

/// Tells a field given as `null` (`Some(None)`) from one left out (`None`).
pub(crate) fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Ok(Some(serde::Deserialize::deserialize(d)?))
}
