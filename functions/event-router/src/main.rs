//! The event router Lambda: the table's stream (outbox events) in, email and webhook jobs out.

use std::sync::Arc;

use gatehouse::app::{lambda, AwsClients};
use gatehouse::config::Config;
use gatehouse::pipeline::EventRouter;
use gatehouse::queue::SqsQueue;
use gatehouse::store::DynamoStore;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    gatehouse::telemetry::init();
    let config = Config::from_env()?;
    let clients = AwsClients::load(None).await;
    // Lambda reports the real queue ARNs in its own payloads; these labels only name local ones.
    let email = SqsQueue::new(clients.sqs.clone(), &config.email_queue, "email");
    let webhook = SqsQueue::new(clients.sqs, &config.webhook_queue, "webhook");
    let router = EventRouter::new(
        Arc::new(DynamoStore::new(clients.dynamodb, &config.table_name)),
        Arc::new(email),
        Arc::new(webhook),
        config.portal_url.clone(),
    );
    lambda::run_stream(router).await
}
