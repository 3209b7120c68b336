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

async fn settings_changes_and_rotations_are_recorded_without_secrets(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let (_, keys) = app.admin(&org, "GET", "/admin-keys", None).await;
    let owner = keys["items"][0]["id"].as_str().unwrap().to_string();

    let (status, _) = app
        .admin(
            &org,
            "PATCH",
            "",
            Some(json!({"settings": {"signup_mode": "invite_only"}})),
        )
        .await;
    assert_eq!(status, 200);
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
