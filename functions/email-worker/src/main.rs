//! The email worker Lambda: email jobs from SQS, rendered and sent through the configured backend
//! (SES v2 by default).

use gatehouse::app::{aws, lambda};
use gatehouse::config::Function;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    gatehouse::telemetry::init();
    let (config, shared) = aws::start(Function::EmailWorker).await?;
    lambda::run_queue(aws::email_worker(&config, &shared)?).await
}
