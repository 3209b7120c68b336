//! Daily use of each key: one record per key per UTC day (`DAY#{yyyy-mm-dd}` in the key's usage
//! partition), added to once per key per flush, kept 90 days, and listed per day across the
//! organisation (GSI2, sharded by key id) for its top keys.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{from_record, listing_attrs, table_keys, Condition, Record, Store, StoreError, Write, EXPIRES_AT};
use crate::domain::{DeveloperId, KeyId, OrgId};

/// How long a day's record is kept.
pub const KEPT_DAYS: i64 = 90;

/// One key's use on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayUse {
    pub key_id: KeyId,
    pub developer_id: DeveloperId,
    pub day: String,
    pub requests: u64,
}

/// Adds `requests` to the key's count for `day` (starting at 0), with no read: the record is made by
/// the first addition of the day.
pub fn add(org: &OrgId, key: &KeyId, developer: &DeveloperId, day: &str, day_start: i64, requests: u64) -> Write {
    let mut set: Record = [
        ("key_id".to_string(), json!(key)),
        ("developer_id".to_string(), json!(developer)),
        ("day".to_string(), json!(day)),
        (EXPIRES_AT.to_string(), json!(day_start + KEPT_DAYS * 24 * 3600)),
    ]
    .into_iter()
    .collect();
    set.extend(listing_attrs(org, &table_keys::usage_listing_kind(day), key.as_str()));
    Write::Update {
        key: table_keys::usage_day(org, key, day),
        set,
        add: vec![("requests", i64::try_from(requests).unwrap_or(i64::MAX))],
        condition: Condition::None,
    }
}

/// The key's days from `first_day` on (inclusive), oldest first.
pub async fn of_key(store: &dyn Store, org: &OrgId, key: &KeyId, first_day: &str) -> Result<Vec<DayUse>, StoreError> {
    let pk = table_keys::usage_pk(org, key);
    let after = format!("{}{first_day}", table_keys::USAGE_DAY_PREFIX);
    let mut days = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .query(&pk, table_keys::USAGE_DAY_PREFIX, cursor.as_deref(), 100)
            .await?;
        for record in page.records {
            let sk = record.get(super::SK).and_then(Value::as_str).unwrap_or_default();
            if sk >= after.as_str() {
                days.push(from_record(record)?);
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(days),
        }
    }
}

/// Every key's use on `day`, across the organisation (read from each shard of the day's listing).
pub async fn of_day(store: &dyn Store, org: &OrgId, day: &str) -> Result<Vec<DayUse>, StoreError> {
    let kind = table_keys::usage_listing_kind(day);
    let mut all = Vec::new();
    for n in 0..table_keys::LIST_SHARDS {
        let pk = table_keys::listing_shard_pk(org, &kind, n);
        let mut after: Option<String> = None;
        loop {
            let records = store.query_gsi2(&pk, after.as_deref(), false, 100).await?;
            let full = records.len() == 100;
            after = records
                .last()
                .and_then(|r| r.get(super::GSI2SK))
                .and_then(Value::as_str)
                .map(str::to_string);
            for record in records {
                all.push(from_record(record)?);
            }
            if !full {
                break;
            }
        }
    }
    Ok(all)
}
