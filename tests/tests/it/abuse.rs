//! What a stranger can make Gatehouse do: sign-ups, reset requests and the other routes without a
//! session are counted per source address (429 past a limit), the emails they trigger per recipient
//! (withheld past a limit, the answer unchanged), and a developer's pending key requests are capped.

use std::time::Duration;

use gatehouse::domain::limits::{Limit, RateLimit};
use gatehouse::store::deliveries::DeliveryStatus;
use gatehouse_tests::*;
use serde_json::{json, Value};

/// A raw answer: status, `Retry-After` and body, to compare answers byte for byte.
async fn answer(response: reqwest::Response) -> (u16, Option<String>, String) {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (status, retry_after, response.text().await.unwrap())
}

async fn post_from(client: &reqwest::Client, app: &TestApp, path: &str, body: Value) -> (u16, Option<String>, String) {
    answer(client.post(app.url(path)).json(&body).send().await.unwrap()).await
}

fn sign_up_body(email: &str) -> Value {
    json!({"email": email, "password": "correct horse battery staple"})
}

/// A 429 as the API documents it: problem+json and a positive `Retry-After`.
fn assert_too_many(answer: &(u16, Option<String>, String)) {
    assert_eq!(answer.0, 429, "{answer:?}");
    let seconds: u64 = answer.1.as_deref().expect("Retry-After").parse().unwrap();
    assert!(seconds > 0);
    let problem: Value = serde_json::from_str(&answer.2).unwrap();
    assert_eq!(problem["status"], 429);
}

/// The delivery log's skipped entries to `to`, as the admin API lists them.
async fn skipped_in_log(app: &TestApp, org: &TestOrg, to: &str) -> Vec<Value> {
    let mut found = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = "/deliveries?status=skipped&limit=100".to_string();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (status, page) = app.admin(org, "GET", &path, None).await;
        assert_eq!(status, 200, "{page}");
        found.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["target"] == to)
                .cloned(),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return found,
        }
    }
}

fn is_reset(mime: &str) -> bool {
    find_link(mime, "reset-password?token=").is_some()
}

async fn reset_requests_send_at_most_three_emails(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let victim = unique_email();
    assert_eq!(app.sign_up(&org.id, &victim).await.status(), 202);
    app.finished_emails_to(&org.id, &victim, 1).await;

    // 30 requests within a minute, from three addresses (each under its own limit of 20 an hour).
    let path = format!("/portal/{}/password-reset", org.id);
    let sources: Vec<_> = (40..43).map(|n| client_from([127, 0, 0, n])).collect();
    let mut answers = Vec::new();
    for n in 0..30 {
        answers.push(post_from(&sources[n % 3], &app, &path, json!({"email": victim})).await);
    }
    assert!(
        answers.iter().all(|a| a == &answers[0]),
        "every answer the same: {answers:?}"
    );
    assert_eq!(answers[0].0, 202);

    let deliveries = app.finished_emails_to(&org.id, &victim, 31).await;
    let sent = deliveries.iter().filter(|d| d.status == DeliveryStatus::Sent).count();
    assert_eq!(sent, 4, "the welcome email and three reset emails");
    let resets = eventually(Duration::from_secs(30), || async {
        let mails = app.emails_to(&victim).await;
        let resets: Vec<_> = mails.into_iter().filter(|m| is_reset(m)).collect();
        (resets.len() >= 3).then_some(resets)
    })
    .await
    .expect("three reset emails");
    assert_eq!(resets.len(), 3);

    let withheld = skipped_in_log(&app, &org, &victim).await;
    assert_eq!(withheld.len(), 27, "{withheld:?}");
    assert!(withheld.iter().all(|d| d["reason"] == "rate_limited"), "{withheld:?}");
    assert!(
        logged()
            .lines()
            .any(|l| l.contains("EmailsSkipped") && l.contains("rate_limited")),
        "withheld emails are counted"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        app.emails_to(&victim).await.iter().filter(|m| is_reset(m)).count(),
        3,
        "nothing more arrives"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_reset_requests_send_three_emails_embedded() {
    reset_requests_send_at_most_three_emails(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_reset_requests_send_three_emails_on_the_emulator() {
    reset_requests_send_at_most_three_emails(Backend::Emulator).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ups_with_a_taken_address_notify_its_owner_once_and_answer_as_for_a_fresh_one() {
    let app = spawn_app(Backend::Embedded).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let owner = unique_email();
    assert_eq!(app.sign_up(&org.id, &owner).await.status(), 202);

    let path = format!("/portal/{}/signup", org.id);
    let sources: Vec<_> = (50..53).map(|n| client_from([127, 0, 0, n])).collect();
    let mut answers = Vec::new();
    for n in 0..30 {
        answers.push(post_from(&sources[n % 3], &app, &path, sign_up_body(&owner)).await);
    }
    let fresh = post_from(
        &client_from([127, 0, 0, 53]),
        &app,
        &path,
        sign_up_body(&unique_email()),
    )
    .await;
    assert_eq!(fresh.0, 202);
    assert!(answers.iter().all(|a| a == &fresh), "{answers:?} vs {fresh:?}");

    // The welcome email and 30 notices: one notice sent, 29 withheld.
    let deliveries = app.finished_emails_to(&org.id, &owner, 31).await;
    assert_eq!(
        deliveries.iter().filter(|d| d.status == DeliveryStatus::Sent).count(),
        2
    );
    let notices: Vec<_> = app
        .emails_to(&owner)
        .await
        .into_iter()
        .filter(|m| find_link(m, "nothing was created").is_some())
        .collect();
    assert_eq!(notices.len(), 1, "one notice to the owner");
    let withheld = skipped_in_log(&app, &org, &owner).await;
    assert_eq!(withheld.len(), 29);
    assert!(withheld.iter().all(|d| d["reason"] == "rate_limited"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_source_address_gets_ten_sign_ups_an_hour_and_another_is_not_held_up() {
    let app = spawn_app(Backend::Embedded).await;
    // An organisation's own limit above the deployment's raises nothing.
    let org = app
        .create_org(json!({"name": "Acme", "settings": {"signup_limit_per_source": 50}}))
        .await;
    let path = format!("/portal/{}/signup", org.id);
    let spammer = client_from([127, 0, 0, 60]);
    let addresses: Vec<String> = (0..50).map(|_| unique_email()).collect();
    let mut answers = Vec::new();
    for email in &addresses {
        answers.push(post_from(&spammer, &app, &path, sign_up_body(email)).await);
    }
    assert!(answers[..10].iter().all(|a| a.0 == 202), "{answers:?}");
    for refused in &answers[10..] {
        assert_too_many(refused);
    }
    let other = post_from(
        &client_from([127, 0, 0, 61]),
        &app,
        &path,
        sign_up_body(&unique_email()),
    )
    .await;
    assert_eq!(other.0, 202, "another source address signs up");

    // Ten accounts from the first source, one from the other; welcome emails for those only.
    let (status, listed) = app.admin(&org, "GET", "/developers?limit=100", None).await;
    assert_eq!(status, 200);
    let emails: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails.len(), 11, "{emails:?}");
    for email in &addresses[10..] {
        assert!(!emails.contains(&email.as_str()), "no account for a refused sign-up");
    }
    app.finished_emails_to(&org.id, &addresses[9], 1).await;
    for email in &addresses[10..] {
        assert!(app.emails_to(email).await.is_empty(), "no email for a refused sign-up");
    }
    let deliveries = app.deliveries(&org.id).await;
    assert!(deliveries
        .iter()
        .all(|d| !addresses[10..].iter().any(|a| a == &d.target)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_hold_across_two_runner_processes_sharing_one_table() {
    let config = test_config(Backend::Emulator);
    let first = spawn_app_with(config.clone()).await;
    let second = RunnerProcess::start(&config).await;
    let org = first.create_org(json!({"name": "Acme"})).await;
    let path = format!("/portal/{}/signup", org.id);
    let source = client_from([127, 0, 0, 70]);
    let mut statuses = Vec::new();
    for url in [first.url(&path), second.url(&path)] {
        for _ in 0..6 {
            let response = source
                .post(&url)
                .json(&sign_up_body(&unique_email()))
                .send()
                .await
                .unwrap();
            statuses.push(response.status().as_u16());
        }
    }
    assert_eq!(statuses, [[202; 10].as_slice(), &[429, 429]].concat());
    // The other process made the accounts it answered 202 for: all ten are in the shared table.
    let (_, listed) = first.admin(&org, "GET", "/developers?limit=100", None).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 10, "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organisation_may_lower_its_sign_up_limit_but_not_to_nothing() {
    let app = spawn_app(Backend::Embedded).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let (status, problem) = app
        .admin(
            &org,
            "PATCH",
            "",
            Some(json!({"settings": {"signup_limit_per_source": 0}})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(problem["errors"][0]["field"], "settings.signup_limit_per_source");
    let (status, _) = app
        .admin(
            &org,
            "PATCH",
            "",
            Some(json!({"settings": {"signup_limit_per_source": 2}})),
        )
        .await;
    assert_eq!(status, 200);
    let path = format!("/portal/{}/signup", org.id);
    let source = client_from([127, 0, 0, 80]);
    let mut answers = Vec::new();
    for _ in 0..3 {
        answers.push(post_from(&source, &app, &path, sign_up_body(&unique_email())).await);
    }
    assert_eq!((answers[0].0, answers[1].0), (202, 202));
    assert_too_many(&answers[2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn welcome_emails_to_one_address_stop_at_three_a_day() {
    let app = spawn_app(Backend::Embedded).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let email = unique_email();
    // Signed up, removed by an admin, signed up again: four welcome emails asked for.
    for round in 0..4 {
        assert_eq!(app.sign_up(&org.id, &email).await.status(), 202);
        app.finished_emails_to(&org.id, &email, round + 1).await;
        let (_, found) = app
            .admin(
                &org,
                "GET",
                &format!("/developers?email={}", email.replace('+', "%2B")),
                None,
            )
            .await;
        let id = found["items"][0]["id"].as_str().unwrap().to_string();
        let (status, _) = app.admin(&org, "DELETE", &format!("/developers/{id}"), None).await;
        assert_eq!(status, 204);
    }
    let deliveries = app.finished_emails_to(&org.id, &email, 4).await;
    assert_eq!(
        deliveries.iter().filter(|d| d.status == DeliveryStatus::Sent).count(),
        3
    );
    let withheld = skipped_in_log(&app, &org, &email).await;
    assert_eq!(withheld.len(), 1);
    assert_eq!(withheld[0]["reason"], "rate_limited");
    assert_eq!(app.emails_to(&email).await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_without_a_session_is_counted_per_source_address() {
    let mut config = test_config(Backend::Embedded);
    for limit in [
        Limit::ResetRequestsPerSource,
        Limit::PasswordLinksPerSource,
        Limit::UnsubscribesPerSource,
        Limit::KeyLinksPerSource,
        Limit::PublicReadsPerSource,
    ] {
        config.limits.set(limit, Some(RateLimit::new(2, 3_600)));
    }
    let app = spawn_app_with(config).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let email = unique_email();
    assert_eq!(app.sign_up(&org.id, &email).await.status(), 202);
    let (_, login) = app.log_in(&org.id, &email).await;
    let session = login["token"].as_str().unwrap().to_string();
    // The path of an unsubscribe link as an email carries it.
    let unsubscribe = gatehouse::mail::UnsubscribeToken {
        org: gatehouse::domain::OrgId::parse(&org.id).unwrap(),
        email: gatehouse::domain::Email::parse(&email).unwrap(),
        category: "key_updates".into(),
        person: None,
    }
    .url(
        &gatehouse::app::secret_box(&test_config(Backend::Embedded)).unwrap(),
        &gatehouse::domain::LinkBase::parse("http://api.invalid").unwrap(),
    )
    .replace("http://api.invalid", "");

    let requests: Vec<(&str, String, Option<Value>)> = vec![
        (
            "POST",
            format!("/portal/{}/password-reset", org.id),
            Some(json!({"email": email})),
        ),
        (
            "POST",
            format!("/portal/{}/password-reset/complete", org.id),
            Some(json!({"token": "gh_reset_not-a-real-one", "password": "a new long password"})),
        ),
        (
            "POST",
            format!("/portal/{}/keys/generate", org.id),
            Some(json!({"token": "gh_keylink_nope"})),
        ),
        ("POST", unsubscribe.clone(), None),
        ("GET", unsubscribe.clone(), None),
        ("GET", format!("/portal/{}/catalog", org.id), None),
        // The admin users' own account routes take the same limits.
        (
            "POST",
            format!("/orgs/{}/password-reset", org.id),
            Some(json!({"email": email})),
        ),
        (
            "POST",
            format!("/orgs/{}/password-reset/complete", org.id),
            Some(json!({"token": "gh_reset_not-a-real-one", "password": "a new long password"})),
        ),
        (
            "POST",
            format!("/orgs/{}/admins/accept", org.id),
            Some(json!({"token": "gh_reset_not-a-real-one", "password": "a new long password"})),
        ),
    ];
    for (n, (method, path, body)) in requests.iter().enumerate() {
        let send = |client: reqwest::Client| {
            let mut request = client
                .request(method.parse().unwrap(), app.url(path))
                .bearer_auth(&session);
            if let Some(body) = body {
                request = request.json(body);
            }
            async move { answer(request.send().await.unwrap()).await }
        };
        let source = client_from([127, 0, 1, n as u8 + 1]);
        for _ in 0..2 {
            let allowed = send(source.clone()).await;
            assert_ne!(allowed.0, 429, "{method} {path}: {allowed:?}");
        }
        assert_too_many(&send(source.clone()).await);
        let elsewhere = send(client_from([127, 0, 2, n as u8 + 1])).await;
        assert_ne!(elsewhere.0, 429, "{method} {path} from another address: {elsewhere:?}");
    }
    assert!(
        logged()
            .lines()
            .any(|l| l.contains("RequestsRefused") && l.contains("key_links_per_source")),
        "refused requests are counted per limit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_pending_key_requests_per_developer_and_a_decision_makes_room() {
    let app = spawn_app(Backend::Embedded).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let entry = app.catalog_entry(&org, Some("admin")).await;
    let email = unique_email();
    assert_eq!(app.sign_up(&org.id, &email).await.status(), 202);
    let (_, login) = app.log_in(&org.id, &email).await;
    let session = login["token"].as_str().unwrap().to_string();
    let path = format!("/portal/{}/key-requests", org.id);
    let ask = || app.send("POST", &path, &session, Some(json!({"catalog_id": entry["id"]})));

    let mut ids = Vec::new();
    for _ in 0..20 {
        let (status, request) = ask().await;
        assert_eq!(status, 201, "{request}");
        assert_eq!(request["status"], "pending");
        ids.push(request["id"].as_str().unwrap().to_string());
    }
    let (status, problem) = ask().await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "catalog_id");
    let (status, listed) = app
        .admin(&org, "GET", "/key-requests?status=pending&limit=100", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        listed["items"].as_array().unwrap().len(),
        20,
        "the refused one was not stored"
    );

    let (status, _) = app
        .admin(&org, "POST", &format!("/key-requests/{}/decline", ids[0]), None)
        .await;
    assert_eq!(status, 204);
    let (status, request) = ask().await;
    assert_eq!(status, 201, "deciding one makes room: {request}");
    let (status, _) = ask().await;
    assert_eq!(status, 409, "and only for one");
    let (status, approved) = app
        .admin(&org, "POST", &format!("/key-requests/{}/approve", ids[1]), None)
        .await;
    assert!(status < 300, "{approved}");
    let (status, _) = ask().await;
    assert_eq!(status, 201, "an approval makes room too");
}
