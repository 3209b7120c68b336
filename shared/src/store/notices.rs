//! Health notices, raised at most once a day per cause: the notice's event is written with a
//! marker for its cause and day, on the condition that the marker is absent.

use serde_json::Value;

use super::{outbox::event_write, table_keys, Condition, Store, StoreError, Write, EXPIRES_AT};
use crate::domain::{now_epoch, Event};

/// Markers outlive their day by one, then expire.
const MARKER_TTL_SECS: i64 = 2 * 24 * 3600;

/// Raises `event` unless a notice of `cause` (for example `dead_lettered:webhook`) was raised in
/// the event's organisation today (UTC). Returns whether it was raised.
pub async fn raise_once_a_day(store: &dyn Store, cause: &str, event: &Event) -> Result<bool, StoreError> {
    let today = super::mail_stats::today();
    let mut marker = super::Record::new();
    marker.insert(EXPIRES_AT.into(), Value::from(now_epoch() + MARKER_TTL_SECS));
    let marker = table_keys::notice_marker(&event.org_id, cause, &today).record(marker);
    match store
        .transact(vec![Write::put(marker, Condition::NotExists), event_write(event)])
        .await
    {
        Ok(()) => Ok(true),
        Err(StoreError::ConditionFailed { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}
