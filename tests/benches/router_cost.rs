//! What the event router costs per event with the notification center (people's preferences and
//! languages, the admin users who decide key requests, inbox items), against the same events with
//! the person they name removed, which the router routes as it did before the notification center
//! (one organisation read per batch, then the email and webhook jobs). Batches of ten events through
//! `EventRouter::handle`, baseline and full interleaved; store calls counted per event, medians of
//! the batch times. Embedded by default; set GATEHOUSE_TEST_AWS_ENDPOINT to measure on the emulator.
//!
//!     scripts/emulator 5000 & GATEHOUSE_TEST_AWS_ENDPOINT=http://127.0.0.1:5000 \
//!       cargo bench -p gatehouse-tests --bench router_cost

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::dynamodb::Event as StreamEvent;
use gatehouse::domain::{now_rfc3339, Event, EventKind, OrgId};
use gatehouse::pipeline::StreamHandler;
use gatehouse::store::{table_keys, to_attrs};
use gatehouse_tests::*;
use serde_json::{json, Value};

const ROUNDS: usize = 15;
const BATCH: usize = 10;

/// A stream batch of new outbox events made by `data_of(i)`.
fn batch(org: &OrgId, kind: EventKind, data_of: Box<dyn Fn(usize) -> Value>, sequence: &mut u64) -> StreamEvent {
    let mut stream = StreamEvent::default();
    for i in 0..BATCH {
        let event = Event::new(org.clone(), kind, now_rfc3339(), data_of(i));
        let record = table_keys::event(org, &event.id).record(to_attrs(&event));
        *sequence += 1;
        stream.records.push(stream_record(&record, *sequence));
    }
    stream
}

struct Sample {
    time: Duration,
    reads: usize,
    writes: usize,
}

async fn route(router: &impl StreamHandler, store: &Counted, stream: StreamEvent) -> Sample {
    let (reads, writes) = (
        store.reads.load(Ordering::Relaxed),
        store.writes.load(Ordering::Relaxed),
    );
    let started = Instant::now();
    let response = router.handle(stream).await;
    let time = started.elapsed();
    assert!(response.batch_item_failures.is_empty(), "the batch was routed");
    Sample {
        time,
        reads: store.reads.load(Ordering::Relaxed) - reads,
        writes: store.writes.load(Ordering::Relaxed) - writes,
    }
}

fn report(backend: Backend, what: &str, baseline: Vec<Sample>, full: Vec<Sample>) {
    let per_event = |samples: &[Sample], f: fn(&Sample) -> usize| {
        samples.iter().map(f).sum::<usize>() as f64 / (samples.len() * BATCH) as f64
    };
    let (base_reads, base_writes) = (per_event(&baseline, |s| s.reads), per_event(&baseline, |s| s.writes));
    let (reads, writes) = (per_event(&full, |s| s.reads), per_event(&full, |s| s.writes));
    let base = median(baseline.into_iter().map(|s| s.time).collect());
    let with = median(full.into_iter().map(|s| s.time).collect());
    println!(
        "{backend:?} {what:<26} before: {:>6.2} ms/event, {base_reads:.2} reads, {base_writes:.2} writes   \
         now: {:>6.2} ms/event, {reads:.2} reads, {writes:.2} writes   ratio {:.2}",
        base.as_secs_f64() * 1e3 / BATCH as f64,
        with.as_secs_f64() * 1e3 / BATCH as f64,
        with.as_secs_f64() / base.as_secs_f64()
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let backend = if std::env::var_os("GATEHOUSE_TEST_AWS_ENDPOINT").is_some() {
        Backend::Emulator
    } else {
        Backend::Embedded
    };
    let mut config = test_config(backend);
    for limit in gatehouse::domain::limits::Limit::ALL {
        config.limits.set(limit, None);
    }
    // The router alone is measured: no worker sends what it queues.
    let app = spawn_app_without_workers(config).await;
    let org = app.create_org(json!({"name": "Bench"})).await;
    let org_id = OrgId::parse(&org.id).unwrap();

    // Ten developers: half chose a language, half turned key emails off.
    let mut developers = Vec::new();
    for i in 0..BATCH {
        let email = unique_email();
        let mut body = json!({"email": email, "password": PASSWORD});
        if i % 2 == 0 {
            body["locale"] = json!("de");
        }
        let (status, _) = app
            .send("POST", &format!("/portal/{}/signup", org.id), "", Some(body))
            .await;
        assert_eq!(status, 202);
        let (_, login) = app.log_in(&org.id, &email).await;
        let session = login["token"].as_str().unwrap().to_string();
        if i % 2 == 1 {
            let (status, _) = app
                .send(
                    "PUT",
                    &format!("/portal/{}/preferences", org.id),
                    &session,
                    Some(json!({"categories": {"keys": {"email": false}}})),
                )
                .await;
            assert_eq!(status, 200);
        }
        let (_, me) = app.send("GET", &format!("/portal/{}/me", org.id), &session, None).await;
        developers.push((me["id"].as_str().unwrap().to_string(), email));
    }
    // Three admin users who decide key requests, one taking a daily digest.
    for i in 0..3 {
        let admin = accepted_admin_user(&org.id, gatehouse::domain::roles::Role::Approver);
        let mut writes = gatehouse::store::admin_users::create(&admin);
        if i == 0 {
            let mut errors = gatehouse::domain::ValidationErrors::default();
            let digest = gatehouse::domain::notifications::Preferences::parse(
                &json!({"digests": {"key_request_pending": "daily"}}),
                &mut errors,
            )
            .unwrap();
            writes.push(gatehouse::store::preferences::save(
                &org_id,
                gatehouse::store::sessions::Account::Admin(&admin.id),
                &digest,
                0,
            ));
        }
        app.local.services.store.transact(writes).await.unwrap();
    }

    let services = &app.local.services;
    let store = Arc::new(Counted::new(services.store.clone()));
    let router = gatehouse::app::event_router(
        &services.config,
        store.clone(),
        services.email_queue.clone(),
        services.webhook_queue.clone(),
        services.templates.clone(),
    );

    // Each kind's events: with the person (or the wait for a decision) the notification center
    // acts on, or without it (what the router did before).
    let key_update = |named: bool| -> Box<dyn Fn(usize) -> Value> {
        let developers = developers.clone();
        Box::new(move |i: usize| {
            let (id, email) = &developers[i];
            let mut data = json!({
                "key_id": format!("key_bench{i}"), "email": email, "policy_ids": [], "catalog_id": null,
                "key_prefix": "gh_live_ab12…", "policy_names": "Gold",
            });
            if named {
                data["developer_id"] = json!(id);
            }
            data
        })
    };
    let key_request = |waits: bool| -> Box<dyn Fn(usize) -> Value> {
        let developers = developers.clone();
        Box::new(move |i: usize| {
            let (id, email) = &developers[i];
            json!({
                "request_id": format!("kr_bench{i}"), "developer_id": id, "email": email,
                "catalog_id": null, "catalog_name": "Payments", "policy_ids": [], "fields": {},
                "approval": if waits { "admin" } else { "auto" }, "by": "developer",
            })
        })
    };
    let mut sequence = 0;
    println!("{BATCH} events a batch, medians of {ROUNDS} batches each, interleaved");
    for (kind, data_of) in [
        (
            EventKind::KeyUpdated,
            &key_update as &dyn Fn(bool) -> Box<dyn Fn(usize) -> Value>,
        ),
        (EventKind::KeyRequestCreated, &key_request),
    ] {
        let (mut before, mut now) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            before.push(route(&router, &store, batch(&org_id, kind, data_of(false), &mut sequence)).await);
            now.push(route(&router, &store, batch(&org_id, kind, data_of(true), &mut sequence)).await);
        }
        report(backend, kind.name(), before, now);
    }
}
