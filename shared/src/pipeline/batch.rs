//! What the two workers share about SQS batches: one span per message, and the batch response that
//! hands every unfinished message back to the queue.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsMessage};

/// Why a job was not acknowledged: SQS will hand it over again, and dead-letter it in the end.
#[derive(Debug, thiserror::Error)]
pub enum Retry {
    #[error("the job does not decode: {0}")]
    Undecodable(String),
    #[error("another attempt holds this delivery")]
    Busy,
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("{0}")]
    Send(String),
}

pub(crate) fn job_span(worker: &'static str, m: &SqsMessage) -> tracing::Span {
    tracing::info_span!("job", worker, message_id = m.message_id.as_deref().unwrap_or(""))
}

/// The batch response: every message whose delivery did not finish is reported for retry.
pub(crate) fn report(worker: &'static str, records: &[SqsMessage], results: Vec<Result<(), Retry>>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for (m, result) in records.iter().zip(results) {
        if let Err(e) = result {
            tracing::warn!(worker, message_id = m.message_id.as_deref().unwrap_or(""), error = %e, "job left for retry");
            response.add_failure(m.message_id.clone().unwrap_or_default());
        }
    }
    response
}
