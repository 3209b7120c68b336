//! The queue port on Amazon SQS.

use async_trait::async_trait;
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry,
};
use aws_sdk_sqs::Client;
use std::time::Duration;

use super::{JobScheduler, JobSender, JobSource, OutgoingMessage, QueueError, ReceivedMessage, MAX_BATCH};

#[derive(Clone, Debug)]
pub struct SqsQueue {
    client: Client,
    url: String,
    arn: String,
}

impl SqsQueue {
    /// `arn` is only used to label local payloads; Lambda supplies the real one.
    pub fn new(client: Client, url: impl Into<String>, arn: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
            arn: arn.into(),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

#[async_trait]
impl JobSender for SqsQueue {
    async fn send(&self, messages: Vec<OutgoingMessage>) -> Result<(), QueueError> {
        let total = messages.len();
        let mut failed = 0;
        for chunk in messages.chunks(MAX_BATCH) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(&m.body)
                        .build()
                        .expect("entry has id and body")
                })
                .collect();
            let out = self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(QueueError::unavailable)?;
            failed += out.failed.len();
        }
        if failed > 0 {
            return Err(QueueError::PartiallySent { failed, total });
        }
        Ok(())
    }
}

#[async_trait]
impl JobScheduler for SqsQueue {
    async fn retry_after(&self, receipt_handle: &str, delay: Duration) -> Result<(), QueueError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(i32::try_from(delay.as_secs()).unwrap_or(43_200))
            .send()
            .await
            .map_err(QueueError::unavailable)?;
        Ok(())
    }
}

#[async_trait]
impl JobSource for SqsQueue {
    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<ReceivedMessage>, QueueError> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(max.clamp(1, MAX_BATCH) as i32)
            .wait_time_seconds(wait.as_secs().min(20) as i32)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(QueueError::unavailable)?;
        Ok(out
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|m| {
                let receive_count = m
                    .attributes
                    .as_ref()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(1);
                ReceivedMessage {
                    message_id: m.message_id.unwrap_or_default(),
                    receipt_handle: m.receipt_handle.unwrap_or_default(),
                    body: m.body.unwrap_or_default(),
                    receive_count,
                }
            })
            .collect())
    }

    async fn delete(&self, receipt_handle: &str) -> Result<(), QueueError> {
        self.client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(receipt_handle)
            .send()
            .await
            .map_err(QueueError::unavailable)?;
        Ok(())
    }

    async fn delete_many(&self, receipt_handles: &[String]) -> Result<(), QueueError> {
        let mut failed = 0;
        for chunk in receipt_handles.chunks(MAX_BATCH) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, handle)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(handle)
                        .build()
                        .expect("entry has id and receipt handle")
                })
                .collect();
            let out = self
                .client
                .delete_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(QueueError::unavailable)?;
            failed += out.failed.len();
        }
        match failed {
            0 => Ok(()),
            failed => Err(QueueError::PartiallyDeleted {
                failed,
                total: receipt_handles.len(),
            }),
        }
    }

    fn arn(&self) -> &str {
        &self.arn
    }
}

/// A queue and its dead-letter queue, for creating them where nothing else does (the local
/// emulator, tests). In AWS `template.yaml` creates them.
pub struct QueueSpec<'a> {
    pub name: &'a str,
    pub visibility_timeout: Duration,
    pub max_receive_count: u32,
}

impl QueueSpec<'_> {
    /// Creates `<name>-dlq` and `<name>` with a redrive policy (both idempotent); returns the queue and
    /// its dead-letter queue.
    pub async fn ensure(&self, client: &Client) -> anyhow::Result<(SqsQueue, SqsQueue)> {
        use anyhow::Context;
        let dlq = create(client, &format!("{}-dlq", self.name), vec![]).await?;
        let redrive = serde_json::json!({
            "deadLetterTargetArn": dlq.arn,
            "maxReceiveCount": self.max_receive_count.to_string(),
        })
        .to_string();
        let main = create(
            client,
            self.name,
            vec![
                (
                    QueueAttributeName::VisibilityTimeout,
                    self.visibility_timeout.as_secs().to_string(),
                ),
                (QueueAttributeName::RedrivePolicy, redrive),
            ],
        )
        .await
        .with_context(|| format!("creating queue {}", self.name))?;
        Ok((main, dlq))
    }
}

async fn create(
    client: &Client,
    name: &str,
    attributes: Vec<(QueueAttributeName, String)>,
) -> anyhow::Result<SqsQueue> {
    use anyhow::Context;
    let mut request = client.create_queue().queue_name(name);
    for (k, v) in attributes {
        request = request.attributes(k, v);
    }
    let url = request
        .send()
        .await
        .with_context(|| format!("creating queue {name}"))?
        .queue_url
        .context("CreateQueue returned no URL")?;
    let arn = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .with_context(|| format!("reading the ARN of {name}"))?
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .context("GetQueueAttributes returned no QueueArn")?;
    Ok(SqsQueue::new(client.clone(), url, arn))
}
