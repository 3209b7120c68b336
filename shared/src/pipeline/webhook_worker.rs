//! The webhook worker: signs each job's event per Standard Webhooks with the organisation's secret and
//! POSTs it; a 2xx ends the delivery, anything else leaves the job to SQS for another try.

use async_trait::async_trait;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::future::join_all;
use std::sync::Arc;
use tracing::Instrument;

use super::batch::{job_span, report, Retry};
use super::jobs::WebhookJob;
use super::{QueueHandler, DELIVERY_LOCK_SECS};
use crate::crypto::SecretBox;
use crate::domain::now_epoch;
use crate::store::deliveries::{self, Claim, DeliveryTarget};
use crate::store::{orgs, Store};
use crate::webhook::{SigningSecret, WebhookClient, WebhookError, ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};

pub struct WebhookWorker {
    store: Arc<dyn Store>,
    client: WebhookClient,
    secrets: SecretBox,
}

impl WebhookWorker {
    pub fn new(store: Arc<dyn Store>, client: WebhookClient, secrets: SecretBox) -> Self {
        Self { store, client, secrets }
    }

    /// POSTs the job; `Ok(Err(..))` is a failure not worth retrying.
    async fn attempt(&self, job: &WebhookJob) -> Result<Result<(), String>, String> {
        let org = orgs::get_org(self.store.as_ref(), &job.event.org_id)
            .await
            .map_err(|e| format!("reading the organisation: {e}"))?
            .ok_or_else(|| "the organisation no longer exists".to_string())?
            .value;
        let secret = self
            .secrets
            .open(&org.webhook_secret_sealed)
            .ok()
            .and_then(|s| SigningSecret::parse(&s).ok())
            .ok_or_else(|| "the organisation's signing secret cannot be read".to_string())?;
        let body = serde_json::to_vec(&job.event.webhook_payload()).expect("payload serializes");
        let timestamp = now_epoch();
        // The event id is the message id, so a receiver can de-duplicate retries.
        let msg_id = job.event.id.as_str();
        let headers = [
            (ID_HEADER, msg_id.to_string()),
            (TIMESTAMP_HEADER, timestamp.to_string()),
            (SIGNATURE_HEADER, secret.sign(msg_id, timestamp, &body)),
        ];
        match self.client.post(job.url.as_str(), &headers, body).await {
            Ok(r) if (200..300).contains(&r.status) => {
                tracing::info!(delivery_id = %job.delivery_id, status = r.status, ms = r.duration.as_millis() as u64, "webhook delivered");
                Ok(Ok(()))
            }
            Ok(r) => Err(format!("the endpoint answered {}", r.status)),
            Err(e @ WebhookError::BlockedAddress(_)) | Err(e @ WebhookError::InvalidUrl(_)) => Ok(Err(e.to_string())),
            Err(e) => Err(e.to_string()),
        }
    }

    async fn deliver(&self, message: &SqsMessage) -> Result<(), Retry> {
        let body = message.body.as_deref().unwrap_or_default();
        let job: WebhookJob = serde_json::from_str(body).map_err(|e| Retry::Undecodable(e.to_string()))?;
        let target = DeliveryTarget {
            org: &job.event.org_id,
            delivery_id: &job.delivery_id,
            event_id: job.event.id.as_str(),
            channel: "webhook",
            target: job.url.as_str(),
        };
        let (delivery, version) = match deliveries::claim(self.store.as_ref(), &target, DELIVERY_LOCK_SECS).await? {
            Claim::AlreadySent => return Ok(()),
            Claim::Busy => return Err(Retry::Busy),
            Claim::Proceed { delivery, version } => (delivery, version),
        };
        let outcome = self.attempt(&job).await;
        let record = match &outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(m)) | Err(m) => Err(m.clone()),
        };
        deliveries::finish(self.store.as_ref(), &job.event.org_id, delivery, version, record).await?;
        match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(problem)) => {
                tracing::error!(delivery_id = %job.delivery_id, %problem, "webhook failed for good; see the delivery log");
                Ok(())
            }
            Err(problem) => Err(Retry::Send(problem)),
        }
    }
}

#[async_trait]
impl QueueHandler for WebhookWorker {
    async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        let results = join_all(event.records.iter().map(|m| self.deliver(m).instrument(job_span("webhook", m)))).await;
        report("webhook", &event.records, results)
    }
}
