//! The email worker Lambda: email jobs from SQS, rendered and sent through the configured backend
//! (SES v2 by default).

use std::sync::Arc;

use gatehouse::app::{lambda, mailer, secret_box, templates, AwsClients};
use gatehouse::config::Config;
use gatehouse::pipeline::EmailWorker;
use gatehouse::queue::SqsQueue;
use gatehouse::store::DynamoStore;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    gatehouse::telemetry::init();
    let config = Config::from_env()?;
    let clients = AwsClients::load(None).await;
    let worker = EmailWorker::new(
        Arc::new(DynamoStore::new(clients.dynamodb, &config.table_name)),
        secret_box(&config)?,
        mailer(&config, Some(&clients.ses))?,
        templates(&config)?,
        config.from_email.clone(),
        config.from_name.clone(),
        config.public_api_url.clone(),
    )
    .postponing_on(Arc::new(SqsQueue::new(clients.sqs, &config.email_queue, "email")));
    lambda::run_queue(worker).await
}
