//! The webhook client refuses what its network policy forbids, however the address is spelled, and
//! never follows a redirect. Every target here is a loopback alias, so even a broken guard could only
//! reach this machine; the other special ranges are covered address by address in
//! `webhook::network`'s unit tests.

use gatehouse::webhook::{NetworkPolicy, WebhookClient, WebhookError};
use gatehouse_tests::*;
use std::time::Duration;

fn client(allowed: &str) -> WebhookClient {
    capture_logs();
    WebhookClient::new(
        NetworkPolicy::new(NetworkPolicy::parse_allowed(allowed).unwrap()),
        Duration::from_secs(5),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_in_every_spelling_is_refused_and_logged() {
    let receiver = WebhookReceiver::start(vec![200]).await;
    let port = receiver.address.port();
    let guarded = client("");
    for url in [
        format!("http://127.0.0.1:{port}/hook"),
        format!("http://127.1.2.3:{port}/hook"),
        format!("http://localhost:{port}/hook"),
        format!("http://[::1]:{port}/hook"),
        format!("http://[::ffff:127.0.0.1]:{port}/hook"),
        format!("http://0x7f.0.0.1:{port}/hook"),
        format!("http://2130706433:{port}/hook"),
        format!("http://0.0.0.0:{port}/hook"),
    ] {
        let outcome = guarded.post(&url, &[], b"{}".to_vec()).await;
        assert!(
            matches!(outcome, Err(WebhookError::BlockedAddress(_))),
            "{url}: {outcome:?}"
        );
    }
    assert!(receiver.received().is_empty(), "nothing reached the receiver");
    assert!(logged().contains("webhook destination refused by network policy"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_allow_list_opens_only_what_it_names() {
    let receiver = WebhookReceiver::start(vec![200]).await;
    let url = receiver.url();
    let open = client("127.0.0.0/8").post(&url, &[], b"{}".to_vec()).await.unwrap();
    assert_eq!(open.status, 200);
    let other = client("10.0.0.0/8").post(&url, &[], b"{}".to_vec()).await;
    assert!(matches!(other, Err(WebhookError::BlockedAddress(_))));
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_never_followed() {
    // The first endpoint answers with a redirect to the second; the second must never be called.
    let target = WebhookReceiver::start(vec![200]).await;
    let location = target.url();
    let app = axum::Router::new().fallback(move || {
        let location = location.clone();
        async move {
            (
                axum::http::StatusCode::FOUND,
                [(axum::http::header::LOCATION, location)],
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let redirecting = format!("http://{}/hook", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let response = client("127.0.0.0/8")
        .post(&redirecting, &[], b"{}".to_vec())
        .await
        .unwrap();
    assert_eq!(response.status, 302, "the redirect is an answer, not an instruction");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(target.received().is_empty(), "the redirect target was not called");
    server.abort();
}
