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
    retries: RetryPolicy,
}

/// When failed webhooks are tried again: the delay after the n-th failed attempt is the schedule's
/// n-th entry (the last one repeats), give or take 10 % so retries of many jobs spread out, and never
/// sooner than the receiver's `Retry-After`. The job's visibility on its queue carries the delay.
#[derive(Clone)]
pub struct RetryPolicy {
    pub schedule: Vec<std::time::Duration>,
    pub queue: Arc<dyn crate::queue::Queue>,
}

impl RetryPolicy {
    /// SQS's longest visibility timeout.
    const MAX_DELAY: std::time::Duration = std::time::Duration::from_secs(12 * 3600);

    pub fn delay(&self, attempts: u32, retry_after: Option<u64>) -> std::time::Duration {
        use rand::Rng;
        let index = (attempts.max(1) as usize - 1).min(self.schedule.len().saturating_sub(1));
        let base = self.schedule.get(index).copied().unwrap_or_default();
        let jittered = base.mul_f64(rand::thread_rng().gen_range(0.9..=1.1));
        let floor = std::time::Duration::from_secs(retry_after.unwrap_or(0));
        jittered.max(floor).min(Self::MAX_DELAY)
    }
}

impl WebhookWorker {
    pub fn new(store: Arc<dyn Store>, client: WebhookClient, secrets: SecretBox, retries: RetryPolicy) -> Self {
        Self { store, client, secrets, retries }
    }

    async fn attempt(&self, job: &WebhookJob) -> Attempt {
        let org = match orgs::get_org(self.store.as_ref(), &job.event.org_id).await {
            Ok(Some(org)) => org.value,
            Ok(None) => return Attempt::FailedForGood("the organisation no longer exists".into()),
            Err(e) => return Attempt::FailedForNow { problem: format!("reading the organisation: {e}"), retry_after: None },
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
            Ok(r) => Attempt::FailedForNow { problem: format!("the endpoint answered {}", r.status), retry_after: r.retry_after },
            Err(e @ WebhookError::BlockedAddress(_)) | Err(e @ WebhookError::InvalidUrl(_)) => {
                Attempt::FailedForGood(e.to_string())
            }
            Err(e) => Attempt::FailedForNow { problem: e.to_string(), retry_after: None },
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
            job: body,
        };
        let outcome = deliver_once(self.store.as_ref(), &target, Some(&self.retries), || self.attempt(&job)).await;
        if let Err(Retry::Later { delay: Some(delay), .. }) = &outcome {
            let delay = *delay;
            let receipt = message.receipt_handle.as_deref().unwrap_or_default();
            // Best effort: if this fails, the queue's own visibility timeout still brings the job back.
            if let Err(e) = self.retries.queue.retry_after(receipt, delay).await {
                tracing::warn!(delivery_id = %job.delivery_id, error = ?e, "could not schedule the retry");
            } else {
                tracing::info!(delivery_id = %job.delivery_id, delay_secs = delay.as_secs(), "webhook retry scheduled");
            }
        }
        outcome
    }
}

#[async_trait]
impl QueueHandler for WebhookWorker {
    async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        let results = join_all(event.records.iter().map(|m| self.deliver(m).instrument(job_span("webhook", m)))).await;
        report("webhook", &event.records, results)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn policy(schedule: &[u64]) -> RetryPolicy {
        RetryPolicy {
            schedule: schedule.iter().map(|s| Duration::from_secs(*s)).collect(),
            queue: Arc::new(crate::queue::MemoryQueue::dead_letter("t")),
        }
    }

    #[test]
    fn delays_follow_the_schedule_with_jitter_and_retry_after() {
        let p = policy(&[5, 300, 1800]);
        for _ in 0..50 {
            let first = p.delay(1, None).as_secs_f64();
            assert!((4.5..=5.5).contains(&first), "{first}");
            let second = p.delay(2, None).as_secs_f64();
            assert!((270.0..=330.0).contains(&second), "{second}");
            let late = p.delay(9, None).as_secs_f64();
            assert!((1620.0..=1980.0).contains(&late), "the last entry repeats: {late}");
        }
        assert_eq!(p.delay(1, Some(600)), Duration::from_secs(600), "Retry-After wins when later");
        assert_eq!(p.delay(1, Some(10 * 24 * 3600)), Duration::from_secs(12 * 3600), "capped at SQS's limit");
    }
}
