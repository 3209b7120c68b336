//! The HTTP API Lambda: the whole router behind API Gateway (HTTP API, payload 2.0).

use gatehouse::app::{aws, lambda};
use gatehouse::config::Config;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    gatehouse::telemetry::init();
    let config = Config::from_env()?;
    lambda::run_http(aws::api(config).await?).await
}
