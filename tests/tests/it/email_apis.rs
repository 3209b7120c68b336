//! The email APIs that cannot run here (SendGrid, Mailgun, Mandrill), each against a local stand-in
//! that checks the request against the provider's documented format and answers as the provider
//! does; and emails switched off.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, Method, StatusCode, Uri};
use gatehouse::config::{Config, EmailBackend};
use gatehouse::mail::{
    MailError, Mailer, MailgunMailer, MailgunSettings, MandrillMailer, MandrillSettings, SendGridMailer,
    SendGridSettings,
};
use gatehouse::secret::Secret;
use gatehouse_tests::*;
use serde_json::{json, Value};

/// One request a stand-in received.
#[derive(Clone, Debug)]
struct Request {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

type Answer = fn(&Request) -> (StatusCode, Vec<(&'static str, String)>, String);

/// A local HTTP server standing in for a provider's API: records each request and answers with
/// `answer`, which checks the documented request format.
struct StandIn {
    base: String,
    requests: Arc<Mutex<Vec<Request>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl StandIn {
    async fn start(answer: Answer) -> Self {
        let requests: Arc<Mutex<Vec<Request>>> = Arc::default();
        let log = requests.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: axum::body::Bytes| {
                let log = log.clone();
                async move {
                    let request = Request {
                        method,
                        path: uri.path().to_string(),
                        headers,
                        body: body.to_vec(),
                    };
                    let (status, headers, body) = answer(&request);
                    log.lock().unwrap().push(request);
                    let mut response = axum::response::IntoResponse::into_response((status, body));
                    for (name, value) in headers {
                        response.headers_mut().insert(name, value.parse().unwrap());
                    }
                    response
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base, requests, server }
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

fn problem(status: StatusCode, body: Value) -> (StatusCode, Vec<(&'static str, String)>, String) {
    (
        status,
        vec![("content-type", "application/json".into())],
        body.to_string(),
    )
}

// --- SendGrid: POST /v3/mail/send, Bearer key, JSON parts; 202 with X-Message-Id. ---

const SENDGRID_KEY: &str = "SG.test-key";

fn sendgrid(r: &Request) -> (StatusCode, Vec<(&'static str, String)>, String) {
    if r.method != Method::POST || r.path != "/v3/mail/send" {
        return problem(StatusCode::NOT_FOUND, json!({"errors": [{"message": "not found"}]}));
    }
    if r.header("authorization") != format!("Bearer {SENDGRID_KEY}") {
        return problem(
            StatusCode::UNAUTHORIZED,
            json!({"errors": [{"message": "authorization required"}]}),
        );
    }
    let body = r.json();
    let to = body["personalizations"][0]["to"][0]["email"]
        .as_str()
        .unwrap_or_default();
    let content = body["content"].as_array().cloned().unwrap_or_default();
    let well_formed = r.header("content-type").starts_with("application/json")
        && to.contains('@')
        && body["from"]["email"].as_str().is_some_and(|f| f.contains('@'))
        && body["subject"].as_str().is_some_and(|s| !s.is_empty())
        && content.len() == 2
        && content[0]["type"] == "text/plain"
        && content[1]["type"] == "text/html"
        && body["headers"].is_object();
    if !well_formed {
        return problem(
            StatusCode::BAD_REQUEST,
            json!({"errors": [{"message": "bad request", "field": null}]}),
        );
    }
    if to.starts_with("throttled") {
        return problem(
            StatusCode::TOO_MANY_REQUESTS,
            json!({"errors": [{"message": "too many requests"}]}),
        );
    }
    (
        StatusCode::ACCEPTED,
        vec![("x-message-id", "sg-message-1".into())],
        String::new(),
    )
}

fn sendgrid_settings(base: &str, key: &str) -> SendGridSettings {
    SendGridSettings {
        api_key: Secret::new(key),
        api_url: base.into(),
    }
}

#[tokio::test]
async fn sendgrid_gets_the_documented_mail_send_request() {
    let api = StandIn::start(sendgrid).await;
    let mailer = SendGridMailer::new(sendgrid_settings(&api.base, SENDGRID_KEY));
    let to = unique_email();
    let id = mailer
        .send(&test_mail("portal@example.com", &to, "Hello SendGrid"))
        .await
        .unwrap();
    assert_eq!(id, "sg-message-1");
    let sent = api.requests()[0].json();
    assert_eq!(sent["personalizations"], json!([{"to": [{"email": to}]}]));
    assert_eq!(
        sent["from"],
        json!({"email": "portal@example.com", "name": "Acme Portal"})
    );
    assert_eq!(sent["subject"], "Hello SendGrid");
    assert_eq!(
        sent["content"],
        json!([{"type": "text/plain", "value": "text part"}, {"type": "text/html", "value": "<p>html part</p>"}])
    );
    assert_eq!(sent["headers"]["X-Gatehouse-Event"], "evt_test");

    // Throttling passes; a bad key does not.
    let throttled = mailer
        .send(&test_mail("portal@example.com", "throttled@example.com", "x"))
        .await;
    assert!(matches!(throttled, Err(MailError::Unavailable(_))), "{throttled:?}");
    let wrong_key = SendGridMailer::new(sendgrid_settings(&api.base, "SG.wrong"));
    let refused = wrong_key.send(&test_mail("portal@example.com", &to, "x")).await;
    assert!(
        matches!(&refused, Err(MailError::Rejected(m)) if m.contains("401")),
        "{refused:?}"
    );
    assert!(
        !format!("{refused:?}").contains("SG.wrong"),
        "the key is not in the error"
    );
}

// --- Mailgun: POST /v3/{domain}/messages.mime, basic api:key, multipart `to` + `message` file. ---

const MAILGUN_KEY: &str = "key-test";
const MAILGUN_DOMAIN: &str = "mg.example.com";

/// The named parts of a multipart/form-data body: (name, filename, content).
fn form_parts(content_type: &str, body: &[u8]) -> Vec<(String, Option<String>, String)> {
    let Some(boundary) = content_type.split("boundary=").nth(1) else {
        return Vec::new();
    };
    let body = String::from_utf8_lossy(body);
    body.split(&format!("--{}", boundary.trim_matches('"')))
        .filter_map(|part| {
            let (head, content) = part.split_once("\r\n\r\n")?;
            let disposition = head
                .lines()
                .find(|l| l.to_ascii_lowercase().starts_with("content-disposition: form-data"))?;
            let attribute = |key: &str| {
                disposition
                    .split(&format!("{key}=\""))
                    .nth(1)
                    .and_then(|v| v.split('"').next())
                    .map(str::to_string)
            };
            Some((
                attribute("name")?,
                attribute("filename"),
                content.strip_suffix("\r\n").unwrap_or(content).to_string(),
            ))
        })
        .collect()
}

fn mailgun(r: &Request) -> (StatusCode, Vec<(&'static str, String)>, String) {
    use base64::Engine;
    if r.method != Method::POST || r.path != format!("/v3/{MAILGUN_DOMAIN}/messages.mime") {
        return problem(StatusCode::NOT_FOUND, json!({"message": "not found"}));
    }
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("api:{MAILGUN_KEY}"))
    );
    if r.header("authorization") != expected {
        return (StatusCode::UNAUTHORIZED, vec![], "Forbidden".into());
    }
    let parts = form_parts(r.header("content-type"), &r.body);
    let to = parts.iter().find(|p| p.0 == "to").map(|p| p.2.clone());
    let message = parts
        .iter()
        .find(|p| p.0 == "message" && p.1.is_some())
        .map(|p| p.2.clone());
    match (to, message) {
        (Some(to), Some(mime)) if to.contains('@') && mime.contains("MIME-Version: 1.0") => problem(
            StatusCode::OK,
            json!({"id": "<20261124.1@mg.example.com>", "message": "Queued. Thank you."}),
        ),
        _ => problem(StatusCode::BAD_REQUEST, json!({"message": "'to' parameter is missing"})),
    }
}

#[tokio::test]
async fn mailgun_gets_the_mime_message_as_a_form_upload() {
    let api = StandIn::start(mailgun).await;
    let settings = MailgunSettings {
        domain: MAILGUN_DOMAIN.into(),
        api_key: Secret::new(MAILGUN_KEY),
        api_url: api.base.clone(),
    };
    let to = unique_email();
    let mail = test_mail("portal@example.com", &to, "Hello Mailgun");
    let id = MailgunMailer::new(settings.clone()).send(&mail).await.unwrap();
    assert_eq!(id, "<20261124.1@mg.example.com>");
    let request = &api.requests()[0];
    let parts = form_parts(request.header("content-type"), &request.body);
    assert!(parts.contains(&("to".into(), None, to.clone())), "{parts:?}");
    let message = parts.iter().find(|p| p.0 == "message").expect("a message part");
    assert_eq!(message.2.as_bytes(), mail.mime.as_slice(), "the very MIME bytes");

    let wrong = MailgunSettings {
        api_key: Secret::new("key-wrong"),
        ..settings
    };
    let refused = MailgunMailer::new(wrong).send(&mail).await;
    assert!(
        matches!(&refused, Err(MailError::Rejected(m)) if m.contains("401")),
        "{refused:?}"
    );
}

// --- Mandrill: POST /api/1.0/messages/send-raw, key in the JSON, raw_message; a status per recipient. ---

const MANDRILL_KEY: &str = "md-test-key";

fn mandrill(r: &Request) -> (StatusCode, Vec<(&'static str, String)>, String) {
    if r.method != Method::POST || r.path != "/api/1.0/messages/send-raw" {
        return problem(
            StatusCode::NOT_FOUND,
            json!({"status": "error", "code": -1, "name": "GeneralError", "message": "not found"}),
        );
    }
    let body = r.json();
    if body["key"] != MANDRILL_KEY {
        return problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"status": "error", "code": -1, "name": "Invalid_Key", "message": "Invalid API key"}),
        );
    }
    let raw = body["raw_message"].as_str().unwrap_or_default();
    let to = body["to"][0].as_str().unwrap_or_default();
    if !raw.contains("MIME-Version: 1.0") || !to.contains('@') || body["from_email"].as_str().is_none() {
        return problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"status": "error", "code": -2, "name": "ValidationError", "message": "bad message"}),
        );
    }
    let status = if to.starts_with("bounced") {
        json!({"status": "rejected", "reject_reason": "hard-bounce"})
    } else {
        json!({"status": "sent", "reject_reason": null})
    };
    let mut result = json!({"email": to, "_id": "md-1"});
    result
        .as_object_mut()
        .unwrap()
        .extend(status.as_object().unwrap().clone());
    problem(StatusCode::OK, json!([result]))
}

#[tokio::test]
async fn mandrill_gets_the_raw_message_and_its_answer_per_recipient_counts() {
    let api = StandIn::start(mandrill).await;
    let settings = MandrillSettings {
        api_key: Secret::new(MANDRILL_KEY),
        api_url: api.base.clone(),
    };
    let mailer = MandrillMailer::new(settings.clone());
    let to = unique_email();
    let mail = test_mail("portal@example.com", &to, "Hello Mandrill");
    assert_eq!(mailer.send(&mail).await.unwrap(), "md-1");
    let sent = api.requests()[0].json();
    assert_eq!(sent["raw_message"].as_str().unwrap().as_bytes(), mail.mime.as_slice());
    assert_eq!(
        (sent["from_email"].as_str(), sent["from_name"].as_str()),
        (Some("portal@example.com"), Some("Acme Portal"))
    );
    assert_eq!(sent["to"], json!([to]));

    let bounced = mailer
        .send(&test_mail("portal@example.com", "bounced@example.com", "x"))
        .await;
    assert!(
        matches!(&bounced, Err(MailError::Rejected(m)) if m.contains("hard-bounce")),
        "{bounced:?}"
    );
    let wrong = MandrillMailer::new(MandrillSettings {
        api_key: Secret::new("md-wrong"),
        ..settings
    });
    let refused = wrong.send(&mail).await;
    assert!(
        matches!(&refused, Err(MailError::Rejected(m)) if m.contains("Invalid_Key")),
        "{refused:?}"
    );
}

// --- Configuration end to end, and emails switched off. ---

/// A test configuration with the email settings read from environment-style variables.
fn config_with(vars: &[(&str, String)]) -> Config {
    let from_env = Config::from_lookup(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())).unwrap();
    let mut config = test_config(Backend::Embedded);
    config.email_backend = from_env.email_backend;
    config.from_email = from_env.from_email;
    config.from_name = from_env.from_name;
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tyk_email_backend_block_sends_the_welcome_email_through_sendgrid() {
    let api = StandIn::start(sendgrid).await;
    let block = json!({
        "enable_email_notifications": true,
        "code": "sendgrid",
        "settings": {"ClientKey": SENDGRID_KEY},
        "default_from_email": "portal@acme.example",
        "default_from_name": "Acme Portal",
    });
    let app = spawn_app_with(config_with(&[
        ("EMAIL_BACKEND_CONFIG", block.to_string()),
        ("SENDGRID_API_URL", api.base.clone()),
    ]))
    .await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let email = unique_email();
    assert_eq!(app.sign_up(&org.id, &email).await.status(), 202);
    let sent = eventually(Duration::from_secs(20), || async {
        api.requests()
            .into_iter()
            .find(|r| r.body.windows(email.len()).any(|w| w == email.as_bytes()))
    })
    .await
    .expect("the welcome email reached SendGrid");
    let body = sent.json();
    assert_eq!(
        body["from"],
        json!({"email": "portal@acme.example", "name": "Acme Portal"})
    );
    assert!(body["subject"].as_str().unwrap().contains("Welcome"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_emails_switched_off_each_is_recorded_as_skipped_and_webhooks_still_go() {
    let receiver = WebhookReceiver::start(vec![204]).await;
    let app = spawn_app_with(config_with(&[("ENABLE_EMAIL_NOTIFICATIONS", "false".into())])).await;
    let org = app
        .create_org(json!({"name": "Quiet", "event_options": {"developer_event": {"webhook": receiver.url(), "email": "ops@example.com"}}}))
        .await;
    let email = unique_email();
    assert_eq!(app.sign_up(&org.id, &email).await.status(), 202);
    receiver
        .wait_for(1, Duration::from_secs(20))
        .await
        .expect("the webhook still goes");
    let skipped = eventually(Duration::from_secs(20), || async {
        let all = app.deliveries(&org.id).await;
        let emails: Vec<_> = all.into_iter().filter(|d| d.channel == "email").collect();
        (emails.len() == 2
            && emails
                .iter()
                .all(|d| d.status == gatehouse::store::deliveries::DeliveryStatus::Skipped))
        .then_some(emails)
    })
    .await
    .expect("both emails (developer and ops) recorded as skipped");
    assert!(skipped
        .iter()
        .all(|d| d.last_error.as_deref().is_some_and(|e| e.contains("switched off"))));
    assert!(outbox_messages(&app.outbox).is_empty(), "nothing was written");
    assert!(logged().contains("EmailsSkipped"), "each skipped email is counted");
    assert!(matches!(
        app.local.services.config.email_backend,
        Some(EmailBackend::Disabled)
    ));
}
