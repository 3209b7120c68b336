//! Trust inside one organisation, tried as an attacker would through the HTTP API: a lesser role
//! cannot move where secrets go, an account's sessions and links end with the account's state, the
//! login limit holds under parallel guesses, a stranger cannot make Gatehouse mail a third person,
//! and secrets are shown once, uncached, to whoever needs them.

use std::time::Duration;

use futures::future::join_all;
use gatehouse::store::deliveries::{DeliveryStatus, WithheldReason};

use gatehouse_tests::*;
use serde_json::{json, Value};

/// The tokens of the reset links emailed to `to` so far, oldest first, once there are `count`.
async fn reset_tokens(app: &TestApp, to: &str, count: usize) -> Vec<String> {
    eventually(Duration::from_secs(60), || async {
        let tokens: Vec<String> = app
            .emails_to(to)
            .await
            .iter()
            .filter_map(|mail| link_token(mail, "reset-password?token="))
            .collect();
        (tokens.len() >= count).then_some(tokens)
    })
    .await
    .unwrap_or_else(|| panic!("{count} reset emails to {to}"))
}

/// A signed-up developer's session token.
async fn developer_session(app: &TestApp, org: &TestOrg, email: &str) -> String {
    assert_eq!(app.sign_up(&org.id, email).await.status(), 202);
    let (status, login) = app.log_in(&org.id, email).await;
    assert_eq!(status, 200, "{login}");
    login["token"].as_str().unwrap().to_string()
}

async fn developer_id(app: &TestApp, org: &TestOrg, session: &str) -> String {
    let (status, me) = app.send("GET", &format!("/portal/{}/me", org.id), session, None).await;
    assert_eq!(status, 200, "{me}");
    me["id"].as_str().unwrap().to_string()
}

async fn rejected_developer_loses_their_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let entry = app.catalog_entry(&org, Some("admin")).await;
    let email = unique_email();
    let session = developer_session(&app, &org, &email).await;
    let id = developer_id(&app, &org, &session).await;

    let (status, _) = app
        .admin(
            &org,
            "PATCH",
            &format!("/developers/{id}"),
            Some(json!({"status": "rejected"})),
        )
        .await;
    assert_eq!(status, 200);
    let me = app.send("GET", &format!("/portal/{}/me", org.id), &session, None).await;
    assert_eq!(me.0, 401, "a rejected developer's session is over: {me:?}");
    let request = json!({"catalog_id": entry["id"]});
    let asked = app
        .send(
            "POST",
            &format!("/portal/{}/key-requests", org.id),
            &session,
            Some(request),
        )
        .await;
    assert_eq!(asked.0, 401, "{asked:?}");
    let (status, _) = app.log_in(&org.id, &email).await;
    assert_eq!(status, 403, "nor may they log in again");

    // Made active again, they log in afresh; the old session stays over.
    let (status, _) = app
        .admin(
            &org,
            "PATCH",
            &format!("/developers/{id}"),
            Some(json!({"status": "active"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.send("GET", &format!("/portal/{}/me", org.id), &session, None)
            .await
            .0,
        401
    );
    assert_eq!(app.log_in(&org.id, &email).await.0, 200);
}

on_both_backends!(
    rejected_developer_loses_their_session,
    a_rejected_developer_loses_their_session_embedded,
    a_rejected_developer_loses_their_session_on_the_emulator
);

async fn complete_reset(app: &TestApp, path: &str, token: &str) -> (u16, Value) {
    let body = json!({"token": token, "password": "another long enough password"});
    app.send("POST", path, "", Some(body)).await
}

async fn older_reset_links_die_with_a_reset(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.create_org(json!({"name": "Acme"})).await;

    // A developer asks twice and completes with the second link.
    let email = unique_email();
    assert_eq!(app.sign_up(&org.id, &email).await.status(), 202);
    for _ in 0..2 {
        let asked = app
            .send(
                "POST",
                &format!("/portal/{}/password-reset", org.id),
                "",
                Some(json!({"email": email})),
            )
            .await;
        assert_eq!(asked.0, 202);
    }
    let tokens = reset_tokens(&app, &email, 2).await;
    let complete = format!("/portal/{}/password-reset/complete", org.id);
    assert_eq!(complete_reset(&app, &complete, &tokens[1]).await.0, 200);
    let (status, problem) = complete_reset(&app, &complete, &tokens[0]).await;
    assert_eq!(status, 400, "the older link died with the reset: {problem}");
    assert_eq!(problem["errors"][0]["field"], "token");

    // The same for an admin user.
    let admin = app.admin_user(&org, "admin").await;
    for _ in 0..2 {
        let asked = app
            .send(
                "POST",
                &format!("/orgs/{}/password-reset", org.id),
                "",
                Some(json!({"email": admin.email})),
            )
            .await;
        assert_eq!(asked.0, 202);
    }
    let tokens = reset_tokens(&app, &admin.email, 2).await;
    let complete = format!("/orgs/{}/password-reset/complete", org.id);
    assert_eq!(complete_reset(&app, &complete, &tokens[1]).await.0, 200);
    assert_eq!(complete_reset(&app, &complete, &tokens[0]).await.0, 400);
}

on_both_backends!(
    older_reset_links_die_with_a_reset,
    older_reset_links_die_with_a_reset_embedded,
    older_reset_links_die_with_a_reset_on_the_emulator
);

/// 40 wrong passwords for one email at once, each from its own source address, then the right one:
/// at most 5 are checked (401), the rest refused (429), and the right password, coming once the
/// limit is reached, does not get in.
async fn parallel_guesses_stay_within_the_limit(app: &TestApp, path: &str, email: &str) {
    let guesses = (0..40u8).map(|n| {
        let client = client_from([127, 0, 1, 10 + n]);
        let url = app.url(path);
        let body = json!({"email": email, "password": format!("wrong password number {n}")});
        async move { client.post(url).json(&body).send().await.unwrap().status().as_u16() }
    });
    let statuses = join_all(guesses).await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert!(checked <= 5, "{checked} guesses were checked: {statuses:?}");
    assert_eq!(checked + refused, 40, "{statuses:?}");
    let right = client_from([127, 0, 1, 60])
        .post(app.url(path))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 429, "the limit holds for the right password too");
}

async fn the_login_limit_holds_under_parallel_guesses(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let email = unique_email();
    assert_eq!(app.sign_up(&org.id, &email).await.status(), 202);
    parallel_guesses_stay_within_the_limit(&app, &format!("/portal/{}/login", org.id), &email).await;
    let admin = app.admin_user(&org, "owner").await;
    parallel_guesses_stay_within_the_limit(&app, &format!("/orgs/{}/login", org.id), &admin.email).await;
}

on_both_backends!(
    the_login_limit_holds_under_parallel_guesses,
    the_login_limit_holds_under_parallel_guesses_embedded,
    the_login_limit_holds_under_parallel_guesses_on_the_emulator
);

/// The first email to `to` whose text holds `needle`, as text (waits for it).
async fn email_saying(app: &TestApp, to: &str, needle: &str) -> String {
    eventually(Duration::from_secs(60), || async {
        app.emails_to(to)
            .await
            .iter()
            .map(|mail| mail_text(mail))
            .find(|text| text.contains(needle))
    })
    .await
    .unwrap_or_else(|| panic!("an email to {to} saying {needle:?}"))
}

/// Findings 1 and 3: where links, emails and webhooks go is the owners' to change, and every
/// owner is told of each change, old and new, a signing secret rotation included.
async fn only_owners_move_where_links_go(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let owner = app.admin_user(&org, "owner").await;
    let admin = app.admin_user(&org, "admin").await;
    let path = format!("/orgs/{}", org.id);
    let (_, before) = app.send("GET", &path, &owner.token, None).await;

    let moves = [
        (
            "settings.portal_url",
            json!({"settings": {"portal_url": "https://evil.example"}}),
        ),
        (
            "settings.admin_email",
            json!({"settings": {"admin_email": "thief@evil.example"}}),
        ),
        (
            "settings.redirect_to",
            json!({"settings": {"redirect_to": "https://evil.example"}}),
        ),
        (
            "settings.key_request_webhook",
            json!({"settings": {"key_request_webhook": "https://evil.example/hook"}}),
        ),
        (
            "event_options.key_event.webhook",
            json!({"event_options": {"key_event": {"webhook": "https://evil.example/hook"}}}),
        ),
        (
            "event_options.key_event.email",
            json!({"event_options": {"key_event": {"email": "thief@evil.example"}}}),
        ),
    ];
    for (field, body) in moves {
        let (status, problem) = app.send("PATCH", &path, &admin.token, Some(body)).await;
        assert_eq!(status, 403, "{field}: {problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains(field),
            "the refusal names {field}: {problem}"
        );
    }
    let (status, problem) = app
        .send(
            "POST",
            &format!("{path}/webhook-secret/rotate"),
            &admin.token,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 403, "{problem}");
    let (_, after) = app.send("GET", &path, &owner.token, None).await;
    assert_eq!(before["settings"], after["settings"], "nothing moved");
    assert_eq!(before["event_options"], after["event_options"]);
    // The admin role still changes the other settings.
    let (status, _) = app
        .send(
            "PATCH",
            &path,
            &admin.token,
            Some(json!({"settings": {"session_ttl_secs": 3600}})),
        )
        .await;
    assert_eq!(status, 200);

    // An owner may, and every owner hears of it with the old and the new value.
    let (status, changed) = app
        .send(
            "PATCH",
            &path,
            &owner.token,
            Some(json!({"settings": {"portal_url": "https://developers.acme.example/portal"}})),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    let told = email_saying(&app, &owner.email, "settings.portal_url").await;
    assert!(told.contains("https://developers.acme.example/portal"), "{told}");

    // Finding 3: a rotation of the signing secret is emailed to the owners too, without the secret.
    let (status, rotated) = app
        .send(
            "POST",
            &format!("{path}/webhook-secret/rotate"),
            &owner.token,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 200, "{rotated}");
    let told = email_saying(&app, &owner.email, "webhook_secret").await;
    assert!(!told.contains(rotated["webhook_secret"].as_str().unwrap()));
}

on_both_backends!(
    only_owners_move_where_links_go,
    only_owners_move_where_links_go_embedded,
    only_owners_move_where_links_go_on_the_emulator
);

/// Finding 2: a link base is an origin and a path; a query, a fragment or credentials are refused,
/// and links are built on the path.
async fn a_portal_url_is_an_origin_and_a_path(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    for bad in [
        "https://p.example/a?b=1",
        "https://p.example/#f",
        "https://user:pass@p.example/",
    ] {
        let (status, problem) = app
            .admin(&org, "PATCH", "", Some(json!({"settings": {"portal_url": bad}})))
            .await;
        assert_eq!(status, 400, "{bad}: {problem}");
        assert_eq!(problem["errors"][0]["field"], "settings.portal_url", "{problem}");
    }
    let (status, _) = app
        .admin(
            &org,
            "PATCH",
            "",
            Some(json!({"settings": {"portal_url": "https://p.example/dev/"}})),
        )
        .await;
    assert_eq!(status, 200);
    let email = unique_email();
    assert_eq!(app.sign_up(&org.id, &email).await.status(), 202);
    let (status, _) = app
        .send(
            "POST",
            &format!("/portal/{}/password-reset", org.id),
            "",
            Some(json!({"email": email})),
        )
        .await;
    assert_eq!(status, 202);
    let link = eventually(Duration::from_secs(30), || async {
        app.emails_to(&email)
            .await
            .iter()
            .filter(|mail| mail.contains("developer_event.password_reset_requested"))
            .find_map(|mail| find_link(mail, "https://p.example/"))
    })
    .await
    .expect("a reset link on the portal");
    assert!(
        link.starts_with("https://p.example/dev/reset-password?token="),
        "{link}"
    );
}

on_both_backends!(
    a_portal_url_is_an_origin_and_a_path,
    a_portal_url_is_an_origin_and_a_path_embedded,
    a_portal_url_is_an_origin_and_a_path_on_the_emulator
);

/// Finding 11: webhook URLs, whose query often holds the receiver's token, are shown in full to
/// owners and admins; approvers and viewers see origin and path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_owners_and_admins_read_webhook_urls_in_full() {
    let receiver = WebhookReceiver::start(vec![500]).await;
    let app = spawn_app(Backend::Embedded).await;
    let hook = format!("{}?token=s3cret-receiver-token", receiver.url());
    let org = app
        .create_org(json!({
            "name": "Acme",
            "settings": {"key_request_webhook": hook},
            "event_options": {"api_event": {"webhook": hook}},
        }))
        .await;
    let (status, _) = app.admin(&org, "POST", "/apis", Some(json!({"name": "Ledger"}))).await;
    assert_eq!(status, 201);
    // The failed delivery leaves an endpoint health record and a delivery log entry.
    let failing = eventually(Duration::from_secs(30), || async {
        let (_, endpoints) = app.admin(&org, "GET", "/webhook-endpoints", None).await;
        (endpoints["items"].as_array().is_some_and(|i| !i.is_empty())).then_some(endpoints)
    })
    .await
    .expect("the failing endpoint is recorded");
    assert_eq!(failing["items"][0]["url"], hook.as_str(), "the owner sees it whole");

    let reads = ["", "/webhook-endpoints", "/deliveries"];
    for role in ["admin", "approver", "viewer"] {
        let caller = app.admin_key(&org, role, role).await;
        let token = caller["key"].as_str().unwrap();
        let mut seen = String::new();
        for read in reads {
            let (status, answer) = app.send("GET", &format!("/orgs/{}{read}", org.id), token, None).await;
            if status == 403 {
                continue;
            }
            assert_eq!(status, 200, "{role} {read}: {answer}");
            seen.push_str(&answer.to_string());
        }
        assert!(seen.contains(&receiver.url()), "{role} sees origin and path: {seen}");
        assert_eq!(
            seen.contains("s3cret-receiver-token"),
            role == "admin",
            "{role}: {seen}"
        );
    }
}

/// Sends `body` with `token`: the status, the two cache headers and the answer.
async fn answer_with_cache_headers(
    app: &TestApp,
    path: &str,
    token: &str,
    body: Value,
) -> (u16, (String, String), Value) {
    let response = app
        .http
        .post(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let cache = (header("cache-control"), header("pragma"));
    (response.status().as_u16(), cache, response.json().await.unwrap())
}

/// Finding 10: every answer that shows an API key is kept out of caches, and an approver never
/// receives the developer's key.
async fn answers_showing_a_key_are_not_cached_and_approvers_get_no_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let uncached = ("no-store".to_string(), "no-cache".to_string());
    let email = unique_email();
    let session = developer_session(&app, &org, &email).await;
    let requests = format!("/portal/{}/key-requests", org.id);

    // An auto-approved request shows its developer the key.
    let auto = app.catalog_entry(&org, Some("auto")).await;
    let (status, cache, answer) =
        answer_with_cache_headers(&app, &requests, &session, json!({"catalog_id": auto["id"]})).await;
    assert_eq!(status, 201, "{answer}");
    assert!(answer["key"].as_str().unwrap().starts_with("gh_live_"));
    assert_eq!(cache, uncached, "auto-approved request");

    // An approval answers the approver with the key's details, never the key.
    let reviewed = app.catalog_entry(&org, Some("admin")).await;
    let (_, _, pending) =
        answer_with_cache_headers(&app, &requests, &session, json!({"catalog_id": reviewed["id"]})).await;
    let approver = app.admin_key(&org, "approver", "approver").await;
    let (status, _, approved) = answer_with_cache_headers(
        &app,
        &format!(
            "/orgs/{}/key-requests/{}/approve",
            org.id,
            pending["id"].as_str().unwrap()
        ),
        approver["key"].as_str().unwrap(),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{approved}");
    assert!(approved.get("key").is_none(), "{approved}");
    assert!(approved["key_details"]["prefix"].is_string(), "{approved}");

    // A key an admin issues (subscribe) is shown to that admin once, uncached.
    let developer = developer_id(&app, &org, &session).await;
    let (status, cache, subscribed) = answer_with_cache_headers(
        &app,
        &format!("/orgs/{}/developers/{developer}/keys", org.id),
        &org.admin_key,
        json!({"policy_ids": [auto["policy_id"]]}),
    )
    .await;
    assert_eq!(status, 201, "{subscribed}");
    assert!(subscribed["key"].as_str().unwrap().starts_with("gh_live_"));
    assert_eq!(cache, uncached, "subscribe");

    // A Generate Key link redeemed: the key, uncached.
    let (status, _) = app
        .admin(
            &org,
            "PATCH",
            "",
            Some(json!({"settings": {"secure_key_approval": true}})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, _, pending) =
        answer_with_cache_headers(&app, &requests, &session, json!({"catalog_id": reviewed["id"]})).await;
    let (status, _) = app
        .admin(
            &org,
            "POST",
            &format!("/key-requests/{}/approve", pending["id"].as_str().unwrap()),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 200);
    let token = eventually(Duration::from_secs(30), || async {
        app.emails_to(&email)
            .await
            .iter()
            .find_map(|mail| link_token(mail, "keys/generate?token="))
    })
    .await
    .expect("a Generate Key link");
    let (status, cache, generated) = answer_with_cache_headers(
        &app,
        &format!("/portal/{}/keys/generate", org.id),
        &session,
        json!({"token": token}),
    )
    .await;
    assert_eq!(status, 201, "{generated}");
    assert!(generated["key"].as_str().unwrap().starts_with("gh_live_"));
    assert_eq!(cache, uncached, "generate");
}

on_both_backends!(
    answers_showing_a_key_are_not_cached_and_approvers_get_no_key,
    answers_showing_a_key_are_not_cached_and_approvers_get_no_key_embedded,
    answers_showing_a_key_are_not_cached_and_approvers_get_no_key_on_the_emulator
);

/// Finding 8: test emails go only to people of the organisation, with its own links, and at most
/// `RATE_LIMIT_TEST_EMAILS_PER_ORG` (10 an hour) of them.
async fn test_emails_are_no_relay(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let admin = app.admin_user(&org, "admin").await;
    let path = format!("/orgs/{}/email-templates/developer_invited/test", org.id);
    let stranger = unique_email();

    let (status, problem) = app
        .send("POST", &path, &admin.token, Some(json!({"to": stranger})))
        .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "to");
    let (status, problem) = app
        .send(
            "POST",
            &path,
            &admin.token,
            Some(json!({"to": admin.email, "data": {"private": {"reset_url": "https://evil.example/x"}}})),
        )
        .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "data.private");

    for n in 0..10 {
        let (status, answer) = app
            .send("POST", &path, &admin.token, Some(json!({"to": admin.email})))
            .await;
        assert_eq!(status, 202, "test email {n}: {answer}");
    }
    let (status, problem) = app
        .send("POST", &path, &admin.token, Some(json!({"to": admin.email})))
        .await;
    assert_eq!(status, 429, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "to");

    // The ten went to the admin (their invitation besides), with the organisation's links.
    let tests = eventually(Duration::from_secs(60), || async {
        let mails = app.emails_to(&admin.email).await;
        let tests: Vec<String> = mails
            .into_iter()
            .filter(|m| m.contains("delivery_event.test_email"))
            .collect();
        (tests.len() >= 10).then_some(tests)
    })
    .await
    .expect("ten test emails");
    assert_eq!(tests.len(), 10);
    assert!(tests.iter().all(|m| !m.contains("evil.example")));
    assert!(app.emails_to(&stranger).await.is_empty());
}

on_both_backends!(
    test_emails_are_no_relay,
    test_emails_are_no_relay_embedded,
    test_emails_are_no_relay_on_the_emulator
);

/// Finding 9: an email about a person goes to them as they are when it is sent: the key approved
/// after an admin changed the developer's address goes to the new one, in the language they chose
/// meanwhile, and nothing goes to the old one.
async fn key_emails_follow_the_developer(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let old = unique_email();
    let session = developer_session(&app, &org, &old).await;
    let developer = developer_id(&app, &org, &session).await;
    let entry = app.catalog_entry(&org, Some("admin")).await;
    let (status, request) = app
        .send(
            "POST",
            &format!("/portal/{}/key-requests", org.id),
            &session,
            Some(json!({"catalog_id": entry["id"]})),
        )
        .await;
    assert_eq!(status, 201, "{request}");

    let new = unique_email();
    let (status, changed) = app
        .admin(
            &org,
            "PATCH",
            &format!("/developers/{developer}"),
            Some(json!({"email": new})),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    // The address change ended the session; the developer logs in again and picks German.
    let (status, login) = app.log_in(&org.id, &new).await;
    assert_eq!(status, 200, "{login}");
    let session = login["token"].as_str().unwrap();
    let (status, _) = app
        .send(
            "PATCH",
            &format!("/portal/{}/me", org.id),
            session,
            Some(json!({"locale": "de"})),
        )
        .await;
    assert_eq!(status, 200);

    let (status, _) = app
        .admin(
            &org,
            "POST",
            &format!("/key-requests/{}/approve", request["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let mail = eventually(Duration::from_secs(60), || async {
        app.emails_to(&new)
            .await
            .into_iter()
            .find(|m| mail_text(m).contains("gh_live_"))
    })
    .await
    .expect("the key email at the new address");
    let text = mail_text(&mail);
    assert!(text.contains("Ihr API-Schl"), "in the language chosen since: {text}");
    assert!(text.contains("gh_live_"), "with the key: {text}");
    assert!(
        app.emails_to(&old)
            .await
            .iter()
            .all(|m| !mail_text(m).contains("gh_live_") && !mail_text(m).contains("API key")),
        "nothing about the key at the old address"
    );
}

on_both_backends!(
    key_emails_follow_the_developer,
    key_emails_follow_the_developer_embedded,
    key_emails_follow_the_developer_on_the_emulator
);

/// Finding 7: someone signs up with a victim's address and does everything a developer can; the
/// victim receives the confirmation email (at most `RATE_LIMIT_WELCOME_EMAILS_PER_RECIPIENT` of
/// them) and nothing else.
async fn a_stranger_cannot_mail_the_victim_more_than_a_confirmation(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app
        .create_org(json!({"name": "Acme", "settings": {"confirm_email": true, "default_approval": "auto"}}))
        .await;
    let victim = unique_email();
    let portal = |path: &str| format!("/portal/{}{path}", org.id);
    let session = developer_session(&app, &org, &victim).await;
    let entry = app.catalog_entry(&org, None).await;

    // Key requests are refused until the address is confirmed.
    for _ in 0..3 {
        let (status, problem) = app
            .send(
                "POST",
                &portal("/key-requests"),
                &session,
                Some(json!({"catalog_id": entry["id"]})),
            )
            .await;
        assert_eq!(status, 403, "{problem}");
        assert!(problem["detail"].as_str().unwrap().contains("confirm"), "{problem}");
    }
    let (_, me) = app.send("GET", &portal("/me"), &session, None).await;
    assert_eq!(me["email_confirmed"], false);
    // Resets, a second sign-up, profile changes, a login after failures from a new address.
    for _ in 0..4 {
        let (status, _) = app
            .send("POST", &portal("/password-reset"), "", Some(json!({"email": victim})))
            .await;
        assert_eq!(status, 202);
    }
    assert_eq!(app.sign_up(&org.id, &victim).await.status(), 202);
    let (status, _) = app
        .send("PATCH", &portal("/me"), &session, Some(json!({"locale": "de"})))
        .await;
    assert_eq!(status, 200);
    for n in 0..2u8 {
        let wrong = json!({"email": victim, "password": format!("not the password {n}")});
        let (status, _) = app.send("POST", &portal("/login"), "", Some(wrong)).await;
        assert_eq!(status, 401);
    }
    let elsewhere = client_from([127, 0, 2, 7])
        .post(app.url(&portal("/login")))
        .json(&json!({"email": victim, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), 200);

    // Every email about the victim settles: sent or withheld.
    let settled = eventually(Duration::from_secs(60), || async {
        let mine: Vec<_> = app
            .deliveries(&org.id)
            .await
            .into_iter()
            .filter(|d| d.channel == "email" && d.target == victim)
            .collect();
        let done = mine.len() >= 7
            && mine
                .iter()
                .all(|d| matches!(d.status, DeliveryStatus::Sent | DeliveryStatus::Skipped));
        done.then_some(mine)
    })
    .await
    .expect("the emails to the victim settle");
    let mails = app.emails_to(&victim).await;
    assert!(
        !mails.is_empty() && mails.len() <= 3,
        "{} emails: {settled:?}",
        mails.len()
    );
    for mail in &mails {
        let text = mail_text(mail);
        assert!(text.contains("/confirm-email?token="), "only confirmations: {text}");
        assert!(!text.contains("reset-password") && !text.contains("gh_live_"), "{text}");
    }
    assert!(
        settled.iter().any(|d| d.reason == Some(WithheldReason::Unconfirmed)),
        "the suspicious-login notice was withheld: {settled:?}"
    );

    // The owner of the address confirms; a confirmation link sets no password.
    let token = link_token(mails.last().unwrap(), "confirm-email?token=").expect("a confirmation link");
    let (status, problem) = app
        .send(
            "POST",
            &portal("/password-reset/complete"),
            "",
            Some(json!({"token": token, "password": "a password of my own choosing"})),
        )
        .await;
    assert_eq!(status, 400, "{problem}");
    let (status, confirmed) = app
        .send("POST", &portal("/confirm-email"), "", Some(json!({"token": token})))
        .await;
    assert_eq!(status, 200, "{confirmed}");
    assert_eq!(confirmed["email_confirmed"], true);
    let (status, again) = app
        .send("POST", &portal("/confirm-email"), "", Some(json!({"token": token})))
        .await;
    assert_eq!(
        (status, again["errors"][0]["field"].as_str()),
        (400, Some("token")),
        "one use"
    );
    let (_, login) = app.log_in(&org.id, &victim).await;
    let (status, issued) = app
        .send(
            "POST",
            &portal("/key-requests"),
            login["token"].as_str().unwrap(),
            Some(json!({"catalog_id": entry["id"]})),
        )
        .await;
    assert_eq!(status, 201, "{issued}");
    let key = issued["key"].as_str().unwrap().to_string();
    eventually(Duration::from_secs(60), || async {
        app.emails_to(&victim)
            .await
            .iter()
            .any(|m| m.contains(&key))
            .then_some(())
    })
    .await
    .expect("once confirmed, the key email arrives");
}

on_both_backends!(
    a_stranger_cannot_mail_the_victim_more_than_a_confirmation,
    a_stranger_cannot_mail_the_victim_more_than_a_confirmation_embedded,
    a_stranger_cannot_mail_the_victim_more_than_a_confirmation_on_the_emulator
);

/// Finding 7, the other half: keys issued to one developer are limited, per hour
/// (`RATE_LIMIT_KEYS_ISSUED_PER_DEVELOPER`, 429) and per catalog entry
/// (`MAX_ACTIVE_KEYS_PER_CATALOG_ENTRY`, 409), each naming `catalog_id`.
async fn keys_issued_to_one_developer_are_limited(backend: Backend) {
    let mut config = test_config(backend);
    config.max_active_keys_per_catalog_entry = 2;
    config.limits.set(
        gatehouse::domain::limits::Limit::KeysIssuedPerDeveloper,
        Some(gatehouse::domain::limits::RateLimit::new(3, 3_600)),
    );
    let app = spawn_app_with(config).await;
    let org = app
        .create_org(json!({"name": "Acme", "settings": {"default_approval": "auto"}}))
        .await;
    let session = developer_session(&app, &org, &unique_email()).await;
    let first = app.catalog_entry(&org, None).await;
    let second = app.catalog_entry(&org, None).await;
    let ask = |entry: &Value| {
        let body = json!({"catalog_id": entry["id"]});
        let path = format!("/portal/{}/key-requests", org.id);
        let session = session.clone();
        let app = &app;
        async move { app.send("POST", &path, &session, Some(body)).await }
    };
    for _ in 0..2 {
        assert_eq!(ask(&first).await.0, 201);
    }
    let (status, problem) = ask(&first).await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "catalog_id");
    assert_eq!(ask(&second).await.0, 201, "the third key of the hour");
    let (status, problem) = ask(&second).await;
    assert_eq!(status, 429, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "catalog_id");
    let (_, keys) = app
        .send("GET", &format!("/portal/{}/keys", org.id), &session, None)
        .await;
    assert_eq!(
        keys["items"].as_array().unwrap().len(),
        3,
        "nothing issued past the limits"
    );
}

on_both_backends!(
    keys_issued_to_one_developer_are_limited,
    keys_issued_to_one_developer_are_limited_embedded,
    keys_issued_to_one_developer_are_limited_on_the_emulator
);

/// Removing a developer leaves no key of theirs, even when an approval races the removal: the
/// removal deletes the account first, and a key issue needs the account to exist. Here the
/// approval comes in the worst moment, after the account is gone and before its requests are.
async fn an_approval_racing_a_removal_issues_no_key(backend: Backend) {
    use gatehouse::store::{developers, resources};
    let app = spawn_app(backend).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let session = developer_session(&app, &org, &unique_email()).await;
    let id = developer_id(&app, &org, &session).await;
    let entry = app.catalog_entry(&org, Some("admin")).await;
    let (_, request) = app
        .send(
            "POST",
            &format!("/portal/{}/key-requests", org.id),
            &session,
            Some(json!({"catalog_id": entry["id"]})),
        )
        .await;

    // The removal's first step: the account is deleted (its requests not yet).
    let store = app.local.services.store.clone();
    let org_id = gatehouse::domain::OrgId::parse(&org.id).unwrap();
    let removed = gatehouse::domain::DeveloperId::parse(&id).unwrap();
    let found = developers::get(store.as_ref(), &org_id, &removed)
        .await
        .unwrap()
        .unwrap();
    let event = gatehouse::domain::Event::new(
        org_id.clone(),
        gatehouse::domain::EventKind::DeveloperDeleted,
        gatehouse::domain::now_rfc3339(),
        json!({"developer_id": id}),
    );
    developers::delete(store.as_ref(), &found.value, found.version, &event, vec![])
        .await
        .unwrap();

    let (status, answer) = app
        .admin(
            &org,
            "POST",
            &format!("/key-requests/{}/approve", request["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert!(status >= 400, "no approval for a removed developer: {status} {answer}");
    let keys = resources::of_developer::<gatehouse::domain::api_keys::ApiKey>(store.as_ref(), &org_id, &removed)
        .await
        .unwrap();
    assert!(keys.is_empty(), "no key issued: {keys:?}");

    // And through the API: a removal takes every key with it.
    let session = developer_session(&app, &org, &unique_email()).await;
    let other = developer_id(&app, &org, &session).await;
    let (status, _) = app
        .admin(
            &org,
            "POST",
            &format!("/developers/{other}/keys"),
            Some(json!({"policy_ids": [entry["policy_id"]]})),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = app.admin(&org, "DELETE", &format!("/developers/{other}"), None).await;
    assert_eq!(status, 204);
    let (_, keys) = app.admin(&org, "GET", "/keys", None).await;
    assert!(
        keys["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["developer_id"] != other.as_str()),
        "{keys}"
    );
}

on_both_backends!(
    an_approval_racing_a_removal_issues_no_key,
    an_approval_racing_a_removal_issues_no_key_embedded,
    an_approval_racing_a_removal_issues_no_key_on_the_emulator
);
