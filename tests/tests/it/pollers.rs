//! The local stand-ins for Lambda's event source mappings honour batch item failures: a stream record
//! reported as failed comes again, with every record after it, in order (as Lambda retries a stream
//! batch from the failed sequence number).

use async_trait::async_trait;
use aws_lambda_events::dynamodb::Event as StreamEvent;
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use gatehouse::app::AwsClients;
use gatehouse::pipeline::{poll_stream, DynamoStreamSource, MemoryStreamSource, StreamHandler, StreamSource};
use gatehouse::store::{Condition, DynamoStore, Key, MemoryStore, Store, TableSpec, Write};
use gatehouse_tests::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Records the partition key's last part of each outbox event it is handed; fails once on `fail_on`.
struct FailsOnce {
    seen: Mutex<Vec<String>>,
    fail_on: &'static str,
    failed: AtomicBool,
}

#[async_trait]
impl StreamHandler for FailsOnce {
    async fn handle(&self, event: StreamEvent) -> DynamoDbEventResponse {
        for record in event.records {
            let sk = match record.change.keys.get("PK") {
                Some(serde_dynamo::AttributeValue::S(s)) => s.rsplit('#').next().unwrap().to_string(),
                other => panic!("a stream record without PK: {other:?}"),
            };
            self.seen.lock().unwrap().push(sk.clone());
            if sk == self.fail_on && !self.failed.swap(true, Ordering::SeqCst) {
                let mut response = DynamoDbEventResponse::default();
                let mut failure = DynamoDbBatchItemFailure::default();
                failure.item_identifier = record.change.sequence_number.clone();
                response.batch_item_failures.push(failure);
                return response;
            }
        }
        DynamoDbEventResponse::default()
    }
}

async fn failed_records_come_again(store: Arc<dyn Store>, source: Box<dyn StreamSource>) {
    let handler = Arc::new(FailsOnce {
        seen: Mutex::default(),
        fail_on: "B",
        failed: AtomicBool::new(false),
    });
    let poller = tokio::spawn(poll_stream(source, handler.clone()));
    // Outbox events (sort key EVENT): the records the event router's stream carries.
    let writes = ["A", "B", "C"]
        .iter()
        .map(|id| {
            Write::put(
                Key::new(format!("ORG#poller#EVENT#{id}"), "EVENT").record(Default::default()),
                Condition::NotExists,
            )
        })
        .collect();
    store.transact(writes).await.unwrap();
    let seen = eventually(Duration::from_secs(20), || async {
        let seen = handler.seen.lock().unwrap().clone();
        (seen.len() >= 4).then_some(seen)
    })
    .await;
    poller.abort();
    assert_eq!(seen.expect("the stream was read"), ["A", "B", "B", "C"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_stream_retries_from_the_failed_record() {
    let store = Arc::new(MemoryStore::new());
    failed_records_come_again(store.clone(), Box::new(MemoryStreamSource::new(store))).await;
}

/// A new table of its own on the emulator, and a source reading its stream.
async fn emulated_table(prefix: &str) -> (Arc<dyn Store>, Box<dyn StreamSource>) {
    let clients = AwsClients::load(Some(&emulator_endpoint())).await;
    let table = unique(prefix);
    let stream_arn = TableSpec::ensure(&clients.dynamodb, &table).await.unwrap();
    let store = Arc::new(DynamoStore::new(clients.dynamodb.clone(), table));
    (
        store,
        Box::new(DynamoStreamSource::new(clients.streams.clone(), stream_arn)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_stream_retries_from_the_failed_record() {
    let (store, source) = emulated_table("gh-poller").await;
    failed_records_come_again(store, source).await;
}

/// Like the template's filter on the event source mapping, the local stream sources hand the
/// router new outbox events only: not other records, not an event's removal.
async fn only_new_outbox_events_come_through(store: Arc<dyn Store>, mut source: Box<dyn StreamSource>) {
    let org = unique("filter");
    let event = Key::new(format!("ORG#{org}#EVENT#one"), "EVENT");
    store
        .transact(vec![
            Write::put(
                Key::new(format!("ORG#{org}"), "DELIVERY#x").record(Default::default()),
                Condition::None,
            ),
            Write::put(event.record(Default::default()), Condition::NotExists),
        ])
        .await
        .unwrap();
    store
        .transact(vec![Write::Delete {
            key: event.clone(),
            condition: Condition::None,
        }])
        .await
        .unwrap();
    // Read until the stream is quiet: the event's insert must be all there was.
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut quiet = 0;
    while quiet < 5 {
        let batch = source.next_batch().await.unwrap();
        quiet = if batch.is_empty() { quiet + 1 } else { 0 };
        seen.extend(
            batch
                .iter()
                .map(|r| (r.event_name.clone(), format!("{:?}", r.change.keys.get("PK")))),
        );
    }
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].0, "INSERT");
    assert!(seen[0].1.contains(&format!("ORG#{org}#EVENT#one")), "{seen:?}");
}

#[tokio::test]
async fn the_memory_stream_carries_only_new_outbox_events() {
    let store = Arc::new(MemoryStore::new());
    only_new_outbox_events_come_through(store.clone(), Box::new(MemoryStreamSource::new(store))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dynamodb_stream_carries_only_new_outbox_events() {
    let (store, source) = emulated_table("gh-filter").await;
    only_new_outbox_events_come_through(store, source).await;
}
