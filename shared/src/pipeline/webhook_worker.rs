//! The webhook worker: signs each job's event per Standard Webhooks with the organisation's secret
//! (and the previous one during a rotation) and POSTs it; a 2xx ends the delivery, anything else
//! leaves the job to SQS for another try. A 410 Gone, or failing for longer than allowed, disables
//! the endpoint and tells the organisation's admin; a disabled endpoint's deliveries are skipped.

use async_trait::async_trait;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::future::join_all;
use std::sync::Arc;
use tracing::Instrument;

use super::batch::{
    deliver_once, finish_batch, handed_over_before, job_span, Attempt, BatchOutcomes, DeliveryWorker, ReadOnce, Retry,
};
use super::QueueHandler;
use crate::crypto::SecretBox;
use crate::domain::event_data::{EndpointDisabled, EndpointFailing, EventData};
use crate::domain::jobs::WebhookJob;
use crate::domain::{now_epoch, now_rfc3339, Event, Organisation, WebhookUrl};
use crate::store::deliveries::{DeliveryTarget, WithheldReason};
use crate::store::endpoints::{self, EndpointHealth};
use crate::store::Versioned;
use crate::store::{orgs, Store};
use crate::webhook::{SigningSecret, WebhookClient, WebhookError, ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};

pub struct WebhookWorker {
    store: Arc<dyn Store>,
    client: WebhookClient,
    secrets: SecretBox,
    retries: RetryPolicy,
    /// An endpoint failing this long without a success is disabled.
    disable_after: std::time::Duration,
    /// The queue's `maxReceiveCount`: a failure on that receive is dead-lettered.
    max_receives: u32,
    /// An endpoint failing this long without a success raises `system_event.endpoint_failing`.
    failing_notice_after: std::time::Duration,
}

/// When failed webhooks are tried again: the delay after the n-th failed attempt is the schedule's
/// n-th entry (the last one repeats), give or take 10 % so retries of many jobs spread out, and never
/// sooner than the receiver's `Retry-After`. The job's visibility on its queue carries the delay.
#[derive(Clone)]
pub struct RetryPolicy {
    pub schedule: Vec<std::time::Duration>,
    pub queue: Arc<dyn crate::queue::JobScheduler>,
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
    pub fn new(
        store: Arc<dyn Store>,
        client: WebhookClient,
        secrets: SecretBox,
        retries: RetryPolicy,
        disable_after: std::time::Duration,
    ) -> Self {
        Self {
            store,
            client,
            secrets,
            retries,
            disable_after,
            max_receives: 5,
            failing_notice_after: std::time::Duration::from_secs(3600),
        }
    }

    /// How long an endpoint fails before the managers of deliveries are told (once a day).
    pub fn failing_notice_after(mut self, after: std::time::Duration) -> Self {
        self.failing_notice_after = after;
        self
    }

    /// The queue's `maxReceiveCount` (`QUEUE_MAX_RECEIVE_COUNT`), for counting dead letters.
    pub fn dead_lettered_after(mut self, receives: u32) -> Self {
        self.max_receives = receives;
        self
    }

    /// `webhook-signature`: the current secret's signature, and during a rotation's grace period
    /// the previous secret's too.
    fn signatures(&self, org: &Organisation, msg_id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
        let open = |sealed: &str| {
            self.secrets
                .open(sealed)
                .ok()
                .and_then(|s| SigningSecret::parse(&s).ok())
        };
        let mut header = open(&org.webhook_secret_sealed)?.sign(msg_id, timestamp, body);
        if let (Some(previous), Some(until)) = (&org.previous_webhook_secret_sealed, org.previous_webhook_secret_until)
        {
            if let (true, Some(secret)) = (now_epoch() < until, open(previous)) {
                header.push(' ');
                header.push_str(&secret.sign(msg_id, timestamp, body));
            }
        }
        Some(header)
    }

    /// Records how the endpoint fared; returns the reason when this attempt disabled it. Best
    /// effort: a lost race with another job's update is settled by that job or the next.
    async fn note_health(
        &self,
        org: &Organisation,
        url: &WebhookUrl,
        health: Option<Versioned<EndpointHealth>>,
        answer: Health,
    ) -> Option<String> {
        let (mut state, version) = match health {
            Some(h) => (h.value, h.version),
            None => (EndpointHealth::new(url.as_str()), 0),
        };
        let now = now_epoch();
        let disable = match answer {
            Health::Ok if state.failing_since.is_none() => return None,
            Health::Ok => {
                state.failing_since = None;
                None
            }
            Health::Gone => Some("it answered 410 Gone".to_string()),
            Health::Failing => match state.failing_since {
                // The first failure since the last success starts the clock.
                None => {
                    state.failing_since = Some(now);
                    None
                }
                Some(since) if now.saturating_sub(since) >= self.disable_after.as_secs() as i64 => Some(format!(
                    "it has failed every delivery for {} seconds",
                    now.saturating_sub(since)
                )),
                // Failing for an hour: the managers of deliveries are told, once a day.
                Some(since)
                    if now.saturating_sub(since) >= self.failing_notice_after.as_secs() as i64
                        && state
                            .failing_notice_at
                            .is_none_or(|at| now.saturating_sub(at) >= 86_400) =>
                {
                    state.failing_notice_at = Some(now);
                    let data = EventData::EndpointFailing(EndpointFailing {
                        url: url.without_query().as_str().to_string(),
                        failing_since: since,
                        failing_for_minutes: now.saturating_sub(since) / 60,
                        disabled_in_hours: (since + self.disable_after.as_secs() as i64 - now).max(0) / 3600,
                    });
                    let notice = Event::new(org.id.clone(), data.kind(), now_rfc3339(), data.public());
                    if let Err(e) = endpoints::save(self.store.as_ref(), &org.id, &state, version, &[notice]).await {
                        tracing::warn!(org = %org.id, error = %e, "could not record the failing endpoint's notice");
                    }
                    return None;
                }
                Some(_) => return None,
            },
        };
        let mut events = Vec::new();
        if let Some(reason) = &disable {
            state.disabled_at = Some(now_rfc3339());
            state.disabled_reason = Some(reason.clone());
            let data = EventData::EndpointDisabled(EndpointDisabled {
                url: url.clone(),
                reason: reason.clone(),
                failing_since: state.failing_since,
                email: org.settings.admin_email.clone(),
            });
            events.push(Event::new(org.id.clone(), data.kind(), now_rfc3339(), data.public()));
        }
        match endpoints::save(self.store.as_ref(), &org.id, &state, version, &events).await {
            Ok(()) if disable.is_some() => {
                tracing::warn!(org = %org.id, reason = disable.as_deref().unwrap_or_default(), "webhook endpoint disabled");
                let why = if matches!(answer, Health::Gone) {
                    "gone"
                } else {
                    "failing"
                };
                crate::telemetry::count("EndpointsDisabled", why);
                disable
            }
            Ok(()) => None,
            Err(e) => {
                tracing::warn!(org = %org.id, error = %e, "could not record the endpoint's health");
                None
            }
        }
    }

    async fn attempt(&self, reads: &BatchReads, job: &WebhookJob) -> Attempt {
        let store = self.store.as_ref();
        let org_id = &job.event.org_id;
        let org = match reads.orgs.get(org_id.clone(), || orgs::get_org(store, org_id)).await {
            Ok(Some(org)) => org.value,
            Ok(None) => return Attempt::FailedForGood("the organisation no longer exists".into()),
            Err(e) => {
                return Attempt::FailedForNow {
                    problem: format!("reading the organisation: {e}"),
                    retry_after: None,
                }
            }
        };
        let url = job.url.as_str();
        let health = match reads
            .health
            .get((org.id.clone(), url.to_string()), || {
                endpoints::get(store, &org.id, url)
            })
            .await
        {
            Ok(h) => h,
            Err(e) => {
                return Attempt::FailedForNow {
                    problem: format!("reading the endpoint's health: {e}"),
                    retry_after: None,
                }
            }
        };
        if let Some(reason) = health.as_ref().and_then(|h| h.value.disabled_reason.clone()) {
            return Attempt::Skipped(
                WithheldReason::EndpointDisabled,
                format!("the endpoint is disabled: {reason}"),
            );
        }
        let body = serde_json::to_vec(&job.event.webhook_payload()).expect("payload serializes");
        let timestamp = now_epoch();
        // The event id is the message id, so a receiver can de-duplicate retries.
        let msg_id = job.event.id.as_str();
        let Some(signatures) = self.signatures(&org, msg_id, timestamp, &body) else {
            return Attempt::FailedForGood("the organisation's signing secret cannot be read".into());
        };
        let headers = [
            (ID_HEADER, msg_id.to_string()),
            (TIMESTAMP_HEADER, timestamp.to_string()),
            (SIGNATURE_HEADER, signatures),
        ];
        let (attempt, answer) = match self.client.post(url, &headers, body).await {
            Ok(r) if (200..300).contains(&r.status) => {
                tracing::debug!(delivery_id = %job.delivery_id, status = r.status, ms = r.duration.as_millis() as u64, "webhook delivered");
                (Attempt::Delivered, Health::Ok)
            }
            Ok(r) if r.status == 410 => (
                Attempt::FailedForGood("the endpoint answered 410 Gone".into()),
                Health::Gone,
            ),
            Ok(r) => (
                Attempt::FailedForNow {
                    problem: format!("the endpoint answered {}", r.status),
                    retry_after: r.retry_after,
                },
                Health::Failing,
            ),
            Err(e @ WebhookError::BlockedAddress(_)) | Err(e @ WebhookError::InvalidUrl(_)) => {
                return Attempt::FailedForGood(e.to_string());
            }
            Err(e) => (
                Attempt::FailedForNow {
                    problem: e.to_string(),
                    retry_after: None,
                },
                Health::Failing,
            ),
        };
        match self.note_health(&org, &job.url, health, answer).await {
            Some(reason) => Attempt::FailedForGood(format!(
                "{}; the endpoint is now disabled: {reason}",
                problem_of(&attempt)
            )),
            None => attempt,
        }
    }

    async fn deliver(&self, batch: &BatchOutcomes, reads: &BatchReads, message: &SqsMessage) -> Result<(), Retry> {
        let body = message.body.as_deref().unwrap_or_default();
        let job: WebhookJob = serde_json::from_str(body).map_err(|e| Retry::Undecodable(e.to_string()))?;
        let target = DeliveryTarget {
            org: &job.event.org_id,
            delivery_id: &job.delivery_id,
            event_id: job.event.id.as_str(),
            occurred_at: &job.event.occurred_at,
            channel: "webhook",
            target: job.url.as_str(),
            job: body,
            handed_over_before: handed_over_before(message),
        };
        let outcome = deliver_once(self.store.as_ref(), batch, &target, Some(&self.retries), || {
            self.attempt(reads, &job)
        })
        .await;
        outcome
    }
}

/// How an endpoint fared in one attempt.
enum Health {
    Ok,
    Gone,
    Failing,
}

fn problem_of(attempt: &Attempt) -> &str {
    match attempt {
        Attempt::FailedForNow { problem, .. } => problem,
        Attempt::FailedForGood(problem) | Attempt::Skipped(_, problem) => problem,
        Attempt::Delivered => "delivered",
    }
}

/// What a batch's jobs read once for all of them: a batch usually carries one organisation's events
/// to a few endpoints.
#[derive(Default)]
struct BatchReads {
    orgs: ReadOnce<crate::domain::OrgId, Option<Versioned<Organisation>>>,
    health: ReadOnce<(crate::domain::OrgId, String), Option<Versioned<EndpointHealth>>>,
}

impl DeliveryWorker for WebhookWorker {
    const CHANNEL: &'static str = "webhook";
    type Job = WebhookJob;
    fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }
    fn max_receives(&self) -> u32 {
        self.max_receives
    }
    fn scheduler(&self) -> Option<&dyn crate::queue::JobScheduler> {
        Some(self.retries.queue.as_ref())
    }
}

#[async_trait]
impl QueueHandler for WebhookWorker {
    async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        let batch = BatchOutcomes::new();
        let reads = BatchReads::default();
        let results = join_all(
            event
                .records
                .iter()
                .map(|m| self.deliver(&batch, &reads, m).instrument(job_span("webhook", m))),
        )
        .await;
        finish_batch(self, batch, &event.records, results).await
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
        assert_eq!(
            p.delay(1, Some(600)),
            Duration::from_secs(600),
            "Retry-After wins when later"
        );
        assert_eq!(
            p.delay(1, Some(10 * 24 * 3600)),
            Duration::from_secs(12 * 3600),
            "capped at SQS's limit"
        );
    }
}
