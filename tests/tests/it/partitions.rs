//! One busy organisation is not one hot partition: a mixed workload (sign-ups, logins, auto-approved
//! key requests, API changes, every event to an email and a webhook) spreads its writes so that no
//! partition key of the table or of an index takes more than a fifth of them; and the delivery log
//! pages newest first without skipping or repeating while deliveries are being written.

use gatehouse::domain::limits::Limit;
use gatehouse::store::deliveries::DeliveryStatus;
use gatehouse::store::{Partitioned, Record};
use gatehouse_tests::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// The share of one organisation's writes (or items) any partition key may hold.
const MAX_SHARE: f64 = 0.20;

/// Indexes written per account (when one is made or changes), not per request: developers by email.
fn per_account_index(org: &str, index: Partitioned, pk: &str) -> bool {
    index == Partitioned::Gsi1 && pk == format!("ORG#{org}#DEVEMAIL")
}

struct Workload {
    developers: usize,
    key_requests: usize,
    apis: usize,
}

/// A published catalog entry's id.
async fn catalog_entry(app: &TestApp, org: &TestOrg) -> String {
    app.catalog_entry(org, None).await["id"].as_str().unwrap().to_string()
}

/// Settings for a busy organisation whose developers all sign up from this test's one address.
fn busy_config(backend: Backend) -> gatehouse::config::Config {
    let mut config = test_config(backend);
    config.limits.set(Limit::SignUpsPerSource, None);
    config
}

/// Drives the workload through the HTTP API and waits until every delivery it caused is recorded;
/// returns the organisation's id.
async fn run(app: &TestApp, receiver: &WebhookReceiver, w: &Workload) -> String {
    let target = json!({"email": "ops@example.com", "webhook": receiver.url()});
    let org = app
        .create_org(json!({
            "name": "Busy",
            "settings": {"default_approval": "auto"},
            "event_options": {
                "api_event": target, "key_event": target, "key_request_event": target, "developer_event": target,
            },
        }))
        .await;
    let entry = catalog_entry(app, &org).await;

    let mut sessions = Vec::new();
    for _ in 0..w.developers {
        let email = unique_email();
        assert_eq!(app.sign_up(&org.id, &email).await.status(), 202);
        let (status, login) = app.log_in(&org.id, &email).await;
        assert_eq!(status, 200, "{login}");
        sessions.push(login["token"].as_str().unwrap().to_string());
    }
    for n in 0..w.key_requests {
        let (status, request) = app
            .send(
                "POST",
                &format!("/portal/{}/key-requests", org.id),
                &sessions[n % sessions.len()],
                Some(json!({"catalog_id": entry})),
            )
            .await;
        assert_eq!(status, 201, "{request}; logs:\n{}", logged());
        assert_eq!(request["status"], "approved");
    }
    for n in 0..w.apis {
        let (status, api) = app
            .admin(&org, "POST", "/apis", Some(json!({"name": format!("API {n}")})))
            .await;
        assert_eq!(status, 201, "{api}");
        let path = format!("/apis/{}", api["id"].as_str().unwrap());
        let (status, _) = app
            .admin(&org, "PATCH", &path, Some(json!({"description": "v2"})))
            .await;
        assert_eq!(status, 200);
    }
    // Every event goes to an email and a webhook: wait until the log holds them all, sent.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(240);
    loop {
        let deliveries = app.deliveries(&org.id).await;
        let done = deliveries.iter().all(|d| d.status == DeliveryStatus::Sent);
        let webhooks = deliveries.iter().filter(|d| d.channel == "webhook").count();
        if done && webhooks > 0 && webhooks == receiver.received().len() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the workload's deliveries did not finish: {} recorded, {} webhooks received",
            deliveries.len(),
            receiver.received().len()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    org.id
}

/// The partitions over their share, as `(where, key, count, share)`.
fn over_share(
    org: &str,
    counts: &BTreeMap<(Partitioned, String), u64>,
    total: u64,
) -> Vec<(Partitioned, String, u64, f64)> {
    counts
        .iter()
        .map(|((index, pk), n)| (*index, pk.clone(), *n, *n as f64 / total as f64))
        .filter(|(index, pk, _, share)| *share > MAX_SHARE && !per_account_index(org, *index, pk))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_organisation_spreads_its_writes_over_partitions() {
    let app = spawn_app_with(busy_config(Backend::Embedded)).await;
    let receiver = WebhookReceiver::start(vec![200]).await;
    let memory = app.local.memory_store.clone().expect("the embedded store");
    memory.reset_write_counts();
    let org = run(
        &app,
        &receiver,
        &Workload {
            developers: 40,
            key_requests: 80,
            apis: 40,
        },
    )
    .await;

    let counts = memory.writes_per_partition();
    let total: u64 = counts
        .iter()
        .filter(|((index, _), _)| *index == Partitioned::Table)
        .map(|(_, n)| n)
        .sum();
    assert!(total > 1000, "the workload wrote {total} records");
    let hottest = counts
        .iter()
        .filter(|((index, pk), _)| !per_account_index(&org, *index, pk))
        .max_by_key(|(_, n)| **n)
        .unwrap();
    println!("{total} table writes; the hottest partition: {hottest:?}");
    let over = over_share(&org, &counts, total);
    assert!(
        over.is_empty(),
        "partitions over {MAX_SHARE} of {total} writes: {over:?}"
    );
    // The named exception is what it says: written once per account made (a login does not).
    let by_email = counts
        .get(&(Partitioned::Gsi1, format!("ORG#{org}#DEVEMAIL")))
        .copied()
        .unwrap_or(0);
    assert!(
        by_email <= 40,
        "developers by email written {by_email} times for 40 accounts"
    );
}

/// Items per partition key of the table and of each index, among the organisation's records.
fn items_per_partition(records: &[Record]) -> BTreeMap<(Partitioned, String), u64> {
    let mut counts = BTreeMap::new();
    for record in records {
        for (index, attribute) in [
            (Partitioned::Table, "PK"),
            (Partitioned::Gsi1, "GSI1PK"),
            (Partitioned::Gsi2, "GSI2PK"),
        ] {
            if let Some(pk) = record.get(attribute).and_then(Value::as_str) {
                *counts.entry((index, pk.to_string())).or_default() += 1;
            }
        }
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_organisation_spreads_its_items_on_the_emulator() {
    let emulator = PrivateEmulator::start().await;
    let mut config = busy_config(Backend::Emulator);
    config.aws_endpoint_url = Some(emulator.endpoint.clone());
    let app = spawn_app_with(config).await;
    let receiver = WebhookReceiver::start(vec![200]).await;
    // The same mix, a quarter of the size: every delivery goes through the emulator's SQS and SES.
    let org = run(
        &app,
        &receiver,
        &Workload {
            developers: 10,
            key_requests: 20,
            apis: 10,
        },
    )
    .await;
    let records = app.org_records(&org).await;
    let total = records.len() as u64;
    assert!(total > 200, "the workload left {total} items");
    println!(
        "{total} items; the most in one partition: {:?}",
        items_per_partition(&records)
            .into_iter()
            .filter(|((i, pk), _)| !per_account_index(&org, *i, pk))
            .max_by_key(|(_, n)| *n)
    );
    let over = over_share(&org, &items_per_partition(&records), total);
    assert!(
        over.is_empty(),
        "partitions over {MAX_SHARE} of {total} items: {over:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_delivery_log_pages_newest_first_without_skips_or_repeats_during_a_burst() {
    let app = spawn_app(Backend::Embedded).await;
    let org = app
        .create_org(json!({"name": "Bursty", "event_options": {"api_event": {"email": "ops@example.com"}}}))
        .await;
    let create_api = |n: usize| {
        let path = format!("/orgs/{}/apis", org.id);
        let key = org.admin_key.clone();
        let app = &app;
        async move {
            let (status, _) = app
                .send("POST", &path, &key, Some(json!({"name": format!("API {n}")})))
                .await;
            assert_eq!(status, 201);
        }
    };
    for n in 0..30 {
        create_api(n).await;
    }
    let settled = eventually(Duration::from_secs(30), || async {
        (app.deliveries(&org.id).await.len() >= 30).then_some(())
    })
    .await;
    assert!(settled.is_some(), "the first deliveries were recorded");
    let before: BTreeSet<String> = app
        .deliveries(&org.id)
        .await
        .into_iter()
        .map(|d| d.delivery_id)
        .collect();

    // A burst of new deliveries while the log is read page by page.
    let burst = async {
        for n in 30..90 {
            create_api(n).await;
        }
    };
    let walk = async {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                None => format!("/orgs/{}/deliveries?limit=7", org.id),
                Some(c) => format!("/orgs/{}/deliveries?limit=7&cursor={c}", org.id),
            };
            let (status, page) = app.send("GET", &path, &org.admin_key, None).await;
            assert_eq!(status, 200, "{page}");
            seen.extend(
                page["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d["id"].as_str().unwrap().to_string()),
            );
            if cursor.is_none() {
                // New deliveries land between the first page and the next.
                let grown = eventually(Duration::from_secs(30), || async {
                    (app.deliveries(&org.id).await.len() >= before.len() + 10).then_some(())
                })
                .await;
                assert!(grown.is_some(), "the burst wrote deliveries");
            }
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => return seen,
            }
        }
    };
    let ((), seen) = tokio::join!(burst, walk);

    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "a delivery was listed twice: {seen:?}");
    let mut newest_first = seen.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, newest_first, "the log is newest first");
    let missing: Vec<&String> = before.iter().filter(|id| !unique.contains(id)).collect();
    assert!(
        missing.is_empty(),
        "deliveries recorded before the walk were skipped: {missing:?}"
    );
}

/// The writes one request makes, table and index, counted on the memory store with the delivery
/// workers stopped (deliveries are counted on their own: a claim and a result each). The README's
/// scale figures come from these numbers: `scripts/test -- partitions::writes_per_operation --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_per_operation() {
    let config = test_config(Backend::Embedded);
    let app = spawn_app_without_workers(config).await;
    let memory = app.local.memory_store.clone().expect("the embedded store");
    let org = app
        .create_org(json!({"name": "Counted", "settings": {"default_approval": "auto"}}))
        .await;
    let entry = catalog_entry(&app, &org).await;

    // (table writes, index writes) of what ran since the last reset.
    // The event router's inbox items (one write per in-app notice, made after the request, whenever
    // the stream gets to it) are counted apart, so each request's own writes are exact.
    let inbox_writes = std::cell::Cell::new(0u64);
    let take = || {
        let counts = memory.writes_per_partition();
        memory.reset_write_counts();
        let (inbox, own): (Vec<_>, Vec<_>) = counts.iter().partition(|((_, pk), _)| pk.contains("#INBOX#"));
        inbox_writes.set(inbox_writes.get() + inbox.iter().map(|(_, n)| **n).sum::<u64>());
        let table: u64 = own
            .iter()
            .filter(|((i, _), _)| *i == Partitioned::Table)
            .map(|(_, n)| **n)
            .sum();
        let index: u64 = own
            .iter()
            .filter(|((i, _), _)| *i != Partitioned::Table)
            .map(|(_, n)| **n)
            .sum();
        (table, index)
    };
    take();
    let email = unique_email();
    assert_eq!(app.sign_up(&org.id, &email).await.status(), 202);
    let sign_up = take();
    let (_, login) = app.log_in(&org.id, &email).await;
    let log_in = take();
    let token = login["token"].as_str().unwrap();
    let (status, _) = app
        .send(
            "POST",
            &format!("/portal/{}/key-requests", org.id),
            token,
            Some(json!({"catalog_id": entry})),
        )
        .await;
    assert_eq!(status, 201);
    let key_request = take();
    let (_, created) = app.admin(&org, "POST", "/apis", Some(json!({"name": "Ledger"}))).await;
    let api_created = take();
    let path = format!("/apis/{}", created["id"].as_str().unwrap());
    app.admin(&org, "PATCH", &path, Some(json!({"description": "v2"})))
        .await;
    let api_changed = take();
    // An admin user, stored as an accepted invitation leaves them (the email worker is stopped here).
    let admin = accepted_admin_user(&org.id, gatehouse::domain::roles::Role::Viewer);
    let store = app.local.services.store.clone();
    store
        .transact(gatehouse::store::admin_users::create(&admin))
        .await
        .unwrap();
    take();
    let (status, _) = app
        .send(
            "POST",
            &format!("/orgs/{}/login", org.id),
            "",
            Some(json!({"email": admin.email, "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 200);
    let admin_log_in = take();
    println!("writes (table, indexes): sign-up {sign_up:?}, login {log_in:?}, auto-approved key request {key_request:?}, API created {api_created:?}, API changed {api_changed:?}, admin login {admin_log_in:?}");
    // Each is a handful of writes, one transaction: the figures the README's scale section uses.
    assert_eq!(
        sign_up,
        (4, 1),
        "developer, email guard, event, the source address's sign-up counter; developers-by-email index"
    );
    assert_eq!(
        log_in,
        (7, 1),
        "the email's and the source's failure units taken before the password check; the account checked (billed as a write), known addresses, session, the email's failures cleared; the source's unit given back; the session under its developer"
    );
    assert_eq!(
        key_request,
        (8, 4),
        "the developer's keys-issued counter; request, the developer checked (billed as a write; a key is never issued to a removed developer), key, the key's item by hash (its own partition, for the gateway), three events (requested, approved, key made); request and key in two indexes each"
    );
    assert_eq!(
        api_created,
        (3, 1),
        "API, event, audit entry; the audit entry in its listing shard"
    );
    assert_eq!(
        api_changed,
        (3, 1),
        "API, event, audit entry; the audit entry in its listing shard"
    );
    // The welcome and the key approval each put one inbox item, once the router has seen them.
    let routed = eventually(Duration::from_secs(10), || async {
        take();
        (inbox_writes.get() >= 2).then_some(inbox_writes.get())
    })
    .await;
    assert_eq!(routed, Some(2), "one write per inbox item");
    assert_eq!(
        admin_log_in,
        (7, 1),
        "the email's and the source's failure units taken before the password check; the admin user checked (billed as a write), known addresses, session, the email's failures cleared; the source's unit given back; the session under its admin"
    );
}

/// A hot key does not cost a table write per call: 1,000 verifies of one key write its quota's
/// allowance once per leased block (100 units) and its daily use once per flush (every second).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_verifies_of_one_hot_key_write_the_table_at_most_twenty_times() {
    let config = test_config(Backend::Embedded);
    let app = spawn_app_without_workers(config).await;
    let memory = app.local.memory_store.clone().expect("the embedded store");
    let (org, gated) = app
        .gated(json!({"quota": {"max": 1_000_000_000u64, "renewal_secs": 86400}}))
        .await;
    let gateway = gated.gateway.clone();
    let api = json!({"id": gated.entry["api_id"]});
    let key = app.key_holder(&org, &gated.entry).await.key;
    // The gateway key's first use marks it used (once a minute); let that happen before counting.
    app.send(
        "POST",
        "/v1/keys/verify",
        &gateway,
        Some(json!({"key": key, "cost": 0})),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    memory.reset_write_counts();
    memory.record_reads();

    for _ in 0..1000 {
        let (status, verdict) = app
            .send(
                "POST",
                "/v1/keys/verify",
                &gateway,
                Some(json!({"key": key, "api_id": api["id"]})),
            )
            .await;
        assert_eq!((status, verdict["code"].as_str()), (200, Some("VALID")));
    }
    // The last second's use, written by the next flush.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let writes = memory.writes_per_partition();
    let table: Vec<(String, u64)> = writes
        .iter()
        .filter(|((index, pk), _)| *index == Partitioned::Table && !pk.contains("#INBOX#"))
        .map(|((_, pk), n)| (pk.clone(), *n))
        .collect();
    let total: u64 = table.iter().map(|(_, n)| n).sum();
    let leases: u64 = table
        .iter()
        .filter(|(pk, _)| pk.contains("#ALLOWANCE#"))
        .map(|(_, n)| n)
        .sum();
    let use_writes: u64 = table
        .iter()
        .filter(|(pk, _)| pk.contains("#USAGE#"))
        .map(|(_, n)| n)
        .sum();
    let reads = memory.reads();
    let key_reads = reads.iter().filter(|k| k.pk.starts_with("KEYHASH#")).count();
    let credential_reads = reads.iter().filter(|k| k.sk.starts_with("ADMINKEY#")).count();
    println!(
        "1,000 verifies of one key: {total} table writes ({leases} leases, {use_writes} use flushes), {} reads ({key_reads} of the key by hash, {credential_reads} of the gateway's admin key, the rest leases and policies): {table:?}",
        reads.len()
    );
    assert_eq!(
        key_reads, 1000,
        "the key is read every call: a revocation reaches the gate at once"
    );
    assert_eq!(leases, 10, "one lease per 100 units");
    assert!(use_writes >= 1, "the use is written");
    assert!(total <= 20, "{total} writes: {table:?}");
}
