//! The webhook worker Lambda: webhook jobs from SQS, signed and POSTed.

use gatehouse::app::{aws, lambda};
use gatehouse::config::Function;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    gatehouse::telemetry::init();
    let (config, shared) = aws::start(Function::WebhookWorker).await?;
    lambda::run_queue(aws::webhook_worker(&config, &shared)?).await
}
