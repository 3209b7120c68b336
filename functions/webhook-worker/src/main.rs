//! The webhook worker Lambda: webhook jobs from SQS, signed and POSTed.

use gatehouse::app::{aws, lambda};
use gatehouse::config::Config;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    gatehouse::telemetry::init();
    let config = Config::from_env()?;
    lambda::run_queue(aws::webhook_worker(&config).await?).await
}
