//! The API Gateway side of the gate: the authorizer function's handler invoked with payload 2.0
//! requests (the documented shape, `tests/fixtures/authorizer-request-v2.json`), and the usage
//! function's handler with CloudWatch Logs subscription batches of access log lines
//! (`tests/fixtures/access-log-batch.json`, gzipped and base64-encoded as CloudWatch sends them).

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use gatehouse::domain::{ApiId, OrgId};
use gatehouse::pipeline::access_log::AccessLogCounter;
use gatehouse::pipeline::authorizer::{Authorizer, AuthorizerRequest, AuthorizerResponse};
use gatehouse::service::gate::Gate;
use gatehouse_tests::*;
use serde_json::{json, Value};

/// The documented request with the key in `x-api-key` (or, with `bearer`, in `Authorization`).
fn request_with(key: &str, bearer: bool) -> AuthorizerRequest {
    let mut payload: Value = serde_json::from_str(include_str!("../../fixtures/authorizer-request-v2.json")).unwrap();
    let headers = payload["headers"].as_object_mut().unwrap();
    if bearer {
        headers.remove("x-api-key");
        headers.insert("authorization".into(), json!(format!("Bearer {key}")));
    } else {
        headers.insert("x-api-key".into(), json!(key));
    }
    payload["identitySource"] = json!([key]);
    serde_json::from_value(payload).unwrap()
}

async fn authorize(authorizer: &Authorizer, key: &str) -> Value {
    let response: AuthorizerResponse = authorizer.handle(&request_with(key, false)).await.unwrap();
    serde_json::to_value(response).unwrap()
}

struct Setup {
    app: TestApp,
    org: TestOrg,
    entry: Value,
    gateway: String,
}

/// An organisation issuing keys at once for an API whose policy has a quota of `quota` a day.
async fn setup(backend: Backend, quota: u64) -> Setup {
    let app = spawn_app(backend).await;
    let (org, gated) = app.gated(json!({"quota": {"max": quota, "renewal_secs": 86400}})).await;
    Setup {
        app,
        org,
        entry: gated.entry,
        gateway: gated.gateway,
    }
}

/// A new developer's session and key: (session, key, key id, developer id).
async fn key_of_new_developer(s: &Setup) -> (String, String, String, String) {
    let holder = s.app.key_holder(&s.org, &s.entry).await;
    (holder.session, holder.key, holder.key_id, holder.developer_id)
}

/// The authorizer allows a live key, passing who it is to the integration, and refuses unknown,
/// revoked, expired, exhausted, wrong-API and disabled-developer keys.
async fn the_authorizer_allows_live_keys_only(backend: Backend) {
    let s = setup(backend, 3).await;
    let store = s.app.local.services.store.clone();
    let api = ApiId::parse(s.entry["api_id"].as_str().unwrap()).unwrap();
    let authorizer = Authorizer::new(Arc::new(Gate::new(store.clone())), None, Some(api));
    let (session, key, key_id, developer) = key_of_new_developer(&s).await;

    let allowed = authorize(&authorizer, &key).await;
    assert_eq!(allowed["isAuthorized"], true, "{allowed}");
    let context = &allowed["context"];
    assert_eq!(context["org_id"], s.org.id.as_str());
    assert_eq!(context["key_id"], key_id.as_str());
    assert_eq!(context["developer_id"], developer.as_str());
    assert_eq!(context["policy_id"], s.entry["policy_id"]);
    assert_eq!(
        context["quota_remaining"], 3,
        "the authorizer looks; the access log counts"
    );
    let bearer = authorizer.handle(&request_with(&key, true)).await.unwrap();
    assert!(bearer.is_authorized, "a bearer token works too");

    for (key, code) in [("gh_live_never_issued", "NOT_FOUND"), ("", "NOT_FOUND")] {
        let refused = authorize(&authorizer, key).await;
        assert_eq!(
            (refused["isAuthorized"].as_bool(), refused["context"]["code"].as_str()),
            (Some(false), Some(code))
        );
        assert_eq!(
            refused["context"].as_object().unwrap().len(),
            1,
            "nothing but the code: {refused}"
        );
    }

    // Another API than the key's policy grants.
    let other = ApiId::generate();
    let elsewhere = Authorizer::new(Arc::new(Gate::new(store.clone())), None, Some(other));
    assert_eq!(authorize(&elsewhere, &key).await["context"]["code"], "FORBIDDEN");
    // Another organisation's authorizer.
    let theirs = Authorizer::new(
        Arc::new(Gate::new(store.clone())),
        Some(OrgId::parse("someone-else").unwrap()),
        None,
    );
    assert_eq!(authorize(&theirs, &key).await["context"]["code"], "NOT_FOUND");

    // Exhausted: the quota used up (here through the verify route).
    for _ in 0..3 {
        let (_, verdict) = s
            .app
            .send("POST", "/v1/keys/verify", &s.gateway, Some(json!({"key": key})))
            .await;
        assert_eq!(verdict["code"], "VALID");
    }
    // The authorizer's look trusts the quota it read for a second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let exhausted = authorize(&authorizer, &key).await;
    assert_eq!(
        (
            exhausted["isAuthorized"].as_bool(),
            exhausted["context"]["code"].as_str()
        ),
        (Some(false), Some("USAGE_EXCEEDED"))
    );

    // Expired: the former secret of a rolled key; the new one is refused only for the quota.
    let (_, rolled) = s
        .app
        .send(
            "POST",
            &format!("/portal/{}/keys/{key_id}/roll", s.org.id),
            &session,
            Some(json!({"grace_period_secs": 0})),
        )
        .await;
    assert_eq!(authorize(&authorizer, &key).await["context"]["code"], "EXPIRED");
    let new = rolled["key"].as_str().unwrap();
    assert_eq!(authorize(&authorizer, new).await["context"]["code"], "USAGE_EXCEEDED");

    // Disabled: the developer rejected; revoked: the key revoked.
    let (_, second, second_id, second_developer) = key_of_new_developer(&s).await;
    assert_eq!(authorize(&authorizer, &second).await["isAuthorized"], true);
    let (status, _) = s
        .app
        .admin(
            &s.org,
            "PATCH",
            &format!("/developers/{second_developer}"),
            Some(json!({"status": "rejected"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(authorize(&authorizer, &second).await["context"]["code"], "DISABLED");
    let (status, _) = s.app.admin(&s.org, "DELETE", &format!("/keys/{second_id}"), None).await;
    assert_eq!(status, 204);
    assert_eq!(authorize(&authorizer, &second).await["context"]["code"], "REVOKED");
}

on_both_backends!(
    the_authorizer_allows_live_keys_only,
    the_authorizer_allows_live_keys_only_embedded,
    the_authorizer_allows_live_keys_only_on_the_emulator
);

/// A CloudWatch Logs subscription batch of `lines` access log messages, as the usage function
/// receives it: the documented envelope, gzipped and base64-encoded under `awslogs.data`.
fn subscription_batch(lines: &[String]) -> aws_lambda_events::cloudwatch_logs::LogsEvent {
    let mut batch: Value = serde_json::from_str(include_str!("../../fixtures/access-log-batch.json")).unwrap();
    let template = batch["logEvents"][0].clone();
    let now_ms = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    batch["logEvents"] = lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let mut event = template.clone();
            event["id"] = json!(format!("{}{i}", template["id"].as_str().unwrap()));
            event["timestamp"] = json!(now_ms);
            event["message"] = json!(line);
            event
        })
        .collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(batch.to_string().as_bytes()).unwrap();
    let data = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
    // As the runtime reads it: from the payload's bytes (the decoder borrows the data string).
    serde_json::from_str(&json!({"awslogs": {"data": data}}).to_string()).unwrap()
}

fn access_line(org: &str, key_id: &str, developer: &str) -> String {
    json!({"requestId": ulid::Ulid::new().to_string(), "status": "200", "orgId": org, "keyId": key_id, "developerId": developer})
        .to_string()
}

/// Calls counted from the access log reach the key's daily use and its quota, which the authorizer
/// then enforces, raising the quota's thresholds once; refused calls and foreign lines count nothing.
async fn access_log_calls_fill_usage_and_the_quota(backend: Backend) {
    let s = setup(backend, 10).await;
    let store = s.app.local.services.store.clone();
    let gate = Arc::new(Gate::new(store.clone()));
    let authorizer = Authorizer::new(gate.clone(), None, None);
    let counter = AccessLogCounter::new(gate);
    let (session, key, key_id, developer) = key_of_new_developer(&s).await;

    let mut lines: Vec<String> = (0..8).map(|_| access_line(&s.org.id, &key_id, &developer)).collect();
    lines.push(json!({"requestId": "r", "status": "403", "orgId": "", "keyId": "", "developerId": ""}).to_string());
    lines.push("not json at all".into());
    let counted = counter.handle(subscription_batch(&lines)).await.unwrap();
    assert_eq!((counted.calls, counted.skipped, counted.keys), (8, 2, 1));
    let after = authorize(&authorizer, &key).await;
    assert_eq!(after["context"]["quota_remaining"], 2, "{after}");

    let usage = format!("/portal/{}/usage?days=1", s.org.id);
    let (_, view) = s.app.send("GET", &usage, &session, None).await;
    assert_eq!(view["items"][0]["days"][0]["requests"], 8, "{view}");

    // Two more: the quota is used up and the authorizer refuses.
    let more: Vec<String> = (0..2).map(|_| access_line(&s.org.id, &key_id, &developer)).collect();
    counter.handle(subscription_batch(&more)).await.unwrap();
    assert_eq!(authorize(&authorizer, &key).await["context"]["code"], "USAGE_EXCEEDED");
    let (_, view) = s.app.send("GET", &usage, &session, None).await;
    assert_eq!(view["items"][0]["total"], 10);

    // 80 % and 100 % were each told once, as the lease path tells them.
    let inbox = format!("/portal/{}/notifications", s.org.id);
    let told = eventually(Duration::from_secs(30), || async {
        let (_, items) = s.app.send("GET", &inbox, &session, None).await;
        let quota: Vec<Value> = items["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["type"] == "quota_threshold")
            .cloned()
            .collect();
        (quota.len() == 2).then_some(quota)
    })
    .await;
    assert!(told.is_some(), "two threshold notices");
}

on_both_backends!(
    access_log_calls_fill_usage_and_the_quota,
    access_log_calls_fill_usage_and_the_quota_embedded,
    access_log_calls_fill_usage_and_the_quota_on_the_emulator
);
