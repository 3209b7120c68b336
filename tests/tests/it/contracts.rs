//! The port contracts: each memory adapter behaves as its AWS adapter does, checked by the same tests
//! against both (the AWS ones on the emulator).

use gatehouse::app::AwsClients;
use gatehouse::mail::{Mailer, OutboxMailer, SesMailer};
use gatehouse::queue::{MemoryQueue, OutgoingMessage, Queue, QueueSpec};
use gatehouse::store::{Condition, DynamoStore, Key, MemoryStore, Record, Store, StoreError, TableSpec, Write};
use gatehouse_tests::*;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

async fn clients() -> AwsClients {
    AwsClients::load(Some(&emulator_endpoint())).await
}

fn record(pk: &str, sk: &str, attrs: Value) -> Record {
    let Value::Object(map) = attrs else {
        panic!("attrs must be an object")
    };
    Key::new(pk, sk).record(map)
}

async fn store_contract(store: &dyn Store) {
    let pk = "ORG#contract";
    // Round trip of every JSON shape the entities use.
    let attrs = json!({"s": "x", "n": 42, "f": 1.5, "b": true, "null": null, "list": [1, "a"], "map": {"k": {"deep": [true]}}, "empty": ""});
    store
        .transact(vec![Write::put(record(pk, "A#1", attrs.clone()), Condition::NotExists)])
        .await
        .unwrap();
    let got = store.get(&Key::new(pk, "A#1")).await.unwrap().unwrap();
    for (k, v) in attrs.as_object().unwrap() {
        assert_eq!(&got[k], v, "attribute {k}");
    }
    assert!(store.get(&Key::new(pk, "A#missing")).await.unwrap().is_none());

    // A failed condition anywhere cancels the whole transaction and says which write failed.
    let err = store
        .transact(vec![
            Write::put(record(pk, "A#2", json!({})), Condition::NotExists),
            Write::put(record(pk, "A#1", json!({})), Condition::NotExists),
        ])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed { index: Some(1) }), "{err:?}");
    assert!(
        store.get(&Key::new(pk, "A#2")).await.unwrap().is_none(),
        "nothing of a cancelled transaction is written"
    );

    // Versioned updates: the first writer wins, a stale one is refused.
    store
        .transact(vec![Write::put_versioned(record(pk, "V#1", json!({"v": "one"})), 0)])
        .await
        .unwrap();
    store
        .transact(vec![Write::put_versioned(record(pk, "V#1", json!({"v": "two"})), 1)])
        .await
        .unwrap();
    let stale = store
        .transact(vec![Write::put_versioned(record(pk, "V#1", json!({"v": "three"})), 1)])
        .await;
    assert!(matches!(stale, Err(StoreError::ConditionFailed { .. })));
    let v = store.get(&Key::new(pk, "V#1")).await.unwrap().unwrap();
    assert_eq!((v["v"].as_str(), gatehouse::store::version_of(&v)), (Some("two"), 2));

    // Deletes, conditional or not.
    assert!(store
        .transact(vec![Write::Delete {
            key: Key::new(pk, "A#none"),
            condition: Condition::Exists
        }])
        .await
        .is_err());
    store
        .transact(vec![Write::Delete {
            key: Key::new(pk, "V#1"),
            condition: Condition::Version(2),
        }])
        .await
        .unwrap();
    assert!(store.get(&Key::new(pk, "V#1")).await.unwrap().is_none());

    // Prefix queries in order, paginated, and never outside the partition.
    let mut writes: Vec<Write> = (0..5)
        .map(|i| Write::put(record(pk, &format!("Q#{i}"), json!({"i": i})), Condition::None))
        .collect();
    writes.push(Write::put(record("ORG#other", "Q#9", json!({})), Condition::None));
    store.transact(writes).await.unwrap();
    let first = store.query(pk, "Q#", None, 2).await.unwrap();
    let sks: Vec<&str> = first.records.iter().map(|r| r["SK"].as_str().unwrap()).collect();
    assert_eq!(sks, ["Q#0", "Q#1"]);
    assert_eq!(first.next.as_deref(), Some("Q#1"));
    let second = store.query(pk, "Q#", first.next.as_deref(), 2).await.unwrap();
    let third = store.query(pk, "Q#", second.next.as_deref(), 2).await.unwrap();
    assert_eq!(third.records.len(), 1);
    assert_eq!(third.records[0]["i"], 4);
    assert_eq!(third.next, None, "no next page after the last");

    // The secondary index: by GSI1SK prefix, in order, across pages, only records that carry it.
    let mut writes: Vec<Write> = ["bob@x.io", "ann@x.io", "anna@y.io", "amy@x.io"]
        .iter()
        .enumerate()
        .map(|(i, email)| {
            let attrs = json!({"GSI1PK": "ORG#contract#EMAIL", "GSI1SK": format!("{email}#{i}"), "email": email});
            Write::put(record(pk, &format!("G#{i}"), attrs), Condition::None)
        })
        .collect();
    writes.push(Write::put(
        record(
            pk,
            "G#other",
            json!({"GSI1PK": "ORG#other#EMAIL", "GSI1SK": "ann@z.io#9"}),
        ),
        Condition::None,
    ));
    store.transact(writes).await.unwrap();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .query_gsi1("ORG#contract#EMAIL", "an", cursor.as_deref(), 1)
            .await
            .unwrap();
        seen.extend(page.records.iter().map(|r| r["email"].as_str().unwrap().to_string()));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, ["ann@x.io", "anna@y.io"]);
    let all = store.query_gsi1("ORG#contract#EMAIL", "", None, 10).await.unwrap();
    let emails: Vec<&str> = all.records.iter().map(|r| r["email"].as_str().unwrap()).collect();
    assert_eq!(emails, ["amy@x.io", "ann@x.io", "anna@y.io", "bob@x.io"]);
    assert!(all.next.is_none());
    assert!(store
        .query_gsi1("ORG#contract#EMAIL", "zed", None, 10)
        .await
        .unwrap()
        .records
        .is_empty());

    // Refused before reaching the table: the same key twice, or no writes.
    let twice = vec![
        Write::put(record(pk, "D#1", json!({})), Condition::None),
        Write::put(record(pk, "D#1", json!({})), Condition::None),
    ];
    assert!(matches!(store.transact(twice).await, Err(StoreError::Invalid(_))));
    assert!(matches!(store.transact(vec![]).await, Err(StoreError::Invalid(_))));

    // Updates set and add to the named attributes only, make the record if absent, and hold to
    // their condition, alone or in a transaction.
    let counter = Key::new("ORG#contract#COUNTER", "C");
    let update = |n: i64, condition: Condition| Write::Update {
        key: counter.clone(),
        set: [("label".to_string(), json!("hits"))].into_iter().collect(),
        add: vec![("n", n)],
        condition,
    };
    store.transact(vec![update(3, Condition::None)]).await.unwrap();
    store
        .transact(vec![
            update(4, Condition::AtMost { attr: "n", max: 3 }),
            Write::put(record(pk, "E#1", json!({})), Condition::NotExists),
        ])
        .await
        .unwrap();
    let found = store.get(&counter).await.unwrap().unwrap();
    assert_eq!((found["n"].as_i64(), found["label"].as_str()), (Some(7), Some("hits")));
    assert!(matches!(
        store
            .transact(vec![update(1, Condition::AtMost { attr: "n", max: 6 })])
            .await,
        Err(StoreError::ConditionFailed { .. })
    ));
    assert!(matches!(
        store
            .transact(vec![Write::Update {
                key: Key::new("ORG#contract#COUNTER", "absent"),
                set: [("x".to_string(), json!(1))].into_iter().collect(),
                add: vec![],
                condition: Condition::Exists,
            }])
            .await,
        Err(StoreError::ConditionFailed { .. })
    ));
    assert_eq!(
        store.get(&counter).await.unwrap().unwrap()["n"].as_i64(),
        Some(7),
        "nothing added"
    );
}

#[tokio::test]
async fn memory_store_meets_the_contract() {
    store_contract(&MemoryStore::new()).await;
}

#[tokio::test]
async fn dynamo_store_meets_the_contract() {
    let clients = clients().await;
    let table = unique("gh-contract");
    TableSpec::ensure(&clients.dynamodb, &table).await.unwrap();
    TableSpec::ensure(&clients.dynamodb, &table)
        .await
        .expect("ensure is idempotent");
    store_contract(&DynamoStore::new(clients.dynamodb, table)).await;
}

async fn queue_contract(queue: Arc<dyn Queue>, dead_letters: Arc<dyn Queue>) {
    let bodies: Vec<String> = (0..13).map(|i| format!("job {i}")).collect();
    queue
        .send(bodies.iter().map(|b| OutgoingMessage { body: b.clone() }).collect())
        .await
        .unwrap();
    let mut received = Vec::new();
    for _ in 0..10 {
        let batch = queue.receive(10, Duration::from_secs(1)).await.unwrap();
        assert!(batch.len() <= 10);
        received.extend(batch);
        if received.len() == 13 {
            break;
        }
    }
    let mut got: Vec<String> = received.iter().map(|m| m.body.clone()).collect();
    got.sort();
    let mut want = bodies.clone();
    want.sort();
    assert_eq!(got, want, "every message arrives, batches of at most ten");
    assert!(received.iter().all(|m| m.receive_count == 1));

    // Acknowledge all but one; the other comes back after the visibility timeout (1 s here), and
    // after three receives it moves to the dead-letter queue.
    let kept = received.pop().unwrap();
    for m in &received {
        queue.delete(&m.receipt_handle).await.unwrap();
    }
    let mut receives = 1;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let dead = dead_letters.receive(10, Duration::from_millis(200)).await.unwrap();
        if let Some(d) = dead.first() {
            assert_eq!(d.body, kept.body);
            break;
        }
        for again in queue.receive(10, Duration::from_secs(1)).await.unwrap() {
            assert_eq!(again.body, kept.body, "acknowledged messages never come back");
            receives += 1;
            assert_eq!(again.receive_count, receives);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the message never reached the dead-letter queue"
        );
    }
    assert_eq!(receives, 3, "received maxReceiveCount times before dead-lettering");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_queue_meets_the_contract() {
    let dlq = Arc::new(MemoryQueue::dead_letter("contract-dlq"));
    let queue = MemoryQueue::new("contract", Duration::from_secs(1), 3, Some(dlq.clone()));
    queue_contract(Arc::new(queue), dlq).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_queue_meets_the_contract() {
    let clients = clients().await;
    let name = unique("gh-contract");
    let spec = QueueSpec {
        name: &name,
        visibility_timeout: Duration::from_secs(1),
        max_receive_count: 3,
    };
    let (queue, dlq) = spec.ensure(&clients.sqs).await.unwrap();
    queue_contract(Arc::new(queue), Arc::new(dlq)).await;
}

#[tokio::test]
async fn outbox_mailer_writes_the_exact_message() {
    let dir = std::env::temp_dir().join(unique("gh-outbox"));
    let mailer = OutboxMailer::new(&dir);
    let to = unique_email();
    let mail = test_mail("portal@gatehouse.local", &to, "Contract");
    let bytes = mail.mime.clone();
    mailer.send(&mail).await.unwrap();
    let messages = outbox_messages(&dir);
    assert_eq!(messages, [String::from_utf8(bytes).unwrap()]);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn ses_mailer_sends_the_exact_message() {
    let clients = clients().await;
    let sender = format!("{}@gatehouse.local", unique("sender"));
    clients
        .ses
        .create_email_identity()
        .email_identity(&sender)
        .send()
        .await
        .unwrap();
    let mailer = SesMailer::new(clients.ses.clone(), None);
    let to = unique_email();
    let mail = test_mail(&sender, &to, "Contract");
    let bytes = mail.mime.clone();
    mailer.send(&mail).await.unwrap();
    let sent: Vec<String> = ses_raw_messages(&emulator_endpoint())
        .await
        .into_iter()
        .filter(|(d, _)| d.contains(&to))
        .map(|(_, raw)| raw)
        .collect();
    assert_eq!(sent, [String::from_utf8(bytes).unwrap()]);

    let unverified = format!("{}@gatehouse.local", unique("nobody"));
    let refused = mailer.send(&test_mail(&unverified, &to, "Contract")).await;
    assert!(refused.is_err(), "SES refuses an unverified sender");
}
