//! Delivery records: what makes each delivery (one event to one address or endpoint) happen once
//! even when SQS hands the same job over twice, and what the delivery log shows.
//!
//! One conditional write per delivery: a worker claims each delivery of its batch with a record of
//! its own (in progress, locked, naming the batch), attempts them, then records how every attempt
//! of the batch ended in one outcome record per organisation. A delivery's state is its record
//! with its batch's outcome applied ([`resolve`]); the next claim of a delivery (a retry, a job
//! handed over twice) folds the outcome into the record it writes.

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

impl WithheldReason {
    /// The reason's name, as the delivery log and the metrics show it.
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }
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
    /// The job as queued, so a failed delivery can be replayed (kept for failed attempts only).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub job: String,
    /// While in progress: the worker batch whose outcome record tells how the attempt ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<String>,
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
    /// Go ahead with this attempt of the delivery; its batch's outcome record tells how it ended.
    Proceed { delivery: Box<Delivery> },
    /// Sent before: acknowledge the job and do nothing.
    AlreadySent,
    /// Another attempt holds the lock (until this epoch second, when known): leave the job for later.
    Busy { until: Option<i64> },
}

pub struct DeliveryTarget<'a> {
    pub org: &'a OrgId,
    pub delivery_id: &'a str,
    pub event_id: &'a str,
    /// When the event happened (RFC 3339), for the delivery latency metric.
    pub occurred_at: &'a str,
    pub channel: &'a str,
    pub target: &'a str,
    /// The queued job's body.
    pub job: &'a str,
    /// The queue handed this job over before (SQS's receive count above 1).
    pub handed_over_before: bool,
}

/// Takes the delivery's lock for `lock_secs` for an attempt of worker batch `batch`, unless it was
/// sent or another attempt holds it. A first attempt costs one conditional write and no read.
pub async fn claim(
    store: &dyn Store,
    t: &DeliveryTarget<'_>,
    batch: &str,
    lock_secs: i64,
) -> Result<Claim, StoreError> {
    let now = now_epoch();
    let mut delivery = Delivery {
        delivery_id: t.delivery_id.to_string(),
        event_id: t.event_id.to_string(),
        channel: t.channel.to_string(),
        target: t.target.to_string(),
        status: DeliveryStatus::InProgress,
        attempts: 1,
        lock_until: now + lock_secs,
        updated_at: now_rfc3339(),
        log: Vec::new(),
        last_error: None,
        reason: None,
        job: String::new(),
        batch: Some(batch.to_string()),
    };
    // Key scheme 2 kept each delivery under another key; a job attempted before the upgrade comes
    // back handed over, and is looked up there (for one release).
    if t.handed_over_before {
        if let Some(record) = store.get(&table_keys::scheme2_delivery(t.org, t.delivery_id)).await? {
            let old: Delivery = from_record(record)?;
            if matches!(old.status, DeliveryStatus::Sent | DeliveryStatus::Skipped) {
                return Ok(Claim::AlreadySent);
            }
        }
    }
    let version = match store.transact(vec![write(t.org, &delivery, 0)]).await {
        Ok(()) => {
            return Ok(Claim::Proceed {
                delivery: Box::new(delivery),
            })
        }
        Err(StoreError::ConditionFailed { .. }) => {
            // Handed over before: decide from the record as it is now, its last attempt's outcome applied.
            let Some(record) = store.get(&key(t.org, t.delivery_id)).await? else {
                return Ok(Claim::Busy { until: None });
            };
            let version = version_of(&record);
            let previous = resolve(store, t.org, from_record(record)?).await?;
            match previous.status {
                DeliveryStatus::Sent | DeliveryStatus::Skipped => return Ok(Claim::AlreadySent),
                DeliveryStatus::InProgress if previous.lock_until > now => {
                    return Ok(Claim::Busy {
                        until: Some(previous.lock_until),
                    })
                }
                _ => {}
            }
            delivery.attempts = previous.attempts + 1;
            delivery.log = previous.log;
            delivery.last_error = previous.last_error;
            version
        }
        Err(e) => return Err(e),
    };
    match store.transact(vec![write(t.org, &delivery, version)]).await {
        Ok(()) => Ok(Claim::Proceed {
            delivery: Box::new(delivery),
        }),
        // Another attempt claimed it a moment ago; it will finish soon.
        Err(StoreError::ConditionFailed { .. }) => Ok(Claim::Busy { until: None }),
        Err(e) => Err(e),
    }
}

/// How an attempt ended, for [`Finished::new`].
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

/// How one attempt ended, as its batch's outcome record keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptOutcome {
    pub status: DeliveryStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<WithheldReason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub log: AttemptLog,
    /// The job, when the attempt failed (what a replay queues again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
}

/// A finished attempt waiting to be recorded with the rest of its batch.
#[derive(Debug, Clone)]
pub struct Finished {
    pub org: OrgId,
    pub delivery_id: String,
    pub outcome: AttemptOutcome,
}

impl Finished {
    pub fn new(t: &DeliveryTarget<'_>, outcome: Outcome) -> Self {
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
        Self {
            org: t.org.clone(),
            delivery_id: t.delivery_id.to_string(),
            outcome: AttemptOutcome {
                status,
                reason,
                log: AttemptLog {
                    at: format(now),
                    outcome: word.into(),
                    detail: detail.clone(),
                    duration_ms: outcome.duration.as_millis() as u64,
                    next_attempt_at: outcome.next_attempt_in.map(|d| format(now + d)),
                },
                detail,
                job: (status == DeliveryStatus::Failed).then(|| t.job.to_string()),
            },
        }
    }
}

/// The record of how the attempts of worker batch `batch` for one organisation ended.
#[derive(Debug, Default, Serialize, Deserialize)]
struct BatchOutcomes {
    outcomes: std::collections::BTreeMap<String, AttemptOutcome>,
}

/// Records how the attempts of worker batch `batch` ended: one write per organisation in it.
pub async fn record_outcomes(store: &dyn Store, batch: &str, finished: &[Finished]) -> Result<(), StoreError> {
    let mut by_org: std::collections::HashMap<&OrgId, BatchOutcomes> = Default::default();
    for f in finished {
        by_org
            .entry(&f.org)
            .or_default()
            .outcomes
            .insert(f.delivery_id.clone(), f.outcome.clone());
    }
    let writes = by_org.into_iter().map(|(org, outcomes)| async move {
        let mut attrs = to_attrs(&outcomes);
        attrs.insert(
            EXPIRES_AT.into(),
            serde_json::Value::from(now_epoch() + DELIVERY_TTL_SECS),
        );
        let record = table_keys::delivery_outcomes(org, batch).record(attrs);
        store.transact(vec![Write::put(record, super::Condition::None)]).await
    });
    futures::future::try_join_all(writes).await?;
    Ok(())
}

/// The delivery as it stands: an in-progress record with its batch's outcome applied, if the batch
/// recorded one.
pub async fn resolve(store: &dyn Store, org: &OrgId, delivery: Delivery) -> Result<Delivery, StoreError> {
    let outcomes = match &delivery.batch {
        Some(batch) if delivery.status == DeliveryStatus::InProgress => batch_outcomes(store, org, batch).await?,
        _ => return Ok(delivery),
    };
    Ok(applied(delivery, &outcomes))
}

async fn batch_outcomes(store: &dyn Store, org: &OrgId, batch: &str) -> Result<BatchOutcomes, StoreError> {
    match store.get(&table_keys::delivery_outcomes(org, batch)).await? {
        Some(record) => from_record(record),
        None => Ok(BatchOutcomes::default()),
    }
}

fn applied(mut delivery: Delivery, batch: &BatchOutcomes) -> Delivery {
    let Some(outcome) = batch.outcomes.get(&delivery.delivery_id) else {
        return delivery;
    };
    delivery.log.push(outcome.log.clone());
    let excess = delivery.log.len().saturating_sub(MAX_LOG);
    delivery.log.drain(..excess);
    delivery.status = outcome.status;
    delivery.last_error = outcome.detail.clone();
    delivery.reason = outcome.reason;
    delivery.lock_until = 0;
    delivery.updated_at = outcome.log.at.clone();
    delivery.job = outcome.job.clone().unwrap_or_default();
    delivery.batch = None;
    delivery
}

/// The deliveries among an organisation's records (as a scan of the table returns them), each
/// resolved with the outcome records among them.
pub fn resolve_records(records: &[super::Record]) -> Result<Vec<Delivery>, StoreError> {
    let is = |r: &super::Record, part: &str| {
        r.get(super::PK)
            .and_then(serde_json::Value::as_str)
            .is_some_and(|pk| pk.contains(part))
    };
    let mut outcomes = std::collections::HashMap::new();
    for r in records.iter().filter(|r| is(r, table_keys::OUTCOMES_PART)) {
        let batch: BatchOutcomes = from_record(r.clone())?;
        for (id, outcome) in batch.outcomes {
            outcomes.insert(id, outcome);
        }
    }
    records
        .iter()
        .filter(|r| is(r, table_keys::DELIVERY_PART))
        .map(|r| {
            let delivery: Delivery = from_record(r.clone())?;
            let mut batch = BatchOutcomes::default();
            if delivery.status == DeliveryStatus::InProgress && delivery.batch.is_some() {
                if let Some(o) = outcomes.get(&delivery.delivery_id) {
                    batch.outcomes.insert(delivery.delivery_id.clone(), o.clone());
                }
            }
            Ok(applied(delivery, &batch))
        })
        .collect()
}

pub async fn get(store: &dyn Store, org: &OrgId, delivery_id: &str) -> Result<Option<Delivery>, StoreError> {
    match store.get(&key(org, delivery_id)).await? {
        Some(record) => Ok(Some(resolve(store, org, from_record(record)?).await?)),
        // Recorded under key scheme 2 (read for one release).
        None => store
            .get(&table_keys::scheme2_delivery(org, delivery_id))
            .await?
            .map(from_record)
            .transpose(),
    }
}

/// A page of the organisation's deliveries, newest event first, after the cursor `after` (the last
/// delivery id of the previous page), merged from the delivery partitions.
pub async fn list(
    store: &dyn Store,
    org: &OrgId,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<Delivery>, Option<String>), StoreError> {
    let page = super::list_table_shards(store, org, after, limit).await?;
    let (deliveries, next): (Vec<Delivery>, _) = page.decode()?;
    // The page's outcome records, each read once, all at once.
    let pending: std::collections::HashSet<&String> = deliveries
        .iter()
        .filter(|d| d.status == DeliveryStatus::InProgress)
        .filter_map(|d| d.batch.as_ref())
        .collect();
    let read = pending
        .into_iter()
        .map(|batch| async move { Ok::<_, StoreError>((batch.clone(), batch_outcomes(store, org, batch).await?)) });
    let batches: std::collections::HashMap<String, BatchOutcomes> =
        futures::future::try_join_all(read).await?.into_iter().collect();
    let resolved = deliveries
        .into_iter()
        .map(|d| match d.batch.as_ref().and_then(|b| batches.get(b)) {
            Some(outcomes) => applied(d, outcomes),
            None => d,
        })
        .collect();
    Ok((resolved, next))
}

/// A delivery lives in one of the organisation's delivery partitions, sorted by its id, so the log
/// is listed from the table itself (no index write).
fn key(org: &OrgId, delivery_id: &str) -> super::Key {
    table_keys::delivery(org, delivery_id)
}

fn write(org: &OrgId, delivery: &Delivery, version: u64) -> Write {
    let mut attrs = to_attrs(delivery);
    attrs.insert(
        EXPIRES_AT.into(),
        serde_json::Value::from(now_epoch() + DELIVERY_TTL_SECS),
    );
    Write::put_versioned(key(org, &delivery.delivery_id).record(attrs), version)
}
