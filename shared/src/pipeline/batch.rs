//! What the two workers share about SQS batches: one span per message, and the batch response that
//! hands every unfinished message back to the queue.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsMessage};

use super::RetryPolicy;
use super::DELIVERY_LOCK_SECS;
use crate::store::deliveries::{self, Claim, DeliveryTarget, Outcome, Unsent, WithheldReason};
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

/// Runs `attempt` unless this delivery was already made or another attempt holds it, and records
/// how it ended. This is what makes a job handed over twice deliver once.
/// With `retries`, a failure worth another attempt is scheduled on it (and logged with its time).
pub async fn deliver_once<F, Fut>(
    store: &dyn Store,
    target: &DeliveryTarget<'_>,
    retries: Option<&RetryPolicy>,
    attempt: F,
) -> Result<(), Retry>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Attempt>,
{
    let (delivery, version) = match deliveries::claim(store, target, DELIVERY_LOCK_SECS).await? {
        Claim::AlreadySent => {
            tracing::info!(delivery_id = %target.delivery_id, "already delivered; acknowledged");
            return Ok(());
        }
        Claim::Busy { until } => {
            let wait = until.map(|t| {
                std::time::Duration::from_secs(t.saturating_sub(crate::domain::now_epoch()).max(0) as u64 + 1)
            });
            return Err(Retry::Busy { wait });
        }
        Claim::Proceed { delivery, version } => (*delivery, version),
    };
    let attempts = delivery.attempts;
    let started = std::time::Instant::now();
    let outcome = attempt().await;
    let duration = started.elapsed();
    let (result, next_attempt_in) = match &outcome {
        Attempt::Delivered => (Ok(()), None),
        Attempt::Skipped(reason, why) => (Err(Unsent::Withheld(*reason, why.clone())), None),
        Attempt::FailedForGood(problem) => (Err(Unsent::Failed(problem.clone())), None),
        Attempt::FailedForNow { problem, retry_after } => (
            Err(Unsent::Failed(problem.clone())),
            retries.map(|r| r.delay(attempts, *retry_after)),
        ),
    };
    record_outcome(
        store,
        target,
        delivery,
        version,
        Outcome {
            result,
            duration,
            next_attempt_in,
        },
    )
    .await?;
    match outcome {
        Attempt::Delivered => Ok(()),
        Attempt::Skipped(reason, why) => {
            tracing::info!(delivery_id = %target.delivery_id, channel = target.channel, ?reason, %why, "delivery skipped");
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

/// Records how an attempt ended, trying for about half a minute through a store outage: once a
/// message has gone out, failing to record it would let a later attempt send it again.
async fn record_outcome(
    store: &dyn Store,
    target: &DeliveryTarget<'_>,
    delivery: deliveries::Delivery,
    version: u64,
    outcome: Outcome,
) -> Result<(), crate::store::StoreError> {
    let mut pause = std::time::Duration::from_millis(250);
    let mut waited = std::time::Duration::ZERO;
    loop {
        match deliveries::finish(store, target.org, delivery.clone(), version, outcome.clone()).await {
            Err(crate::store::StoreError::Unavailable(e)) if waited < RECORD_PATIENCE => {
                tracing::warn!(delivery_id = %target.delivery_id, error = %e, "recording the delivery failed; trying again");
                tokio::time::sleep(pause).await;
                waited += pause;
                pause = (pause * 2).min(std::time::Duration::from_secs(5));
            }
            other => return other,
        }
    }
}

/// How long a worker keeps trying to record a finished attempt.
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
    /// The attempt failed and is worth another, after `delay` when the worker schedules retries.
    #[error("{problem}")]
    Later {
        problem: String,
        delay: Option<std::time::Duration>,
    },
}

pub(crate) fn job_span(worker: &'static str, m: &SqsMessage) -> tracing::Span {
    tracing::info_span!("job", worker, message_id = m.message_id.as_deref().unwrap_or(""))
}

/// The batch response: every message whose delivery did not finish is reported for retry.
pub(crate) fn report(
    worker: &'static str,
    records: &[SqsMessage],
    results: Vec<Result<(), Retry>>,
) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for (m, result) in records.iter().zip(results) {
        if let Err(e) = result {
            tracing::warn!(worker, message_id = m.message_id.as_deref().unwrap_or(""), error = %e, "job left for retry");
            response.add_failure(m.message_id.clone().unwrap_or_default());
        }
    }
    response
}
