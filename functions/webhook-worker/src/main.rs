//! The webhook worker Lambda: webhook jobs from SQS, signed and POSTed.

use std::sync::Arc;

use gatehouse::app::{lambda, secret_box, webhook_worker, AwsClients};
use gatehouse::config::Config;
use gatehouse::queue::SqsQueue;
use gatehouse::store::DynamoStore;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    gatehouse::telemetry::init();
    let config = Config::from_env()?;
    let clients = AwsClients::load(None).await;
    let store = Arc::new(DynamoStore::new(clients.dynamodb, &config.table_name));
    // Its own queue, where retries are scheduled by changing a job's visibility.
    let queue = Arc::new(SqsQueue::new(clients.sqs, &config.webhook_queue, "webhook"));
    let worker = webhook_worker(&config, store, secret_box(&config)?, queue);
    lambda::run_queue(worker).await
}
