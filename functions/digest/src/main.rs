//! The digest function: an EventBridge schedule in; the digests due at its time written to the
//! outbox (the event router and email worker send them).

use gatehouse::app::{aws, lambda};
use gatehouse::config::Function;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    gatehouse::telemetry::init();
    let (config, shared) = aws::start(Function::Digest).await?;
    lambda::run_schedule(aws::digest_job(&config, &shared)).await
}
