//! The transactional outbox: an event is written in the same transaction as the change that raised
//! it, and the table's stream carries its insertion to the event router.

use serde_json::Value;

use super::{table_keys, to_attrs, Condition, Write, EXPIRES_AT};
use crate::domain::{now_epoch, Event};

/// How long an outbox event record lives; deliveries read what they need from their job.
const EVENT_TTL_SECS: i64 = 7 * 24 * 3600;

/// The outbox write for an event: it goes in the same transaction as the change that raised it.
pub fn event_write(event: &Event) -> Write {
    let mut attrs = to_attrs(event);
    attrs.insert(EXPIRES_AT.into(), Value::from(now_epoch() + EVENT_TTL_SECS));
    Write::put(
        table_keys::event(&event.org_id, &event.id).record(attrs),
        Condition::NotExists,
    )
}
