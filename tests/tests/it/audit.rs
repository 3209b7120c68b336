//! The audit log through the HTTP API: admin writes recorded with who, what, when, from where and the
//! fields changed; secrets never in it; a failed change leaves no entry; no route changes an entry.

use std::time::Duration;

use gatehouse_tests::*;
use serde_json::{json, Value};

/// The audit log's first page under `query`, once it holds at least `count` entries.
async fn entries(app: &TestApp, org: &TestOrg, query: &str, count: usize) -> Vec<Value> {
    eventually(Duration::from_secs(20), || async {
        let (status, page) = app.admin(org, "GET", &format!("/audit-log?{query}"), None).await;
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().unwrap().clone();
        (items.len() >= count).then_some(items)
    })
    .await
    .unwrap_or_else(|| panic!("{count} audit entries for {query}"))
}

/// Sets `signup_mode` to `invite_only` (from the default `open`).
async fn close_sign_ups(app: &TestApp, org: &TestOrg) {
    let patch = json!({"settings": {"signup_mode": "invite_only"}});
    let (status, answer) = app.admin(org, "PATCH", "", Some(patch)).await;
    assert_eq!(status, 200, "{answer}");
}

async fn settings_changes_and_rotations_are_recorded_without_secrets(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let owner = app.owner_key_id(&org).await;
    close_sign_ups(&app, &org).await;
    let (status, rotated) = app.admin(&org, "POST", "/webhook-secret/rotate", Some(json!({}))).await;
    assert_eq!(status, 200);
    let secret = rotated["webhook_secret"].as_str().unwrap().to_string();
    let created = app.admin_key(&org, "ci", "viewer").await;
    let new_key = created["key"].as_str().unwrap().to_string();

    let all = entries(&app, &org, "", 3).await;
    let actions: Vec<&str> = all.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        ["admin_key.created", "webhook_secret.rotated", "settings.changed"],
        "newest first"
    );
    let changed = &all[2];
    assert_eq!(
        changed["actor"],
        json!({"kind": "admin_key", "id": owner, "role": "owner"})
    );
    assert_eq!(changed["source"], "127.0.0.1");
    assert_eq!(changed["target"], org.id.as_str());
    assert_eq!(
        changed["changes"],
        json!([{"field": "settings.signup_mode", "old": "open", "new": "invite_only"}])
    );
    assert_eq!(all[0]["target"], created["id"]);
    let text = Value::Array(all.clone()).to_string();
    for secret in [&secret, &new_key, &org.admin_key, &org.webhook_secret] {
        assert!(!text.contains(secret.as_str()), "no secret in the audit log");
    }
    let stored = app.org_records_text(&org.id).await;
    assert!(!stored.contains(&new_key) && !stored.contains(&secret));

    // Filters: action (whole or by thing), actor, target, time range.
    let by_action = entries(&app, &org, "action=settings.changed", 1).await;
    assert_eq!(by_action.len(), 1);
    assert_eq!(entries(&app, &org, "action=admin_key", 1).await.len(), 1);
    assert_eq!(entries(&app, &org, &format!("actor={owner}"), 3).await.len(), 3);
    assert_eq!(entries(&app, &org, &format!("target={}", org.id), 2).await.len(), 2);
    let (_, none) = app
        .admin(&org, "GET", "/audit-log?actor=ak_0000000000000000", None)
        .await;
    assert_eq!(none["items"], json!([]));
    let (_, future) = app
        .admin(&org, "GET", "/audit-log?from=2999-01-01T00:00:00Z", None)
        .await;
    assert_eq!(future["items"], json!([]));
    let (_, past) = app.admin(&org, "GET", "/audit-log?to=2000-01-01T00:00:00Z", None).await;
    assert_eq!(past["items"], json!([]));
    let (status, problem) = app.admin(&org, "GET", "/audit-log?from=yesterday", None).await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (400, Some("from")));

    // No route changes or removes an entry, and the entries stay as they were.
    let id = all[0]["id"].as_str().unwrap();
    for (method, path) in [
        ("POST", "/audit-log".to_string()),
        ("PUT", "/audit-log".to_string()),
        ("PATCH", "/audit-log".to_string()),
        ("DELETE", "/audit-log".to_string()),
        ("GET", format!("/audit-log/{id}")),
        ("PATCH", format!("/audit-log/{id}")),
        ("DELETE", format!("/audit-log/{id}")),
    ] {
        let response = app
            .http
            .request(method.parse().unwrap(), app.url(&format!("/orgs/{}{path}", org.id)))
            .bearer_auth(&org.admin_key)
            .json(&json!({"action": "nothing.happened"}))
            .send()
            .await
            .unwrap();
        assert!(
            [404, 405].contains(&response.status().as_u16()),
            "{method} {path}: {}",
            response.status()
        );
    }
    assert_eq!(entries(&app, &org, "", 3).await, all);

    // A webhook URL often holds a token: the log keeps its scheme and host.
    let hook = "https://hooks.example.com/services/T0/B0/a-secret-token";
    let (status, answer) = app
        .admin(
            &org,
            "PATCH",
            "",
            Some(json!({"event_options": {"api_event": {"webhook": hook}}})),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let latest = entries(&app, &org, "", 4).await;
    assert_eq!(
        latest[0]["changes"],
        json!([{"field": "event_options.api_event.webhook", "old": null, "new": "https://hooks.example.com/[redacted]"}])
    );
    assert!(!Value::Array(latest).to_string().contains("a-secret-token"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_changes_and_rotations_are_recorded_without_secrets_embedded() {
    settings_changes_and_rotations_are_recorded_without_secrets(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_changes_and_rotations_are_recorded_without_secrets_on_the_emulator() {
    settings_changes_and_rotations_are_recorded_without_secrets(Backend::Emulator).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_whose_transaction_fails_leaves_no_entry() {
    let app = spawn_app(Backend::Embedded).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let memory = app.local.memory_store.clone().expect("the embedded store");
    memory.fail_next_transaction_writing(gatehouse::store::table_keys::API_PREFIX);
    let (status, _) = app
        .admin(&org, "POST", "/apis", Some(json!({"name": "Payments"})))
        .await;
    assert_eq!(status, 500);
    let (_, log) = app.admin(&org, "GET", "/audit-log", None).await;
    assert_eq!(log["items"], json!([]), "no entry for a change that did not happen");
    let (_, apis) = app.admin(&org, "GET", "/apis", None).await;
    assert_eq!(apis["items"], json!([]));

    let (status, api) = app
        .admin(&org, "POST", "/apis", Some(json!({"name": "Payments"})))
        .await;
    assert_eq!(status, 201);
    let log = entries(&app, &org, "", 1).await;
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0]["action"].as_str(), log[0]["target"].as_str()),
        (Some("api.created"), api["id"].as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_changes_reach_the_owners_naming_who_changed_what() {
    let app = spawn_app(Backend::Embedded).await;
    let receiver = WebhookReceiver::start(vec![200]).await;
    let owners = unique_email();
    let org = app
        .create_org(json!({
            "name": "Acme",
            "settings": {"admin_email": owners},
            "event_options": {"admin_event": {"webhook": receiver.url()}},
        }))
        .await;
    let owner = app.owner_key_id(&org).await;

    // A security setting: the owners are emailed who changed what, and the webhook is raised.
    close_sign_ups(&app, &org).await;
    let mail = eventually(Duration::from_secs(30), || async {
        app.emails_to(&owners)
            .await
            .into_iter()
            .find(|m| m.contains("security settings changed"))
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "the owners are told: {:?} {:?}",
            futures::executor::block_on(app.emails_to(&owners)),
            futures::executor::block_on(app.deliveries(&org.id))
        )
    });
    let text = mail_text(&mail);
    assert!(text.contains(&owner), "the email names the actor");
    assert!(text.contains("settings.signup_mode") && text.contains("open") && text.contains("invite_only"));

    // Neither a name change (not a security setting) nor a read raises anything.
    let (status, _) = app.admin(&org, "PATCH", "", Some(json!({"name": "Acme Labs"}))).await;
    assert_eq!(status, 200);

    // A rotation is reported without the secret; a new admin key too.
    let (_, rotated) = app.admin(&org, "POST", "/webhook-secret/rotate", Some(json!({}))).await;
    let secret = rotated["webhook_secret"].as_str().unwrap().to_string();
    let created = app.admin_key(&org, "ci", "viewer").await;
    let hooks = receiver
        .wait_for(3, Duration::from_secs(30))
        .await
        .expect("three admin webhooks");
    // In the order they happened (event ids are time-ordered), whatever order the queue kept.
    let mut events: Vec<Value> = hooks.iter().map(|h| h.json()).collect();
    events.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    let names: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "security_event.settings_changed",
            "security_event.settings_changed",
            "admin_event.key_created"
        ]
    );
    assert_eq!(
        events[0]["data"]["changes"],
        json!([{"field": "settings.signup_mode", "old": "open", "new": "invite_only"}])
    );
    assert_eq!(events[0]["data"]["by"]["id"], owner.as_str());
    assert_eq!(
        events[1]["data"]["changes"],
        json!([{"field": "webhook_secret", "old": "[redacted]", "new": "[redacted]"}])
    );
    assert_eq!(events[2]["data"]["key_id"], created["id"]);
    assert_eq!(events[2]["data"]["role"], "viewer");
    let everything = format!("{events:?}{:?}", app.emails_to(&owners).await);
    assert!(!everything.contains(&secret), "the new secret is in no notice");
    assert!(
        !everything.contains(created["key"].as_str().unwrap()),
        "nor the new key"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 3, "the name change raised nothing");
}
