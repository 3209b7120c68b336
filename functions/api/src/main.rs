//! The HTTP API Lambda: the whole router behind API Gateway (HTTP API, payload 2.0).

use gatehouse::app::{aws, lambda};
use gatehouse::config::Function;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    gatehouse::telemetry::init();
    let (config, shared) = aws::start(Function::Api).await?;
    lambda::run_http(aws::api(config, &shared)?).await
}
