//! The walking skeleton: sign-up → one transaction → stream → event router → queues → the welcome
//! email (SES on the emulator, `.eml` embedded) and a signed webhook to the organisation's endpoint.

use gatehouse_tests::*;
use serde_json::json;
use std::time::Duration;

async fn sign_up_notifies_by_email_and_webhook(backend: Backend) {
    let app = spawn_app(backend).await;
    let receiver = WebhookReceiver::start(vec![200]).await;
    let org = app
        .create_org(json!({
            "name": "Acme APIs",
            "event_options": {"developer_event": {"webhook": receiver.url()}}
        }))
        .await;
    let email = unique_email();

    let response = app.sign_up(&org.id, &email).await;
    assert_eq!(response.status(), 202);
    let answer = response.text().await.unwrap();
    assert!(
        !answer.contains("argon2") && !answer.contains(PASSWORD),
        "no secret in the answer"
    );

    let mails = eventually(Duration::from_secs(20), || async {
        let m = app.emails_to(&email).await;
        (!m.is_empty()).then_some(m)
    })
    .await
    .expect("the welcome email was sent");
    assert_eq!(mails.len(), 1);
    let mime = &mails[0];
    assert!(
        mime.contains("Subject: Welcome to the Acme APIs developer portal"),
        "{mime}"
    );
    assert!(mime.contains("multipart/alternative"));
    assert!(mime.contains("Content-Type: text/plain"));
    assert!(mime.contains("Content-Type: text/html"));
    assert!(mime.contains("https://portal.example.com"));

    let hooks = receiver
        .wait_for(1, Duration::from_secs(20))
        .await
        .expect("the webhook was delivered");
    assert_eq!(hooks.len(), 1);
    let hook = &hooks[0];
    assert!(
        verify_standard_webhook(&org.webhook_secret, hook),
        "the signature verifies with the org's secret"
    );
    let wrong = gatehouse::webhook::SigningSecret::generate();
    assert!(
        !verify_standard_webhook(wrong.text().expose(), hook),
        "and not with another secret"
    );
    let body = hook.json();
    assert_eq!(body["event"], "developer_event.signed_up");
    assert_eq!(body["org_id"], org.id.as_str());
    assert_eq!(body["data"]["email"], email.as_str());
    assert!(body["data"]["developer_id"].as_str().unwrap().starts_with("dev_"));
    assert_eq!(
        hook.header("webhook-id"),
        body["id"].as_str().unwrap(),
        "the event id is the message id"
    );
    assert!(body["data"].get("password").is_none() && body["data"].get("password_hash").is_none());

    // Nothing further arrives: one event, one email, one webhook.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(app.emails_to(&email).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_notifies_on_the_emulator() {
    sign_up_notifies_by_email_and_webhook(Backend::Emulator).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_notifies_embedded() {
    sign_up_notifies_by_email_and_webhook(Backend::Embedded).await;
}

async fn event_options_email_gets_an_admin_notice(backend: Backend) {
    let app = spawn_app(backend).await;
    let ops = unique_email();
    let org = app
        .create_org(json!({"name": "Acme", "event_options": {"developer_event": {"email": ops}}}))
        .await;
    let developer = unique_email();
    assert_eq!(app.sign_up(&org.id, &developer).await.status(), 202);
    let notice = eventually(Duration::from_secs(20), || async {
        app.emails_to(&ops).await.into_iter().next()
    })
    .await
    .expect("the event_options address was told");
    assert!(notice.contains("Subject: [Acme] developer_event.signed_up"), "{notice}");
    assert!(notice.contains(&developer));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_options_email_on_the_emulator() {
    event_options_email_gets_an_admin_notice(Backend::Emulator).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_options_email_embedded() {
    event_options_email_gets_an_admin_notice(Backend::Embedded).await;
}
