//! The email worker: renders each job's template and sends one MIME message through the configured
//! mailer, once per delivery id however often SQS hands the job over.

use async_trait::async_trait;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::future::join_all;
use std::sync::Arc;
use tracing::Instrument;

use super::batch::{job_span, report, Retry};
use super::jobs::EmailJob;
use super::{QueueHandler, DELIVERY_LOCK_SECS};
use crate::domain::Email;
use crate::mail::{EmailMessage, MailError, Mailer};
use crate::store::deliveries::{self, Claim, DeliveryTarget};
use crate::store::Store;
use crate::templates::Templates;

pub struct EmailWorker {
    store: Arc<dyn Store>,
    mailer: Arc<dyn Mailer>,
    templates: Arc<Templates>,
    from: Email,
    from_name: Option<String>,
}

impl EmailWorker {
    pub fn new(store: Arc<dyn Store>, mailer: Arc<dyn Mailer>, templates: Arc<Templates>, from: Email, from_name: Option<String>) -> Self {
        Self { store, mailer, templates, from, from_name }
    }

    fn compose(&self, job: &EmailJob) -> Result<Vec<u8>, String> {
        let mut data = job.context.clone();
        data["event"] = job.event.webhook_payload();
        data["data"] = job.event.data.clone();
        let rendered = self.templates.render(&job.template, &data).map_err(|e| e.to_string())?;
        let message = EmailMessage {
            from: self.from.clone(),
            from_name: self.from_name.clone(),
            to: job.to.clone(),
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
            headers: vec![
                ("X-Gatehouse-Event".into(), job.event.id.to_string()),
                ("X-Gatehouse-Event-Type".into(), job.event.kind.name().into()),
            ],
        };
        message.to_mime().map_err(|e| e.to_string())
    }

    async fn deliver(&self, message: &SqsMessage) -> Result<(), Retry> {
        let body = message.body.as_deref().unwrap_or_default();
        let job: EmailJob = serde_json::from_str(body).map_err(|e| Retry::Undecodable(e.to_string()))?;
        let target = DeliveryTarget {
            org: &job.event.org_id,
            delivery_id: &job.delivery_id,
            event_id: job.event.id.as_str(),
            channel: "email",
            target: job.to.as_str(),
        };
        let (delivery, version) = match deliveries::claim(self.store.as_ref(), &target, DELIVERY_LOCK_SECS).await? {
            Claim::AlreadySent => {
                tracing::info!(delivery_id = %job.delivery_id, "already sent; acknowledged");
                return Ok(());
            }
            Claim::Busy => return Err(Retry::Busy),
            Claim::Proceed { delivery, version } => (delivery, version),
        };
        let outcome = match self.compose(&job) {
            // A template or header problem will not fix itself: recorded as failed, not retried.
            Err(problem) => Err((problem, false)),
            Ok(mime) => match self.mailer.send(&self.from, &job.to, &mime).await {
                Ok(message_id) => {
                    tracing::info!(delivery_id = %job.delivery_id, template = %job.template, %message_id, "email sent");
                    Ok(())
                }
                Err(MailError::Rejected(reason)) => Err((format!("rejected: {reason}"), false)),
                Err(e @ MailError::Unavailable(_)) => Err((error_chain(&e), true)),
            },
        };
        let record = outcome.as_ref().map(|_| ()).map_err(|(m, _)| m.clone());
        deliveries::finish(self.store.as_ref(), &job.event.org_id, delivery, version, record).await?;
        match outcome {
            Ok(()) => Ok(()),
            Err((problem, true)) => Err(Retry::Send(problem)),
            Err((problem, false)) => {
                tracing::error!(delivery_id = %job.delivery_id, %problem, "email failed for good; see the delivery log");
                Ok(())
            }
        }
    }
}

/// An error with its causes, one line, for the delivery log.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[async_trait]
impl QueueHandler for EmailWorker {
    async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        let results = join_all(event.records.iter().map(|m| self.deliver(m).instrument(job_span("email", m)))).await;
        report("email", &event.records, results)
    }
}
