//! Bad input is refused with problem+json naming the field, and changes nothing.

use gatehouse_tests::*;
use serde_json::{json, Value};
use std::time::Duration;

async fn problem(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status);
    assert!(body["title"].is_string() && body["type"].is_string() && body["detail"].is_string());
    body
}

fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_string())
        .collect()
}

/// How many records of `kind` the organisation holds (sort key `kind`, or `kind#…` in its
/// partition).
async fn count(app: &TestApp, org: &str, kind: &str) -> usize {
    let nested = format!("{kind}#");
    app.org_records(org)
        .await
        .iter()
        .filter(|r| r["SK"].as_str().is_some_and(|sk| sk == kind || sk.starts_with(&nested)))
        .count()
}

async fn duplicate_and_bad_sign_ups(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let email = unique_email();
    let first = app.sign_up(&org.id, &email).await;
    let first = (first.status(), first.text().await.unwrap());
    assert_eq!(first.0, 202);

    // A duplicate (in any case) gets the very answer a new sign-up gets, so the answer tells nobody
    // whether the email has an account; no second account is made, and the owner is told instead.
    let shouted = email.to_uppercase();
    let again = app.sign_up(&org.id, &shouted).await;
    assert_eq!((again.status(), again.text().await.unwrap()), first);
    assert_eq!(count(&app, &org.id, "DEV").await, 1, "the duplicate wrote no developer");
    assert_eq!(count(&app, &org.id, "DEVEMAIL").await, 1);
    let notice = eventually(Duration::from_secs(20), || async {
        app.emails_to(&email)
            .await
            .into_iter()
            .find(|m| m.contains("Someone tried to sign up"))
    })
    .await;
    assert!(
        notice.is_some(),
        "the account's owner was told of the attempt; logs:\n{}",
        logged()
    );

    let path = format!("/portal/{}/signup", org.id);
    let raw = app
        .http
        .post(app.url(&path))
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    problem(raw, 400).await;

    let body = problem(
        app.post_json(
            &path,
            None,
            &json!({"email": "not-an-email", "password": "a long enough password"}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(fields(&body), ["email"]);
    let body = problem(
        app.post_json(&path, None, &json!({"email": unique_email(), "password": "short"}))
            .await,
        400,
    )
    .await;
    assert_eq!(fields(&body), ["password"]);
    let body = problem(
        app.post_json(&path, None, &json!({"email": 5, "password": "a long enough password"}))
            .await,
        400,
    )
    .await;
    assert_eq!(fields(&body), ["email"]);
    let body = problem(
        app.post_json(
            &path,
            None,
            &json!({"email": unique_email(), "password": "a long enough password", "fields": {"team": ["a"]}}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(fields(&body), ["fields.team"]);
    problem(app.sign_up("no-such-org", &unique_email()).await, 404).await;
    let text = app.http.post(app.url(&path)).body("email=x").send().await.unwrap();
    problem(text, 415).await;

    assert_eq!(count(&app, &org.id, "DEV").await, 1, "no bad request wrote anything");
    assert_eq!(
        count(&app, &org.id, "EVENT").await,
        2,
        "the sign-up and the owner's notice, nothing more"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_and_bad_sign_ups_on_the_emulator() {
    duplicate_and_bad_sign_ups(Backend::Emulator).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_and_bad_sign_ups_embedded() {
    duplicate_and_bad_sign_ups(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organisations_need_the_right_key_and_valid_settings() {
    let app = spawn_app(Backend::Emulator).await;
    problem(app.post_json("/orgs", None, &json!({"name": "x"})).await, 401).await;
    problem(
        app.post_json("/orgs", Some("gh_root_wrong_wrong_wrong_wrong"), &json!({"name": "x"}))
            .await,
        401,
    )
    .await;
    let body = problem(
        app.post_json(
            "/orgs",
            Some(&app.root_key()),
            &json!({"id": "Bad Id", "event_options": {"key_event": {"webhook": "ftp://x"}, "nope": {}}}),
        )
        .await,
        400,
    )
    .await;
    let mut got = fields(&body);
    got.sort();
    assert_eq!(
        got,
        ["event_options.key_event.webhook", "event_options.nope", "id", "name"]
    );

    let id = unique("acme");
    let a = app.create_org(json!({"id": id, "name": "Acme"})).await;
    assert_eq!(a.id, id);
    assert!(a.admin_key.starts_with(&format!("gh_admin_{id}.")));
    assert!(a.webhook_secret.starts_with("whsec_"));
    problem(
        app.post_json("/orgs", Some(&app.root_key()), &json!({"id": id, "name": "Again"}))
            .await,
        409,
    )
    .await;
    let b = app.create_org(json!({"name": "Beta"})).await;

    // Read and change settings with the org's own admin key.
    let read = app
        .http
        .get(app.url(&format!("/orgs/{}", a.id)))
        .bearer_auth(&a.admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let read: Value = read.json().await.unwrap();
    assert_eq!(read["name"], "Acme");
    assert!(read.get("webhook_secret").is_none() && read.get("webhook_secret_sealed").is_none());
    let patched = app
        .http
        .patch(app.url(&format!("/orgs/{}", a.id)))
        .bearer_auth(&a.admin_key)
        .json(&json!({"settings": {"disable_signup": true}, "event_options": {"api_event": {"email": "ops@example.com"}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    let patched: Value = patched.json().await.unwrap();
    assert_eq!(patched["settings"]["disable_signup"], true);
    assert_eq!(patched["event_options"]["api_event"]["email"], "ops@example.com");
    problem(app.sign_up(&a.id, &unique_email()).await, 403).await;
    let bad_patch = app
        .http
        .patch(app.url(&format!("/orgs/{}", a.id)))
        .bearer_auth(&a.admin_key)
        .json(&json!({"settings": {"disable_sign_up": true}}))
        .send()
        .await
        .unwrap();
    assert_eq!(fields(&problem(bad_patch, 400).await), ["settings.disable_sign_up"]);

    // Another organisation's admin gets 404, and a made-up key 401; nothing of A changes.
    let other = app
        .http
        .get(app.url(&format!("/orgs/{}", a.id)))
        .bearer_auth(&b.admin_key)
        .send()
        .await
        .unwrap();
    problem(other, 404).await;
    let other_patch = app
        .http
        .patch(app.url(&format!("/orgs/{}", a.id)))
        .bearer_auth(&b.admin_key)
        .json(&json!({"name": "Taken over"}))
        .send()
        .await
        .unwrap();
    problem(other_patch, 404).await;
    let forged = format!("gh_admin_{}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", a.id);
    let forged = app
        .http
        .get(app.url(&format!("/orgs/{}", a.id)))
        .bearer_auth(forged)
        .send()
        .await
        .unwrap();
    problem(forged, 401).await;
    let again: Value = app
        .http
        .get(app.url(&format!("/orgs/{}", a.id)))
        .bearer_auth(&a.admin_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["name"], "Acme");

    let health = app.http.get(app.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    problem(app.http.get(app.url("/nowhere")).send().await.unwrap(), 404).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn addresses_the_mailer_would_refuse_are_refused_everywhere_they_enter() {
    let app = spawn_app(Backend::Embedded).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let bad = [
        ".a@example.com",
        "a.@example.com",
        "a\u{200B}b@example.com",
        "ad\u{202E}min@example.com",
    ];
    for address in bad {
        let body = problem(app.sign_up(&org.id, address).await, 400).await;
        assert_eq!(fields(&body), ["email"], "{address:?}");
        let invite = app
            .post_json(
                &format!("/orgs/{}/developers", org.id),
                Some(&org.admin_key),
                &json!({"email": address}),
            )
            .await;
        assert_eq!(fields(&problem(invite, 400).await), ["email"], "{address:?}");
        let settings = app
            .http
            .patch(app.url(&format!("/orgs/{}", org.id)))
            .bearer_auth(&org.admin_key)
            .json(&json!({"settings": {"admin_email": address}, "event_options": {"key_event": {"email": address}}}))
            .send()
            .await
            .unwrap();
        let fields = fields(&problem(settings, 400).await);
        assert!(fields.contains(&"settings.admin_email".to_string()), "{fields:?}");
    }
    assert_eq!(count(&app, &org.id, "DEV").await, 0, "no account was made");
    // Addresses that mail correctly keep working: international and quoted ones.
    for good in ["jörg@bücher.example", "\"quoted.name\"@example.com"] {
        assert_eq!(app.sign_up(&org.id, good).await.status(), 202, "{good}");
    }
    assert_eq!(count(&app, &org.id, "DEV").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urls_with_line_breaks_are_refused_and_never_handed_back() {
    let app = spawn_app(Backend::Embedded).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let patch = |settings: Value| {
        app.http
            .patch(app.url(&format!("/orgs/{}", org.id)))
            .bearer_auth(&org.admin_key)
            .json(&json!({ "settings": settings }))
            .send()
    };
    for (name, value) in [
        ("portal_url", "https://portal.example.com/\r\nSet-Cookie: a=b"),
        (
            "redirect_to",
            "https://apply.example.com/\nLocation: https://evil.example",
        ),
        ("redirect_to", "https://apply.example.com/\tx"),
    ] {
        let body = problem(patch(json!({ name: value })).await.unwrap(), 400).await;
        assert_eq!(fields(&body), [format!("settings.{name}")], "{value:?}");
    }
    let created = app
        .post_json(
            "/orgs",
            Some(&app.root_key()),
            &json!({"name": "Other", "settings": {"portal_url": "https://x.example.com/\r\n"}}),
        )
        .await;
    assert_eq!(fields(&problem(created, 400).await), ["settings.portal_url"]);
    let (_, read) = app
        .send("GET", &format!("/orgs/{}", org.id), &org.admin_key, None)
        .await;
    assert!(read["settings"]["portal_url"].is_null() && read["settings"]["redirect_to"].is_null());
    // A catalog entry's redirect too.
    let admin = |path: &str| format!("/orgs/{}{path}", org.id);
    let (_, api) = app
        .send(
            "POST",
            &admin("/apis"),
            &org.admin_key,
            Some(json!({"name": "Payments"})),
        )
        .await;
    let policy_body = json!({"name": "Gold", "api_ids": [api["id"]]});
    let (_, policy) = app
        .send("POST", &admin("/policies"), &org.admin_key, Some(policy_body))
        .await;
    let entry = app
        .post_json(
            &format!("/orgs/{}/catalog", org.id),
            Some(&org.admin_key),
            &json!({"name": "Payments", "api_id": api["id"], "policy_id": policy["id"], "approval": "redirect",
                    "redirect_to": "https://apply.example.com/\r\nx"}),
        )
        .await;
    assert_eq!(fields(&problem(entry, 400).await), ["redirect_to"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_is_413_and_changes_nothing() {
    let app = spawn_app(Backend::Embedded).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let big = json!({"email": unique_email(), "password": PASSWORD, "fields": {"bio": "x".repeat(70 * 1024)}});
    let body = problem(
        app.post_json(&format!("/portal/{}/signup", org.id), None, &big).await,
        413,
    )
    .await;
    assert_eq!(body["type"], "https://gatehouse.dev/problems/payload-too-large");
    assert_eq!(count(&app, &org.id, "DEV").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_parameters_and_content_types_are_refused_naming_them() {
    let app = spawn_app(Backend::Embedded).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let get = |query: &str| {
        app.http
            .get(app.url(&format!("/orgs/{}/apis?{query}", org.id)))
            .bearer_auth(&org.admin_key)
            .send()
    };
    // An unknown parameter is named, not ignored (a misspelt `limit` would silently do nothing).
    let unknown = problem(get("nonsense=1").await.unwrap(), 400).await;
    assert_eq!(fields(&unknown), ["nonsense"]);
    assert!(unknown["detail"].as_str().unwrap().contains("nonsense"), "{unknown}");
    // A value of the wrong type, or out of range, names its parameter.
    assert_eq!(fields(&problem(get("limit=many").await.unwrap(), 400).await), ["limit"]);
    assert_eq!(fields(&problem(get("limit=0").await.unwrap(), 400).await), ["limit"]);
    let deliveries = app
        .http
        .get(app.url(&format!("/orgs/{}/deliveries?status=lost", org.id)))
        .bearer_auth(&org.admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(fields(&problem(deliveries, 400).await), ["status"]);

    // A body that is not declared JSON is 415 naming the header, and creates nothing.
    let path = format!("/orgs/{}/apis", org.id);
    for content_type in [None, Some("text/plain"), Some("application/x-www-form-urlencoded")] {
        let mut request = app
            .http
            .post(app.url(&path))
            .bearer_auth(&org.admin_key)
            .body(r#"{"name": "Payments"}"#);
        if let Some(value) = content_type {
            request = request.header("content-type", value);
        }
        let refused = problem(request.send().await.unwrap(), 415).await;
        assert_eq!(fields(&refused), ["content-type"], "{content_type:?}");
        assert_eq!(refused["type"], "https://gatehouse.dev/problems/unsupported-media-type");
    }
    assert_eq!(count(&app, &org.id, "API").await, 0);

    // JSON's integral numbers are integers whichever way they are written.
    let created = app
        .post_json(
            &format!("/orgs/{}/policies", org.id),
            Some(&org.admin_key),
            &json!({"name": "Gold", "rate": {"requests": 10.0, "per_secs": 1}}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let fraction = app
        .post_json(
            &format!("/orgs/{}/policies", org.id),
            Some(&org.admin_key),
            &json!({"name": "Silver", "rate": {"requests": 10.5, "per_secs": 1}}),
        )
        .await;
    assert_eq!(fields(&problem(fraction, 400).await), ["rate.requests"]);
}
