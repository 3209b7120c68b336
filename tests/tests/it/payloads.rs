//! The sample Lambda payloads in `infra/events/` decode as Lambda would hand them over, and the event
//! router turns the stream sample into the jobs it describes.

use aws_lambda_events::dynamodb::Event as StreamEvent;
use aws_lambda_events::sqs::SqsEvent;
use gatehouse::pipeline::StreamHandler;
use gatehouse_tests::*;
use serde_json::json;
use std::time::Duration;

fn sample(name: &str) -> String {
    std::fs::read_to_string(format!("{}/../infra/events/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_sample_routes_to_a_welcome_email_and_a_webhook() {
    let app = spawn_app(Backend::Embedded).await;
    // The sample belongs to organisation `acme`.
    let receiver = WebhookReceiver::start(vec![200]).await;
    app.create_org(
        json!({"id": "acme", "name": "Acme", "event_options": {"developer_event": {"webhook": receiver.url()}}}),
    )
    .await;
    let event: StreamEvent = serde_json::from_str(&sample("stream-signup.json")).unwrap();
    let response = app.local.services.event_router().handle(event).await;
    assert!(response.batch_item_failures.is_empty());
    let hook = eventually(Duration::from_secs(20), || async {
        receiver.received().into_iter().next()
    })
    .await
    .expect("the sample event's webhook was sent");
    assert_eq!(hook.json()["id"], "evt_01jgzz0000000000000000000a");
    let mail = eventually(Duration::from_secs(20), || async {
        app.emails_to("ada@example.com").await.into_iter().next()
    })
    .await;
    assert!(mail.is_some(), "the sample event's welcome email was written");
}

#[test]
fn the_sqs_sample_decodes_to_a_webhook_job() {
    let event: SqsEvent = serde_json::from_str(&sample("sqs-webhook-job.json")).unwrap();
    let job: gatehouse::pipeline::WebhookJob = serde_json::from_str(event.records[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(job.url.as_str(), "https://hooks.example.com/gatehouse");
    assert_eq!(job.event.kind.name(), "developer_event.signed_up");
}
