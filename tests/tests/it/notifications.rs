//! In-app notifications through the HTTP API: the event router puts items in the inboxes of the
//! people an event concerns, once per event however often a stream batch is routed; each person
//! reads, counts, marks and archives only their own.

use std::time::Duration;

use aws_lambda_events::dynamodb::Event as StreamEvent;
use gatehouse::pipeline::StreamHandler;
use gatehouse_tests::*;
use serde_json::{json, Value};

async fn inbox(app: &TestApp, path: &str, token: &str) -> Vec<Value> {
    let (status, page) = app.send("GET", path, token, None).await;
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().unwrap().clone()
}

/// The inbox at `path` once it holds an item of `kind`.
async fn item_of(app: &TestApp, path: &str, token: &str, kind: &str) -> Value {
    eventually(Duration::from_secs(60), || async {
        inbox(app, path, token).await.into_iter().find(|i| i["type"] == kind)
    })
    .await
    .unwrap_or_else(|| panic!("a {kind} item at {path}"))
}

async fn unread(app: &TestApp, path: &str, token: &str) -> u64 {
    let (status, count) = app.send("GET", &format!("{path}/count"), token, None).await;
    assert_eq!(status, 200, "{count}");
    assert_eq!(count["more"], false);
    count["unread"].as_u64().unwrap()
}

/// A developer with a session and an approved key request; returns (session, approval event id).
async fn approved_developer(app: &TestApp, org: &TestOrg, email: &str) -> String {
    assert_eq!(app.sign_up(&org.id, email).await.status(), 202);
    let (_, login) = app.log_in(&org.id, email).await;
    login["token"].as_str().unwrap().to_string()
}

/// The developer's key request for the catalog entry: the answer (201).
async fn request_key(app: &TestApp, org: &TestOrg, session: &str, entry: &Value) -> Value {
    let path = format!("/portal/{}/key-requests", org.id);
    let (status, request) = app
        .send("POST", &path, session, Some(json!({"catalog_id": entry["id"]})))
        .await;
    assert_eq!(status, 201, "{request}");
    request
}

async fn a_key_approval_puts_one_item_in_the_developers_inbox(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let entry = app.catalog_entry(&org, Some("admin")).await;
    let email = unique_email();
    let session = approved_developer(&app, &org, &email).await;
    let path = format!("/portal/{}/notifications", org.id);

    // The welcome is the first item; reading everything leaves nothing unread.
    let welcome = item_of(&app, &path, &session, "developer_welcome").await;
    assert_eq!(
        (&welcome["category"], &welcome["read"]),
        (&json!("account"), &json!(false))
    );
    let (status, marked) = app.send("POST", &format!("{path}/read-all"), &session, None).await;
    assert_eq!((status, &marked["marked_read"]), (200, &json!(1)));
    assert_eq!(unread(&app, &path, &session).await, 0);

    let request = request_key(&app, &org, &session, &entry).await;
    let (status, _) = app
        .admin(
            &org,
            "POST",
            &format!("/key-requests/{}/approve", request["id"].as_str().unwrap()),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 200);
    let approved = item_of(&app, &path, &session, "key_approved").await;
    assert_eq!(approved["category"], "keys");
    assert_eq!(approved["title"], "Your Acme API key for Payments", "{approved}");
    assert!(approved["link"].as_str().unwrap().ends_with("/keys"));
    assert_eq!(unread(&app, &path, &session).await, 1);
    let items = inbox(&app, &path, &session).await;
    assert_eq!(items[0]["type"], "key_approved", "newest first: {items:?}");
    // The key itself is in the developer's email only (which the email worker may send after the
    // router put the item).
    let key = eventually(Duration::from_secs(60), || async {
        app.emails_to(&email).await.iter().find_map(|m| {
            mail_text(m)
                .split_whitespace()
                .find(|w| w.starts_with("gh_live_"))
                .map(str::to_string)
        })
    })
    .await;
    let key = key.expect("the key in the email");
    assert!(
        !items.iter().any(|i| i.to_string().contains(&key)),
        "no key in the inbox"
    );

    let (status, marked) = app.send("POST", &format!("{path}/read-all"), &session, None).await;
    assert_eq!((status, &marked["marked_read"]), (200, &json!(1)));
    assert_eq!(unread(&app, &path, &session).await, 0);

    // Archived: gone from the default view, listed with archived=true.
    let id = approved["id"].as_str().unwrap();
    let (status, archived) = app.send("POST", &format!("{path}/{id}/archive"), &session, None).await;
    assert_eq!((status, &archived["archived"]), (200, &json!(true)));
    assert!(!inbox(&app, &path, &session).await.iter().any(|i| i["id"] == id));
    let shown = inbox(&app, &format!("{path}?archived=true"), &session).await;
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0]["id"], id);
    let (status, problem) = app.send("GET", &format!("{path}?archived=maybe"), &session, None).await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (400, Some("archived"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_approval_puts_one_item_in_the_developers_inbox_embedded() {
    a_key_approval_puts_one_item_in_the_developers_inbox(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_approval_puts_one_item_in_the_developers_inbox_on_the_emulator() {
    a_key_approval_puts_one_item_in_the_developers_inbox(Backend::Emulator).await;
}

async fn a_stream_batch_routed_twice_leaves_one_item(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let email = unique_email();
    let session = approved_developer(&app, &org, &email).await;
    let path = format!("/portal/{}/notifications", org.id);
    let welcome = item_of(&app, &path, &session, "developer_welcome").await;
    let id = welcome["id"].as_str().unwrap();
    let (status, _) = app.send("POST", &format!("{path}/{id}/read"), &session, None).await;
    assert_eq!(status, 200);

    // The sign-up's outbox event, routed again twice, as a stream redelivering its batch would.
    let events: Vec<_> = app
        .org_records(&org.id)
        .await
        .into_iter()
        .filter(|r| r["SK"] == "EVENT" && r["kind"] == "developer_event.signed_up")
        .collect();
    assert_eq!(events.len(), 1);
    for round in 0..2 {
        let mut batch = StreamEvent::default();
        batch.records = vec![stream_record(&events[0], 1_000 + round)];
        let response = app.local.services.event_router().handle(batch).await;
        assert!(response.batch_item_failures.is_empty());
    }
    let items = inbox(&app, &path, &session).await;
    assert_eq!(items.len(), 1, "one item however often the event is routed: {items:?}");
    assert_eq!(items[0]["read"], true, "and a replay does not put it back as unread");
    assert_eq!(unread(&app, &path, &session).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_batch_routed_twice_leaves_one_item_embedded() {
    a_stream_batch_routed_twice_leaves_one_item(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_batch_routed_twice_leaves_one_item_on_the_emulator() {
    a_stream_batch_routed_twice_leaves_one_item(Backend::Emulator).await;
}

async fn an_inbox_is_read_only_by_its_person(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let other_org = app.create_org(json!({"name": "Elsewhere"})).await;
    let ada = approved_developer(&app, &org, &unique_email()).await;
    let bob = approved_developer(&app, &org, &unique_email()).await;
    let path = format!("/portal/{}/notifications", org.id);
    let item = item_of(&app, &path, &ada, "developer_welcome").await;
    let id = item["id"].as_str().unwrap();
    item_of(&app, &path, &bob, "developer_welcome").await;

    // Another developer of the organisation: their own inbox, and 404 on Ada's item.
    assert!(inbox(&app, &path, &bob).await.iter().all(|i| i["id"] != id));
    for action in ["read", "archive"] {
        let (status, _) = app.send("POST", &format!("{path}/{id}/{action}"), &bob, None).await;
        assert_eq!(status, 404, "{action}");
    }
    // Another organisation's developer: 404 on this organisation's routes.
    let carol = approved_developer(&app, &other_org, &unique_email()).await;
    let (status, _) = app.send("GET", &path, &carol, None).await;
    assert_eq!(status, 404);
    let (_, ada_view) = app.send("GET", &path, &ada, None).await;
    assert_eq!(ada_view["items"][0]["read"], false, "nothing of Ada's changed");

    // Admin users: the owner's inbox gets the owners' notices; a viewer's does not, and cannot
    // touch the owner's; an admin key has no inbox.
    let owner = app.admin_user(&org, "owner").await;
    let viewer = app.admin_user(&org, "viewer").await;
    app.admin_key(&org, "ci", "viewer").await;
    let me = format!("/orgs/{}/me/notifications", org.id);
    let notice = item_of(&app, &me, &owner.token, "admin_key_created").await;
    assert_eq!(
        (&notice["category"], &notice["title"]),
        (&json!("admin"), &json!("Acme: a new admin key with the viewer role"))
    );
    assert!(inbox(&app, &me, &viewer.token)
        .await
        .iter()
        .all(|i| i["type"] != "admin_key_created"));
    let notice_id = notice["id"].as_str().unwrap();
    let (status, _) = app
        .send("POST", &format!("{me}/{notice_id}/read"), &viewer.token, None)
        .await;
    assert_eq!(status, 404);
    let (status, _) = app.send("GET", &me, &org.admin_key, None).await;
    assert_eq!(status, 403, "an admin key has no inbox");
    let (status, read) = app
        .send("POST", &format!("{me}/{notice_id}/read"), &owner.token, None)
        .await;
    assert_eq!((status, &read["read"]), (200, &json!(true)));
    let (status, _) = app.send("GET", &me, &ada, None).await;
    assert_eq!(status, 401, "a developer session is not an admin's");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inbox_is_read_only_by_its_person_embedded() {
    an_inbox_is_read_only_by_its_person(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inbox_is_read_only_by_its_person_on_the_emulator() {
    an_inbox_is_read_only_by_its_person(Backend::Emulator).await;
}

async fn with_emails_off_in_app_items_still_arrive(backend: Backend) {
    let mut config = test_config(backend);
    config.email_backend = Some(gatehouse::config::EmailBackend::Disabled);
    let app = spawn_app_with(config).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let email = unique_email();
    let session = approved_developer(&app, &org, &email).await;
    let path = format!("/portal/{}/notifications", org.id);
    let welcome = item_of(&app, &path, &session, "developer_welcome").await;
    assert!(welcome["body"].as_str().unwrap().contains(&email));
    let deliveries = app.finished_emails_to(&org.id, &email, 1).await;
    assert_eq!(
        deliveries[0].reason,
        Some(gatehouse::store::deliveries::WithheldReason::EmailsDisabled),
        "the email was withheld: {deliveries:?}"
    );
    assert!(app.emails_to(&email).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_emails_off_in_app_items_still_arrive_embedded() {
    with_emails_off_in_app_items_still_arrive(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_emails_off_in_app_items_still_arrive_on_the_emulator() {
    with_emails_off_in_app_items_still_arrive(Backend::Emulator).await;
}

async fn an_organisation_switch_turns_a_type_off_for_everyone(backend: Backend) {
    let app = spawn_app(backend).await;
    let (catalog_feed, keys_feed) = (unique_email(), unique_email());
    let org = app
        .create_org(json!({"name": "Acme", "event_options": {
            "api_event": {"email": catalog_feed}, "key_event": {"email": keys_feed}}}))
        .await;

    // The table as the organisation sees it.
    let (status, listed) = app.admin(&org, "GET", "/notification-types", None).await;
    assert_eq!(status, 200, "{listed}");
    let types = listed["items"].as_array().unwrap();
    let revoked = types.iter().find(|t| t["name"] == "key_revoked").unwrap();
    assert_eq!(
        (&revoked["category"], &revoked["critical"], &revoked["email"]),
        (
            &json!("keys"),
            &json!(false),
            &json!({"default": true, "enabled": true})
        )
    );
    let feed = types.iter().find(|t| t["name"] == "api_event").unwrap();
    assert_eq!(
        (&feed["audience"], &feed["category"], &feed["critical"]),
        (&json!("event_options"), &json!("catalog"), &json!(false))
    );

    // Critical types, unknown types and channels: 400 naming them, nothing changed.
    for (body, field) in [
        (
            json!({"types": {"key_approved": {"email": false}}}),
            "types.key_approved.email",
        ),
        (json!({"types": {"nope": {"email": false}}}), "types.nope"),
        (
            json!({"types": {"key_revoked": {"sms": false}}}),
            "types.key_revoked.sms",
        ),
    ] {
        let (status, problem) = app.admin(&org, "PUT", "/notification-types", Some(body)).await;
        assert_eq!(
            (status, problem["errors"][0]["field"].as_str()),
            (400, Some(field)),
            "{problem}"
        );
    }
    let (_, unchanged) = app.admin(&org, "GET", "/notification-types", None).await;
    assert_eq!(unchanged, listed);

    // key_revoked emails off for everyone; its in-app items stay on; developer_welcome in-app off;
    // the api_event feed's emails off (the key_event feed's stay on).
    let (status, set) = app
        .admin(
            &org,
            "PUT",
            "/notification-types",
            Some(json!({"types": {
                "key_revoked": {"email": false},
                "developer_welcome": {"in_app": false},
                "api_event": {"email": false},
            }})),
        )
        .await;
    assert_eq!(status, 200, "{set}");
    let entry = app.catalog_entry(&org, Some("auto")).await;
    let now = set["items"].as_array().unwrap();
    let revoked = now.iter().find(|t| t["name"] == "key_revoked").unwrap();
    assert_eq!(revoked["email"], json!({"default": true, "enabled": false}));
    let (_, log) = app
        .admin(&org, "GET", "/audit-log?action=notification_types.changed", None)
        .await;
    assert_eq!(log["items"].as_array().unwrap().len(), 1, "{log}");

    let mut revocations = Vec::new();
    for _ in 0..2 {
        let email = unique_email();
        let session = approved_developer(&app, &org, &email).await;
        let request = request_key(&app, &org, &session, &entry).await;
        let key_id = request["key_id"]
            .as_str()
            .unwrap_or_else(|| panic!("auto-approved: {request}"))
            .to_string();
        let (status, _) = app.admin(&org, "DELETE", &format!("/keys/{key_id}"), None).await;
        assert_eq!(status, 204);
        revocations.push((email, session));
    }
    for (email, session) in &revocations {
        let path = format!("/portal/{}/notifications", org.id);
        item_of(&app, &path, session, "key_revoked").await;
        assert!(
            inbox(&app, &path, session)
                .await
                .iter()
                .all(|i| i["type"] != "developer_welcome"),
            "the welcome is off in the app"
        );
        // The welcome and the approval emails went; the revocation's is in the log as withheld.
        let deliveries = app.finished_emails_to(&org.id, email, 3).await;
        let skipped: Vec<_> = deliveries
            .iter()
            .filter(|d| d.reason == Some(gatehouse::store::deliveries::WithheldReason::OrgSwitch))
            .collect();
        assert_eq!(skipped.len(), 1, "{deliveries:?}");
        assert!(
            !app.emails_to(email)
                .await
                .iter()
                .any(|m| mail_text(m).contains("was revoked")),
            "no revocation email"
        );
    }
    // The API's api_event.created is in the log as withheld, not sent; the key events reached their
    // feed.
    let withheld = app.finished_emails_to(&org.id, &catalog_feed, 1).await;
    assert!(
        withheld
            .iter()
            .all(|d| d.reason == Some(gatehouse::store::deliveries::WithheldReason::OrgSwitch)),
        "{withheld:?}"
    );
    app.finished_emails_to(&org.id, &keys_feed, 4).await;
    let key_notices = app.emails_to(&keys_feed).await;
    assert!(
        key_notices.iter().any(|m| m.contains("[Acme] key_event.deleted")),
        "{key_notices:?}"
    );
    assert!(app.emails_to(&catalog_feed).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organisation_switch_turns_a_type_off_for_everyone_embedded() {
    an_organisation_switch_turns_a_type_off_for_everyone(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organisation_switch_turns_a_type_off_for_everyone_on_the_emulator() {
    an_organisation_switch_turns_a_type_off_for_everyone(Backend::Emulator).await;
}

async fn a_developer_who_turns_off_key_emails_gets_them_in_the_app_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let entry = app.catalog_entry(&org, Some("auto")).await;
    let email = unique_email();
    let session = approved_developer(&app, &org, &email).await;
    let preferences = format!("/portal/{}/preferences", org.id);

    // Bad choices name the field and change nothing; critical types are locked.
    for (body, field) in [
        (
            json!({"categories": {"weather": {"email": false}}}),
            "categories.weather",
        ),
        (json!({"categories": {"keys": {"sms": false}}}), "categories.keys.sms"),
        (
            json!({"types": {"password_changed": {"email": false}}}),
            "types.password_changed",
        ),
    ] {
        let (status, problem) = app.send("PUT", &preferences, &session, Some(body)).await;
        assert_eq!(
            (status, problem["errors"][0]["field"].as_str()),
            (400, Some(field)),
            "{problem}"
        );
    }
    let (status, shown) = app.send("GET", &preferences, &session, None).await;
    assert_eq!((status, &shown["categories"]), (200, &json!({})));
    let (status, shown) = app
        .send(
            "PUT",
            &preferences,
            &session,
            Some(json!({"categories": {"keys": {"email": false}}})),
        )
        .await;
    assert_eq!(status, 200, "{shown}");
    let effective = |name: &str| {
        shown["effective"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(
        (
            effective("key_updated")["email"].clone(),
            effective("key_updated")["in_app"].clone()
        ),
        (json!(false), json!(true))
    );
    assert_eq!(
        (
            effective("key_approved")["email"].clone(),
            effective("key_approved")["critical"].clone()
        ),
        (json!(true), json!(true))
    );

    // An auto-approved key (critical: emailed), then changed (keys: in the app only).
    let request = request_key(&app, &org, &session, &entry).await;
    let key_id = request["key_id"].as_str().unwrap().to_string();
    let silver = app.policy(&org, "Silver", &entry["api_id"]).await;
    let (status, _) = app
        .admin(
            &org,
            "PATCH",
            &format!("/keys/{key_id}"),
            Some(json!({"policy_ids": [silver["id"]]})),
        )
        .await;
    assert_eq!(status, 200);
    let path = format!("/portal/{}/notifications", org.id);
    item_of(&app, &path, &session, "key_updated").await;

    // A critical password change still emails.
    let (status, _) = app
        .send(
            "POST",
            &format!("/portal/{}/password-reset", org.id),
            "",
            Some(json!({"email": email})),
        )
        .await;
    assert_eq!(status, 202);
    let token = eventually(Duration::from_secs(60), || async {
        app.emails_to(&email)
            .await
            .iter()
            .find_map(|m| link_token(m, "reset-password?token="))
    })
    .await
    .expect("a reset email");
    let (status, _) = app
        .send(
            "POST",
            &format!("/portal/{}/password-reset/complete", org.id),
            "",
            Some(json!({"token": token, "password": "another long password"})),
        )
        .await;
    assert_eq!(status, 200);
    // welcome, key approved, key updated (withheld), reset, password changed
    let deliveries = app.finished_emails_to(&org.id, &email, 5).await;
    let withheld: Vec<_> = deliveries
        .iter()
        .filter(|d| d.reason == Some(gatehouse::store::deliveries::WithheldReason::Preference))
        .collect();
    assert_eq!(withheld.len(), 1, "{deliveries:?}");
    let texts: Vec<String> = app.emails_to(&email).await.iter().map(|m| mail_text(m)).collect();
    assert!(
        texts
            .iter()
            .any(|m| m.contains("password of your Acme developer account")),
        "password changed emailed"
    );
    assert!(texts.iter().any(|m| m.contains("API key for")), "the key emailed");
    assert!(
        !texts.iter().any(|m| m.contains("was changed") && m.contains("API key")),
        "no key-changed email"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_developer_who_turns_off_key_emails_gets_them_in_the_app_only_embedded() {
    a_developer_who_turns_off_key_emails_gets_them_in_the_app_only(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_developer_who_turns_off_key_emails_gets_them_in_the_app_only_on_the_emulator() {
    a_developer_who_turns_off_key_emails_gets_them_in_the_app_only(Backend::Emulator).await;
}
