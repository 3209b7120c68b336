//! Keys at the gate: what a gateway, which knows only the key, can find of it. Every change of a
//! key reaches its item by hash in the same transaction.

use gatehouse::secret::token_hash;
use gatehouse::store::key_hashes;
use gatehouse_tests::*;
use serde_json::{json, Value};
use std::time::Duration;

async fn a_key_is_found_by_its_hash_while_it_lives(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app
        .create_org(json!({"name": "Acme", "settings": {"default_approval": "auto"}}))
        .await;
    let store = app.local.services.store.clone();
    let entry = app.catalog_entry(&org, None).await;
    let email = unique_email();
    assert_eq!(app.sign_up(&org.id, &email).await.status(), 202);
    let (_, login) = app.log_in(&org.id, &email).await;
    let session = login["token"].as_str().unwrap();
    let requests = format!("/portal/{}/key-requests", org.id);
    let body = json!({"catalog_id": entry["id"]});

    // Issued: found by its hash alone, with its organisation, developer and policies.
    let (status, issued) = app.send("POST", &requests, session, Some(body.clone())).await;
    assert_eq!(status, 201, "{issued}");
    let hash = token_hash(issued["key"].as_str().unwrap());
    let found = key_hashes::find(store.as_ref(), &hash)
        .await
        .unwrap()
        .expect("found by hash");
    assert_eq!(found.org_id.as_str(), org.id);
    assert_eq!(found.key_id.as_str(), issued["key_details"]["id"].as_str().unwrap());
    assert_eq!(found.developer_id.as_str(), issued["developer_id"].as_str().unwrap());
    assert_eq!(json!(found.policy_ids), json!([entry["policy_id"]]));
    assert_eq!(
        key_hashes::find(store.as_ref(), &token_hash("gh_live_not_a_key"))
            .await
            .unwrap(),
        None
    );

    // A policy change reaches it; a revocation marks it revoked.
    let key_path = format!("/keys/{}", found.key_id);
    let other = app.policy(&org, "Silver", &entry["api_id"]).await;
    let (status, _) = app
        .admin(&org, "PATCH", &key_path, Some(json!({"policy_ids": [other["id"]]})))
        .await;
    assert_eq!(status, 200);
    let changed = key_hashes::find(store.as_ref(), &hash).await.unwrap().unwrap();
    assert_eq!(json!(changed.policy_ids), json!([other["id"]]));
    let (status, _) = app.admin(&org, "DELETE", &key_path, None).await;
    assert_eq!(status, 204);
    let revoked = key_hashes::find(store.as_ref(), &hash).await.unwrap().unwrap();
    assert!(revoked.revoked_at.is_some(), "{revoked:?}");

    // Removing the developer revokes their keys' items too.
    let (_, second) = app.send("POST", &requests, session, Some(body)).await;
    let hash = token_hash(second["key"].as_str().unwrap());
    assert!(key_hashes::find(store.as_ref(), &hash).await.unwrap().is_some());
    let developer = second["developer_id"].as_str().unwrap();
    let (status, _) = app
        .admin(&org, "DELETE", &format!("/developers/{developer}"), None)
        .await;
    assert_eq!(status, 204);
    let revoked = key_hashes::find(store.as_ref(), &hash).await.unwrap().unwrap();
    assert!(revoked.revoked_at.is_some(), "{revoked:?}");
}

on_both_backends!(
    a_key_is_found_by_its_hash_while_it_lives,
    a_key_is_found_by_its_hash_while_it_lives_embedded,
    a_key_is_found_by_its_hash_while_it_lives_on_the_emulator
);

/// An organisation whose keys are issued at once, an API with a policy of `limits` (`rate`,
/// `quota`) published in the catalog, and a gateway key: (org, entry, gateway key).
async fn gated(app: &TestApp, limits: Value) -> (TestOrg, Value, String) {
    let (org, gated) = app.gated(limits).await;
    (org, gated.entry, gated.gateway)
}

/// A new developer of `org` with a key for `entry`: (developer id, key).
async fn developer_with_key(app: &TestApp, org: &TestOrg, entry: &Value) -> (String, String) {
    let holder = app.key_holder(org, entry).await;
    (holder.developer_id, holder.key)
}

async fn verify(app: &TestApp, gateway: &str, body: Value) -> Value {
    let (status, verdict) = app.send("POST", "/v1/keys/verify", gateway, Some(body)).await;
    assert_eq!(status, 200, "{verdict}");
    verdict
}

/// Every code of the verify route, each from the change that causes it through the API.
async fn verify_answers_every_code(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, entry, gateway) = gated(&app, json!({"quota": {"max": 3, "renewal_secs": 3600}})).await;
    let (developer, key) = developer_with_key(&app, &org, &entry).await;
    let api = entry["api_id"].clone();

    let first = verify(&app, &gateway, json!({"key": key, "api_id": api})).await;
    assert_eq!(first["code"], "VALID", "{first}");
    assert_eq!(first["valid"], true);
    assert_eq!(first["developer_id"], developer.as_str());
    assert_eq!(first["policy_id"], entry["policy_id"]);
    assert_eq!(first["remaining"], 2);
    assert_eq!(first["ratelimit"], Value::Null, "the policy sets no rate");
    // The period ends on an hour boundary (fixed periods, no drift).
    let reset = time::OffsetDateTime::parse(
        first["reset_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(reset.unix_timestamp() % 3600, 0, "{first}");
    assert!(reset > time::OffsetDateTime::now_utc());
    let key_id = first["key_id"].as_str().unwrap().to_string();

    // Checking costs nothing; another API is not the key's.
    let looked = verify(&app, &gateway, json!({"key": key, "cost": 0})).await;
    assert_eq!(
        (looked["code"].as_str(), looked["remaining"].as_u64()),
        (Some("VALID"), Some(2))
    );
    let (_, other_api) = app.admin(&org, "POST", "/apis", Some(json!({"name": "Other"}))).await;
    let forbidden = verify(&app, &gateway, json!({"key": key, "api_id": other_api["id"]})).await;
    assert_eq!(forbidden["code"], "FORBIDDEN", "{forbidden}");
    assert_eq!(forbidden["valid"], false);

    // The quota: two more, then refused until the period ends.
    for left in [1, 0] {
        let verdict = verify(&app, &gateway, json!({"key": key, "api_id": api})).await;
        assert_eq!(
            (verdict["code"].as_str(), verdict["remaining"].as_u64()),
            (Some("VALID"), Some(left))
        );
    }
    let exceeded = verify(&app, &gateway, json!({"key": key})).await;
    assert_eq!(exceeded["code"], "USAGE_EXCEEDED", "{exceeded}");
    assert_eq!(
        (exceeded["valid"].as_bool(), exceeded["remaining"].as_u64()),
        (Some(false), Some(0))
    );

    // Unknown keys, and keys of another organisation, are not found; nothing of them is told.
    let other = app.create_org(json!({"name": "Elsewhere"})).await;
    let stranger = app.admin_key(&other, "edge", "gateway").await;
    let stranger = stranger["key"].as_str().unwrap();
    for (gateway, key) in [
        (&gateway, "gh_live_unknown"),
        (&gateway, "not even a key"),
        (&stranger.to_string(), key.as_str()),
    ] {
        let verdict = verify(&app, gateway, json!({"key": key})).await;
        assert_eq!(verdict["code"], "NOT_FOUND", "{verdict}");
        assert_eq!(verdict["key_id"], Value::Null);
        assert_eq!(verdict["developer_id"], Value::Null);
    }

    // A developer who is not active holds keys that do not pass, until they are again.
    let (second_developer, second) = developer_with_key(&app, &org, &entry).await;
    let developer_path = format!("/developers/{second_developer}");
    let (status, _) = app
        .admin(&org, "PATCH", &developer_path, Some(json!({"status": "rejected"})))
        .await;
    assert_eq!(status, 200);
    let disabled = verify(&app, &gateway, json!({"key": second})).await;
    assert_eq!(disabled["code"], "DISABLED", "{disabled}");
    let (status, _) = app
        .admin(&org, "PATCH", &developer_path, Some(json!({"status": "active"})))
        .await;
    assert_eq!(status, 200);
    assert_eq!(verify(&app, &gateway, json!({"key": second})).await["code"], "VALID");

    // A revoked key says so.
    let (status, _) = app.admin(&org, "DELETE", &format!("/keys/{key_id}"), None).await;
    assert_eq!(status, 204);
    let revoked = verify(&app, &gateway, json!({"key": key})).await;
    assert_eq!(revoked["code"], "REVOKED", "{revoked}");
    assert_eq!(revoked["key_id"], key_id.as_str());

    // A rate: two calls a window, then refused with the window's state.
    let (rated_org, rated_entry, rated_gateway) = gated(&app, json!({"rate": {"requests": 2, "per_secs": 3600}})).await;
    let (_, rated) = developer_with_key(&app, &rated_org, &rated_entry).await;
    for left in [1, 0] {
        let verdict = verify(&app, &rated_gateway, json!({"key": rated})).await;
        assert_eq!(verdict["code"], "VALID", "{verdict}");
        assert_eq!(verdict["ratelimit"]["remaining"], left);
        assert_eq!(verdict["ratelimit"]["limit"], 2);
        assert_eq!(verdict["remaining"], Value::Null, "no quota");
    }
    let limited = verify(&app, &rated_gateway, json!({"key": rated})).await;
    assert_eq!(limited["code"], "RATE_LIMITED", "{limited}");
    assert_eq!(limited["ratelimit"]["remaining"], 0);
}

on_both_backends!(
    verify_answers_every_code,
    verify_answers_every_code_embedded,
    verify_answers_every_code_on_the_emulator
);

/// The verify route's own rules: a gateway key may verify and nothing else, other roles that may not
/// verify get 403, bad questions get 400 naming the field and count nothing, and a person cannot
/// hold the gateway role.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_keys_that_may_verify_do_and_bad_questions_are_refused() {
    let app = spawn_app(Backend::Embedded).await;
    let (org, entry, gateway) = gated(&app, json!({"quota": {"max": 5, "renewal_secs": 3600}})).await;
    let (_, key) = developer_with_key(&app, &org, &entry).await;

    let (status, _) = app.send("GET", &format!("/orgs/{}", org.id), &gateway, None).await;
    assert_eq!(status, 403, "a gateway key reads nothing");
    for role in ["viewer", "approver"] {
        let other = app.admin_key(&org, role, role).await;
        let (status, problem) = app
            .send(
                "POST",
                "/v1/keys/verify",
                other["key"].as_str().unwrap(),
                Some(json!({"key": key})),
            )
            .await;
        assert_eq!(status, 403, "{role}: {problem}");
    }
    let owner = app
        .send("POST", "/v1/keys/verify", &org.admin_key, Some(json!({"key": key})))
        .await;
    assert_eq!((owner.0, owner.1["code"].as_str()), (200, Some("VALID")));
    let session = app.admin_user(&org, "owner").await;
    let (status, _) = app
        .send("POST", "/v1/keys/verify", &session.token, Some(json!({"key": key})))
        .await;
    assert_eq!(status, 401, "a gateway is a machine: admin keys only");
    let (status, _) = app
        .send(
            "POST",
            "/v1/keys/verify",
            "gh_admin_acme.nope",
            Some(json!({"key": key})),
        )
        .await;
    assert_eq!(status, 401);

    for (body, field) in [
        (json!({}), "key"),
        (json!({"key": ""}), "key"),
        (json!({"key": key, "cost": -1}), "cost"),
        (json!({"key": key, "cost": 1_000_001}), "cost"),
        (json!({"key": key, "api_id": "payments"}), "api_id"),
        (json!({"key": key, "extra": 1}), "extra"),
    ] {
        let (status, problem) = app.send("POST", "/v1/keys/verify", &gateway, Some(body.clone())).await;
        assert_eq!(status, 400, "{body}: {problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    let after = verify(&app, &gateway, json!({"key": key, "cost": 0})).await;
    assert_eq!(after["remaining"], 4, "only the owner's call counted: {after}");
    let costly = verify(&app, &gateway, json!({"key": key, "cost": 4})).await;
    assert_eq!(
        (costly["code"].as_str(), costly["remaining"].as_u64()),
        (Some("VALID"), Some(0))
    );

    let (status, problem) = app
        .admin(
            &org,
            "POST",
            "/admins",
            Some(json!({"email": unique_email(), "role": "gateway"})),
        )
        .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "role");
}

/// 100 verifies at once of a key with a quota of 50: exactly 50 pass, though each verifier answers
/// from leased blocks.
async fn a_quota_holds_exactly_under_concurrency(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, entry, gateway) = gated(&app, json!({"quota": {"max": 50, "renewal_secs": 86400}})).await;
    let (_, key) = developer_with_key(&app, &org, &entry).await;
    let client = reqwest::Client::new();
    let url = app.url("/v1/keys/verify");
    let calls = (0..100).map(|_| {
        let request = client
            .post(&url)
            .bearer_auth(&gateway)
            .json(&json!({"key": key}))
            .send();
        async move { request.await.unwrap().json::<Value>().await.unwrap() }
    });
    let verdicts = futures::future::join_all(calls).await;
    let valid = verdicts.iter().filter(|v| v["code"] == "VALID").count();
    let exceeded = verdicts.iter().filter(|v| v["code"] == "USAGE_EXCEEDED").count();
    assert_eq!((valid, exceeded), (50, 50), "{verdicts:?}");
}

on_both_backends!(
    a_quota_holds_exactly_under_concurrency,
    a_quota_holds_exactly_under_concurrency_embedded,
    a_quota_holds_exactly_under_concurrency_on_the_emulator
);

/// The same across two runner processes sharing one table: each answers from its own leases, and
/// together they let exactly the quota through. On an emulator whose conditional writes are atomic,
/// as DynamoDB's are (`PrivateEmulator::start_atomic`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quota_holds_exactly_across_two_runner_processes() {
    let emulator = PrivateEmulator::start_atomic().await;
    let mut config = test_config(Backend::Emulator);
    config.aws_endpoint_url = Some(emulator.endpoint.clone());
    let app = spawn_app_with(config.clone()).await;
    let (org, entry, gateway) = gated(&app, json!({"quota": {"max": 50, "renewal_secs": 86400}})).await;
    let (_, key) = developer_with_key(&app, &org, &entry).await;
    let (first, second) = tokio::join!(RunnerProcess::start(&config), RunnerProcess::start(&config));
    let client = reqwest::Client::new();
    let calls = (0..100).map(|n| {
        let runner = if n % 2 == 0 { &first } else { &second };
        let request = client
            .post(runner.url("/v1/keys/verify"))
            .bearer_auth(&gateway)
            .json(&json!({"key": key}))
            .send();
        async move { request.await.unwrap().json::<Value>().await.unwrap() }
    });
    let verdicts = futures::future::join_all(calls).await;
    let valid = verdicts.iter().filter(|v| v["code"] == "VALID").count();
    let exceeded = verdicts.iter().filter(|v| v["code"] == "USAGE_EXCEEDED").count();
    assert_eq!((valid, exceeded), (50, 50), "{verdicts:?}");
}

/// A developer rolls their key: the new secret works at once, the former one until its grace period
/// ends and then verifies as EXPIRED; both count against one quota; the roll is emailed and audited,
/// and nobody else may roll it.
async fn a_rolled_key_keeps_its_quota_and_the_former_secret_expires(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, entry, gateway) = gated(&app, json!({"quota": {"max": 10, "renewal_secs": 86400}})).await;
    let holder = app.key_holder(&org, &entry).await;
    let (email, session, old, key_id) = (
        holder.email.clone(),
        holder.session.clone(),
        holder.key.clone(),
        holder.key_id.clone(),
    );
    assert_eq!(verify(&app, &gateway, json!({"key": old})).await["remaining"], 9);

    let roll = format!("/portal/{}/keys/{key_id}/roll", org.id);
    let (status, problem) = app
        .send("POST", &roll, &session, Some(json!({"grace_period_secs": -1})))
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (400, Some("grace_period_secs"))
    );
    let stranger = {
        let email = unique_email();
        assert_eq!(app.sign_up(&org.id, &email).await.status(), 202);
        app.log_in(&org.id, &email).await.1["token"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (status, _) = app.send("POST", &roll, &stranger, Some(json!({}))).await;
    assert_eq!(status, 404, "another developer's key");

    let (status, rolled) = app
        .send("POST", &roll, &session, Some(json!({"grace_period_secs": 2})))
        .await;
    assert_eq!(status, 200, "{rolled}");
    let new = rolled["key"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    assert_eq!(rolled["id"], key_id.as_str(), "the same key");
    assert!(rolled["previous"]["valid_until"].is_string(), "{rolled}");

    let fresh = verify(&app, &gateway, json!({"key": new})).await;
    assert_eq!(
        (fresh["code"].as_str(), fresh["remaining"].as_u64()),
        (Some("VALID"), Some(8))
    );
    assert_eq!(fresh["expires_at"], Value::Null);
    let former = verify(&app, &gateway, json!({"key": old})).await;
    assert_eq!(
        (former["code"].as_str(), former["remaining"].as_u64()),
        (Some("VALID"), Some(7))
    );
    assert_eq!(former["key_id"], key_id.as_str());
    assert_eq!(
        former["expires_at"], rolled["previous"]["valid_until"],
        "verify says until when"
    );

    let expired = eventually(Duration::from_secs(10), || async {
        let verdict = verify(&app, &gateway, json!({"key": old, "cost": 0})).await;
        (verdict["code"] == "EXPIRED").then_some(verdict)
    })
    .await;
    assert!(expired.is_some(), "the former secret expires after its grace period");
    assert_eq!(verify(&app, &gateway, json!({"key": new})).await["remaining"], 6);

    // Emailed to the developer (never with the key), audited as theirs.
    let notice = eventually(Duration::from_secs(60), || async {
        app.emails_to(&email)
            .await
            .into_iter()
            .find(|m| mail_text(m).contains("was rolled"))
    })
    .await
    .expect("a roll notice");
    assert!(
        !notice.contains(&new) && !notice.contains(&old),
        "no secret in the notice"
    );
    let (_, log) = app.admin(&org, "GET", "/audit-log?action=key.rolled", None).await;
    let entry = &log["items"][0];
    assert_eq!(entry["target"], key_id.as_str(), "{log}");
    assert_eq!(entry["actor"]["kind"], "developer");
    assert_eq!(entry["actor"]["id"], holder.developer_id.as_str());

    // A revocation ends both secrets.
    let (_, again) = app
        .send("POST", &roll, &session, Some(json!({"grace_period_secs": 600})))
        .await;
    let newest = again["key"].as_str().unwrap();
    assert_eq!(
        verify(&app, &gateway, json!({"key": new, "cost": 0})).await["code"],
        "VALID"
    );
    let (status, _) = app.admin(&org, "DELETE", &format!("/keys/{key_id}"), None).await;
    assert_eq!(status, 204);
    for key in [newest, new.as_str()] {
        assert_eq!(verify(&app, &gateway, json!({"key": key})).await["code"], "REVOKED");
    }
}

on_both_backends!(
    a_rolled_key_keeps_its_quota_and_the_former_secret_expires,
    a_rolled_key_keeps_its_quota_and_the_former_secret_expires_embedded,
    a_rolled_key_keeps_its_quota_and_the_former_secret_expires_on_the_emulator
);

/// The 7-day view counts what the gate let through (refused calls and checks cost nothing), with
/// the policy's limits and the quota's state; nobody else sees it.
async fn the_usage_view_matches_the_counted_calls(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, entry, gateway) = gated(
        &app,
        json!({"quota": {"max": 6, "renewal_secs": 86400}, "rate": {"requests": 100, "per_secs": 60}}),
    )
    .await;
    let holder = app.key_holder(&org, &entry).await;
    let (session, key, key_id) = (holder.session.clone(), holder.key.as_str(), holder.key_id.as_str());
    let mut counted = 0;
    for cost in [1, 2, 0, 1, 5] {
        let verdict = verify(&app, &gateway, json!({"key": key, "cost": cost})).await;
        if verdict["code"] == "VALID" {
            counted += cost;
        }
    }
    assert_eq!(counted, 4, "the last call passes the quota and is refused");

    let own = format!("/portal/{}/usage?days=7", org.id);
    let view = eventually(Duration::from_secs(15), || async {
        let (status, view) = app.send("GET", &own, &session, None).await;
        assert_eq!(status, 200, "{view}");
        (view["items"][0]["total"] == counted).then_some(view)
    })
    .await
    .expect("the counted calls appear in the view");
    let mine = &view["items"][0];
    assert_eq!(mine["key_id"], key_id);
    let days = mine["days"].as_array().unwrap();
    assert_eq!(days.len(), 7);
    assert_eq!(days[6]["requests"], counted, "today is last: {mine}");
    assert!(days[..6].iter().all(|d| d["requests"] == 0));
    assert_eq!(mine["quota"]["max"], 6);
    assert!(mine["quota"]["used"].as_u64().unwrap() >= 4, "{mine}");
    assert_eq!(mine["rate"], json!({"requests": 100, "per_secs": 60}));
    assert_eq!(mine["policy_id"], entry["policy_id"]);

    // An admin sees the same; the day's top keys name it.
    let (status, by_key) = app.admin(&org, "GET", &format!("/usage?key_id={key_id}"), None).await;
    assert_eq!(status, 200, "{by_key}");
    assert_eq!(by_key["items"][0]["days"], mine["days"]);
    let developer = holder.developer_id.as_str();
    let (_, by_developer) = app
        .admin(&org, "GET", &format!("/usage?developer_id={developer}"), None)
        .await;
    assert_eq!(by_developer["items"][0]["total"], counted);
    let (_, top) = app.admin(&org, "GET", "/usage/top", None).await;
    assert_eq!(
        top["items"][0],
        json!({"key_id": key_id, "developer_id": developer, "requests": counted})
    );

    // Another developer sees only their own (none); another organisation finds nothing.
    let other_email = unique_email();
    assert_eq!(app.sign_up(&org.id, &other_email).await.status(), 202);
    let (_, other_login) = app.log_in(&org.id, &other_email).await;
    let (_, theirs) = app
        .send("GET", &own, other_login["token"].as_str().unwrap(), None)
        .await;
    assert_eq!(theirs["items"], json!([]));
    let elsewhere = app.create_org(json!({"name": "Elsewhere"})).await;
    let (status, _) = app
        .send(
            "GET",
            &format!("/orgs/{}/usage?key_id={key_id}", org.id),
            &elsewhere.admin_key,
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .admin(&elsewhere, "GET", &format!("/usage?key_id={key_id}"), None)
        .await;
    assert_eq!(status, 404, "a key of another organisation");
    let (status, problem) = app
        .send("GET", &format!("/portal/{}/usage?days=0", org.id), &session, None)
        .await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (400, Some("days")));
}

on_both_backends!(
    the_usage_view_matches_the_counted_calls,
    the_usage_view_matches_the_counted_calls_embedded,
    the_usage_view_matches_the_counted_calls_on_the_emulator
);

/// Which `period`-second window it is now (windows start on multiples of it).
fn period_index(period: i64) -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp().div_euclid(period)
}

/// Waits for the start of the next `period`-second window.
async fn next_period(period: i64) {
    let now = time::OffsetDateTime::now_utc();
    let into = (now.unix_timestamp_nanos() % (i128::from(period) * 1_000_000_000)) as u64;
    let left = Duration::from_nanos(period as u64 * 1_000_000_000 - into);
    tokio::time::sleep(left + Duration::from_millis(50)).await;
}

/// Items of `type_` in an inbox.
/// Crossing 80 % and then 100 % of a quota tells the developer (email and inbox), the admins who
/// read usage (inbox) and the organisation's quota_event webhook once each; the rest of the period
/// adds nothing; the next period starts fresh.
async fn quota_thresholds_are_told_once_a_period(backend: Backend) {
    const PERIOD: i64 = 10;
    let app = spawn_app(backend).await;
    let receiver = WebhookReceiver::start(vec![200]).await;
    let org = app
        .create_org(json!({
            "name": "Acme",
            "settings": {"default_approval": "auto"},
            "event_options": {"quota_event": {"webhook": receiver.url()}}
        }))
        .await;
    let gated = app
        .gated_entry(&org, json!({"quota": {"max": 10, "renewal_secs": PERIOD}}))
        .await;
    assert_eq!(
        gated.policy["trigger_limits"],
        json!([80, 100]),
        "Tyk's default thresholds"
    );
    let gateway = gated.gateway.clone();
    let viewer = app.admin_user(&org, "viewer").await;
    let approver = app.admin_user(&org, "approver").await;
    let holder = app.key_holder(&org, &gated.entry).await;
    let (email, session) = (holder.email.clone(), holder.session.clone());
    let issued = json!({"key_details": {"id": holder.key_id}});
    let key = holder.key.clone();

    // One period: ten calls pass (80 % at the eighth, 100 % at the tenth), the rest are refused.
    next_period(PERIOD).await;
    let mut codes = Vec::new();
    for _ in 0..12 {
        codes.push(verify(&app, &gateway, json!({"key": key})).await["code"].clone());
        verify(&app, &gateway, json!({"key": key, "cost": 0})).await;
    }
    assert_eq!(codes.iter().filter(|c| **c == "VALID").count(), 10, "{codes:?}");
    let hooks = receiver
        .wait_for(2, Duration::from_secs(30))
        .await
        .expect("two webhooks");
    // Two events, delivered side by side: in either order.
    let mut limits: Vec<u64> = hooks
        .iter()
        .map(|h| h.json()["data"]["trigger_limit"].as_u64().unwrap())
        .collect();
    limits.sort_unstable();
    assert_eq!(limits, [80, 100]);
    let eighty = hooks.iter().find(|h| h.json()["data"]["trigger_limit"] == 80).unwrap();
    let first = eighty.json();
    assert_eq!(first["event"], "quota_event.threshold_reached");
    assert_eq!(
        first["data"]["key"], issued["key_details"]["id"],
        "Tyk's key field is the key's id"
    );
    assert_eq!(first["data"]["quota_used"], 8);
    assert!(
        hooks.iter().all(|h| !String::from_utf8_lossy(&h.body).contains(&key)),
        "never the key"
    );

    let developer_inbox = format!("/portal/{}/notifications", org.id);
    let told = eventually(Duration::from_secs(30), || async {
        let items = app.inbox_items(&developer_inbox, &session, "quota_threshold").await;
        (items.len() == 2).then_some(items)
    })
    .await
    .expect("two inbox items for the developer");
    assert_eq!(told[0]["category"], "quota");
    let staff_inbox = format!("/orgs/{}/me/notifications", org.id);
    let staff = eventually(Duration::from_secs(30), || async {
        let items = app
            .inbox_items(&staff_inbox, &viewer.token, "quota_threshold_staff")
            .await;
        (items.len() == 2).then_some(items)
    })
    .await;
    assert!(staff.is_some(), "the viewer reads usage: two inbox items");
    assert!(
        app.inbox_items(&staff_inbox, &approver.token, "quota_threshold_staff")
            .await
            .is_empty(),
        "an approver does not read usage"
    );
    let mails = eventually(Duration::from_secs(30), || async {
        let mails: Vec<String> = app
            .emails_to(&email)
            .await
            .into_iter()
            .filter(|m| mail_text(m).contains("calls its quota allows"))
            .collect();
        (mails.len() == 2).then_some(mails)
    })
    .await
    .expect("two quota emails to the developer");
    assert!(mails.iter().all(|m| !m.contains(&key)));

    // The next period starts fresh: 80 % again is told again, once. On a busy emulator eight calls
    // can straddle two 10 s periods (neither reaches 80 %): then they are made in the next one.
    let mut straddled = 0;
    let hooks = loop {
        next_period(PERIOD).await;
        let started = period_index(PERIOD);
        for _ in 0..8 {
            assert_eq!(verify(&app, &gateway, json!({"key": key})).await["code"], "VALID");
        }
        let fit = period_index(PERIOD) == started;
        let wait = if fit { 30 } else { 5 };
        if let Some(hooks) = receiver.wait_for(3, Duration::from_secs(wait)).await {
            break hooks;
        }
        assert!(!fit, "a third webhook");
        straddled += 1;
        assert!(straddled < 3, "eight calls never fitted in one period");
    };
    assert_eq!(hooks[2].json()["data"]["trigger_limit"], 80);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.received().len(), 3, "nothing more");
    let items = app.inbox_items(&developer_inbox, &session, "quota_threshold").await;
    assert_eq!(items.len(), 3);
}

on_both_backends!(
    quota_thresholds_are_told_once_a_period,
    quota_thresholds_are_told_once_a_period_embedded,
    quota_thresholds_are_told_once_a_period_on_the_emulator
);
