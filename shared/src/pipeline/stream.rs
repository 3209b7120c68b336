//! Where the local stream poller reads table changes: the DynamoDB stream of a table on the emulator,
//! or the memory store's change log. Both hand over `aws_lambda_events` records, the shape Lambda
//! gives the event router.

use async_trait::async_trait;
use aws_lambda_events::dynamodb::{EventRecord, StreamRecord};
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::store::{ChangeRecord, MemoryStore, Record};

#[async_trait]
pub trait StreamSource: Send {
    /// The next records in order, or none after a short wait.
    async fn next_batch(&mut self) -> anyhow::Result<Vec<EventRecord>>;

    /// The handler failed at `sequence_number` of the last batch: that record and those after it
    /// come again.
    async fn retry_from(&mut self, sequence_number: &str) -> anyhow::Result<()>;
}

fn item(record: &Record) -> serde_dynamo::Item {
    serde_dynamo::to_item(record).expect("records map to DynamoDB items")
}

fn lambda_record(change: &ChangeRecord) -> EventRecord {
    let mut keys = Record::new();
    keys.insert(crate::store::PK.into(), change.key.pk.clone().into());
    keys.insert(crate::store::SK.into(), change.key.sk.clone().into());
    let mut stream = StreamRecord::default();
    stream.keys = item(&keys);
    stream.new_image = change.new_image.as_deref().map(item).unwrap_or_default();
    stream.old_image = change.old_image.as_deref().map(item).unwrap_or_default();
    stream.sequence_number = Some(change.sequence.to_string());
    let mut record = EventRecord::default();
    record.aws_region = "local".into();
    record.change = stream;
    record.event_id = format!("memory-{}", change.sequence);
    record.event_name = change.event_name.into();
    record.event_source = Some("aws:dynamodb".into());
    record
}

/// What the template's `FilterCriteria` lets through to the event router: an `INSERT` whose sort key
/// is the outbox's.
fn is_new_outbox_event(record: &EventRecord) -> bool {
    record.event_name == "INSERT"
        && matches!(
            record.change.keys.get(crate::store::SK),
            Some(serde_dynamo::AttributeValue::S(sk)) if sk == crate::store::table_keys::EVENT_SK
        )
}

/// The memory store's change log as a stream, filtered as the template's event source mapping
/// filters the table's stream: only new outbox events reach the event router (its other records,
/// deliveries, inbox items and the rest, would only be skipped there, after being converted).
pub struct MemoryStreamSource {
    store: Arc<MemoryStore>,
    position: u64,
}

impl MemoryStreamSource {
    pub fn new(store: Arc<MemoryStore>) -> Self {
        Self { store, position: 0 }
    }
}

#[async_trait]
impl StreamSource for MemoryStreamSource {
    async fn next_batch(&mut self) -> anyhow::Result<Vec<EventRecord>> {
        const BATCH: usize = 100;
        let is_new_event = |change: &ChangeRecord| {
            change.event_name == "INSERT" && change.key.sk == crate::store::table_keys::EVENT_SK
        };
        let (through, changes) = self
            .store
            .changes_after(
                self.position,
                10 * BATCH,
                BATCH,
                Duration::from_millis(500),
                is_new_event,
            )
            .await;
        self.position = through;
        Ok(changes.iter().map(lambda_record).collect())
    }

    async fn retry_from(&mut self, sequence_number: &str) -> anyhow::Result<()> {
        let sequence: u64 = sequence_number.parse()?;
        self.position = sequence.saturating_sub(1);
        Ok(())
    }
}

/// A table's DynamoDB stream, read shard by shard from the oldest record, as Lambda's event source
/// mapping does with `StartingPosition: TRIM_HORIZON`.
pub struct DynamoStreamSource {
    client: aws_sdk_dynamodbstreams::Client,
    stream_arn: String,
    /// Open shards and their next iterator.
    iterators: HashMap<String, String>,
    finished: std::collections::HashSet<String>,
    /// The shard the last batch came from.
    current: Option<String>,
    polls: u64,
}

impl DynamoStreamSource {
    pub fn new(client: aws_sdk_dynamodbstreams::Client, stream_arn: impl Into<String>) -> Self {
        Self {
            client,
            stream_arn: stream_arn.into(),
            iterators: HashMap::new(),
            finished: Default::default(),
            current: None,
            polls: 0,
        }
    }

    async fn discover_shards(&mut self) -> anyhow::Result<()> {
        let description = self
            .client
            .describe_stream()
            .stream_arn(&self.stream_arn)
            .send()
            .await?
            .stream_description
            .ok_or_else(|| anyhow::anyhow!("DescribeStream returned no description"))?;
        for shard in description.shards.unwrap_or_default() {
            let Some(id) = shard.shard_id else { continue };
            if self.iterators.contains_key(&id) || self.finished.contains(&id) {
                continue;
            }
            let iterator = self.iterator(&id, ShardIteratorType::TrimHorizon, None).await?;
            self.iterators.insert(id, iterator);
        }
        Ok(())
    }

    async fn iterator(&self, shard: &str, kind: ShardIteratorType, sequence: Option<&str>) -> anyhow::Result<String> {
        self.client
            .get_shard_iterator()
            .stream_arn(&self.stream_arn)
            .shard_id(shard)
            .shard_iterator_type(kind)
            .set_sequence_number(sequence.map(str::to_string))
            .send()
            .await?
            .shard_iterator
            .ok_or_else(|| anyhow::anyhow!("GetShardIterator returned no iterator"))
    }
}

fn from_sdk(record: aws_sdk_dynamodbstreams::types::Record, stream_arn: &str) -> EventRecord {
    let change = record
        .dynamodb
        .unwrap_or_else(|| aws_sdk_dynamodbstreams::types::StreamRecord::builder().build());
    let mut stream = StreamRecord::default();
    stream.keys = change.keys.unwrap_or_default().into();
    stream.new_image = change.new_image.unwrap_or_default().into();
    stream.old_image = change.old_image.unwrap_or_default().into();
    stream.sequence_number = change.sequence_number;
    stream.size_bytes = change.size_bytes.unwrap_or_default();
    let mut out = EventRecord::default();
    out.aws_region = record.aws_region.unwrap_or_default();
    out.change = stream;
    out.event_id = record.event_id.unwrap_or_default();
    out.event_name = record.event_name.map(|n| n.as_str().to_string()).unwrap_or_default();
    out.event_source = record.event_source;
    out.event_version = record.event_version;
    out.event_source_arn = Some(stream_arn.to_string());
    out
}

#[async_trait]
impl StreamSource for DynamoStreamSource {
    async fn next_batch(&mut self) -> anyhow::Result<Vec<EventRecord>> {
        // New shards appear as the table grows or shards roll over; look again now and then.
        if self.iterators.is_empty() || self.polls.is_multiple_of(20) {
            self.discover_shards().await?;
        }
        self.polls += 1;
        let mut shards: Vec<String> = self.iterators.keys().cloned().collect();
        shards.sort();
        for shard in shards {
            let iterator = self.iterators[&shard].clone();
            let out = self
                .client
                .get_records()
                .shard_iterator(iterator)
                .limit(100)
                .send()
                .await?;
            match out.next_shard_iterator {
                Some(next) => {
                    self.iterators.insert(shard.clone(), next);
                }
                None => {
                    self.iterators.remove(&shard);
                    self.finished.insert(shard.clone());
                }
            }
            let records = out.records.unwrap_or_default();
            if !records.is_empty() {
                self.current = Some(shard);
                // The template's filter on the event source mapping: only new outbox events.
                return Ok(records
                    .into_iter()
                    .map(|r| from_sdk(r, &self.stream_arn))
                    .filter(is_new_outbox_event)
                    .collect());
            }
        }
        // GetRecords does not wait for data; pause so an idle poller costs little.
        tokio::time::sleep(Duration::from_millis(200)).await;
        Ok(Vec::new())
    }

    async fn retry_from(&mut self, sequence_number: &str) -> anyhow::Result<()> {
        let shard = self
            .current
            .clone()
            .ok_or_else(|| anyhow::anyhow!("no batch to retry"))?;
        let iterator = self
            .iterator(&shard, ShardIteratorType::AtSequenceNumber, Some(sequence_number))
            .await?;
        self.iterators.insert(shard, iterator);
        Ok(())
    }
}
