//! From an event in the table to emails and webhooks: the event router (stream → jobs), the two
//! workers (jobs → deliveries), and the local pollers that stand in for Lambda's event source
//! mappings, calling the same handlers with the same payloads. Beside them, the gate's own Lambda
//! handlers: the API Gateway authorizer and the access log's usage counter.

pub mod access_log;
pub mod authorizer;
mod batch;
mod digest;
mod email_worker;
pub mod feedback;
mod poller;
mod router;
mod stream;
mod webhook_worker;

pub use crate::domain::jobs::{EmailJob, WebhookJob};
pub use digest::DigestJob;
pub use email_worker::EmailWorker;
pub use poller::{poll_queue, poll_queue_concurrently, poll_stream, sqs_event};
pub use router::EventRouter;
pub use stream::{DynamoStreamSource, MemoryStreamSource, StreamSource};
pub use webhook_worker::{RetryPolicy, WebhookWorker};

use async_trait::async_trait;
use aws_lambda_events::dynamodb::Event as StreamEvent;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use aws_lambda_events::streams::DynamoDbEventResponse;

/// A handler of a DynamoDB stream batch, reporting the first record to retry from.
#[async_trait]
pub trait StreamHandler: Send + Sync {
    async fn handle(&self, event: StreamEvent) -> DynamoDbEventResponse;
}

/// A handler of an SQS batch, reporting the messages that failed (`ReportBatchItemFailures`).
#[async_trait]
pub trait QueueHandler: Send + Sync {
    async fn handle(&self, event: SqsEvent) -> SqsBatchResponse;
}

/// How long a worker holds a delivery before another attempt may take it over (a crashed worker's
/// job becomes visible again after the queue's visibility timeout; this lets it be retried then).
pub const DELIVERY_LOCK_SECS: i64 = 60;
