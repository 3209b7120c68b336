//! Developer accounts through the HTTP API on the emulator: password reset, enumeration, isolation,
//! search, approval, throttling, suspicious logins, and no secret in any log line.

use gatehouse::domain::{now_epoch, now_epoch_millis, DeveloperId, OrgId};
use gatehouse::secret::token_hash;
use gatehouse::store::sessions::{self, ResetToken};
use gatehouse_tests::*;
use serde_json::{json, Value};
use std::time::Duration;

const NEW_PASSWORD: &str = "a different long password";

async fn login(app: &TestApp, org: &str, email: &str, password: &str) -> reqwest::Response {
    app.post_json(
        &format!("/portal/{org}/login"),
        None,
        &json!({"email": email, "password": password}),
    )
    .await
}

async fn session(app: &TestApp, org: &str, email: &str, password: &str) -> String {
    let response = login(app, org, email, password).await;
    assert_eq!(response.status(), 200, "login of {email}");
    response.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn me(app: &TestApp, org: &str, token: &str) -> reqwest::Response {
    app.http
        .get(app.url(&format!("/portal/{org}/me")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// An email to `to` whose text contains `needle` (quoted-printable undone: a long line, such as a
/// link naming its organisation, is encoded), once it has arrived.
async fn email_with(app: &TestApp, to: &str, needle: &str) -> String {
    eventually(Duration::from_secs(20), || async {
        app.emails_to(to)
            .await
            .into_iter()
            .find(|m| mail_text(m).contains(needle))
    })
    .await
    .unwrap_or_else(|| panic!("no email to {to} containing {needle:?}"))
}

/// Asks for a password reset email for `email` of `org`: accepted (202) whether or not it has an
/// account.
async fn request_reset(app: &TestApp, org: &str, email: &str) {
    let requested = app
        .post_json(&format!("/portal/{org}/password-reset"), None, &json!({"email": email}))
        .await;
    assert_eq!(requested.status(), 202);
}

async fn signed_up(app: &TestApp, org: &str) -> String {
    let email = unique_email();
    assert_eq!(app.sign_up(org, &email).await.status(), 202);
    email
}

on_both_backends!(
    organisations_sharing_the_portal_get_links_that_name_them,
    organisations_sharing_the_portal_get_links_that_name_them_embedded,
    organisations_sharing_the_portal_get_links_that_name_them_on_the_emulator
);

/// Two organisations without a portal of their own share the deployment's: each emailed link
/// names its organisation (`{PORTAL_URL}/o/{org}/…`), and the organisation a portal reads from the
/// link is the one whose route takes the token.
async fn organisations_sharing_the_portal_get_links_that_name_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let acme = app.create_org(json!({"name": "Acme"})).await;
    let beta = app.create_org(json!({"name": "Beta"})).await;
    for (org, other) in [(&acme, &beta), (&beta, &acme)] {
        let email = signed_up(&app, &org.id).await;
        request_reset(&app, &org.id, &email).await;
        let mail = email_with(&app, &email, "reset-password?token=").await;
        let page = format!("https://portal.example.com/o/{}/reset-password?token=", org.id);
        let link = find_link(&mail, &page).unwrap_or_else(|| panic!("no link naming {}: {mail}", org.id));
        // What a portal does with it: the organisation from the path, the token from the query.
        let path = link.strip_prefix("https://portal.example.com/o/").unwrap();
        let (linked_org, rest) = path.split_once('/').unwrap();
        let token = rest.split("token=").nth(1).unwrap().to_string();
        let complete = |org: &str| {
            let (app, token) = (&app, token.clone());
            let path = format!("/portal/{org}/password-reset/complete");
            async move {
                app.post_json(&path, None, &json!({"token": token, "password": NEW_PASSWORD}))
                    .await
                    .status()
            }
        };
        assert_eq!(
            complete(&other.id).await,
            400,
            "another organisation's route refuses the token"
        );
        assert_eq!(complete(linked_org).await, 200);
        session(&app, &org.id, &email, NEW_PASSWORD).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_reset_end_to_end() {
    let app = spawn_app(Backend::Emulator).await;
    let org = app
        .create_org(json!({"name": "Acme", "settings": {"portal_url": "https://developers.acme.example"}}))
        .await;
    let email = signed_up(&app, &org.id).await;
    let old_session = session(&app, &org.id, &email, PASSWORD).await;
    assert_eq!(me(&app, &org.id, &old_session).await.status(), 200);

    request_reset(&app, &org.id, &email).await;
    let mail = email_with(&app, &email, "Reset your Acme portal password").await;
    let link = find_link(&mail, "https://developers.acme.example/reset-password?token=").expect("a reset link");
    let token = link.split("token=").nth(1).unwrap().to_string();
    assert!(token.starts_with("gh_reset_") && token.len() > 50, "{token}");

    let complete = |token: String, password: &'static str| {
        let app = &app;
        let path = format!("/portal/{}/password-reset/complete", org.id);
        async move {
            app.post_json(&path, None, &json!({"token": token, "password": password}))
                .await
        }
    };
    assert_eq!(complete(token.clone(), NEW_PASSWORD).await.status(), 200);

    assert_eq!(
        login(&app, &org.id, &email, PASSWORD).await.status(),
        401,
        "the old password no longer works"
    );
    session(&app, &org.id, &email, NEW_PASSWORD).await;
    assert_eq!(
        me(&app, &org.id, &old_session).await.status(),
        401,
        "sessions from before the reset ended"
    );

    let reused = complete(token.clone(), "yet another long password").await;
    assert_eq!(reused.status(), 400, "a token works once");
    let problem: Value = reused.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "token");

    // An expired token (its record still there, as TTL deletion is lazy) is refused too.
    let developer: Value = me(&app, &org.id, &session(&app, &org.id, &email, NEW_PASSWORD).await)
        .await
        .json()
        .await
        .unwrap();
    let expired = "gh_reset_expired_token_for_the_test_000000000000";
    let write = sessions::issue_reset(
        &OrgId::parse(&org.id).unwrap(),
        &token_hash(expired),
        &ResetToken {
            account_id: DeveloperId::parse(developer["id"].as_str().unwrap())
                .unwrap()
                .to_string(),
            expires_at: now_epoch() - 1,
            issued_at: now_epoch_millis(),
            confirms_email: false,
        },
    );
    app.local.services.store.transact(vec![write]).await.unwrap();
    assert_eq!(
        complete(expired.to_string(), "yet another long password")
            .await
            .status(),
        400
    );
    session(&app, &org.id, &email, NEW_PASSWORD).await;

    email_with(&app, &email, "password was changed").await;
    // The reset link reached only the developer: not the table in plain text, not a log line.
    assert!(!logged().contains(&token));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_do_not_tell_whether_an_email_has_an_account() {
    let app = spawn_app(Backend::Emulator).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let known = signed_up(&app, &org.id).await;
    let unknown = unique_email();

    let reset = |email: String| {
        let app = &app;
        let path = format!("/portal/{}/password-reset", org.id);
        async move {
            let r = app.post_json(&path, None, &json!({"email": email})).await;
            (
                r.status(),
                r.headers().get("content-type").cloned(),
                r.text().await.unwrap(),
            )
        }
    };
    assert_eq!(reset(known.clone()).await, reset(unknown.clone()).await);

    let sign_up = |email: String| {
        let app = &app;
        let org = org.id.clone();
        async move {
            let r = app.sign_up(&org, &email).await;
            (
                r.status(),
                r.headers().get("content-type").cloned(),
                r.text().await.unwrap(),
            )
        }
    };
    assert_eq!(sign_up(known.clone()).await, sign_up(unique_email()).await);

    let wrong_password = login(&app, &org.id, &known, "not the password at all").await;
    let no_account = login(&app, &org.id, &unknown, "not the password at all").await;
    assert_eq!(wrong_password.status(), no_account.status());
    assert_eq!(wrong_password.text().await.unwrap(), no_account.text().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_organisation_gets_404_and_changes_nothing() {
    let app = spawn_app(Backend::Emulator).await;
    let a = app.create_org(json!({"name": "A"})).await;
    let b = app
        .create_org(json!({"name": "B", "settings": {"signup_fields": [{"name": "company"}]}}))
        .await;
    let a_email = signed_up(&app, &a.id).await;
    let a_session = session(&app, &a.id, &a_email, PASSWORD).await;
    let b_email = signed_up(&app, &b.id).await;
    let b_session = session(&app, &b.id, &b_email, PASSWORD).await;
    let b_before: Value = me(&app, &b.id, &b_session).await.json().await.unwrap();
    let b_dev = b_before["id"].as_str().unwrap().to_string();

    let developer_routes = [
        ("GET", format!("/portal/{}/me", b.id)),
        ("PATCH", format!("/portal/{}/me", b.id)),
        ("POST", format!("/portal/{}/logout", b.id)),
    ];
    let admin_routes = [
        ("GET", format!("/orgs/{}", b.id)),
        ("PATCH", format!("/orgs/{}", b.id)),
        ("GET", format!("/orgs/{}/developers?email=", b.id)),
        ("GET", format!("/orgs/{}/developers/{b_dev}", b.id)),
        ("PATCH", format!("/orgs/{}/developers/{b_dev}", b.id)),
        ("DELETE", format!("/orgs/{}/developers/{b_dev}", b.id)),
    ];
    let body = json!({"fields": {"company": "Taken over"}, "name": "Taken over"});
    for (caller, token, routes) in [
        ("developer", &a_session, &developer_routes[..]),
        ("admin", &a.admin_key, &admin_routes[..]),
    ] {
        for (method, path) in routes {
            let mut request = app
                .http
                .request(method.parse().unwrap(), app.url(path))
                .bearer_auth(token);
            if *method == "PATCH" {
                let patch = if path.contains("/developers/") {
                    json!({"fields": {"company": "Taken over"}})
                } else {
                    body.clone()
                };
                request = request.json(&patch);
            }
            let status = request.send().await.unwrap().status();
            assert_eq!(status, 404, "{caller} of A: {method} {path}");
        }
    }
    let b_after: Value = me(&app, &b.id, &b_session).await.json().await.unwrap();
    assert_eq!(b_before, b_after, "nothing of B's developer changed");
    let org_b: Value = app
        .http
        .get(app.url(&format!("/orgs/{}", b.id)))
        .bearer_auth(&b.admin_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(org_b["name"], "B");
    // And A's own developer is still fine.
    assert_eq!(me(&app, &a.id, &a_session).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_search_developers_by_email_prefix_across_pages() {
    let app = spawn_app(Backend::Emulator).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let run = unique("r");
    let mut wanted = Vec::new();
    for name in ["carol", "alice", "Bob", "alina", "alfred"] {
        let email = format!("{name}.{run}@example.com");
        assert_eq!(app.sign_up(&org.id, &email).await.status(), 202);
        if name.to_lowercase().starts_with("al") {
            wanted.push(email);
        }
    }
    wanted.sort_by_key(|e| e.to_lowercase());

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut url = format!("/orgs/{}/developers?email=AL&limit=2", org.id);
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page: Value = app
            .http
            .get(app.url(&url))
            .bearer_auth(&org.admin_key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        pages += 1;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|d| d["email"].as_str().unwrap().to_string()));
        assert!(items
            .iter()
            .all(|d| d.get("password_hash").is_none() && d["gravatar_url"].is_string()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, wanted, "every match once, in email order");
    assert_eq!(pages, 2);
    let bad = app
        .http
        .get(app.url(&format!("/orgs/{}/developers?cursor=!!", org.id)))
        .bearer_auth(&org.admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_approval_sign_ups_wait_for_an_admin() {
    let app = spawn_app(Backend::Emulator).await;
    let org = app
        .create_org(json!({"name": "Acme", "settings": {"signup_mode": "admin_approval", "signup_fields": [{"name": "company", "required": true}]}}))
        .await;
    let email = unique_email();
    let missing = app
        .post_json(
            &format!("/portal/{}/signup", org.id),
            None,
            &json!({"email": email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(missing.status(), 400);
    let problem: Value = missing.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "fields.company");
    let ok = app
        .post_json(
            &format!("/portal/{}/signup", org.id),
            None,
            &json!({"email": email, "password": PASSWORD, "fields": {"company": "Initech"}}),
        )
        .await;
    assert_eq!(ok.status(), 202);
    email_with(&app, &email, "waiting for approval").await;
    assert_eq!(
        login(&app, &org.id, &email, PASSWORD).await.status(),
        403,
        "pending accounts cannot log in"
    );

    let found: Value = app
        .http
        .get(app.url(&format!("/orgs/{}/developers?email={email}", org.id)))
        .bearer_auth(&org.admin_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let developer = &found["items"][0];
    assert_eq!(developer["status"], "pending");
    assert_eq!(developer["fields"]["company"], "Initech");
    let approved = app
        .http
        .patch(app.url(&format!(
            "/orgs/{}/developers/{}",
            org.id,
            developer["id"].as_str().unwrap()
        )))
        .bearer_auth(&org.admin_key)
        .json(&json!({"status": "active"}))
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), 200);
    email_with(&app, &email, "is approved").await;
    let token = session(&app, &org.id, &email, PASSWORD).await;
    let edited = app
        .http
        .patch(app.url(&format!("/portal/{}/me", org.id)))
        .bearer_auth(&token)
        .json(&json!({"fields": {"company": "Initrode"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(edited.status(), 200);
    assert_eq!(edited.json::<Value>().await.unwrap()["fields"]["company"], "Initrode");
    let bad_edit = app
        .http
        .patch(app.url(&format!("/portal/{}/me", org.id)))
        .bearer_auth(&token)
        .json(&json!({"fields": {"company": null, "nope": 1}}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_edit.status(), 400);
    let logout = app
        .http
        .post(app.url(&format!("/portal/{}/logout", org.id)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    assert_eq!(me(&app, &org.id, &token).await.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_are_throttled_and_a_new_address_after_failures_is_reported() {
    let app = spawn_app(Backend::Emulator).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let email = signed_up(&app, &org.id).await;
    // A first login from 127.0.0.1 makes that address known.
    session(&app, &org.id, &email, PASSWORD).await;

    let path = app.url(&format!("/portal/{}/login", org.id));
    let attacker = client_from([127, 0, 0, 7]);
    for _ in 0..3 {
        let r = attacker
            .post(&path)
            .json(&json!({"email": email, "password": "wrong password guess"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    // The right password from yet another address after those failures: allowed, and reported.
    let new_place = client_from([127, 0, 0, 8]);
    let ok = new_place
        .post(&path)
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let alert = email_with(&app, &email, "New sign-in").await;
    assert!(alert.contains("127.0.0.8"), "the email names the new address");
    assert!(alert.contains("after 3 failed attempts"));

    // Per account: the sixth failure in the window is refused before the password is checked.
    for _ in 0..5 {
        attacker
            .post(&path)
            .json(&json!({"email": email, "password": "wrong password guess"}))
            .send()
            .await
            .unwrap();
    }
    let locked = new_place
        .post(&path)
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(locked.status(), 429);
    assert!(
        locked.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 0
    );

    // Per address: one source trying many accounts is stopped too.
    let sprayer = client_from([127, 0, 0, 9]);
    let mut statuses = Vec::new();
    for _ in 0..21 {
        let r = sprayer
            .post(&path)
            .json(&json!({"email": unique_email(), "password": "wrong password guess"}))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses[..20], [401; 20]);
    assert_eq!(statuses[20], 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_a_log_line() {
    let app = spawn_app(Backend::Emulator).await;
    let receiver = WebhookReceiver::start(vec![200]).await;
    let org = app
        .create_org(json!({"name": "Acme", "event_options": {"developer_event": {"webhook": receiver.url()}}}))
        .await;
    let email = signed_up(&app, &org.id).await;
    let token = session(&app, &org.id, &email, PASSWORD).await;
    let _ = login(&app, &org.id, &email, "a wrong password here").await;
    app.post_json(
        &format!("/portal/{}/password-reset", org.id),
        None,
        &json!({"email": email}),
    )
    .await;
    let mail = email_with(&app, &email, "reset-password?token=").await;
    let reset = find_link(&mail, "http")
        .unwrap()
        .split("token=")
        .nth(1)
        .unwrap()
        .to_string();
    let path = format!("/portal/{}/password-reset/complete", org.id);
    assert_eq!(
        app.post_json(&path, None, &json!({"token": reset, "password": NEW_PASSWORD}))
            .await
            .status(),
        200
    );
    eventually(Duration::from_secs(20), || async {
        (receiver.received().len() >= 3).then_some(())
    })
    .await;

    let hooks = receiver.received();
    assert!(hooks
        .iter()
        .any(|h| h.json()["event"] == "developer_event.password_reset_requested"));
    for hook in &hooks {
        let body = String::from_utf8_lossy(&hook.body);
        assert!(
            !body.contains(&reset) && !body.contains("enc:v1:"),
            "a webhook carried the reset link: {body}"
        );
    }

    let logs = logged();
    assert!(logs.contains("developer logged in"), "the capture works");
    let stored: Vec<_> = app
        .org_records(&org.id)
        .await
        .into_iter()
        .filter(|r| r["SK"] == "DEV")
        .collect();
    let password_hash = stored[0]["password_hash"].as_str().unwrap().to_string();
    for secret in [
        PASSWORD,
        NEW_PASSWORD,
        "a wrong password here",
        &token,
        &reset,
        &org.admin_key,
        &org.webhook_secret,
        &password_hash,
    ] {
        assert!(!logs.contains(secret), "a secret reached the logs: {secret}");
        assert!(!logs.contains(&token_hash(secret)), "a secret's hash reached the logs");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_only_portals_take_accounts_from_admins() {
    let app = spawn_app(Backend::Emulator).await;
    let org = app
        .create_org(json!({"name": "Acme", "settings": {"signup_mode": "invite_only"}}))
        .await;
    let email = unique_email();
    assert_eq!(app.sign_up(&org.id, &email).await.status(), 403);

    let invite = |body: Value| {
        let app = &app;
        let path = format!("/orgs/{}/developers", org.id);
        let key = org.admin_key.clone();
        async move { app.post_json(&path, Some(&key), &body).await }
    };
    let created = invite(json!({"email": email})).await;
    assert_eq!(created.status(), 201);
    assert_eq!(created.json::<Value>().await.unwrap()["email"], email.as_str());
    assert_eq!(invite(json!({"email": email.to_uppercase()})).await.status(), 409);
    assert_eq!(invite(json!({"email": "nope"})).await.status(), 400);

    // No password works until the developer chooses one through the emailed link.
    assert_eq!(login(&app, &org.id, &email, PASSWORD).await.status(), 401);
    let mail = email_with(&app, &email, "You are invited").await;
    assert!(mail.contains("within 7 days"));
    let link = find_link(
        &mail,
        &format!("http://127.0.0.1:3000/o/{}/reset-password?token=", org.id),
    )
    .or_else(|| {
        find_link(
            &mail,
            &format!("https://portal.example.com/o/{}/reset-password?token=", org.id),
        )
    });
    let token = link
        .expect("a set-password link")
        .split("token=")
        .nth(1)
        .unwrap()
        .to_string();
    let chosen = app
        .post_json(
            &format!("/portal/{}/password-reset/complete", org.id),
            None,
            &json!({"token": token, "password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(chosen.status(), 200);
    session(&app, &org.id, &email, NEW_PASSWORD).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_email_in_two_organisations_is_two_accounts() {
    let app = spawn_app(Backend::Emulator).await;
    let a = app.create_org(json!({"name": "A"})).await;
    let b = app.create_org(json!({"name": "B"})).await;
    let email = unique_email();
    assert_eq!(app.sign_up(&a.id, &email).await.status(), 202);
    let other_password = "the password for B only";
    let signed = app
        .post_json(
            &format!("/portal/{}/signup", b.id),
            None,
            &json!({"email": email, "password": other_password}),
        )
        .await;
    assert_eq!(signed.status(), 202);
    let in_a: Value = me(&app, &a.id, &session(&app, &a.id, &email, PASSWORD).await)
        .await
        .json()
        .await
        .unwrap();
    let in_b: Value = me(&app, &b.id, &session(&app, &b.id, &email, other_password).await)
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(in_a["id"], in_b["id"]);
    assert_eq!(
        login(&app, &a.id, &email, other_password).await.status(),
        401,
        "B's password is not A's"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_change_emails_and_remove_developers_with_their_sessions() {
    let app = spawn_app(Backend::Emulator).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let email = signed_up(&app, &org.id).await;
    let other = signed_up(&app, &org.id).await;
    let token = session(&app, &org.id, &email, PASSWORD).await;
    let id = me(&app, &org.id, &token).await.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/orgs/{}/developers/{id}", org.id);
    let patch = |body: Value| {
        let (app, path, key) = (&app, path.clone(), org.admin_key.clone());
        async move {
            app.http
                .patch(app.url(&path))
                .bearer_auth(key)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };

    assert_eq!(
        patch(json!({"email": other.to_uppercase()})).await.status(),
        409,
        "another account has it"
    );
    let moved = unique_email();
    assert_eq!(patch(json!({"email": moved})).await.status(), 200);
    assert_eq!(
        login(&app, &org.id, &email, PASSWORD).await.status(),
        401,
        "the old email no longer signs in"
    );
    let token = session(&app, &org.id, &moved, PASSWORD).await;
    let viewed: Value = app
        .http
        .get(app.url(&path))
        .bearer_auth(&org.admin_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(viewed["email"], moved.as_str());

    let removed = app
        .http
        .delete(app.url(&path))
        .bearer_auth(&org.admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 204);
    assert_eq!(
        me(&app, &org.id, &token).await.status(),
        401,
        "the removed developer's sessions ended"
    );
    assert_eq!(
        app.http
            .get(app.url(&path))
            .bearer_auth(&org.admin_key)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    // The address is free again: a new sign-up makes a new account.
    assert_eq!(app.sign_up(&org.id, &moved).await.status(), 202);
    session(&app, &org.id, &moved, PASSWORD).await;
}

/// Two API instances on one table: the one that cached the organisation a moment ago (its catalog
/// read) still refuses a sign-up at once after the other turned sign-ups off, since what decides
/// about security reads the organisation exactly; its catalog may be a few seconds old.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_organisation_never_decides_a_sign_up() {
    let config = test_config(Backend::Emulator);
    let first = spawn_app_with(config.clone()).await;
    let second = spawn_app_without_workers(config).await;
    let org = first.create_org(json!({"name": "Acme"})).await;
    let catalog = format!("/portal/{}/catalog", org.id);
    let read = second.http.get(second.url(&catalog)).send().await.unwrap();
    assert_eq!(read.status(), 200, "the second instance now holds the organisation");

    let patched = first
        .http
        .patch(first.url(&format!("/orgs/{}", org.id)))
        .bearer_auth(&org.admin_key)
        .json(&json!({"settings": {"disable_signup": true}}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    let refused = second.sign_up(&org.id, &unique_email()).await;
    assert_eq!(
        refused.status(),
        403,
        "refused at once by the instance that cached the organisation"
    );
}

/// Busy portal reads do not all land on the organisation's partition: the catalog read again
/// within `ORG_CACHE_SECS` does not read the organisation, and with the cache off every read does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portal_reads_reuse_the_organisation_for_a_few_seconds() {
    for (ttl, expected) in [(5, 1), (0, 3)] {
        let mut config = test_config(Backend::Embedded);
        config.org_cache_ttl = Duration::from_secs(ttl);
        let app = spawn_app_with(config).await;
        let org = app.create_org(json!({"name": "Acme"})).await;
        let memory = app.local.memory_store.clone().expect("the embedded store");
        let org_key = gatehouse::store::table_keys::org(&OrgId::parse(&org.id).unwrap());
        memory.record_reads();
        for _ in 0..3 {
            let read = app
                .http
                .get(app.url(&format!("/portal/{}/catalog", org.id)))
                .send()
                .await
                .unwrap();
            assert_eq!(read.status(), 200);
        }
        let reads = memory.reads().into_iter().filter(|k| *k == org_key).count();
        assert_eq!(
            reads, expected,
            "ORG_CACHE_SECS={ttl}: the organisation read {reads} times"
        );
    }
}

/// What a portal needs before anyone logs in comes from one public route: the organisation's name,
/// whether it takes sign-ups and logins, the fields of its forms and its languages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_portal_reads_its_forms_before_anyone_logs_in() {
    let app = spawn_app(Backend::Embedded).await;
    let org = app
        .create_org(json!({"name": "Acme Payments", "settings": {
            "signup_mode": "admin_approval",
            "default_locale": "de",
            "signup_fields": [{"name": "company", "label": "Company", "required": true}],
            "key_request_fields": [{"name": "use_case", "type": "text"}, {"name": "seats", "type": "number"}],
        }}))
        .await;
    let face = |org: String| {
        let app = &app;
        async move { app.send("GET", &format!("/portal/{org}"), "", None).await }
    };
    let (status, body) = face(org.id.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], org.id.as_str());
    assert_eq!(body["name"], "Acme Payments");
    assert_eq!(body["signup"], "admin_approval");
    assert_eq!(body["login"], true);
    assert_eq!(body["default_locale"], "de");
    assert_eq!(
        body["signup_fields"],
        json!([{"name": "company", "type": "text", "required": true, "label": "Company"}])
    );
    assert_eq!(body["key_request_fields"][1]["type"], "number");
    let locales: Vec<&str> = body["locales"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(locales.contains(&"en") && locales.contains(&"de"), "{locales:?}");
    // Nothing secret or administrative is in it.
    for hidden in [
        "webhook_secret",
        "event_options",
        "settings",
        "admin_email",
        "key_request_webhook",
    ] {
        assert!(!body.to_string().contains(hidden), "{hidden} in {body}");
    }

    let (status, _) = app
        .admin(
            &org,
            "PATCH",
            "",
            Some(json!({"settings": {"disable_signup": true, "disable_login": true}})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, body) = face(org.id.clone()).await;
    assert_eq!(
        (body["signup"].as_str(), body["login"].as_bool()),
        (Some("closed"), Some(false))
    );

    let (status, body) = face("no-such-org".into()).await;
    assert_eq!(status, 404);
    assert_eq!(body["status"], 404);
}
