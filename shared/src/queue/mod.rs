//! The queue port: at-least-once job queues with a visibility timeout and a dead-letter queue after
//! a number of receives, as SQS has them. The Lambda workers get their messages from the event source
//! mapping; the local pollers use `receive` and `delete` to play that part.

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
    #[error("queue unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl QueueError {
    pub fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        QueueError::Unavailable(Box::new(e))
    }
}

#[async_trait]
pub trait Queue: Send + Sync {
    /// Sends every message, in calls of at most [`MAX_BATCH`].
    async fn send(&self, messages: Vec<OutgoingMessage>) -> Result<(), QueueError>;

    /// Up to `max` messages, waiting up to `wait` for the first; each is invisible to other receivers
    /// for the queue's visibility timeout.
    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<ReceivedMessage>, QueueError>;

    /// Makes a received message visible again after `delay` (SQS ChangeMessageVisibility): how a
    /// retry is scheduled.
    async fn retry_after(&self, receipt_handle: &str, delay: Duration) -> Result<(), QueueError>;

    /// Acknowledges a received message: it is gone for good.
    async fn delete(&self, receipt_handle: &str) -> Result<(), QueueError>;

    /// The queue's ARN (or a stand-in), as Lambda puts it in `eventSourceARN`.
    fn arn(&self) -> &str;
}
