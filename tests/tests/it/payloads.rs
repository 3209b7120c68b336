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

#[tokio::test]
async fn the_authorizer_sample_is_refused_for_its_unknown_key() {
    use gatehouse::pipeline::authorizer::{Authorizer, AuthorizerRequest};
    let request: AuthorizerRequest = serde_json::from_str(&sample("authorizer-request.json")).unwrap();
    let gate = gatehouse::service::gate::Gate::new(std::sync::Arc::new(gatehouse::store::MemoryStore::new()));
    let answer = Authorizer::new(std::sync::Arc::new(gate), None, None)
        .handle(&request)
        .await
        .unwrap();
    assert!(!answer.is_authorized);
    assert_eq!(answer.context.code, "NOT_FOUND");
}

#[tokio::test]
async fn the_access_log_sample_counts_its_two_authorized_calls() {
    use gatehouse::pipeline::access_log::AccessLogCounter;
    let event: aws_lambda_events::cloudwatch_logs::LogsEvent =
        serde_json::from_str(&sample("access-log-subscription.json")).unwrap();
    let store = std::sync::Arc::new(gatehouse::store::MemoryStore::new());
    let gate = gatehouse::service::gate::Gate::new(store);
    let counted = AccessLogCounter::new(std::sync::Arc::new(gate))
        .handle(event)
        .await
        .unwrap();
    assert_eq!((counted.calls, counted.skipped, counted.keys), (2, 1, 1));
}
