//! Never lose, never repeat: 1,000 notifications through a receiver that fails at random, a webhook
//! worker that dies between delivering a batch and acknowledging it, and an AWS endpoint that goes
//! away for a while. Each notification must reach the receiver exactly once or sit in the
//! dead-letter queue with its attempts in the delivery log.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use futures::StreamExt;
use gatehouse::app::Pollers;
use gatehouse::domain::{now_rfc3339, Event, EventKind};
use gatehouse::pipeline::{poll_queue, QueueHandler, WebhookJob};
use gatehouse::store::deliveries::{self, DeliveryStatus};
use gatehouse::store::outbox::event_write;
use gatehouse_tests::*;
use serde_json::{json, Value};

const NOTIFICATIONS: usize = 1_000;

/// The real webhook worker, except that its `kill_at`-th invocation dies after the handler has
/// delivered the batch and before the poller acknowledges anything, as a Lambda instance that is
/// killed at that instant.
struct DiesOnce<H> {
    inner: H,
    invocations: AtomicUsize,
    kill_at: usize,
}

#[async_trait]
impl<H: QueueHandler> QueueHandler for DiesOnce<H> {
    async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        let response = self.inner.handle(event).await;
        if self.invocations.fetch_add(1, Ordering::SeqCst) + 1 == self.kill_at {
            panic!("injected fault: the worker dies before acknowledging its batch");
        }
        response
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_notifications_are_delivered_once_or_dead_lettered_despite_faults() {
    let emulator = PrivateEmulator::start().await;
    let proxy = FlakyProxy::start(&emulator.endpoint).await;
    let mut config = test_config(Backend::Emulator);
    config.aws_endpoint_url = Some(proxy.endpoint());
    config.queue_max_receive_count = 4;
    let app = spawn_app_with_pollers(
        config,
        Pollers {
            webhook_worker: false,
            ..Pollers::default()
        },
    )
    .await;
    let receiver = WebhookReceiver::start_flaky(0.2).await;
    let org = app
        .create_org(json!({"name": "Faults", "event_options": {"api_event": {"webhook": receiver.url()}}}))
        .await;

    // 1,000 notifications: api_event.created events written to the outbox as every handler writes
    // them (one PutItem each, no transaction: moto copies its tables on every transaction).
    let store = app.local.services.store.clone();
    let org_id = gatehouse::domain::OrgId::parse(&org.id).unwrap();
    let started = std::time::Instant::now();
    let created: HashSet<String> = futures::stream::iter(0..NOTIFICATIONS)
        .map(|i| {
            let (store, org_id) = (store.clone(), org_id.clone());
            async move {
                let api_id = format!("api-{i:04}");
                let data = json!({"api_id": api_id, "name": format!("API {i}"), "listen_path": format!("/api-{i}/")});
                let event = Event::new(org_id, EventKind::ApiCreated, now_rfc3339(), data);
                store
                    .transact(vec![event_write(&event)])
                    .await
                    .expect("writing an event");
                api_id
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    eprintln!("{NOTIFICATIONS} events written in {:?}", started.elapsed());
    assert_eq!(created.len(), NOTIFICATIONS);

    // Two instances of the worker, each restarted whenever it dies, as Lambda runs them.
    let started = std::time::Instant::now();
    let worker = Arc::new(DiesOnce {
        inner: app.local.services.webhook_worker(),
        invocations: AtomicUsize::new(0),
        kill_at: 3,
    });
    let queue = app.local.services.webhook_queue.clone();
    let deaths = Arc::new(AtomicUsize::new(0));
    let supervisors: Vec<_> = (0..2)
        .map(|_| {
            let (deaths, queue, worker) = (deaths.clone(), queue.clone(), worker.clone());
            tokio::spawn(async move {
                loop {
                    let run = tokio::spawn(poll_queue(queue.clone(), worker.clone() as Arc<dyn QueueHandler>));
                    if run.await.is_err_and(|e| e.is_panic()) {
                        deaths.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();

    // The emulator goes away for three seconds while deliveries are under way. The emulator is
    // one Python process at full load here, slower still while other tests share the machine, so
    // the waits below are for progress, not for a fixed pace.
    receiver
        .wait_for(100, Duration::from_secs(300))
        .await
        .expect("deliveries started");
    proxy.set_down(true);
    tokio::time::sleep(Duration::from_secs(3)).await;
    proxy.set_down(false);

    // Wait until every notification is accounted for: delivered, or dead-lettered. It gives up
    // when nothing new is accounted for in two minutes (retries wait up to a minute), or after
    // fifteen in all.
    let mut dead: HashMap<String, WebhookJob> = HashMap::new();
    let give_up = tokio::time::Instant::now() + Duration::from_secs(900);
    let (mut last_count, mut last_progress) = (0, tokio::time::Instant::now());
    let mut accounted = false;
    while !accounted && tokio::time::Instant::now() < give_up && last_progress.elapsed() < Duration::from_secs(120) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        for body in drain(&app).await {
            let job: WebhookJob = serde_json::from_str(&body).unwrap();
            dead.insert(api_id(&job.event.data), job);
        }
        let delivered = delivered_apis(&receiver);
        let dead_only = dead.keys().filter(|id| !delivered.contains_key(*id)).count();
        let count = delivered.len() + dead_only;
        if count > last_count {
            (last_count, last_progress) = (count, tokio::time::Instant::now());
        }
        accounted = count == created.len();
    }
    supervisors.iter().for_each(|s| s.abort());
    let delivered = delivered_apis(&receiver);
    let requests = receiver.received();
    // Said before any assertion, so a failed run shows where it stood.
    eprintln!(
        "in {:?}: {} delivered ({} more than once), {} dead-lettered, {} requests ({} answered 500), \
         {} worker deaths, {} connections cut",
        started.elapsed(),
        delivered.len(),
        delivered.values().filter(|n| **n > 1).count(),
        dead.keys().filter(|id| !delivered.contains_key(*id)).count(),
        requests.len(),
        requests.iter().filter(|r| r.status == 500).count(),
        deaths.load(Ordering::SeqCst),
        proxy.cut_connections()
    );
    assert!(
        accounted,
        "{} delivered + {} dead-lettered of {NOTIFICATIONS}",
        delivered.len(),
        dead.len()
    );

    // The faults happened.
    assert_eq!(deaths.load(Ordering::SeqCst), 1, "the worker was killed once");
    assert!(proxy.cut_connections() > 0, "the outage cut the pipeline's connections");
    assert!(
        requests.iter().any(|r| r.status == 500),
        "the receiver failed some requests"
    );

    // Exactly once: no notification answered 2xx twice, each for one of the created APIs, signed.
    let twice: Vec<_> = delivered.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    assert!(delivered.keys().all(|id| created.contains(id)));
    for hook in requests.iter().filter(|r| r.status == 204) {
        assert!(verify_standard_webhook(&org.webhook_secret, hook));
    }

    // The rest are dead-lettered with their attempts in the delivery log.
    for (id, job) in dead.iter().filter(|(id, _)| !delivered.contains_key(*id)) {
        let record = deliveries::get(app.local.services.store.as_ref(), &org_id, &job.delivery_id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no delivery record for the dead-lettered API {id}"));
        assert_eq!(record.status, DeliveryStatus::Failed, "{id}");
        assert!(
            !record.log.is_empty() && record.log.iter().all(|a| a.outcome == "failed"),
            "{id}: {:?}",
            record.log
        );
    }
}

/// How many times each API's notification was answered with a 2xx.
fn delivered_apis(receiver: &WebhookReceiver) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for hook in receiver
        .received()
        .into_iter()
        .filter(|r| (200..300).contains(&r.status))
    {
        *counts.entry(api_id(&hook.json()["data"])).or_default() += 1;
    }
    counts
}

fn api_id(data: &Value) -> String {
    data["api_id"]
        .as_str()
        .expect("api events carry the API's id")
        .to_string()
}

/// Takes every message off the webhook dead-letter queue.
async fn drain(app: &TestApp) -> Vec<String> {
    let queue = &app.local.webhook_dead_letters;
    let mut bodies = Vec::new();
    loop {
        let Ok(batch) = queue.receive(10, Duration::ZERO).await else {
            return bodies;
        };
        if batch.is_empty() {
            return bodies;
        }
        for m in batch {
            let _ = queue.delete(&m.receipt_handle).await;
            bodies.push(m.body);
        }
    }
}
