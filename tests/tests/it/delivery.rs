//! Retries and dead letters: a failing endpoint is retried, a dead one ends in the DLQ with its
//! attempts logged, and neither holds back the rest of the batch.

use gatehouse::store::deliveries::DeliveryStatus;
use gatehouse_tests::*;
use serde_json::{json, Value};
use std::time::Duration;

async fn retried_until_delivered_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let receiver = WebhookReceiver::start(vec![500, 200]).await;
    let org = app
        .create_org(json!({"name": "Acme", "event_options": {"developer_event": {"webhook": receiver.url()}}}))
        .await;
    assert_eq!(app.sign_up(&org.id, &unique_email()).await.status(), 202);

    let hooks = receiver
        .wait_for(2, Duration::from_secs(30))
        .await
        .expect("the webhook was retried after the 500");
    // Both attempts carry the same message id, so a receiver could de-duplicate too.
    assert_eq!(hooks[0].header("webhook-id"), hooks[1].header("webhook-id"));
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(receiver.received().len(), 2, "delivered once: no attempt after the 200");

    let webhooks: Vec<_> = app
        .deliveries(&org.id)
        .await
        .into_iter()
        .filter(|d| d.channel == "webhook")
        .collect();
    assert_eq!(webhooks.len(), 1);
    let delivery = &webhooks[0];
    assert_eq!(delivery.status, DeliveryStatus::Sent);
    assert_eq!(delivery.attempts, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retried_until_delivered_once_on_the_emulator() {
    retried_until_delivered_once(Backend::Emulator).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retried_until_delivered_once_embedded() {
    retried_until_delivered_once(Backend::Embedded).await;
}

async fn dead_endpoint_goes_to_the_dlq_without_holding_back_others(backend: Backend) {
    let app = spawn_app(backend).await;
    let dead = WebhookReceiver::start(vec![500]).await;
    let healthy = WebhookReceiver::start(vec![200]).await;
    let failing = app
        .create_org(json!({"name": "Failing", "event_options": {"developer_event": {"webhook": dead.url()}}}))
        .await;
    let working = app
        .create_org(json!({"name": "Working", "event_options": {"developer_event": {"webhook": healthy.url()}}}))
        .await;
    // Sign-ups in both organisations at once, so their jobs share batches.
    let emails: Vec<String> = (0..3).map(|_| unique_email()).collect();
    let (a, b, c) = tokio::join!(
        app.sign_up(&failing.id, &emails[0]),
        app.sign_up(&working.id, &emails[1]),
        app.sign_up(&working.id, &emails[2]),
    );
    assert_eq!(
        [a.status(), b.status(), c.status()].map(|s| s.as_u16()),
        [202, 202, 202]
    );

    let delivered = healthy.wait_for(2, Duration::from_secs(20)).await;
    assert!(delivered.is_some(), "the healthy endpoint got both of its webhooks");

    let dead_letters = eventually(Duration::from_secs(40), || async {
        let d = app.dead_letters(true).await;
        (!d.is_empty()).then_some(d)
    })
    .await
    .expect("the dead endpoint's job reached the dead-letter queue");
    assert_eq!(dead_letters.len(), 1);
    let job: Value = serde_json::from_str(&dead_letters[0]).unwrap();
    assert_eq!(job["event"]["org_id"], failing.id.as_str());
    assert_eq!(job["event"]["data"]["email"], emails[0].as_str());
    // maxReceiveCount is 3 in tests: three attempts, each logged.
    assert_eq!(dead.received().len(), 3);
    let delivery = app
        .deliveries(&failing.id)
        .await
        .into_iter()
        .find(|d| d.delivery_id == job["delivery_id"].as_str().unwrap())
        .expect("the failed delivery is logged");
    assert_eq!(delivery.status, DeliveryStatus::Failed);
    assert_eq!(delivery.attempts, 3);
    assert_eq!(delivery.last_error.as_deref(), Some("the endpoint answered 500"));
    assert_eq!(healthy.received().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_endpoint_goes_to_the_dlq_on_the_emulator() {
    dead_endpoint_goes_to_the_dlq_without_holding_back_others(Backend::Emulator).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_endpoint_goes_to_the_dlq_embedded() {
    dead_endpoint_goes_to_the_dlq_without_holding_back_others(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_to_private_addresses_are_refused_without_the_allow_list() {
    let mut config = test_config(Backend::Embedded);
    config.webhook_allowed_networks.clear();
    let app = spawn_app_with(config).await;
    let receiver = WebhookReceiver::start(vec![200]).await;
    let org = app
        .create_org(json!({"name": "Acme", "event_options": {"developer_event": {"webhook": receiver.url()}}}))
        .await;
    let email = unique_email();
    assert_eq!(app.sign_up(&org.id, &email).await.status(), 202);
    // The welcome email proves the event went through the pipeline; the webhook must not have.
    eventually(Duration::from_secs(20), || async {
        app.emails_to(&email).await.into_iter().next()
    })
    .await
    .expect("the event was routed");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        receiver.received().is_empty(),
        "no request reached the loopback receiver"
    );
}

async fn retries_wait_for_retry_after(backend: Backend) {
    let app = spawn_app(backend).await;
    let receiver = WebhookReceiver::start_with(vec![503, 200], Some(3)).await;
    let org = app
        .create_org(json!({"name": "Acme", "event_options": {"developer_event": {"webhook": receiver.url()}}}))
        .await;
    assert_eq!(app.sign_up(&org.id, &unique_email()).await.status(), 202);
    let hooks = receiver
        .wait_for(2, Duration::from_secs(30))
        .await
        .expect("retried after the 503");
    // The schedule here says 1 s; the receiver asked for 3 s, and is the one obeyed.
    let gap = hooks[1].at - hooks[0].at;
    assert!(
        gap >= Duration::from_millis(2900),
        "retried after {gap:?}, before Retry-After"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_wait_for_retry_after_on_the_emulator() {
    retries_wait_for_retry_after(Backend::Emulator).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_wait_for_retry_after_embedded() {
    retries_wait_for_retry_after(Backend::Embedded).await;
}

async fn failed_deliveries_are_logged_and_can_be_replayed(backend: Backend) {
    let app = spawn_app(backend).await;
    // Three failures exhaust the test queues' three receives; the fourth call would succeed.
    let receiver = WebhookReceiver::start(vec![500, 500, 500, 200]).await;
    let org = app
        .create_org(json!({"name": "Acme", "event_options": {"developer_event": {"webhook": receiver.url()}}}))
        .await;
    assert_eq!(app.sign_up(&org.id, &unique_email()).await.status(), 202);
    let get = |path: String| {
        let (app, key) = (&app, org.admin_key.clone());
        async move {
            app.http
                .get(app.url(&path))
                .bearer_auth(key)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let failed = eventually(Duration::from_secs(40), || async {
        let page = get(format!("/orgs/{}/deliveries?status=failed", org.id)).await;
        page["items"].as_array().and_then(|i| {
            i.iter()
                .find(|d| d["channel"] == "webhook" && d["attempts"] == 3)
                .cloned()
        })
    })
    .await
    .expect("the webhook failed three times and is logged");
    let log = failed["log"].as_array().unwrap();
    assert_eq!(log.len(), 3);
    assert!(log
        .iter()
        .all(|a| a["outcome"] == "failed" && a["detail"] == "the endpoint answered 500"));
    assert!(
        log[0]["next_attempt_at"].is_string(),
        "the next attempt's time is logged"
    );
    assert!(failed.get("job").is_none(), "the log does not expose the queued job");
    let id = failed["id"].as_str().unwrap();
    // Wait until the queue has dead-lettered it, so the replay is the only way it comes back.
    eventually(Duration::from_secs(20), || async {
        (!app.dead_letters(true).await.is_empty()).then_some(())
    })
    .await
    .expect("dead-lettered");

    let replay = |id: String| {
        let (app, key, org) = (&app, org.admin_key.clone(), org.id.clone());
        async move {
            app.http
                .post(app.url(&format!("/orgs/{org}/deliveries/{id}/retry")))
                .bearer_auth(key)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(replay(id.to_string()).await, 202);
    let sent = eventually(Duration::from_secs(20), || async {
        let page = get(format!("/orgs/{}/deliveries?status=sent", org.id)).await;
        page["items"]
            .as_array()
            .and_then(|i| i.iter().find(|d| d["id"] == id).cloned())
    })
    .await
    .expect("the replay delivered it");
    assert_eq!(sent["attempts"], 4);
    assert_eq!(sent["log"].as_array().unwrap().last().unwrap()["outcome"], "sent");
    assert_eq!(receiver.received().len(), 4);
    assert_eq!(replay(id.to_string()).await, 409, "only failed deliveries are replayed");
    assert_eq!(replay("nope".into()).await, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_deliveries_are_logged_and_can_be_replayed_on_the_emulator() {
    failed_deliveries_are_logged_and_can_be_replayed(Backend::Emulator).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_deliveries_are_logged_and_can_be_replayed_embedded() {
    failed_deliveries_are_logged_and_can_be_replayed(Backend::Embedded).await;
}

/// A job no worker can read goes to the dead-letter queue after the queue's receives, while the
/// jobs beside it are delivered at once.
async fn a_poison_message_is_dead_lettered_and_holds_nothing_back(backend: Backend) {
    let app = spawn_app(backend).await;
    let ops = unique_email();
    let org = app
        .create_org(json!({"name": "Acme", "event_options": {"api_event": {"email": ops}}}))
        .await;
    let poison = gatehouse::queue::OutgoingMessage {
        body: "{\"not\": \"a job\"}".into(),
    };
    app.local.services.email_queue.send(vec![poison]).await.unwrap();
    let started = std::time::Instant::now();
    let created = app
        .post_json(
            &format!("/orgs/{}/apis", org.id),
            Some(&org.admin_key),
            &json!({"name": "Payments"}),
        )
        .await;
    assert_eq!(created.status(), 201);
    eventually(Duration::from_secs(20), || async {
        app.emails_to(&ops).await.into_iter().next()
    })
    .await
    .expect("the good job is delivered");
    let dead = eventually(Duration::from_secs(30), || async {
        let d = app.dead_letters(false).await;
        (!d.is_empty()).then_some(d)
    })
    .await
    .expect("the poison message is dead-lettered");
    assert_eq!(dead, ["{\"not\": \"a job\"}"]);
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_message_is_dead_lettered_and_holds_nothing_back_on_the_emulator() {
    a_poison_message_is_dead_lettered_and_holds_nothing_back(Backend::Emulator).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_message_is_dead_lettered_and_holds_nothing_back_embedded() {
    a_poison_message_is_dead_lettered_and_holds_nothing_back(Backend::Embedded).await;
}

/// The destination of a redrive cut short and run again: every message arrives twice.
struct Twice(std::sync::Arc<dyn gatehouse::queue::Queue>);

#[async_trait::async_trait]
impl gatehouse::queue::JobSender for Twice {
    async fn send(&self, messages: Vec<gatehouse::queue::OutgoingMessage>) -> Result<(), gatehouse::queue::QueueError> {
        self.0.send(messages.clone()).await?;
        self.0.send(messages).await
    }
}

/// A dead-lettered job moved back to its queue (`gatehouse redrive`; SQS's own redrive in AWS) is
/// delivered once its endpoint answers again, and once only, even when it arrives twice.
async fn a_dead_lettered_job_moved_back_is_delivered_once(backend: Backend) {
    let app = spawn_app(backend).await;
    // maxReceiveCount is 3 in tests: three failures, then the dead-letter queue; then 204s.
    let receiver = WebhookReceiver::start(vec![500, 500, 500, 204]).await;
    let org = app
        .create_org(json!({"name": "Acme", "event_options": {"developer_event": {"webhook": receiver.url()}}}))
        .await;
    assert_eq!(app.sign_up(&org.id, &unique_email()).await.status(), 202);

    let destination = Twice(app.local.services.webhook_queue.clone());
    let moved = eventually(Duration::from_secs(40), || async {
        let moved = gatehouse::queue::redrive(&*app.local.webhook_dead_letters, &destination)
            .await
            .unwrap();
        (moved > 0).then_some(moved)
    })
    .await
    .expect("the job reached the dead-letter queue and was moved back");
    assert_eq!(moved, 1);
    let hooks = receiver
        .wait_for(4, Duration::from_secs(30))
        .await
        .expect("delivered after the redrive");
    assert!(hooks
        .iter()
        .all(|h| h.header("webhook-id") == hooks[0].header("webhook-id")));
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(receiver.received().len(), 4, "the second copy sent nothing");
    let delivery = app
        .deliveries(&org.id)
        .await
        .into_iter()
        .find(|d| d.channel == "webhook")
        .expect("the delivery is logged");
    assert_eq!(delivery.status, DeliveryStatus::Sent);
    assert_eq!(delivery.attempts, 4);
    assert_eq!(
        gatehouse::queue::redrive(&*app.local.webhook_dead_letters, &destination)
            .await
            .unwrap(),
        0,
        "nothing is left to move"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_lettered_job_moved_back_is_delivered_once_on_the_emulator() {
    a_dead_lettered_job_moved_back_is_delivered_once(Backend::Emulator).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_lettered_job_moved_back_is_delivered_once_embedded() {
    a_dead_lettered_job_moved_back_is_delivered_once(Backend::Embedded).await;
}

/// Key scheme 3 moved the delivery records; for one release a job attempted before the move (it
/// comes back handed over) is looked up where scheme 2 kept it, so it is not delivered twice, and
/// the delivery log still shows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_sent_under_key_scheme_2_is_not_sent_again_and_stays_in_the_log() {
    use gatehouse::pipeline::{sqs_event, QueueHandler};
    use gatehouse::queue::ReceivedMessage;
    use gatehouse::store::{deliveries, listing_attrs, table_keys, to_attrs, Condition, Write};

    let app = spawn_app_without_workers(test_config(Backend::Embedded)).await;
    let receiver = WebhookReceiver::start(vec![200]).await;
    let org = app
        .create_org(json!({"name": "Acme", "event_options": {"developer_event": {"webhook": receiver.url()}}}))
        .await;
    assert_eq!(app.sign_up(&org.id, &unique_email()).await.status(), 202);
    let queue = app.local.services.webhook_queue.clone();
    let received = eventually(Duration::from_secs(10), || async {
        let m = queue.receive(10, Duration::from_millis(200)).await.unwrap();
        (!m.is_empty()).then_some(m)
    })
    .await
    .expect("the router queued the webhook job");
    let job: Value = serde_json::from_str(&received[0].body).unwrap();
    let delivery_id = job["delivery_id"].as_str().unwrap().to_string();
    let org_id = gatehouse::domain::OrgId::parse(&org.id).unwrap();

    // The record as key scheme 2 wrote it: its own partition, listed through GSI2.
    let sent = deliveries::Delivery {
        delivery_id: delivery_id.clone(),
        event_id: job["event"]["id"].as_str().unwrap().into(),
        channel: "webhook".into(),
        target: receiver.url(),
        status: deliveries::DeliveryStatus::Sent,
        attempts: 1,
        lock_until: 0,
        last_error: None,
        reason: None,
        updated_at: gatehouse::domain::now_rfc3339(),
        log: vec![],
        job: String::new(),
        batch: None,
    };
    let mut attrs = to_attrs(&sent);
    attrs.extend(listing_attrs(&org_id, table_keys::DELIVERY_KIND, &delivery_id));
    let record = table_keys::scheme2_delivery(&org_id, &delivery_id).record(attrs);
    app.local
        .services
        .store
        .transact(vec![Write::put(record, Condition::None)])
        .await
        .unwrap();

    let worker = app.local.services.webhook_worker();
    let handed_over = ReceivedMessage {
        receive_count: 2,
        ..received[0].clone()
    };
    let response = worker.handle(sqs_event(queue.arn(), &[handed_over])).await;
    assert!(response.batch_item_failures.is_empty(), "acknowledged");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(receiver.received().is_empty(), "not delivered a second time");

    let (status, page) = app.admin(&org, "GET", "/deliveries", None).await;
    assert_eq!(status, 200, "{page}");
    let listed: Vec<_> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["id"] == delivery_id.as_str())
        .collect();
    assert_eq!(listed.len(), 1, "listed once: {page}");
    assert_eq!(listed[0]["status"], "sent");
}

/// What CloudWatch is given (Embedded Metric Format documents, written after each invocation in
/// Lambda): deliveries by channel and outcome, how long after its event each went out, requests by
/// route and status class. The only test that flushes the process's metrics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_and_requests_are_measured_for_cloudwatch() {
    gatehouse::telemetry::init_metrics();
    let app = spawn_app(Backend::Embedded).await;
    let receiver = WebhookReceiver::start(vec![200]).await;
    let org = app
        .create_org(json!({"name": "Acme", "event_options": {"developer_event": {"webhook": receiver.url()}}}))
        .await;
    assert_eq!(app.sign_up(&org.id, &unique_email()).await.status(), 202);
    receiver
        .wait_for(1, Duration::from_secs(20))
        .await
        .expect("the webhook was delivered");
    let flushed = eventually(Duration::from_secs(10), || async {
        let mut out = Vec::new();
        gatehouse::telemetry::flush_metrics(&mut out);
        let documents: Vec<Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        documents
            .iter()
            .any(|d| d["Deliveries"].is_number() && d["Channel"] == "webhook" && d["Outcome"] == "sent")
            .then_some(documents)
    })
    .await
    .expect("a sent webhook is counted");
    let directive = |d: &Value| d["_aws"]["CloudWatchMetrics"][0].clone();
    let latency = flushed
        .iter()
        .find(|d| d["DeliveryLatency"].is_array() || d["DeliveryLatency"].is_number())
        .expect("the delivery's latency is recorded");
    assert_eq!(directive(latency)["Namespace"], "Gatehouse");
    assert_eq!(directive(latency)["Metrics"][0]["Unit"], "Milliseconds");
    assert!(
        flushed
            .iter()
            .any(|d| d["Requests"].is_number() && d["Route"] == "POST /portal/{org}/signup" && d["Status"] == "2xx"),
        "the sign-up is counted by route and status class: {flushed:?}"
    );
}
