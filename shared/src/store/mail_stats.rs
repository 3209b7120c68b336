//! An organisation's emails of one day (UTC): how many went out, bounced and drew complaints, for
//! its bounce and complaint rates (`system_event.email_reputation`). Written once per worker batch
//! (sends) and once per SES feedback message (bounces, complaints).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{from_record, table_keys, Condition, Record, Store, StoreError, Write, EXPIRES_AT};
use crate::domain::{now_epoch, OrgId};

/// Kept a day past their day.
const STATS_TTL_SECS: i64 = 2 * 24 * 3600;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MailStats {
    #[serde(default)]
    pub sent: i64,
    #[serde(default)]
    pub bounced: i64,
    #[serde(default)]
    pub complained: i64,
}

/// Today (UTC), as the stats and the notices' markers name days.
pub fn today() -> String {
    time::OffsetDateTime::now_utc().date().to_string()
}

/// Adds `amount` to one of today's counts (`sent`, `bounced` or `complained`).
pub async fn add(store: &dyn Store, org: &OrgId, count: &'static str, amount: i64) -> Result<(), StoreError> {
    let mut set = Record::new();
    set.insert(EXPIRES_AT.into(), Value::from(now_epoch() + STATS_TTL_SECS));
    store
        .transact(vec![Write::Update {
            key: table_keys::mail_stats(org, &today()),
            set,
            add: vec![(count, amount)],
            condition: Condition::None,
        }])
        .await
}

/// Today's counts.
pub async fn today_of(store: &dyn Store, org: &OrgId) -> Result<MailStats, StoreError> {
    match store.get(&table_keys::mail_stats(org, &today())).await? {
        Some(record) => from_record(record),
        None => Ok(MailStats::default()),
    }
}
