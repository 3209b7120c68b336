//! Admin users through the HTTP API: invited with a role, they choose a password through the
//! emailed link, log in, act within their role, edit their profile, reset a forgotten password and
//! log out. The last owner stays; owners are told of every admin and security change.

use std::time::Duration;

use gatehouse_tests::*;
use serde_json::{json, Value};

/// The emails to `to` whose text contains `needle`, once there are at least `count`.
async fn mails_with(app: &TestApp, to: &str, needle: &str, count: usize) -> Vec<String> {
    eventually(Duration::from_secs(60), || async {
        let found: Vec<String> = app
            .emails_to(to)
            .await
            .iter()
            .map(|m| mail_text(m))
            .filter(|m| m.contains(needle))
            .collect();
        (found.len() >= count).then_some(found)
    })
    .await
    .unwrap_or_else(|| panic!("{count} emails to {to} with {needle:?}"))
}

/// A POST without credentials (accepting, logging in, resetting).
async fn anonymous(app: &TestApp, org: &TestOrg, path: &str, body: Value) -> (u16, Value) {
    app.send("POST", &format!("/orgs/{}{path}", org.id), "", Some(body))
        .await
}

/// `by` changes the role of the admin user `id`.
async fn set_role(app: &TestApp, by: &AdminLogin, org: &TestOrg, id: &str, role: &str) -> (u16, Value) {
    as_user(
        app,
        by,
        "PATCH",
        org,
        &format!("/admins/{id}"),
        Some(json!({"role": role})),
    )
    .await
}

async fn as_user(
    app: &TestApp,
    user: &AdminLogin,
    method: &str,
    org: &TestOrg,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    app.send(method, &format!("/orgs/{}{path}", org.id), &user.token, body)
        .await
}

async fn invite_accept_log_in_and_act_within_the_role(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let other = app.create_org(json!({"name": "Elsewhere"})).await;
    let email = unique_email();

    // Invited: listed as invited, no login yet (the same 401 as a wrong password).
    let (status, invited) = app
        .admin(
            &org,
            "POST",
            "/admins",
            Some(json!({"email": email, "role": "approver", "name": "Grace Hopper", "locale": "de-AT"})),
        )
        .await;
    assert_eq!(status, 201, "{invited}");
    assert_eq!(
        (&invited["status"], &invited["role"], &invited["locale"]),
        (&json!("invited"), &json!("approver"), &json!("de_AT"))
    );
    let id = invited["id"].as_str().unwrap().to_string();
    let (status, _) = anonymous(&app, &org, "/login", json!({"email": email, "password": PASSWORD})).await;
    assert_eq!(status, 401, "an invitation not yet accepted logs nobody in");
    let (status, again) = app
        .admin(
            &org,
            "POST",
            "/admins",
            Some(json!({"email": email.to_uppercase(), "role": "viewer"})),
        )
        .await;
    assert_eq!((status, again["errors"][0]["field"].as_str()), (409, Some("email")));

    // The link: one use, then the account is active.
    let token = app.invitation_token(&email).await;
    let accept = |token: String, password: &str| {
        let body = json!({"token": token, "password": password});
        let path = format!("/orgs/{}/admins/accept", org.id);
        let app = &app;
        async move { app.send("POST", &path, "", Some(body)).await }
    };
    let (status, problem) = accept(token.clone(), "short").await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (400, Some("password"))
    );
    let (status, accepted) = accept(token.clone(), PASSWORD).await;
    assert_eq!((status, &accepted["status"]), (200, &json!("active")), "{accepted}");
    let (status, problem) = accept(token, "another long password").await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (400, Some("token")),
        "used once"
    );

    let user = app.log_in_admin(&org, &email).await;
    assert_eq!(user.id, id);
    assert!(user.token.starts_with(&format!("gh_asess_{}.{id}.", org.id)));

    // Within the role: an approver reads developers and cannot change settings.
    let (status, _) = as_user(&app, &user, "GET", &org, "/developers", None).await;
    assert_eq!(status, 200);
    let (status, problem) = as_user(&app, &user, "PATCH", &org, "", Some(json!({"name": "Mine"}))).await;
    assert_eq!((status, &problem["status"]), (403, &json!(403)), "{problem}");
    let (status, _) = as_user(&app, &user, "GET", &org, "/audit-log", None).await;
    assert_eq!(status, 403);
    // Another organisation's routes: 404, as for its admin keys.
    let (status, _) = app
        .send("GET", &format!("/orgs/{}/developers", other.id), &user.token, None)
        .await;
    assert_eq!(status, 404);

    // Their own profile.
    let (status, me) = as_user(&app, &user, "GET", &org, "/me", None).await;
    assert_eq!(
        (status, &me["email"], &me["name"]),
        (200, &json!(email), &json!("Grace Hopper"))
    );
    let (status, problem) = as_user(&app, &user, "PATCH", &org, "/me", Some(json!({"locale": "German"}))).await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (400, Some("locale")));
    let (status, me) = as_user(
        &app,
        &user,
        "PATCH",
        &org,
        "/me",
        Some(json!({"name": "Grace", "locale": null})),
    )
    .await;
    assert_eq!(
        (status, &me["name"], &me["locale"]),
        (200, &json!("Grace"), &Value::Null),
        "{me}"
    );
    let (status, problem) = app.admin(&org, "GET", "/me", None).await;
    assert_eq!(status, 403, "an admin key has no profile: {problem}");

    // The audit log names the key that invited and the user who changed their profile.
    let (_, log) = app.admin(&org, "GET", "/audit-log", None).await;
    let entries = log["items"].as_array().unwrap();
    let profile = entries
        .iter()
        .find(|e| e["action"] == "admin.profile_changed")
        .expect("profile change");
    assert_eq!(
        (
            &profile["actor"]["kind"],
            &profile["actor"]["id"],
            &profile["actor"]["email"]
        ),
        (&json!("admin_user"), &json!(id), &json!(email))
    );
    let invitation = entries
        .iter()
        .find(|e| e["action"] == "admin.invited")
        .expect("invitation");
    assert_eq!(
        (&invitation["actor"]["kind"], &invitation["target"]),
        (&json!("admin_key"), &json!(id))
    );

    // Logged out: the token stops working.
    let (status, _) = as_user(&app, &user, "POST", &org, "/logout", None).await;
    assert_eq!(status, 204);
    let (status, _) = as_user(&app, &user, "GET", &org, "/developers", None).await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_accept_log_in_and_act_within_the_role_embedded() {
    invite_accept_log_in_and_act_within_the_role(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_accept_log_in_and_act_within_the_role_on_the_emulator() {
    invite_accept_log_in_and_act_within_the_role(Backend::Emulator).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_resets_a_forgotten_password_and_the_answer_is_the_same_for_strangers() {
    let app = spawn_app(Backend::Embedded).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let user = app.admin_user(&org, "viewer").await;
    let request = |email: String| {
        let path = format!("/orgs/{}/password-reset", org.id);
        let app = &app;
        async move { app.send("POST", &path, "", Some(json!({"email": email}))).await }
    };
    let known = request(user.email.clone()).await;
    let unknown = request(unique_email()).await;
    assert_eq!(known.0, 202);
    assert_eq!(known, unknown, "the same answer for an admin and a stranger");

    let mail = mails_with(&app, &user.email, "admin/reset-password?token=", 1).await;
    let token = link_token(&mail[0], "reset-password?token=").unwrap();
    // An admin's reset link neither accepts an invitation nor sets a developer's password.
    let (status, _) = anonymous(
        &app,
        &org,
        "/admins/accept",
        json!({"token": token, "password": "a new long password"}),
    )
    .await;
    assert_eq!(status, 400);
    let (status, problem) = app
        .send(
            "POST",
            &format!("/portal/{}/password-reset/complete", org.id),
            "",
            Some(json!({"token": token, "password": "a new long password"})),
        )
        .await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (400, Some("token")));
    let (status, done) = anonymous(
        &app,
        &org,
        "/password-reset/complete",
        json!({"token": token, "password": "a new long password"}),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    let (status, _) = as_user(&app, &user, "GET", &org, "/me", None).await;
    assert_eq!(status, 401, "every session ended");
    let (status, _) = anonymous(
        &app,
        &org,
        "/login",
        json!({"email": user.email, "password": "a new long password"}),
    )
    .await;
    assert_eq!(status, 200);
    mails_with(&app, &user.email, "password of your Acme admin account", 1).await;
}

async fn the_last_owner_stays_and_an_owner_demoting_an_owner_is_recorded_and_emailed(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = unique_email();
    let org = app.create_org(json!({"name": "Acme", "owner_email": first})).await;
    assert_eq!(
        (
            &org.body["owner"]["email"],
            &org.body["owner"]["role"],
            &org.body["owner"]["status"]
        ),
        (&json!(first), &json!("owner"), &json!("invited"))
    );
    let a = app.accept_and_log_in(&org, &first).await;
    let b = app.admin_user(&org, "owner").await;
    let helper = app.admin_user(&org, "admin").await;

    // An admin may not touch the owner role.
    let (status, _) = set_role(&app, &helper, &org, &b.id, "viewer").await;
    assert_eq!(status, 403);
    let (status, _) = as_user(
        &app,
        &helper,
        "POST",
        &org,
        "/admins",
        Some(json!({"email": unique_email(), "role": "owner"})),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = set_role(&app, &helper, &org, &helper.id, "owner").await;
    assert_eq!(status, 403, "nor grant it to themselves");

    // An owner demotes another owner: recorded, and the demoted person (and the owners) emailed.
    let (status, demoted) = set_role(&app, &a, &org, &b.id, "admin").await;
    assert_eq!((status, &demoted["role"]), (200, &json!("admin")), "{demoted}");
    let (_, log) = as_user(
        &app,
        &a,
        "GET",
        &org,
        &format!("/audit-log?action=admin.role_changed&target={}", b.id),
        None,
    )
    .await;
    let entry = &log["items"][0];
    assert_eq!(entry["actor"]["id"], json!(a.id));
    assert_eq!(
        entry["changes"],
        json!([{"field": "role", "old": "owner", "new": "admin"}])
    );
    for to in [&b.email, &a.email] {
        let mail = mails_with(&app, to, "from owner to admin", 1).await;
        assert!(mail[0].contains(&a.email), "names who did it");
    }
    let (status, _) = as_user(
        &app,
        &b,
        "PATCH",
        &org,
        "",
        Some(json!({"settings": {"signup_mode": "invite_only"}})),
    )
    .await;
    assert_eq!(status, 200, "the demoted admin acts as an admin at once");
    let (status, _) = as_user(
        &app,
        &b,
        "POST",
        &org,
        "/admin-keys",
        Some(json!({"name": "x", "role": "owner"})),
    )
    .await;
    assert_eq!(status, 403, "and no longer as an owner");

    // With the owner key revoked, A is the last owner: neither demoted nor removed, by anyone.
    let key_id = app.owner_key_id(&org).await;
    let (status, _) = as_user(&app, &a, "DELETE", &org, &format!("/admin-keys/{key_id}"), None).await;
    assert_eq!(status, 204, "an owner user remains, so the owner key may go");
    let (status, problem) = set_role(&app, &a, &org, &a.id, "admin").await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (409, Some("role")),
        "{problem}"
    );
    let (status, problem) = as_user(&app, &a, "DELETE", &org, &format!("/admins/{}", a.id), None).await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (409, Some("id")),
        "{problem}"
    );
    let (_, me) = as_user(&app, &a, "GET", &org, "/me", None).await;
    assert_eq!(me["role"], "owner", "nothing changed");

    // A second owner makes the first removable; a removed admin's session ends at once.
    let (status, _) = set_role(&app, &a, &org, &b.id, "owner").await;
    assert_eq!(status, 200);
    let (status, _) = as_user(&app, &b, "DELETE", &org, &format!("/admins/{}", a.id), None).await;
    assert_eq!(status, 204);
    let (status, _) = as_user(&app, &a, "GET", &org, "/me", None).await;
    assert_eq!(status, 401);
    mails_with(&app, &a.email, "removed", 1).await;
    let (_, listed) = as_user(&app, &b, "GET", &org, "/admins", None).await;
    let ids: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert!(
        !ids.contains(&a.id.as_str()) && ids.contains(&b.id.as_str()),
        "{listed}"
    );
}

async fn changing_sign_up_mode_emails_every_owner(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin_email = unique_email();
    let org = app
        .create_org(json!({"name": "Acme", "settings": {"admin_email": admin_email}}))
        .await;
    let a = app.admin_user(&org, "owner").await;
    let b = app.admin_user(&org, "owner").await;
    let viewer = app.admin_user(&org, "viewer").await;

    let (status, _) = as_user(
        &app,
        &a,
        "PATCH",
        &org,
        "",
        Some(json!({"settings": {"signup_mode": "invite_only"}})),
    )
    .await;
    assert_eq!(status, 200);
    for to in [&a.email, &b.email, &admin_email] {
        let mail = mails_with(&app, to, "security settings changed", 1).await;
        let text = &mail[0];
        assert!(
            text.contains(&format!("{} (owner) changed", a.email)),
            "names the actor: {text}"
        );
        assert!(text.contains("settings.signup_mode") && text.contains("open") && text.contains("invite_only"));
    }
    assert!(
        !app.emails_to(&viewer.email)
            .await
            .iter()
            .any(|m| m.contains("security settings")),
        "a viewer is not an owner"
    );
    let (_, stored) = as_user(&app, &a, "GET", &org, "", None).await;
    assert_eq!(
        (&stored["settings"]["signup_mode"], &stored["settings"]["admin_email"]),
        (&json!("invite_only"), &json!(admin_email)),
        "a change of one setting keeps the others"
    );
    let (_, log) = as_user(&app, &a, "GET", &org, "/audit-log?action=settings.changed", None).await;
    let entry = &log["items"][0];
    assert_eq!(
        (&entry["actor"]["id"], &entry["actor"]["kind"]),
        (&json!(a.id), &json!("admin_user"))
    );
    assert_eq!(
        entry["changes"],
        json!([{"field": "settings.signup_mode", "old": "open", "new": "invite_only"}])
    );

    // A rotation by an owner user: logged, and neither the log nor the notices hold the secret.
    let (status, rotated) = as_user(&app, &b, "POST", &org, "/webhook-secret/rotate", Some(json!({}))).await;
    assert_eq!(status, 200);
    let secret = rotated["webhook_secret"].as_str().unwrap();
    let (_, log) = as_user(&app, &a, "GET", &org, "/audit-log?action=webhook_secret.rotated", None).await;
    assert_eq!(log["items"][0]["actor"]["id"], json!(b.id));
    assert!(!log.to_string().contains(secret));
    let notices = mails_with(&app, &a.email, "webhook_secret", 1).await;
    assert!(!notices.iter().any(|m| m.contains(secret)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_sign_up_mode_emails_every_owner_embedded() {
    changing_sign_up_mode_emails_every_owner(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_sign_up_mode_emails_every_owner_on_the_emulator() {
    changing_sign_up_mode_emails_every_owner(Backend::Emulator).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_owner_stays_and_an_owner_demoting_an_owner_is_recorded_and_emailed_embedded() {
    the_last_owner_stays_and_an_owner_demoting_an_owner_is_recorded_and_emailed(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_owner_stays_and_an_owner_demoting_an_owner_is_recorded_and_emailed_on_the_emulator() {
    the_last_owner_stays_and_an_owner_demoting_an_owner_is_recorded_and_emailed(Backend::Emulator).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_password_token_or_key_is_logged_or_stored_in_plain_text_embedded() {
    no_password_token_or_key_is_logged_or_stored_in_plain_text(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_password_token_or_key_is_logged_or_stored_in_plain_text_on_the_emulator() {
    no_password_token_or_key_is_logged_or_stored_in_plain_text(Backend::Emulator).await;
}

/// Passwords, session tokens, admin keys and password links: never in a log line, the table (but as
/// hashes) or the audit log.
async fn no_password_token_or_key_is_logged_or_stored_in_plain_text(backend: Backend) {
    capture_logs();
    let app = spawn_app(backend).await;
    let owner_email = unique_email();
    let org = app
        .create_org(json!({"name": "Acme", "owner_email": owner_email}))
        .await;
    let invitation = app.invitation_token(&owner_email).await;
    let owner = app.accept_and_log_in(&org, &owner_email).await;
    let key = app.admin_key(&org, "ci", "admin").await["key"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = anonymous(&app, &org, "/password-reset", json!({"email": owner_email})).await;
    assert_eq!(status, 202);
    let mail = mails_with(&app, &owner_email, "admin/reset-password?token=", 1).await;
    let reset = link_token(&mail[0], "reset-password?token=").unwrap();
    let new_password = "a brand new admin password";
    let (status, _) = anonymous(
        &app,
        &org,
        "/password-reset/complete",
        json!({"token": reset, "password": new_password}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, login) = anonymous(
        &app,
        &org,
        "/login",
        json!({"email": owner_email, "password": new_password}),
    )
    .await;
    assert_eq!(status, 200);
    let session = login["token"].as_str().unwrap().to_string();
    // Some admin writes, by the key and by the session.
    let (status, _) = app
        .send(
            "PATCH",
            &format!("/orgs/{}/me", org.id),
            &session,
            Some(json!({"name": "Ada"})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .send(
            "POST",
            &format!("/orgs/{}/admins", org.id),
            &key,
            Some(json!({"email": unique_email(), "role": "viewer"})),
        )
        .await;
    assert_eq!(status, 201);
    let developer = unique_email();
    assert_eq!(app.sign_up(&org.id, &developer).await.status(), 202);
    let (_, developer_login) = app.log_in(&org.id, &developer).await;
    let developer_session = developer_login["token"].as_str().unwrap().to_string();

    // Every answer showing a secret once tells caches not to keep it.
    let root = app.root_key();
    let shown_once = [
        app.post_json("/orgs", Some(&root), &json!({"name": "Cached?"})).await,
        app.post_json(
            &format!("/orgs/{}/login", org.id),
            None,
            &json!({"email": owner_email, "password": new_password}),
        )
        .await,
        app.post_json(
            &format!("/orgs/{}/webhook-secret/rotate", org.id),
            Some(&session),
            &json!({}),
        )
        .await,
        app.post_json(
            &format!("/orgs/{}/admin-keys", org.id),
            Some(&session),
            &json!({"name": "cached?", "role": "viewer"}),
        )
        .await,
        app.post_json(
            &format!("/portal/{}/login", org.id),
            None,
            &json!({"email": developer, "password": PASSWORD}),
        )
        .await,
    ];
    let mut more_secrets = Vec::new();
    for response in shown_once {
        assert!(response.status().is_success(), "{}", response.url());
        assert_eq!(response.headers()["cache-control"], "no-store", "{}", response.url());
        let body: Value = response.json().await.unwrap();
        for field in ["admin_key", "webhook_secret", "token", "key"] {
            if let Some(secret) = body[field].as_str() {
                more_secrets.push(secret.to_string());
            }
        }
    }
    assert_eq!(more_secrets.len(), 6, "{more_secrets:?}");

    let (_, audit) = app
        .send("GET", &format!("/orgs/{}/audit-log", org.id), &session, None)
        .await;
    assert!(audit["items"].as_array().unwrap().len() >= 3, "{audit}");
    let stored = app.org_records_text(&org.id).await;
    let logs = logged();
    let secrets = [
        ("the first admin key", org.admin_key.as_str()),
        ("an admin key", key.as_str()),
        ("an admin session", session.as_str()),
        ("an ended admin session", owner.token.as_str()),
        ("a developer session", developer_session.as_str()),
        ("an invitation token", invitation.as_str()),
        ("a reset token", reset.as_str()),
        ("the test password", PASSWORD),
        ("a new password", new_password),
    ];
    let more = more_secrets.iter().map(|s| ("a secret shown once", s.as_str()));
    for (what, secret) in secrets.into_iter().chain(more) {
        assert!(!stored.contains(secret), "{what} is stored in plain text");
        assert!(!logs.contains(secret), "{what} is logged");
        assert!(!audit.to_string().contains(secret), "{what} is in the audit log");
    }
    for (what, token) in [("the admin session", &session), ("the admin key", &key)] {
        assert!(
            stored.contains(&gatehouse::secret::token_hash(token)),
            "{what} is stored as its hash"
        );
    }
    assert!(stored.contains("$argon2id$"), "passwords are stored as argon2id hashes");
}

/// Admin logins are counted and throttled like developers', and a login from a new address after
/// failures is told to the admin alone (the address in their email, not in the webhook).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_admin_logins_are_throttled_and_a_new_address_after_failures_is_reported() {
    let app = spawn_app(Backend::Embedded).await;
    let receiver = WebhookReceiver::start(vec![200]).await;
    let org = app
        .create_org(json!({"name": "Acme", "event_options": {"admin_event": {"webhook": receiver.url()}}}))
        .await;
    let user = app.admin_user(&org, "viewer").await;
    let path = app.url(&format!("/orgs/{}/login", org.id));
    let attempt = |client: reqwest::Client, password: &'static str| {
        let request = client
            .post(&path)
            .json(&json!({"email": user.email, "password": password}));
        async move { request.send().await.unwrap() }
    };
    let attacker = client_from([127, 0, 3, 1]);
    for _ in 0..2 {
        assert_eq!(attempt(attacker.clone(), "wrong password guess").await.status(), 401);
    }
    assert_eq!(attempt(client_from([127, 0, 3, 2]), PASSWORD).await.status(), 200);
    let alert = mails_with(&app, &user.email, "new address", 1).await;
    assert!(alert[0].contains("127.0.3.2") && alert[0].contains("after 2 failed attempts"));
    let hooks = eventually(Duration::from_secs(30), || async {
        let found: Vec<Value> = receiver
            .received()
            .iter()
            .map(|h| h.json())
            .filter(|e| e["event"] == "admin_event.suspicious_login")
            .collect();
        (!found.is_empty()).then_some(found)
    })
    .await
    .expect("admin_event.suspicious_login");
    assert_eq!(hooks[0]["data"]["admin_id"], json!(user.id));
    assert!(
        !hooks[0].to_string().contains("127.0.3.2"),
        "the address is the admin's alone"
    );

    // The sixth failure in the window: refused before the password is checked, as for developers.
    for _ in 0..5 {
        attempt(attacker.clone(), "wrong password guess").await;
    }
    let locked = attempt(client_from([127, 0, 3, 3]), PASSWORD).await;
    assert_eq!(locked.status(), 429);
    assert!(locked.headers().contains_key("retry-after"));
}

/// The admin events reach the organisation's `event_options.admin_event` webhook: an invitation, a
/// role change and a removal, each naming who did it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_changes_raise_admin_events_for_the_webhook() {
    let app = spawn_app(Backend::Embedded).await;
    let receiver = WebhookReceiver::start(vec![200]).await;
    let org = app
        .create_org(json!({"name": "Acme", "event_options": {"admin_event": {"webhook": receiver.url()}}}))
        .await;
    let user = app.admin_user(&org, "viewer").await;
    let (status, _) = app
        .admin(
            &org,
            "PATCH",
            &format!("/admins/{}", user.id),
            Some(json!({"role": "approver"})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = app.admin(&org, "DELETE", &format!("/admins/{}", user.id), None).await;
    assert_eq!(status, 204);
    let hooks = receiver
        .wait_for(3, Duration::from_secs(30))
        .await
        .expect("three admin events");
    let mut events: Vec<Value> = hooks.iter().map(|h| h.json()).collect();
    events.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    let names: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["admin_event.invited", "admin_event.role_changed", "admin_event.removed"]
    );
    let owner_key = app.owner_key_id(&org).await;
    for event in &events {
        assert_eq!(event["data"]["admin_id"], json!(user.id));
        assert_eq!(event["data"]["by"]["id"], json!(owner_key));
        assert!(!event.to_string().contains("token="), "no link in a webhook");
    }
    assert_eq!(
        (&events[1]["data"]["old_role"], &events[1]["data"]["role"]),
        (&json!("viewer"), &json!("approver"))
    );
}
