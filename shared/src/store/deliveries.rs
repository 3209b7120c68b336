//! Delivery records: what makes each delivery (one event to one address or endpoint) happen once
//! even when SQS hands the same job over twice, and what the delivery log shows.

use serde::{Deserialize, Serialize};

use super::{from_record, keys, to_attrs, version_of, Store, StoreError, Write, EXPIRES_AT};
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
    pub updated_at: String,
}

/// What a worker may do with a job it just received.
#[derive(Debug, PartialEq)]
pub enum Claim {
    /// Go ahead; report the outcome with this delivery at its version.
    Proceed { delivery: Delivery, version: u64 },
    /// Sent before: acknowledge the job and do nothing.
    AlreadySent,
    /// Another attempt holds the lock: leave the job for later.
    Busy,
}

pub struct DeliveryTarget<'a> {
    pub org: &'a OrgId,
    pub delivery_id: &'a str,
    pub event_id: &'a str,
    pub channel: &'a str,
    pub target: &'a str,
}

/// Takes the delivery's lock for `lock_secs` unless it was sent or another attempt holds it.
pub async fn claim(store: &dyn Store, t: &DeliveryTarget<'_>, lock_secs: i64) -> Result<Claim, StoreError> {
    let key = keys::delivery(t.org, t.delivery_id);
    let now = now_epoch();
    let (previous, version) = match store.get(&key).await? {
        None => (None, 0),
        Some(record) => {
            let version = version_of(&record);
            (Some(from_record::<Delivery>(record)?), version)
        }
    };
    let attempts = match &previous {
        Some(d) if d.status == DeliveryStatus::Sent => return Ok(Claim::AlreadySent),
        Some(d) if d.status == DeliveryStatus::InProgress && d.lock_until > now => return Ok(Claim::Busy),
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
        last_error: previous.and_then(|d| d.last_error),
        updated_at: now_rfc3339(),
    };
    match store.transact(vec![write(t.org, &delivery, version)]).await {
        Ok(()) => Ok(Claim::Proceed { delivery, version: version + 1 }),
        Err(StoreError::ConditionFailed { .. }) => Ok(Claim::Busy),
        Err(e) => Err(e),
    }
}

/// Records how the attempt ended and releases the lock.
pub async fn finish(
    store: &dyn Store,
    org: &OrgId,
    mut delivery: Delivery,
    version: u64,
    outcome: Result<(), String>,
) -> Result<(), StoreError> {
    match outcome {
        Ok(()) => {
            delivery.status = DeliveryStatus::Sent;
            delivery.last_error = None;
        }
        Err(message) => {
            delivery.status = DeliveryStatus::Failed;
            delivery.last_error = Some(message);
        }
    }
    delivery.lock_until = 0;
    delivery.updated_at = now_rfc3339();
    store.transact(vec![write(org, &delivery, version)]).await
}

pub async fn get(store: &dyn Store, org: &OrgId, delivery_id: &str) -> Result<Option<Delivery>, StoreError> {
    store.get(&keys::delivery(org, delivery_id)).await?.map(from_record).transpose()
}

fn write(org: &OrgId, delivery: &Delivery, version: u64) -> Write {
    let mut attrs = to_attrs(delivery);
    attrs.insert(EXPIRES_AT.into(), serde_json::Value::from(now_epoch() + DELIVERY_TTL_SECS));
    Write::put_versioned(keys::delivery(org, &delivery.delivery_id).record(attrs), version)
}
