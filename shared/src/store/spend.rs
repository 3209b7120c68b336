//! Spend against budgets: what each key and developer spent in a month, and the spend reports
//! already counted. A month's record is written per report (its own partition, versioned, kept a
//! year); a report's marker is written in the same transaction, refused if the report was counted.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{get_versioned, table_keys, to_attrs, Condition, Record, Store, StoreError, Versioned, Write, EXPIRES_AT};
use crate::domain::OrgId;
use crate::secret::token_hash;

/// How long a report's id is remembered: a resend later than this counts again.
pub const REPORT_KEPT_SECS: i64 = 40 * 24 * 3600;

/// One subject's spend in one month.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MonthSpend {
    /// Minor units.
    pub spent: u64,
    /// The currency of the first report (every report of a subject with a budget is in its currency).
    #[serde(default)]
    pub currency: String,
}

pub async fn read(
    store: &dyn Store,
    org: &OrgId,
    subject: &str,
    month: &str,
) -> Result<Versioned<MonthSpend>, StoreError> {
    Ok(
        get_versioned::<MonthSpend>(store, &table_keys::spend(org, subject, month))
            .await?
            .unwrap_or(Versioned {
                value: MonthSpend::default(),
                version: 0,
            }),
    )
}

/// The write of a month's spend read at `version`; kept a year after the month (`month_end`).
pub fn write(org: &OrgId, subject: &str, month: &str, month_end: i64, spend: &MonthSpend, version: u64) -> Write {
    let mut attrs = to_attrs(spend);
    attrs.insert(EXPIRES_AT.into(), json!(month_end + 365 * 24 * 3600));
    Write::put_versioned(table_keys::spend(org, subject, month).record(attrs), version)
}

/// The marker of report `id`, refused if that report was counted.
pub fn counted_once(org: &OrgId, id: &str, now: i64) -> Write {
    let mut attrs = Record::new();
    attrs.insert(EXPIRES_AT.into(), json!(now + REPORT_KEPT_SECS));
    Write::put(
        table_keys::spend_report(org, &token_hash(id)).record(attrs),
        Condition::NotExists,
    )
}
