//! The local stand-ins for Lambda's event source mappings: loops that read a stream or a queue and
//! call the same handlers Lambda calls, with the same payloads, honouring batch item failures.

use aws_lambda_events::dynamodb::Event as StreamEvent;
use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use super::{QueueHandler, StreamHandler, StreamSource};
use crate::queue::{JobSource, ReceivedMessage, MAX_BATCH};

/// Reads the stream for ever, handing each batch to `handler`; on a reported failure the batch is
/// read again from the failed record after a pause, as Lambda retries a stream batch.
pub async fn poll_stream(mut source: Box<dyn StreamSource>, handler: Arc<dyn StreamHandler>) {
    loop {
        let records = match source.next_batch().await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "reading the table stream failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if records.is_empty() {
            continue;
        }
        let mut event = StreamEvent::default();
        event.records = records;
        let response = handler.handle(event).await;
        if let Some(failed) = response
            .batch_item_failures
            .first()
            .and_then(|f| f.item_identifier.clone())
        {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if let Err(e) = source.retry_from(&failed).await {
                tracing::error!(error = %e, "could not rewind the table stream");
            }
        }
    }
}

/// Builds the payload Lambda hands an SQS-triggered function.
pub fn sqs_event(queue_arn: &str, messages: &[ReceivedMessage]) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = messages
        .iter()
        .map(|m| {
            let mut record = SqsMessage::default();
            record.message_id = Some(m.message_id.clone());
            record.receipt_handle = Some(m.receipt_handle.clone());
            record.body = Some(m.body.clone());
            record.attributes = HashMap::from([("ApproximateReceiveCount".to_string(), m.receive_count.to_string())]);
            record.event_source = Some("aws:sqs".into());
            record.event_source_arn = Some(queue_arn.to_string());
            record.aws_region = Some("local".into());
            record
        })
        .collect();
    event
}

/// Receives from the queue for ever with up to `concurrency` batches in flight, each on its own
/// task, as Lambda runs up to the source's maximum concurrency of the function at once. Dropping the
/// future stops them all.
pub async fn poll_queue_concurrently(queue: Arc<dyn JobSource>, handler: Arc<dyn QueueHandler>, concurrency: usize) {
    let mut consumers = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        consumers.spawn(poll_queue(queue.clone(), handler.clone()));
    }
    while consumers.join_next().await.is_some() {}
}

/// Receives from the queue for ever, one batch at a time; deletes what the handler finished and
/// leaves the reported failures to reappear after the visibility timeout (and reach the
/// dead-letter queue in the end).
pub async fn poll_queue(queue: Arc<dyn JobSource>, handler: Arc<dyn QueueHandler>) {
    loop {
        let messages = match queue.receive(MAX_BATCH, Duration::from_secs(1)).await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = ?e, "receiving from a queue failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if messages.is_empty() {
            continue;
        }
        let response = handler.handle(sqs_event(queue.arn(), &messages)).await;
        let failed: HashSet<String> = response
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect();
        let finished: Vec<String> = messages
            .iter()
            .filter(|m| !failed.contains(&m.message_id))
            .map(|m| m.receipt_handle.clone())
            .collect();
        if finished.is_empty() {
            continue;
        }
        if let Err(e) = queue.delete_many(&finished).await {
            // What was not deleted comes back; the delivery records keep it from being delivered twice.
            tracing::warn!(error = ?e, "acknowledging finished messages failed");
        }
    }
}
