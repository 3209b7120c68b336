//! What the two workers share about SQS batches: one span per message, and the batch response that
//! hands every unfinished message back to the queue.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsMessage};

use super::RetryPolicy;
use super::DELIVERY_LOCK_SECS;
use crate::store::deliveries::{self, Claim, DeliveryTarget, Finished, Outcome, Unsent, WithheldReason};
use crate::store::Store;

/// How one attempt at a delivery ended.
pub enum Attempt {
    Delivered,
    /// Will not get better by retrying (a refused address, a broken template): recorded, acknowledged.
    FailedForGood(String),
    /// Not sent on purpose (emails switched off, a suppressed address, a limit): recorded with its
    /// reason and a sentence, acknowledged.
    Skipped(WithheldReason, String),
    /// May work later: recorded, and the job is left to the queue. `retry_after` is the receiver's
    /// own word on when to come back (seconds), if it gave one.
    FailedForNow {
        problem: String,
        retry_after: Option<u64>,
    },
}

/// The finished attempts of one worker batch, recorded together when the batch is done: one
/// write per organisation instead of one per delivery.
pub struct BatchOutcomes {
    id: String,
    finished: std::sync::Mutex<Vec<Finished>>,
}

impl BatchOutcomes {
    pub fn new() -> Self {
        Self {
            id: format!("b_{}", ulid::Ulid::new()),
            finished: Default::default(),
        }
    }

    /// How many of the batch's attempts sent, by organisation.
    pub fn sent_by_org(&self) -> std::collections::HashMap<crate::domain::OrgId, i64> {
        let mut sent = std::collections::HashMap::new();
        for f in self.finished.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            if f.outcome.status == deliveries::DeliveryStatus::Sent {
                *sent.entry(f.org.clone()).or_default() += 1;
            }
        }
        sent
    }

    /// Records every finished attempt, trying for about half a minute through a store outage: once
    /// a message has gone out, failing to record it would let a later attempt send it again. When
    /// it cannot, every result becomes a retry (the claims keep the deliveries locked meanwhile).
    pub async fn record(self, store: &dyn Store, results: Vec<Result<(), Retry>>) -> Vec<Result<(), Retry>> {
        let finished = self.finished.into_inner().unwrap_or_else(|e| e.into_inner());
        if finished.is_empty() {
            return results;
        }
        let mut pause = std::time::Duration::from_millis(250);
        let mut waited = std::time::Duration::ZERO;
        loop {
            match deliveries::record_outcomes(store, &self.id, &finished).await {
                Ok(()) => return results,
                Err(crate::store::StoreError::Unavailable(e)) if waited < RECORD_PATIENCE => {
                    tracing::warn!(batch = %self.id, error = %e, "recording the batch's deliveries failed; trying again");
                    tokio::time::sleep(pause).await;
                    waited += pause;
                    pause = (pause * 2).min(std::time::Duration::from_secs(5));
                }
                Err(e) => {
                    tracing::error!(batch = %self.id, error = %e, "could not record the batch's deliveries; every job is left for retry");
                    let message = e.to_string();
                    return results
                        .into_iter()
                        .map(|_| Err(Retry::Unrecorded(message.clone())))
                        .collect();
                }
            }
        }
    }
}

impl Default for BatchOutcomes {
    fn default() -> Self {
        Self::new()
    }
}

/// Runs `attempt` unless this delivery was already made or another attempt holds it, and keeps how
/// it ended for the batch's outcome record. This is what makes a job handed over twice deliver once.
/// With `retries`, a failure worth another attempt is scheduled on it (and logged with its time).
pub async fn deliver_once<F, Fut>(
    store: &dyn Store,
    batch: &BatchOutcomes,
    target: &DeliveryTarget<'_>,
    retries: Option<&RetryPolicy>,
    attempt: F,
) -> Result<(), Retry>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Attempt>,
{
    let delivery = match deliveries::claim(store, target, &batch.id, DELIVERY_LOCK_SECS).await? {
        Claim::AlreadySent => {
            tracing::debug!(delivery_id = %target.delivery_id, "already delivered; acknowledged");
            return Ok(());
        }
        Claim::Busy { until } => {
            let wait = until.map(|t| {
                std::time::Duration::from_secs(t.saturating_sub(crate::domain::now_epoch()).max(0) as u64 + 1)
            });
            return Err(Retry::Busy { wait });
        }
        Claim::Proceed { delivery } => *delivery,
    };
    let attempts = delivery.attempts;
    let started = std::time::Instant::now();
    let outcome = attempt().await;
    let duration = started.elapsed();
    count_attempt(target, &outcome);
    let (result, next_attempt_in) = match &outcome {
        Attempt::Delivered => (Ok(()), None),
        Attempt::Skipped(reason, why) => (Err(Unsent::Withheld(*reason, why.clone())), None),
        Attempt::FailedForGood(problem) => (Err(Unsent::Failed(problem.clone())), None),
        Attempt::FailedForNow { problem, retry_after } => (
            Err(Unsent::Failed(problem.clone())),
            retries.map(|r| r.delay(attempts, *retry_after)),
        ),
    };
    let finished = Finished::new(
        target,
        Outcome {
            result,
            duration,
            next_attempt_in,
        },
    );
    batch.finished.lock().unwrap_or_else(|e| e.into_inner()).push(finished);
    match outcome {
        Attempt::Delivered => Ok(()),
        Attempt::Skipped(reason, why) => {
            tracing::debug!(delivery_id = %target.delivery_id, channel = target.channel, ?reason, %why, "delivery skipped");
            Ok(())
        }
        Attempt::FailedForNow { problem, .. } => Err(Retry::Later {
            problem,
            delay: next_attempt_in,
        }),
        Attempt::FailedForGood(problem) => {
            tracing::error!(delivery_id = %target.delivery_id, channel = target.channel, %problem, "delivery failed for good; see the delivery log");
            Ok(())
        }
    }
}

/// What the jobs of one batch read alike (their organisation, an endpoint's health), read once for
/// the batch: a failed read is not kept, so the next job reads again.
pub struct ReadOnce<K, V> {
    cells: std::sync::Mutex<std::collections::HashMap<K, std::sync::Arc<tokio::sync::OnceCell<V>>>>,
}

impl<K: std::hash::Hash + Eq, V: Clone> ReadOnce<K, V> {
    pub async fn get<E, F, Fut>(&self, key: K, read: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<V, E>>,
    {
        let cell = self
            .cells
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_default()
            .clone();
        cell.get_or_try_init(read).await.cloned()
    }
}

impl<K, V> Default for ReadOnce<K, V> {
    fn default() -> Self {
        Self {
            cells: Default::default(),
        }
    }
}

/// The metrics of one attempt: its outcome, a skip's reason, and how long after its event a
/// delivery went out.
fn count_attempt(target: &DeliveryTarget<'_>, outcome: &Attempt) {
    use crate::telemetry;
    let channel = target.channel;
    match outcome {
        Attempt::Delivered => {
            telemetry::delivery(channel, "sent");
            let happened =
                time::OffsetDateTime::parse(target.occurred_at, &time::format_description::well_known::Rfc3339);
            if let Ok(happened) = happened {
                let latency = time::OffsetDateTime::now_utc() - happened;
                if let Ok(latency) = std::time::Duration::try_from(latency) {
                    telemetry::delivery_latency(channel, latency);
                }
            }
        }
        Attempt::Skipped(reason, _) => {
            telemetry::delivery(channel, "skipped");
            telemetry::delivery_skipped(channel, &reason.name());
        }
        Attempt::FailedForGood(_) => telemetry::delivery(channel, "failed"),
        Attempt::FailedForNow { .. } => telemetry::delivery(channel, "retried"),
    }
}

/// How long a worker keeps trying to record a finished batch.
const RECORD_PATIENCE: std::time::Duration = std::time::Duration::from_secs(30);

impl Retry {
    /// When the job should come back, if sooner or later than the queue's visibility timeout.
    pub fn delay(&self) -> Option<std::time::Duration> {
        match self {
            Retry::Later { delay, .. } => *delay,
            Retry::Busy { wait } => *wait,
            _ => None,
        }
    }
}

/// Makes a received message visible again after `delay` (a retry's schedule, or a held delivery's
/// lock). Best effort: if it fails, the queue's own visibility timeout still brings the job back.
pub(crate) async fn postpone(queue: &dyn crate::queue::JobScheduler, message: &SqsMessage, delay: std::time::Duration) {
    let receipt = message.receipt_handle.as_deref().unwrap_or_default();
    match queue.retry_after(receipt, delay).await {
        Ok(()) => tracing::info!(delay_secs = delay.as_secs(), "job postponed"),
        Err(e) => tracing::warn!(error = ?e, "could not postpone the job"),
    }
}

/// Why a job was not acknowledged: SQS will hand it over again, and dead-letter it in the end.
#[derive(Debug, thiserror::Error)]
pub enum Retry {
    #[error("the job does not decode: {0}")]
    Undecodable(String),
    /// `wait`: until the holder's lock expires (a crashed attempt may be retried then).
    #[error("another attempt holds this delivery")]
    Busy { wait: Option<std::time::Duration> },
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
    /// Attempted, but how it ended could not be recorded.
    #[error("the outcome was not recorded: {0}")]
    Unrecorded(String),
    /// The attempt failed and is worth another, after `delay` when the worker schedules retries.
    #[error("{problem}")]
    Later {
        problem: String,
        delay: Option<std::time::Duration>,
    },
}

/// How many times SQS has handed this message over, this time included.
fn receive_count(m: &SqsMessage) -> u32 {
    m.attributes
        .get("ApproximateReceiveCount")
        .and_then(|c| c.parse().ok())
        .unwrap_or(1)
}

/// Whether this receive is the last one the queue allows (`max_receives`, its `maxReceiveCount`):
/// a job left for retry now goes to the dead-letter queue.
pub(crate) fn is_last_receive(m: &SqsMessage, max_receives: u32) -> bool {
    receive_count(m) >= max_receives
}

/// A queue's worker, as the end of each batch needs it.
pub(crate) trait DeliveryWorker: Sync {
    /// `email` or `webhook`: the channel, and the worker's name in logs and metrics.
    const CHANNEL: &'static str;
    type Job: crate::domain::jobs::DeliveryJob + serde::de::DeserializeOwned;
    fn store(&self) -> &dyn Store;
    /// The queue's `maxReceiveCount`: a failure on that receive is dead-lettered.
    fn max_receives(&self) -> u32;
    /// Where retries are put off, if the worker schedules them.
    fn scheduler(&self) -> Option<&dyn crate::queue::JobScheduler>;
}

/// The end of a worker's batch, once every job was attempted: the outcomes recorded, each delivery
/// that ran out of attempts told, retries put off (only once recorded, so a retry finds how this
/// attempt ended), and the answer to Lambda.
pub(crate) async fn finish_batch<W: DeliveryWorker>(
    worker: &W,
    batch: BatchOutcomes,
    records: &[SqsMessage],
    results: Vec<Result<(), Retry>>,
) -> SqsBatchResponse {
    let results = batch.record(worker.store(), results).await;
    for (message, result) in records.iter().zip(&results) {
        let Err(problem) = result else { continue };
        if is_last_receive(message, worker.max_receives()) {
            tell_dead_lettered::<W>(worker.store(), message, problem).await;
        }
        if let (Some(queue), Some(delay)) = (worker.scheduler(), problem.delay()) {
            postpone(queue, message, delay).await;
        }
    }
    report(W::CHANNEL, records, results, worker.max_receives())
}

/// Tells the organisation's managers of deliveries that one of its deliveries went to the
/// dead-letter queue: a `system_event.delivery_dead_lettered`, once a day per channel. Best effort:
/// the delivery log has the failure whatever happens here (and a job that does not decode names no
/// organisation).
async fn tell_dead_lettered<W: DeliveryWorker>(store: &dyn Store, message: &SqsMessage, problem: &Retry) {
    use crate::domain::event_data::{DeliveryDeadLettered, EventData};
    use crate::domain::jobs::DeliveryJob;
    let Ok(job) = serde_json::from_str::<W::Job>(message.body.as_deref().unwrap_or_default()) else {
        return;
    };
    let org = &job.event().org_id;
    let data = EventData::DeliveryDeadLettered(DeliveryDeadLettered {
        delivery_id: job.delivery_id().to_string(),
        event_id: job.event().id.to_string(),
        channel: W::CHANNEL.into(),
        target: job.shown_target(),
        last_error: problem.to_string(),
    });
    let cause = format!("dead_lettered:{}", W::CHANNEL);
    let event = crate::domain::Event::new(org.clone(), data.kind(), crate::domain::now_rfc3339(), data.public());
    match crate::store::notices::raise_once_a_day(store, &cause, &event).await {
        Ok(true) => tracing::warn!(org = %org, %cause, "a delivery was dead-lettered; its managers are told"),
        Ok(false) => {}
        Err(e) => tracing::warn!(org = %org, error = %e, "could not raise the dead-letter notice"),
    }
}

/// Whether SQS handed this message over before (its `ApproximateReceiveCount` is above 1).
pub(crate) fn handed_over_before(m: &SqsMessage) -> bool {
    receive_count(m) > 1
}

pub(crate) fn job_span(worker: &'static str, m: &SqsMessage) -> tracing::Span {
    tracing::info_span!("job", worker, message_id = m.message_id.as_deref().unwrap_or(""))
}

/// The batch response: every message whose delivery did not finish is reported for retry.
/// A job left for retry on the last receive its queue allows (`max_receives`, the queue's
/// `maxReceiveCount`) goes to the dead-letter queue: counted as such.
pub(crate) fn report(
    worker: &'static str,
    records: &[SqsMessage],
    results: Vec<Result<(), Retry>>,
    max_receives: u32,
) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for (m, result) in records.iter().zip(results) {
        if let Err(e) = result {
            tracing::warn!(worker, message_id = m.message_id.as_deref().unwrap_or(""), error = %e, "job left for retry");
            if is_last_receive(m, max_receives) {
                crate::telemetry::delivery(worker, "dead_lettered");
            }
            response.add_failure(m.message_id.clone().unwrap_or_default());
        }
    }
    // One line per batch; each delivery is in the delivery log, and logged at debug.
    tracing::info!(
        worker,
        jobs = records.len(),
        left_for_retry = response.batch_item_failures.len(),
        "batch handled"
    );
    response
}
