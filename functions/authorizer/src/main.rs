//! The authorizer function: API Gateway HTTP API REQUEST authorizer (payload 2.0, simple
//! responses) that lets a call through when its API key is valid, within quota, and of an active
//! developer.

use gatehouse::app::{aws, lambda};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    gatehouse::telemetry::init();
    let (config, shared) = aws::start_gate().await?;
    lambda::run_authorizer(aws::authorizer(&config, &shared)).await
}
