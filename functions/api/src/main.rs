//! The HTTP API Lambda: the whole router behind API Gateway (HTTP API, payload 2.0).

use std::sync::Arc;

use gatehouse::app::{lambda, secret_box, templates, AwsClients};
use gatehouse::config::Config;
use gatehouse::http::{router, AppState};
use gatehouse::queue::SqsQueue;
use gatehouse::store::DynamoStore;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    gatehouse::telemetry::init();
    let config = Config::from_env()?;
    let clients = AwsClients::load(None).await;
    let state = AppState {
        store: Arc::new(DynamoStore::new(clients.dynamodb, &config.table_name)),
        secrets: secret_box(&config)?,
        // For replaying failed deliveries.
        email_queue: Arc::new(SqsQueue::new(clients.sqs.clone(), &config.email_queue, "email")),
        webhook_queue: Arc::new(SqsQueue::new(clients.sqs, &config.webhook_queue, "webhook")),
        templates: templates(&config)?,
        config: Arc::new(config),
    };
    lambda::run_http(router(state)).await
}
