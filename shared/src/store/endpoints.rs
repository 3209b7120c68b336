//! Webhook endpoint health: when an endpoint started failing and whether it is disabled (after a
//! 410 Gone, or failing for longer than the deployment allows). The webhook worker reads it before
//! each delivery and writes it when an endpoint's state changes.

use serde::{Deserialize, Serialize};

use super::outbox::event_write;
use super::Versioned;
use super::{table_keys, to_attrs, Store, StoreError, Write, GSI1PK, GSI1SK};
use crate::domain::{Event, OrgId};
use crate::secret::token_hash;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointHealth {
    pub url: String,
    /// Epoch seconds of the first failure since the last success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    /// Epoch seconds of the last `system_event.endpoint_failing` notice (one a day at most).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_notice_at: Option<i64>,
}

impl EndpointHealth {
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_string(),
            failing_since: None,
            disabled_at: None,
            disabled_reason: None,
            failing_notice_at: None,
        }
    }
}

fn key(org: &OrgId, url: &str) -> super::Key {
    table_keys::endpoint(org, &token_hash(url))
}

pub async fn get(store: &dyn Store, org: &OrgId, url: &str) -> Result<Option<Versioned<EndpointHealth>>, StoreError> {
    super::get_versioned(store, &key(org, url)).await
}

/// Writes the endpoint's health at `version` (0: new) with the events its change raises.
pub async fn save(
    store: &dyn Store,
    org: &OrgId,
    health: &EndpointHealth,
    version: u64,
    events: &[Event],
) -> Result<(), StoreError> {
    let mut writes = vec![write(org, health, version)];
    writes.extend(events.iter().map(event_write));
    store.transact(writes).await
}

/// The write that saves `health` if nobody changed it since it was read at `version`.
pub fn write(org: &OrgId, health: &EndpointHealth, version: u64) -> Write {
    let mut attrs = to_attrs(health);
    attrs.insert(GSI1PK.into(), table_keys::endpoints_pk(org).into());
    attrs.insert(GSI1SK.into(), token_hash(&health.url).into());
    Write::put_versioned(key(org, &health.url).record(attrs), version)
}

/// A page of the organisation's endpoints with a health record, after the cursor `after`.
pub async fn list(
    store: &dyn Store,
    org: &OrgId,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<EndpointHealth>, Option<String>), StoreError> {
    let page = store
        .query_gsi1(&table_keys::endpoints_pk(org), "", after, limit)
        .await?;
    page.decode()
}
