//! Digests of pending key requests through the HTTP API and the scheduled job: the admin users who
//! decide key requests get each at once, or, when they chose a digest, one email listing the
//! requests that still wait, once per window however often the schedule fires.

use std::time::Duration;

use gatehouse::pipeline::DigestJob;
use gatehouse::store::deliveries::WithheldReason;
use gatehouse_tests::*;
use serde_json::{json, Value};

/// The developer's key request for the catalog entry (201, pending).
async fn request_key(app: &TestApp, org: &TestOrg, session: &str, entry: &Value) -> String {
    let path = format!("/portal/{}/key-requests", org.id);
    let (status, request) = app
        .send("POST", &path, session, Some(json!({"catalog_id": entry["id"]})))
        .await;
    assert_eq!((status, &request["status"]), (201, &json!("pending")), "{request}");
    request["id"].as_str().unwrap().to_string()
}

/// The digest emails `to` has received, as text.
async fn digests_to(app: &TestApp, to: &str) -> Vec<String> {
    app.emails_to(to)
        .await
        .iter()
        .map(|m| mail_text(m))
        .filter(|m| m.contains("waiting for a decision") && m.contains("digest"))
        .collect()
}

/// The scheduled job, fired with the EventBridge event of `at` (RFC 3339).
async fn fire_schedule(app: &TestApp, at_ms: i64) -> gatehouse::service::digests::DigestRun {
    let at = time::OffsetDateTime::from_unix_timestamp(at_ms / 1000)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let event = json!({"source": "aws.scheduler", "detail-type": "Scheduled Event", "time": at, "detail": {}});
    DigestJob::new(app.local.services.store.clone())
        .handle(&event)
        .await
        .expect("the digest job runs")
}

/// How many digest events the organisation's outbox holds.
async fn digest_events(app: &TestApp, org: &TestOrg) -> usize {
    app.org_records(&org.id)
        .await
        .iter()
        .filter(|r| r["SK"] == "EVENT" && r["kind"] == "delivery_event.key_request_digest")
        .count()
}

async fn pending_requests_reach_deciders_at_once_or_in_one_digest(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let entry = app.catalog_entry(&org, Some("admin")).await;
    let digester = app.admin_user(&org, "approver").await;
    let prompt = app.admin_user(&org, "approver").await;
    let viewer = app.admin_user(&org, "viewer").await;
    let me = format!("/orgs/{}/me/preferences", org.id);

    // Digest choices: only for types that have one, only the three cadences; nothing changed.
    for (body, field) in [
        (
            json!({"digests": {"key_request_pending": "weekly"}}),
            "digests.key_request_pending",
        ),
        (json!({"digests": {"key_updated": "daily"}}), "digests.key_updated"),
    ] {
        let (status, problem) = app.send("PUT", &me, &digester.token, Some(body)).await;
        assert_eq!(
            (status, problem["errors"][0]["field"].as_str()),
            (400, Some(field)),
            "{problem}"
        );
    }
    let (status, chosen) = app
        .send(
            "PUT",
            &me,
            &digester.token,
            Some(json!({"digests": {"key_request_pending": "daily"}})),
        )
        .await;
    assert_eq!(status, 200, "{chosen}");
    assert_eq!(chosen["digests"], json!({"key_request_pending": "daily"}));
    let (_, shown) = app.send("GET", &me, &digester.token, None).await;
    assert_eq!(shown["digests"], json!({"key_request_pending": "daily"}));

    // A developer has no digest.
    let developer = unique_email();
    assert_eq!(app.sign_up(&org.id, &developer).await.status(), 202);
    let (_, login) = app.log_in(&org.id, &developer).await;
    let session = login["token"].as_str().unwrap().to_string();
    let (status, problem) = app
        .send(
            "PUT",
            &format!("/portal/{}/preferences", org.id),
            &session,
            Some(json!({"digests": {"key_request_pending": "daily"}})),
        )
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (400, Some("digests.key_request_pending")),
        "{problem}"
    );

    // Five requests: the prompt approver gets five emails at once, the digester none (five
    // deliveries withheld for the digest), both five inbox items; the viewer, who cannot decide,
    // nothing.
    let mut first = Vec::new();
    for _ in 0..5 {
        first.push(request_key(&app, &org, &session, &entry).await);
    }
    let at_once = app.finished_emails_to(&org.id, &prompt.email, 6).await;
    assert_eq!(at_once.iter().filter(|d| d.reason.is_none()).count(), 6, "{at_once:?}");
    let decide = eventually(Duration::from_secs(30), || async {
        let mails = app.emails_to(&prompt.email).await;
        let texts: Vec<String> = mails.iter().map(|m| mail_text(m)).collect();
        let pending: Vec<String> = texts
            .into_iter()
            .filter(|t| t.contains("waits for a decision"))
            .collect();
        (pending.len() == 5).then_some(pending)
    })
    .await
    .expect("five emails at once");
    for id in &first {
        assert!(
            decide.iter().any(|m| m.contains(&format!("/admin/key-requests/{id}"))),
            "a link to decide {id}"
        );
    }
    let withheld = app.finished_emails_to(&org.id, &digester.email, 6).await;
    assert_eq!(
        withheld
            .iter()
            .filter(|d| d.reason == Some(WithheldReason::Digest))
            .count(),
        5,
        "{withheld:?}"
    );
    assert!(digests_to(&app, &digester.email).await.is_empty());
    let inbox = format!("/orgs/{}/me/notifications?limit=50", org.id);
    for person in [&digester, &prompt] {
        let items = eventually(Duration::from_secs(30), || async {
            let (_, page) = app.send("GET", &inbox, &person.token, None).await;
            let items: Vec<Value> = page["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|i| i["type"] == "key_request_pending")
                .cloned()
                .collect();
            (items.len() == 5).then_some(items)
        })
        .await
        .expect("five inbox items");
        assert!(
            items[0]["body"].as_str().unwrap().contains(&developer),
            "{:?}",
            items[0]
        );
    }
    let (_, page) = app.send("GET", &inbox, &viewer.token, None).await;
    assert!(
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["type"] != "key_request_pending"),
        "{page}"
    );
    assert!(app
        .deliveries(&org.id)
        .await
        .iter()
        .all(|d| d.target != viewer.email || !d.job.contains("key_request_pending")));

    // An owner sends the digests at once: one email listing the five; an approver may not.
    let (status, _) = app
        .send(
            "POST",
            &format!("/orgs/{}/notifications/digest", org.id),
            &prompt.token,
            None,
        )
        .await;
    assert_eq!(status, 403);
    let (status, run) = app.admin(&org, "POST", "/notifications/digest", None).await;
    assert_eq!((status, &run), (202, &json!({"due": 1, "sent": 1})), "{run}");
    let digest = eventually(Duration::from_secs(60), || async {
        digests_to(&app, &digester.email).await.into_iter().next()
    })
    .await
    .expect("a digest");
    assert!(digest.contains("5 key requests"), "{digest}");
    for id in &first {
        assert!(
            digest.contains(&format!("/admin/key-requests/{id}")),
            "{id} listed: {digest}"
        );
    }

    // Five more; two decided before the window closes. The schedule fires twice for the next day's
    // window (at once): one digest, listing the three that still wait.
    let mut second = Vec::new();
    for _ in 0..5 {
        second.push(request_key(&app, &org, &session, &entry).await);
    }
    let (status, approved) = app
        .admin(&org, "POST", &format!("/key-requests/{}/approve", second[0]), None)
        .await;
    assert_eq!(status, 200, "{approved}");
    let (status, declined) = app
        .admin(&org, "POST", &format!("/key-requests/{}/decline", second[1]), None)
        .await;
    assert!(status == 200 || status == 204, "{status} {declined}");
    let tomorrow = gatehouse::domain::now_epoch_millis() + 86_400_000;
    assert_eq!(digest_events(&app, &org).await, 1);
    let (a, b) = tokio::join!(fire_schedule(&app, tomorrow), fire_schedule(&app, tomorrow));
    assert_eq!(a.sent + b.sent, 1, "{a:?} {b:?}");
    assert_eq!(digest_events(&app, &org).await, 2, "one digest for the window");
    let digests = eventually(Duration::from_secs(60), || async {
        let found = digests_to(&app, &digester.email).await;
        (found.len() == 2).then_some(found)
    })
    .await
    .expect("a second digest");
    let latest = digests
        .iter()
        .find(|d| d.contains("3 key requests"))
        .expect("three listed");
    for id in &second[2..] {
        assert!(latest.contains(id.as_str()), "{id} listed: {latest}");
    }
    for id in second[..2].iter().chain(&first) {
        assert!(
            !latest.contains(id.as_str()),
            "{id} is decided or was in the last digest"
        );
    }

    // The next window has no new request: nothing is sent.
    let run = fire_schedule(&app, tomorrow + 86_400_000).await;
    assert_eq!((run.due, run.sent), (1, 0), "{run:?}");
    assert_eq!(digest_events(&app, &org).await, 2);
    assert!(
        digests_to(&app, &prompt.email).await.is_empty(),
        "the prompt approver takes none"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_requests_reach_deciders_at_once_or_in_one_digest_embedded() {
    pending_requests_reach_deciders_at_once_or_in_one_digest(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_requests_reach_deciders_at_once_or_in_one_digest_on_the_emulator() {
    pending_requests_reach_deciders_at_once_or_in_one_digest(Backend::Emulator).await;
}
