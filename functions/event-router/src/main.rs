//! The event router Lambda: the table's stream (outbox events) in; inbox items, email and webhook
//! jobs out.

use gatehouse::app::{aws, lambda};
use gatehouse::config::Function;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    gatehouse::telemetry::init();
    let (config, shared) = aws::start(Function::EventRouter).await?;
    lambda::run_stream(aws::event_router(&config, &shared)?).await
}
