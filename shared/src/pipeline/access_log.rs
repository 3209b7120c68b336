//! Key use from an API Gateway access log: a CloudWatch Logs subscription hands the usage function
//! batches of access log lines (gzipped, base64, as CloudWatch sends them); each line of an
//! authorized call names the key (`$context.authorizer.key_id`). The calls are added up per key and
//! UTC day and written once per key per batch: to the key's daily use, and to its quota, which the
//! authorizer checks (calls answered from the authorizer's cache reach no Lambda, so this is where
//! every call is counted).
//!
//! The access log format the template sets, one JSON object a line:
//! `{"requestId":"$context.requestId","status":"$context.status","orgId":"$context.authorizer.org_id",
//! "keyId":"$context.authorizer.key_id","developerId":"$context.authorizer.developer_id"}`.

use aws_lambda_events::cloudwatch_logs::LogsEvent;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::domain::gate::day_of;
use crate::domain::{DeveloperId, KeyId, OrgId};
use crate::service::gate::{Gate, LoggedCalls};
use crate::store::StoreError;

/// One access log line, as the template's format writes it (unauthorized calls have empty ids).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccessLogLine {
    #[serde(default)]
    org_id: String,
    #[serde(default)]
    key_id: String,
    #[serde(default)]
    developer_id: String,
}

/// What a batch came to.
#[derive(Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counted {
    /// Calls counted, across keys.
    pub calls: u64,
    /// Lines without a key (refused or unauthenticated calls) or not in the format.
    pub skipped: u64,
    /// Keys written.
    pub keys: usize,
}

/// The usage function's handler.
pub struct AccessLogCounter {
    gate: Arc<Gate>,
}

impl AccessLogCounter {
    pub fn new(gate: Arc<Gate>) -> Self {
        Self { gate }
    }

    /// Counts one subscription batch. An error leaves the batch to Lambda's retry: each key's
    /// addition is written once it succeeds, so a retried batch may count a key twice; CloudWatch
    /// Logs retries rarely, and over-counting refuses early rather than late.
    pub async fn handle(&self, event: LogsEvent) -> Result<Counted, StoreError> {
        let data = event.aws_logs.data;
        let mut counted = Counted::default();
        // (org, key, developer, day) → (calls, the last call's epoch second)
        let mut per_key: BTreeMap<(String, String, String, String), (u64, i64)> = BTreeMap::new();
        for entry in &data.log_events {
            let Ok(line) = serde_json::from_str::<AccessLogLine>(&entry.message) else {
                counted.skipped += 1;
                continue;
            };
            if line.key_id.is_empty() || line.org_id.is_empty() {
                counted.skipped += 1;
                continue;
            }
            let at = entry.timestamp.div_euclid(1000);
            let slot = (line.org_id, line.key_id, line.developer_id, day_of(at));
            let tally = per_key.entry(slot).or_insert((0, at));
            tally.0 += 1;
            tally.1 = tally.1.max(at);
        }
        for ((org, key, developer, day), (calls, at)) in per_key {
            let (Ok(org), Some(key), Some(developer)) =
                (OrgId::parse(&org), KeyId::parse(&key), DeveloperId::parse(&developer))
            else {
                counted.skipped += calls;
                continue;
            };
            self.gate
                .count_logged(LoggedCalls {
                    org,
                    key,
                    developer,
                    day,
                    at,
                    calls,
                })
                .await?;
            counted.calls += calls;
            counted.keys += 1;
        }
        tracing::info!(
            calls = counted.calls,
            skipped = counted.skipped,
            keys = counted.keys,
            log_group = %data.log_group,
            "access log counted"
        );
        Ok(counted)
    }
}
