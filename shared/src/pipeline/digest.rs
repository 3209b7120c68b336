//! The scheduled digest job: an EventBridge schedule (or the local runner's timer) fires it, and it
//! sends every digest due at the schedule's time (`service::digests::send_due`).

use std::sync::Arc;

use crate::domain::now_epoch_millis;
use crate::service::digests::{self, DigestRun};
use crate::store::{Store, StoreError};

pub struct DigestJob {
    store: Arc<dyn Store>,
}

impl DigestJob {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// Sends the digests due at the scheduled event's `time` (RFC 3339; now when absent), so a
    /// delivery EventBridge retries late still counts for the window it was meant for.
    #[tracing::instrument(name = "digest_job", skip_all)]
    pub async fn handle(&self, event: &serde_json::Value) -> Result<DigestRun, StoreError> {
        let at_ms = event
            .get("time")
            .and_then(|t| t.as_str())
            .and_then(|t| time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok())
            .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
            .unwrap_or_else(now_epoch_millis);
        digests::send_due(self.store.as_ref(), at_ms).await
    }
}
