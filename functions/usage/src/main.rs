//! The usage function: the protected API's access log (a CloudWatch Logs subscription) in; each
//! key's calls added to its daily use and its quota, once per key per batch.

use gatehouse::app::{aws, lambda};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    gatehouse::telemetry::init();
    let (config, shared) = aws::start_gate().await?;
    lambda::run_access_logs(aws::access_log_counter(&config, &shared)).await
}
