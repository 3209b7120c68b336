//! Languages through the HTTP API: a person's locale picks the templates of their emails and inbox
//! items, falling back from region to language to the organisation's default to English.

use std::time::Duration;

use gatehouse_tests::*;
use serde_json::json;

/// Signs `email` up with `locale` (if any) and returns the subject line of their welcome email.
async fn welcome_subject(app: &TestApp, org: &TestOrg, email: &str, locale: Option<&str>) -> String {
    let mut body = json!({"email": email, "password": PASSWORD});
    if let Some(locale) = locale {
        body["locale"] = json!(locale);
    }
    let (status, answer) = app
        .send("POST", &format!("/portal/{}/signup", org.id), "", Some(body))
        .await;
    assert_eq!(status, 202, "{answer}");
    first_subject(app, email).await
}

/// The subject of the first email to `email`.
async fn first_subject(app: &TestApp, email: &str) -> String {
    let mail = eventually(Duration::from_secs(60), || async {
        app.emails_to(email).await.into_iter().next()
    })
    .await
    .unwrap_or_else(|| panic!("an email to {email}"));
    mail_text(&mail)
        .lines()
        .find_map(|l| l.strip_prefix("Subject: ").map(str::to_string))
        .expect("a subject")
}

async fn a_persons_locale_picks_the_language_of_their_notices(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.create_org(json!({"name": "Acme"})).await;

    // A bad locale is a 400 naming it, and creates nothing.
    let refused = unique_email();
    let (status, problem) = app
        .send(
            "POST",
            &format!("/portal/{}/signup", org.id),
            "",
            Some(json!({"email": refused, "password": PASSWORD, "locale": "german"})),
        )
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (400, Some("locale")),
        "{problem}"
    );

    // de_AT has no templates of its own: German. fr has none at all: English.
    let austrian = unique_email();
    assert_eq!(
        welcome_subject(&app, &org, &austrian, Some("de-AT")).await,
        "Willkommen im Entwicklerportal von Acme"
    );
    let french = unique_email();
    assert_eq!(
        welcome_subject(&app, &org, &french, Some("fr")).await,
        "Welcome to the Acme developer portal"
    );
    // An admin's invitation is written in the language it names.
    let invited = unique_email();
    let (status, created) = app
        .admin(
            &org,
            "POST",
            "/developers",
            Some(json!({"email": invited, "locale": "de"})),
        )
        .await;
    assert_eq!((status, &created["locale"]), (201, &json!("de")), "{created}");
    assert_eq!(
        first_subject(&app, &invited).await,
        "Einladung zum Entwicklerportal von Acme"
    );
    let german_mail = mail_text(&app.emails_to(&austrian).await[0]);
    assert!(
        german_mail.contains("Ihr Entwicklerkonto bei Acme ist bereit"),
        "{german_mail}"
    );
    assert!(app.emails_to(&refused).await.is_empty());

    // The profile shows the locale and changes it; the inbox item is in the person's language.
    let (_, login) = app.log_in(&org.id, &austrian).await;
    let session = login["token"].as_str().unwrap().to_string();
    let me = format!("/portal/{}/me", org.id);
    let (_, profile) = app.send("GET", &me, &session, None).await;
    assert_eq!(profile["locale"], "de_AT");
    let inbox = format!("/portal/{}/notifications", org.id);
    let welcome = eventually(Duration::from_secs(30), || async {
        let (_, page) = app.send("GET", &inbox, &session, None).await;
        page["items"].as_array().unwrap().first().cloned()
    })
    .await
    .expect("a welcome item");
    assert_eq!(welcome["title"], "Willkommen im Entwicklerportal von Acme");
    assert!(welcome["body"].as_str().unwrap().contains("ist bereit"), "{welcome}");
    let (status, changed) = app.send("PATCH", &me, &session, Some(json!({"locale": null}))).await;
    assert_eq!((status, &changed["locale"]), (200, &json!(null)), "{changed}");
    let (status, problem) = app.send("PATCH", &me, &session, Some(json!({"locale": "de_at"}))).await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (400, Some("locale")));

    // The organisation's default language reaches whoever chose none, before English.
    let (status, patched) = app
        .admin(&org, "PATCH", "", Some(json!({"settings": {"default_locale": "de"}})))
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(
        welcome_subject(&app, &org, &unique_email(), None).await,
        "Willkommen im Entwicklerportal von Acme"
    );
    assert_eq!(
        welcome_subject(&app, &org, &unique_email(), Some("fr")).await,
        "Willkommen im Entwicklerportal von Acme",
        "fr falls back to the organisation's default"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persons_locale_picks_the_language_of_their_notices_embedded() {
    a_persons_locale_picks_the_language_of_their_notices(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persons_locale_picks_the_language_of_their_notices_on_the_emulator() {
    a_persons_locale_picks_the_language_of_their_notices(Backend::Emulator).await;
}
