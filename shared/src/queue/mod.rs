//! The queue port: at-least-once job queues with a visibility timeout and a dead-letter queue after
//! a number of receives, as SQS has them, split by side: a [`JobSender`] for those who queue jobs, a
//! [`JobScheduler`] for the workers that put a job off, a [`JobSource`] for the local pollers that play
//! Lambda's event source mapping (`receive`, `delete`).

mod memory;
mod sqs;

pub use memory::MemoryQueue;
pub use sqs::{QueueSpec, SqsQueue};

use async_trait::async_trait;
use std::time::Duration;

/// SQS's limit for one SendMessageBatch and one ReceiveMessage.
pub const MAX_BATCH: usize = 10;

#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingMessage {
    pub body: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedMessage {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    /// How many times this message has been handed out, this time included.
    pub receive_count: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("{failed} of {total} messages were not accepted by the queue")]
    PartiallySent { failed: usize, total: usize },
    #[error("{failed} of {total} messages could not be acknowledged")]
    PartiallyDeleted { failed: usize, total: usize },
    #[error("queue unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl QueueError {
    pub fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        QueueError::Unavailable(Box::new(e))
    }
}

/// The sending side: the event router queues jobs, the API replays deliveries and test emails.
#[async_trait]
pub trait JobSender: Send + Sync {
    /// Sends every message, in calls of at most [`MAX_BATCH`].
    async fn send(&self, messages: Vec<OutgoingMessage>) -> Result<(), QueueError>;
}

/// What a worker does with a job it was handed: put it off (SQS ChangeMessageVisibility), which is
/// how retries are scheduled.
#[async_trait]
pub trait JobScheduler: Send + Sync {
    /// Makes a received message visible again after `delay`.
    async fn retry_after(&self, receipt_handle: &str, delay: Duration) -> Result<(), QueueError>;
}

/// The receiving side, played by Lambda's event source mapping in AWS and by the local pollers here.
#[async_trait]
pub trait JobSource: JobScheduler {
    /// Up to `max` messages, waiting up to `wait` for the first; each is invisible to other receivers
    /// for the queue's visibility timeout.
    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<ReceivedMessage>, QueueError>;

    /// Acknowledges a received message: it is gone for good.
    async fn delete(&self, receipt_handle: &str) -> Result<(), QueueError>;

    /// Acknowledges several received messages, in as few calls as the queue allows (SQS: one call
    /// per [`MAX_BATCH`], as Lambda's event source mapping does).
    async fn delete_many(&self, receipt_handles: &[String]) -> Result<(), QueueError> {
        let mut failed = 0;
        for handle in receipt_handles {
            if self.delete(handle).await.is_err() {
                failed += 1;
            }
        }
        match failed {
            0 => Ok(()),
            failed => Err(QueueError::PartiallyDeleted {
                failed,
                total: receipt_handles.len(),
            }),
        }
    }

    /// The queue's ARN (or a stand-in), as Lambda puts it in `eventSourceARN`.
    fn arn(&self) -> &str;
}

/// A whole queue, both sides: what the adapters are and what tests and the local runner hold.
pub trait Queue: JobSender + JobSource {}

impl<T: JobSender + JobSource> Queue for T {}

/// Moves every message of `dead_letters` back to `queue`, the one it came from, as SQS's own
/// redrive does: each batch is sent before it is deleted, so a failure in between leaves a copy in
/// both, and the delivery records keep that copy from being delivered twice. A moved message
/// starts its receives (and so its retries) afresh. Returns how many moved.
pub async fn redrive(dead_letters: &dyn JobSource, queue: &dyn JobSender) -> Result<usize, QueueError> {
    let mut moved = 0;
    loop {
        let batch = dead_letters.receive(MAX_BATCH, Duration::from_secs(1)).await?;
        if batch.is_empty() {
            return Ok(moved);
        }
        let copies = batch.iter().map(|m| OutgoingMessage { body: m.body.clone() }).collect();
        queue.send(copies).await?;
        for message in &batch {
            dead_letters.delete(&message.receipt_handle).await?;
        }
        moved += batch.len();
    }
}
