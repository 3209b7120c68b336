//! Health notices (`system_event.*`): an organisation whose deliveries are in trouble is told, by
//! email and inbox, the admin users who manage deliveries and its `event_options.system_event`
//! destinations, once a day per cause.

use gatehouse_tests::*;
use serde_json::{json, Value};
use std::time::Duration;

/// Emails to `to` whose text holds `marker`.
async fn emails_saying(app: &TestApp, to: &str, marker: &str) -> Vec<String> {
    app.emails_to(to)
        .await
        .into_iter()
        .filter(|m| mail_text(m).contains(marker))
        .collect()
}

/// Two webhooks to an endpoint that always fails: after an hour of failures (a second here) the
/// endpoint's failing is told once, and when the deliveries run out of attempts the dead letter is
/// told once, though two deliveries went there.
async fn a_failing_endpoint_and_its_dead_letters_are_told_once_a_day(backend: Backend) {
    let mut config = test_config(backend);
    config.webhook_failing_notice_after = Duration::from_secs(1);
    let app = spawn_app_with(config).await;
    let dead = WebhookReceiver::start(vec![500]).await;
    let ops = WebhookReceiver::start(vec![200]).await;
    let org = app
        .create_org(json!({"name": "Acme", "event_options": {
            "developer_event": {"webhook": format!("{}?token=s3cret", dead.url())},
            "system_event": {"webhook": ops.url()},
        }}))
        .await;
    let manager = app.admin_user(&org, "admin").await;
    let approver = app.admin_user(&org, "approver").await;
    for _ in 0..2 {
        assert_eq!(app.sign_up(&org.id, &unique_email()).await.status(), 202);
    }

    // Both run out of attempts (3 in tests), each failure in the delivery log.
    let failed = eventually(Duration::from_secs(60), || async {
        let failed: Vec<_> = app
            .deliveries(&org.id)
            .await
            .into_iter()
            .filter(|d| d.channel == "webhook" && d.attempts == 3)
            .filter(|d| d.status == gatehouse::store::deliveries::DeliveryStatus::Failed)
            .collect();
        (failed.len() == 2).then_some(failed)
    })
    .await;
    assert!(failed.is_some(), "both webhooks failed three times");
    let told = |kind: &'static str| {
        let ops = &ops;
        async move {
            ops.received()
                .iter()
                .map(|h| h.json())
                .filter(|b| b["event"] == kind)
                .collect::<Vec<_>>()
        }
    };
    let notices = eventually(Duration::from_secs(30), || async {
        let failing = told("system_event.endpoint_failing").await;
        let lettered = told("system_event.delivery_dead_lettered").await;
        (!failing.is_empty() && !lettered.is_empty()).then_some((failing, lettered))
    })
    .await
    .expect("the system_event webhook got both notices");
    // Whatever else happens today adds nothing.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        told("system_event.endpoint_failing").await.len(),
        1,
        "once a day per endpoint"
    );
    assert_eq!(
        told("system_event.delivery_dead_lettered").await.len(),
        1,
        "once a day per channel"
    );
    let (failing, lettered) = notices;
    assert_eq!(
        failing[0]["data"]["url"],
        dead.url().as_str(),
        "no query: it may hold a token"
    );
    assert!(failing[0]["data"]["failing_for_minutes"].is_number());
    assert_eq!(lettered[0]["data"]["channel"], "webhook");
    assert_eq!(lettered[0]["data"]["target"], dead.url().as_str());
    assert_eq!(lettered[0]["data"]["last_error"], "the endpoint answered 500");
    let body = ops
        .received()
        .iter()
        .map(|h| String::from_utf8_lossy(&h.body).into_owned())
        .collect::<String>();
    assert!(
        !body.contains("s3cret"),
        "the endpoint's token never travels in a notice"
    );

    // The admin user who manages deliveries: one email and one inbox item of each.
    for (type_, marker) in [
        ("endpoint_failing", "has failed for"),
        ("delivery_dead_lettered", "failed every attempt"),
    ] {
        let mails = eventually(Duration::from_secs(30), || async {
            let m = emails_saying(&app, &manager.email, marker).await;
            (!m.is_empty()).then_some(m)
        })
        .await
        .unwrap_or_else(|| panic!("{type_}: the manager is emailed"));
        assert_eq!(mails.len(), 1, "{type_}: once");
        assert!(
            !mail_text(&mails[0]).contains("s3cret"),
            "{type_}: no token in the email"
        );
        let items = app
            .inbox_items(&format!("/orgs/{}/me/notifications", org.id), &manager.token, type_)
            .await;
        assert_eq!(items.len(), 1, "{type_}: one inbox item");
        assert_eq!(items[0]["category"], "delivery");
        // An approver does not manage deliveries.
        assert!(emails_saying(&app, &approver.email, marker).await.is_empty(), "{type_}");
        assert!(
            app.inbox_items(&format!("/orgs/{}/me/notifications", org.id), &approver.token, type_)
                .await
                .is_empty(),
            "{type_}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_endpoint_and_its_dead_letters_are_told_once_a_day_embedded() {
    a_failing_endpoint_and_its_dead_letters_are_told_once_a_day(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_endpoint_and_its_dead_letters_are_told_once_a_day_on_the_emulator() {
    a_failing_endpoint_and_its_dead_letters_are_told_once_a_day(Backend::Emulator).await;
}

/// The organisation's switch turns the health notices off for email like any other type.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_notices_are_under_the_switches() {
    let app = spawn_app(Backend::Embedded).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let (status, types) = app.admin(&org, "GET", "/notification-types", None).await;
    assert_eq!(status, 200, "{types}");
    for name in [
        "delivery_dead_lettered",
        "endpoint_failing",
        "email_reputation",
        "system_event",
    ] {
        let t = types["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("{name} is listed: {types}"));
        assert_eq!(t["category"], "delivery", "{name}");
        assert_eq!(t["critical"], false, "{name}: a switch may turn it off");
    }
}

/// SES feedback names the organisation an email was sent for (its message tag): once the
/// organisation has sent `EMAIL_REPUTATION_MIN_SENT` emails today, a bounce rate of 5 % or more is
/// told to its managers of deliveries and its `system_event` destinations, once a day.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bounce_rate_past_where_ses_reviews_is_told_once_a_day() {
    use gatehouse::queue::OutgoingMessage;
    let mut config = test_config(Backend::Embedded);
    config.email_reputation_min_sent = 4;
    let app = spawn_app_with(config).await;
    let ops = WebhookReceiver::start(vec![200]).await;
    let org = app
        .create_org(json!({"name": "Acme", "event_options": {
            "api_event": {"email": "feed@example.com"},
            "system_event": {"webhook": ops.url()},
        }}))
        .await;
    let manager = app.admin_user(&org, "admin").await;
    for i in 0..4 {
        let (status, api) = app
            .admin(&org, "POST", "/apis", Some(json!({"name": format!("API {i}")})))
            .await;
        assert_eq!(status, 201, "{api}");
    }
    // Every email recorded as sent, so today's count holds them.
    let sent = eventually(Duration::from_secs(30), || async {
        let deliveries = app.deliveries(&org.id).await;
        let sent = deliveries
            .iter()
            .filter(|d| d.channel == "email" && d.status == gatehouse::store::deliveries::DeliveryStatus::Sent)
            .count();
        (sent >= 5).then_some(sent)
    })
    .await
    .expect("the feed's four emails and the manager's invitation went out");
    tokio::time::sleep(Duration::from_secs(1)).await;

    let bounce = |to: &str, org: &str| {
        let event = json!({"eventType": "Bounce", "mail": {"destination": [to], "tags": {"gatehouse-org": [org]}},
            "bounce": {"bounceType": "Permanent", "bounceSubType": "General", "bouncedRecipients": [{"emailAddress": to}]}});
        OutgoingMessage {
            body: json!({"Type": "Notification", "MessageId": unique("m"), "Message": event.to_string()}).to_string(),
        }
    };
    let queue = &app.local.services.email_queue;
    queue.send(vec![bounce("feed@example.com", &org.id)]).await.unwrap();
    let told = eventually(Duration::from_secs(30), || async {
        let told: Vec<Value> = ops
            .received()
            .iter()
            .map(|h| h.json())
            .filter(|b| b["event"] == "system_event.email_reputation")
            .collect();
        (!told.is_empty()).then_some(told)
    })
    .await
    .expect("one bounce of five or six emails is past 5 %");
    assert_eq!(told[0]["data"]["signal"], "bounce");
    assert_eq!(told[0]["data"]["count"], 1);
    assert_eq!(told[0]["data"]["sent"], sent as u64);
    assert_eq!(told[0]["data"]["threshold_percent"], 5.0);

    // A second bounce today adds nothing.
    queue.send(vec![bounce("other@example.com", &org.id)]).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let told = ops
        .received()
        .iter()
        .filter(|h| h.json()["event"] == "system_event.email_reputation")
        .count();
    assert_eq!(told, 1, "once a day");
    let mails = eventually(Duration::from_secs(30), || async {
        let m = emails_saying(&app, &manager.email, "bounced permanently").await;
        (!m.is_empty()).then_some(m)
    })
    .await
    .expect("the manager is emailed");
    assert_eq!(mails.len(), 1);
}
