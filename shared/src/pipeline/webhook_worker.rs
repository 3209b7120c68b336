//! The webhook worker: signs each job's event per Standard Webhooks with the organisation's secret and
//! POSTs it; a 2xx ends the delivery, anything else leaves the job to SQS for another try.

use async_trait::async_trait;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::future::join_all;
use std::sync::Arc;
use tracing::Instrument;

use super::batch::{deliver_once, job_span, report, Attempt, Retry};
use super::jobs::WebhookJob;
use super::QueueHandler;
use crate::crypto::SecretBox;
use crate::domain::now_epoch;
use crate::store::deliveries::DeliveryTarget;
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

    async fn attempt(&self, job: &WebhookJob) -> Attempt {
        let org = match orgs::get_org(self.store.as_ref(), &job.event.org_id).await {
            Ok(Some(org)) => org.value,
            Ok(None) => return Attempt::FailedForGood("the organisation no longer exists".into()),
            Err(e) => return Attempt::FailedForNow(format!("reading the organisation: {e}")),
        };
        let Some(secret) = self.secrets.open(&org.webhook_secret_sealed).ok().and_then(|s| SigningSecret::parse(&s).ok())
        else {
            return Attempt::FailedForGood("the organisation's signing secret cannot be read".into());
        };
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
                Attempt::Delivered
            }
            Ok(r) => Attempt::FailedForNow(format!("the endpoint answered {}", r.status)),
            Err(e @ WebhookError::BlockedAddress(_)) | Err(e @ WebhookError::InvalidUrl(_)) => {
                Attempt::FailedForGood(e.to_string())
            }
            Err(e) => Attempt::FailedForNow(e.to_string()),
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
        deliver_once(self.store.as_ref(), &target, || self.attempt(&job)).await
    }
}

#[async_trait]
impl QueueHandler for WebhookWorker {
    async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        let results = join_all(event.records.iter().map(|m| self.deliver(m).instrument(job_span("webhook", m)))).await;
        report("webhook", &event.records, results)
    }
}
