//! Delivery records: what makes each delivery (one event to one address or endpoint) happen once
//! even when SQS hands the same job over twice, and what the delivery log shows.

use serde::{Deserialize, Serialize};

use super::{from_record, table_keys, to_attrs, version_of, Store, StoreError, Write, EXPIRES_AT};
use crate::domain::{now_epoch, now_rfc3339, OrgId};

/// How long delivery records are kept for the delivery log and for de-duplication.
const DELIVERY_TTL_SECS: i64 = 30 * 24 * 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// An attempt is under way until `lock_until`; after that a crashed attempt may be retried.
    InProgress,
    Sent,
    /// The last attempt failed; the queue will try again (or dead-letter the job).
    Failed,
    /// Not sent on purpose; `reason` says why in a word, `last_error` in a sentence.
    Skipped,
}

/// Why a delivery was withheld on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WithheldReason {
    /// The address bounced or complained (the deployment's suppression list).
    SuppressedAddress,
    /// The recipient unsubscribed from this category.
    Unsubscribed,
    /// Emails are switched off for the deployment.
    EmailsDisabled,
    /// The recipient had as many emails of this kind as the limit allows (`domain::limits`).
    RateLimited,
    /// The webhook endpoint is disabled.
    EndpointDisabled,
    /// The recipient turned this notification off.
    Preference,
    /// The organisation switched this notification type off for email.
    OrgSwitch,
    /// The recipient takes this notification type in a digest (hourly or daily) instead.
    Digest,
    /// The recipient's address is not confirmed yet: only its confirmation goes to it.
    Unconfirmed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub delivery_id: String,
    pub event_id: String,
    pub channel: String,
    pub target: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub lock_until: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Why a skipped delivery was withheld.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<WithheldReason>,
    pub updated_at: String,
    /// Every attempt, oldest first (the last [`MAX_LOG`]).
    #[serde(default)]
    pub log: Vec<AttemptLog>,
    /// The job as queued, so a failed delivery can be replayed.
    #[serde(default)]
    pub job: String,
}

/// One attempt of a delivery, as the delivery log shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptLog {
    pub at: String,
    /// `sent` or `failed`.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub duration_ms: u64,
    /// When the next attempt is due, when one is scheduled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<String>,
}

pub const MAX_LOG: usize = 25;

/// What a worker may do with a job it just received.
#[derive(Debug, PartialEq)]
pub enum Claim {
    /// Go ahead; report the outcome with this delivery at its version.
    Proceed { delivery: Box<Delivery>, version: u64 },
    /// Sent before: acknowledge the job and do nothing.
    AlreadySent,
    /// Another attempt holds the lock (until this epoch second, when known): leave the job for later.
    Busy { until: Option<i64> },
}

pub struct DeliveryTarget<'a> {
    pub org: &'a OrgId,
    pub delivery_id: &'a str,
    pub event_id: &'a str,
    pub channel: &'a str,
    pub target: &'a str,
    /// The queued job's body.
    pub job: &'a str,
}

/// Takes the delivery's lock for `lock_secs` unless it was sent or another attempt holds it.
pub async fn claim(store: &dyn Store, t: &DeliveryTarget<'_>, lock_secs: i64) -> Result<Claim, StoreError> {
    let key = key(t.org, t.delivery_id);
    let now = now_epoch();
    let (previous, version) = match store.get(&key).await? {
        None => (None, 0),
        Some(record) => {
            let version = version_of(&record);
            (Some(from_record::<Delivery>(record)?), version)
        }
    };
    let attempts = match &previous {
        Some(d) if matches!(d.status, DeliveryStatus::Sent | DeliveryStatus::Skipped) => return Ok(Claim::AlreadySent),
        Some(d) if d.status == DeliveryStatus::InProgress && d.lock_until > now => {
            return Ok(Claim::Busy {
                until: Some(d.lock_until),
            });
        }
        Some(d) => d.attempts + 1,
        None => 1,
    };
    let delivery = Delivery {
        delivery_id: t.delivery_id.to_string(),
        event_id: t.event_id.to_string(),
        channel: t.channel.to_string(),
        target: t.target.to_string(),
        status: DeliveryStatus::InProgress,
        attempts,
        lock_until: now + lock_secs,
        updated_at: now_rfc3339(),
        log: previous.as_ref().map(|d| d.log.clone()).unwrap_or_default(),
        last_error: previous.and_then(|d| d.last_error),
        reason: None,
        job: t.job.to_string(),
    };
    match store.transact(vec![write(t.org, &delivery, version)]).await {
        Ok(()) => Ok(Claim::Proceed {
            delivery: Box::new(delivery),
            version: version + 1,
        }),
        // Another attempt claimed it a moment ago; it will finish soon.
        Err(StoreError::ConditionFailed { .. }) => Ok(Claim::Busy { until: None }),
        Err(e) => Err(e),
    }
}

/// How an attempt ended, for [`finish`].
#[derive(Clone)]
pub struct Outcome {
    /// Sent, or why not: failed with the problem, or withheld with its reason and a sentence.
    pub result: Result<(), Unsent>,
    pub duration: std::time::Duration,
    pub next_attempt_in: Option<std::time::Duration>,
}

/// Why an attempt did not send.
#[derive(Debug, Clone)]
pub enum Unsent {
    Failed(String),
    Withheld(WithheldReason, String),
}

/// Records how the attempt ended in the status and the log, and releases the lock.
pub async fn finish(
    store: &dyn Store,
    org: &OrgId,
    mut delivery: Delivery,
    version: u64,
    outcome: Outcome,
) -> Result<(), StoreError> {
    let now = time::OffsetDateTime::now_utc();
    let format = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    let (status, detail, reason) = match outcome.result {
        Ok(()) => (DeliveryStatus::Sent, None, None),
        Err(Unsent::Failed(problem)) => (DeliveryStatus::Failed, Some(problem), None),
        Err(Unsent::Withheld(reason, why)) => (DeliveryStatus::Skipped, Some(why), Some(reason)),
    };
    let word = match status {
        DeliveryStatus::Sent => "sent",
        DeliveryStatus::Skipped => "skipped",
        _ => "failed",
    };
    delivery.log.push(AttemptLog {
        at: format(now),
        outcome: word.into(),
        detail: detail.clone(),
        duration_ms: outcome.duration.as_millis() as u64,
        next_attempt_at: outcome.next_attempt_in.map(|d| format(now + d)),
    });
    let excess = delivery.log.len().saturating_sub(MAX_LOG);
    delivery.log.drain(..excess);
    delivery.status = status;
    delivery.last_error = detail;
    delivery.reason = reason;
    delivery.lock_until = 0;
    delivery.updated_at = now_rfc3339();
    store.transact(vec![write(org, &delivery, version)]).await
}

pub async fn get(store: &dyn Store, org: &OrgId, delivery_id: &str) -> Result<Option<Delivery>, StoreError> {
    store.get(&key(org, delivery_id)).await?.map(from_record).transpose()
}

/// A page of the organisation's deliveries, newest event first, after the cursor `after` (the last
/// delivery id of the previous page), merged from the listing's shards.
pub async fn list(
    store: &dyn Store,
    org: &OrgId,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<Delivery>, Option<String>), StoreError> {
    let page = super::list_sharded(store, org, table_keys::DELIVERY_KIND, after, true, limit).await?;
    page.decode()
}

/// A delivery's own partition: every attempt of every delivery writes a different key.
fn key(org: &OrgId, delivery_id: &str) -> super::Key {
    table_keys::spread(org, table_keys::DELIVERY_KIND, delivery_id)
}

fn write(org: &OrgId, delivery: &Delivery, version: u64) -> Write {
    let mut attrs = to_attrs(delivery);
    attrs.insert(
        EXPIRES_AT.into(),
        serde_json::Value::from(now_epoch() + DELIVERY_TTL_SECS),
    );
    attrs.extend(super::listing_attrs(
        org,
        table_keys::DELIVERY_KIND,
        &delivery.delivery_id,
    ));
    Write::put_versioned(key(org, &delivery.delivery_id).record(attrs), version)
}
