//! Webhook endpoints over time: signing-secret rotation with a grace period (both signatures sent),
//! a 410 Gone disabling the endpoint at once, one that keeps failing disabled after the configured
//! period, the admin told each time, and a disabled endpoint enabled again.

use std::time::Duration;

use gatehouse::store::deliveries::DeliveryStatus;
use gatehouse_tests::*;
use serde_json::json;

async fn create_api(app: &TestApp, org: &TestOrg, name: &str) {
    let (status, body) = app.admin(org, "POST", "/apis", Some(json!({"name": name}))).await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_secret_signs_alongside_the_previous_one_for_the_grace_period() {
    let receiver = WebhookReceiver::start(vec![204]).await;
    let app = spawn_app(Backend::Embedded).await;
    let org = app
        .create_org(json!({"name": "Rotating", "event_options": {"api_event": {"webhook": receiver.url()}}}))
        .await;

    let (status, problem) = app
        .admin(
            &org,
            "POST",
            "/webhook-secret/rotate",
            Some(json!({"grace_period_secs": -1})),
        )
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (400, Some("grace_period_secs"))
    );

    let (status, rotated) = app
        .admin(
            &org,
            "POST",
            "/webhook-secret/rotate",
            Some(json!({"grace_period_secs": 3600})),
        )
        .await;
    assert_eq!(status, 200, "{rotated}");
    let new_secret = rotated["webhook_secret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, org.webhook_secret);
    assert!(rotated["previous_secret_valid_until"].is_string());

    create_api(&app, &org, "During the grace period").await;
    let hooks = receiver.wait_for(1, Duration::from_secs(20)).await.expect("delivered");
    assert_eq!(
        hooks[0].header("webhook-signature").split(' ').count(),
        2,
        "two signatures"
    );
    assert!(
        verify_standard_webhook(&new_secret, &hooks[0]),
        "the new secret verifies"
    );
    assert!(
        verify_standard_webhook(&org.webhook_secret, &hooks[0]),
        "and so does the previous one"
    );

    // Rotating with no grace period: only the newest secret signs.
    let (_, newest) = app
        .admin(
            &org,
            "POST",
            "/webhook-secret/rotate",
            Some(json!({"grace_period_secs": 0})),
        )
        .await;
    let newest = newest["webhook_secret"].as_str().unwrap().to_string();
    create_api(&app, &org, "After").await;
    let hooks = receiver.wait_for(2, Duration::from_secs(20)).await.expect("delivered");
    assert_eq!(hooks[1].header("webhook-signature").split(' ').count(), 1);
    assert!(verify_standard_webhook(&newest, &hooks[1]));
    assert!(
        !verify_standard_webhook(&new_secret, &hooks[1]),
        "the replaced secret no longer verifies"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_410_disables_the_endpoint_tells_the_admin_and_skips_it_until_enabled() {
    let receiver = WebhookReceiver::start(vec![410, 204]).await;
    let app = spawn_app(Backend::Emulator).await;
    let admin_email = unique_email();
    let org = app
        .create_org(json!({
            "name": "Gone",
            "settings": {"admin_email": admin_email},
            "event_options": {"api_event": {"webhook": receiver.url()}},
        }))
        .await;

    create_api(&app, &org, "First").await;
    receiver
        .wait_for(1, Duration::from_secs(20))
        .await
        .expect("the first attempt");
    let notice = eventually(Duration::from_secs(20), || async {
        app.emails_to(&admin_email).await.into_iter().next()
    })
    .await
    .expect("the admin is told");
    assert!(
        notice.contains("a webhook endpoint was disabled") && notice.contains("410 Gone"),
        "{notice}"
    );
    assert!(
        logged()
            .lines()
            .any(|l| l.contains("EndpointsDisabled") && l.contains("gone")),
        "each disabled endpoint is counted for its alarm"
    );

    let (_, listed) = app.admin(&org, "GET", "/webhook-endpoints", None).await;
    assert_eq!(listed["items"][0]["url"], receiver.url());
    assert!(listed["items"][0]["disabled_reason"].as_str().unwrap().contains("410"));
    let first = app
        .deliveries(&org.id)
        .await
        .into_iter()
        .find(|d| d.channel == "webhook")
        .unwrap();
    assert_eq!(
        (first.status, first.attempts),
        (DeliveryStatus::Failed, 1),
        "not retried"
    );

    // While disabled, deliveries are skipped and say why; nothing reaches the endpoint.
    create_api(&app, &org, "Second").await;
    let skipped = eventually(Duration::from_secs(20), || async {
        app.deliveries(&org.id)
            .await
            .into_iter()
            .find(|d| d.channel == "webhook" && d.status == DeliveryStatus::Skipped)
    })
    .await
    .expect("recorded as skipped");
    assert!(skipped.last_error.unwrap().contains("disabled"));
    assert_eq!(receiver.received().len(), 1);

    // Enabled again, the endpoint gets the next event.
    let (status, _) = app
        .admin(
            &org,
            "POST",
            "/webhook-endpoints/enable",
            Some(json!({"url": receiver.url()})),
        )
        .await;
    assert_eq!(status, 200);
    create_api(&app, &org, "Third").await;
    let hooks = receiver
        .wait_for(2, Duration::from_secs(20))
        .await
        .expect("delivered after enabling");
    assert_eq!(hooks[1].json()["data"]["name"], "Third");
    let (status, _) = app
        .admin(
            &org,
            "POST",
            "/webhook-endpoints/enable",
            Some(json!({"url": "https://unknown.example.com/"})),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_failing_for_longer_than_allowed_is_disabled() {
    let receiver = WebhookReceiver::start(vec![500]).await;
    let mut config = test_config(Backend::Embedded);
    config.webhook_disable_after = Duration::ZERO;
    let app = spawn_app_with(config).await;
    let admin_email = unique_email();
    let org = app
        .create_org(json!({
            "name": "Failing",
            "settings": {"admin_email": admin_email},
            "event_options": {"api_event": {"webhook": receiver.url()}},
        }))
        .await;
    create_api(&app, &org, "Doomed").await;
    // The first failure starts the clock; the second, past the (zero) allowance, disables it.
    let notice = eventually(Duration::from_secs(30), || async {
        app.emails_to(&admin_email).await.into_iter().next()
    })
    .await
    .expect("the admin is told");
    assert!(notice.contains("has failed every delivery"), "{notice}");
    let delivery = app
        .deliveries(&org.id)
        .await
        .into_iter()
        .find(|d| d.channel == "webhook")
        .unwrap();
    assert_eq!((delivery.status, delivery.attempts), (DeliveryStatus::Failed, 2));
    assert!(delivery.last_error.unwrap().contains("now disabled"));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.received().len(), 2, "no attempt after disabling");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_preview_templates_and_send_a_test_email() {
    let app = spawn_app(Backend::Embedded).await;
    let org = app.create_org(json!({"name": "Preview Co"})).await;
    let (status, listed) = app.admin(&org, "GET", "/email-templates", None).await;
    assert_eq!(status, 200);
    assert!(listed["templates"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n == "password_reset"));

    let (status, preview) = app
        .admin(
            &org,
            "POST",
            "/email-templates/password_reset/preview",
            Some(json!({"data": {"private": {"expires_in": "15 minutes"}}})),
        )
        .await;
    assert_eq!(status, 200, "{preview}");
    assert!(preview["subject"].as_str().unwrap().contains("Preview Co"), "{preview}");
    assert!(
        preview["text"].as_str().unwrap().contains("15 minutes"),
        "the override is used"
    );
    assert!(preview["html"].as_str().unwrap().starts_with("<!doctype html>"));
    assert_eq!(listed["locales"], json!(["de", "en"]));
    // In another language; one that is no locale is a 400 naming it.
    let (status, german) = app
        .admin(
            &org,
            "POST",
            "/email-templates/password_reset/preview",
            Some(json!({"locale": "de_CH"})),
        )
        .await;
    assert_eq!(status, 200, "{german}");
    assert_eq!(german["subject"], "Passwort für das Portal von Preview Co zurücksetzen");
    let (status, problem) = app
        .admin(
            &org,
            "POST",
            "/email-templates/password_reset/preview",
            Some(json!({"locale": "Deutsch"})),
        )
        .await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (400, Some("locale")));

    let (status, _) = app
        .admin(&org, "POST", "/email-templates/nope/preview", Some(json!({})))
        .await;
    assert_eq!(status, 404);
    let (status, problem) = app
        .admin(
            &org,
            "POST",
            "/email-templates/password_reset/test",
            Some(json!({"to": "not an address"})),
        )
        .await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (400, Some("to")));

    // Test emails go to people of the organisation only: here its admin address.
    let to = unique_email();
    let (status, _) = app
        .admin(&org, "PATCH", "", Some(json!({"settings": {"admin_email": to}})))
        .await;
    assert_eq!(status, 200);
    let (status, queued) = app
        .admin(
            &org,
            "POST",
            "/email-templates/password_reset/test",
            Some(json!({"to": to})),
        )
        .await;
    assert_eq!(status, 202, "{queued}");
    // The admin address also hears of its own setting (a security setting): look for the test.
    let sent = eventually(Duration::from_secs(20), || async {
        app.emails_to(&to)
            .await
            .into_iter()
            .find(|m| m.contains("delivery_event.test_email"))
    })
    .await
    .expect("the test email is sent");
    assert!(
        sent.contains("Preview Co") && sent.contains("X-Gatehouse-Event-Type: delivery_event.test_email"),
        "{sent}"
    );
}
