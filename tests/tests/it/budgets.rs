//! Budgets: a monthly amount for a developer or a key, spend reported against it (a report sent
//! twice counts once), and its thresholds told once each.

use gatehouse_tests::*;
use serde_json::{json, Value};
use std::time::Duration;

async fn report(app: &TestApp, org: &TestOrg, body: Value) -> Value {
    let (status, answer) = app.admin(org, "POST", "/usage", Some(body)).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

async fn budgets_count_spend_once_and_tell_each_threshold_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let receiver = WebhookReceiver::start(vec![200]).await;
    let org = app
        .create_org(json!({
            "name": "Acme",
            "settings": {"default_approval": "auto"},
            "event_options": {"quota_event": {"webhook": receiver.url()}}
        }))
        .await;
    let entry = app.catalog_entry(&org, None).await;
    let holder = app.key_holder(&org, &entry).await;
    let (email, session) = (holder.email.clone(), holder.session.clone());
    let (developer, key_id) = (holder.developer_id.clone(), holder.key_id.clone());

    let (status, budget) = app
        .admin(
            &org,
            "POST",
            "/budgets",
            Some(json!({"developer_id": developer, "amount": 5000, "currency": "EUR"})),
        )
        .await;
    assert_eq!(status, 201, "{budget}");
    assert_eq!(budget["trigger_limits"], json!([80, 100]));
    let budget_path = format!("/budgets/{}", budget["id"].as_str().unwrap());

    // Bad budgets change nothing.
    for (body, field, wanted) in [
        (
            json!({"developer_id": developer, "amount": 10, "currency": "EUR"}),
            "developer_id",
            409,
        ),
        (
            json!({"developer_id": developer, "key_id": key_id, "amount": 10, "currency": "EUR"}),
            "key_id",
            400,
        ),
        (
            json!({"developer_id": "dev_00000000000000000000000000", "amount": 10, "currency": "EUR"}),
            "developer_id",
            400,
        ),
        (json!({"key_id": key_id, "amount": 0, "currency": "EUR"}), "amount", 400),
        (
            json!({"key_id": key_id, "amount": 10, "currency": "euro"}),
            "currency",
            400,
        ),
    ] {
        let (status, problem) = app.admin(&org, "POST", "/budgets", Some(body.clone())).await;
        assert_eq!(
            (status, problem["errors"][0]["field"].as_str()),
            (wanted, Some(field)),
            "{body}: {problem}"
        );
    }

    let first = report(
        &app,
        &org,
        json!({"id": "inv-1", "developer_id": developer, "amount": 3900}),
    )
    .await;
    assert_eq!(first["spend"][0]["spent"], 3900);
    assert_eq!(first["spend"][0]["remaining"], 1100);
    report(
        &app,
        &org,
        json!({"id": "inv-2", "developer_id": developer, "amount": 100}),
    )
    .await;
    let again = report(
        &app,
        &org,
        json!({"id": "inv-2", "developer_id": developer, "amount": 100}),
    )
    .await;
    assert_eq!(again["duplicate"], true, "a report sent twice counts once");
    let (_, status_now) = app.admin(&org, "GET", &budget_path, None).await;
    assert_eq!(
        (status_now["spent"].as_u64(), status_now["remaining"].as_u64()),
        (Some(4000), Some(1000))
    );
    let hooks = receiver
        .wait_for(1, Duration::from_secs(30))
        .await
        .expect("the 80 % webhook");
    assert_eq!(hooks[0].json()["event"], "quota_event.budget_threshold_reached");
    assert_eq!(hooks[0].json()["data"]["trigger_limit"], 80);
    assert_eq!(hooks[0].json()["data"]["spent_text"], "40.00 EUR");

    let (status, problem) = app
        .admin(
            &org,
            "POST",
            "/usage",
            Some(json!({"id": "inv-x", "developer_id": developer, "amount": 5, "currency": "USD"})),
        )
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (400, Some("currency"))
    );

    report(
        &app,
        &org,
        json!({"id": "inv-3", "developer_id": developer, "amount": 1000, "currency": "EUR"}),
    )
    .await;
    report(
        &app,
        &org,
        json!({"id": "inv-4", "developer_id": developer, "amount": 700}),
    )
    .await;
    let hooks = receiver
        .wait_for(2, Duration::from_secs(30))
        .await
        .expect("the 100 % webhook");
    assert_eq!(hooks[1].json()["data"]["trigger_limit"], 100);

    // The developer is emailed and told in the inbox, once each threshold.
    let inbox = format!("/portal/{}/notifications", org.id);
    let told = eventually(Duration::from_secs(30), || async {
        let (_, items) = app.send("GET", &inbox, &session, None).await;
        let found: Vec<Value> = items["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["type"] == "budget_threshold")
            .cloned()
            .collect();
        (found.len() == 2).then_some(found)
    })
    .await;
    assert!(told.is_some(), "two budget notices in the developer's inbox");
    let mails = eventually(Duration::from_secs(30), || async {
        let found: Vec<String> = app
            .emails_to(&email)
            .await
            .into_iter()
            .filter(|m| mail_text(m).contains("budget ("))
            .collect();
        (found.len() == 2).then_some(found)
    })
    .await;
    assert!(mails.is_some(), "two budget emails");

    // A key's budget: the key's spend counts for its developer too.
    let (status, key_budget) = app
        .admin(
            &org,
            "POST",
            "/budgets",
            Some(json!({"key_id": key_id, "amount": 1000, "currency": "EUR"})),
        )
        .await;
    assert_eq!(status, 201, "{key_budget}");
    let on_key = report(&app, &org, json!({"id": "inv-5", "key_id": key_id, "amount": 800})).await;
    let spends = on_key["spend"].as_array().unwrap();
    assert_eq!(spends.len(), 2, "{on_key}");
    assert_eq!(
        (spends[0]["key_id"].as_str(), spends[0]["spent"].as_u64()),
        (Some(key_id.as_str()), Some(800))
    );
    assert_eq!(
        (spends[1]["developer_id"].as_str(), spends[1]["spent"].as_u64()),
        (Some(developer.as_str()), Some(6500))
    );
    let hooks = receiver
        .wait_for(3, Duration::from_secs(30))
        .await
        .expect("the key budget's 80 %");
    assert_eq!(hooks[2].json()["data"]["key_id"], key_id.as_str());
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(receiver.received().len(), 3, "nothing more");

    // Another organisation sees none of it.
    let other = app.create_org(json!({"name": "Elsewhere"})).await;
    let (status, _) = app
        .send("GET", &format!("/orgs/{}{budget_path}", org.id), &other.admin_key, None)
        .await;
    assert_eq!(status, 404);
    let (status, _) = app.admin(&other, "GET", &budget_path, None).await;
    assert_eq!(status, 404);
}

on_both_backends!(
    budgets_count_spend_once_and_tell_each_threshold_once,
    budgets_count_spend_once_and_tell_each_threshold_once_embedded,
    budgets_count_spend_once_and_tell_each_threshold_once_on_the_emulator
);
