//! The email worker Lambda: email jobs from SQS, sent through SES v2 as raw MIME.

use std::sync::Arc;

use gatehouse::app::{lambda, secret_box, templates, AwsClients};
use gatehouse::config::{Config, EmailBackend};
use gatehouse::mail::{Mailer, SesMailer, SmtpMailer};
use gatehouse::pipeline::EmailWorker;
use gatehouse::store::DynamoStore;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    gatehouse::telemetry::init();
    let config = Config::from_env()?;
    let clients = AwsClients::load(None).await;
    let worker = EmailWorker::new(
        Arc::new(DynamoStore::new(clients.dynamodb, &config.table_name)),
        secret_box(&config)?,
        match (&config.email_backend, &config.smtp) {
            (EmailBackend::Smtp, Some(smtp)) => Arc::new(SmtpMailer::new(smtp)?) as Arc<dyn Mailer>,
            _ => Arc::new(SesMailer::new(clients.ses, config.ses_configuration_set.clone())),
        },
        templates(&config)?,
        config.from_email.clone(),
        config.from_name.clone(),
    );
    lambda::run_queue(worker).await
}
