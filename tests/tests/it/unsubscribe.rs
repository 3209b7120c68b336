//! Who is not written to: one-click unsubscribe (RFC 8058) from non-essential emails, and the
//! suppression list fed by SES bounce and complaint feedback.

use std::time::Duration;

use gatehouse::queue::OutgoingMessage;
use gatehouse::store::deliveries::{DeliveryStatus, WithheldReason};
use gatehouse_tests::*;
use serde_json::{json, Value};

/// The value of `name` in a raw MIME message, folded lines joined.
fn header(mime: &str, name: &str) -> Option<String> {
    let unfolded = mime.replace("\r\n ", " ").replace("\r\n\t", " ").replace("\n ", " ");
    unfolded
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")).map(|v| v.trim().to_string()))
}

/// What a mail client sends (RFC 8058) to an unsubscribe URL's path: a form POST, no login.
async fn one_click(app: &TestApp, path: &str) -> reqwest::Response {
    app.http
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap()
}

async fn create_api(app: &TestApp, org: &TestOrg, name: &str) {
    let response = app
        .post_json(
            &format!("/orgs/{}/apis", org.id),
            Some(&org.admin_key),
            &json!({"name": name}),
        )
        .await;
    assert_eq!(response.status(), 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_click_unsubscribe_stops_that_category_and_nothing_else() {
    let app = spawn_app(Backend::Emulator).await;
    let ops = unique_email();
    let org = app
        .create_org(
            json!({"name": "Acme", "event_options": {"api_event": {"email": ops}, "key_event": {"email": ops}}}),
        )
        .await;
    create_api(&app, &org, "First").await;
    let notice = eventually(Duration::from_secs(30), || async {
        app.emails_to(&ops).await.into_iter().next()
    })
    .await
    .expect("the notice");
    assert_eq!(
        header(&notice, "List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    let list = header(&notice, "List-Unsubscribe").expect("List-Unsubscribe");
    let url = list.trim_start_matches('<').trim_end_matches('>');
    assert!(
        url.starts_with(&format!("http://127.0.0.1:3000/portal/{}/unsubscribe?token=", org.id)),
        "{url}"
    );
    assert!(!url.contains(&ops), "the address is not in the URL");
    let path = &url["http://127.0.0.1:3000".len()..];

    // A link scanner's GET changes nothing; it gets a page with a button.
    let page = app.http.get(app.url(path)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<form method=\"post\""));
    // Forged, missing, or another organisation's: refused, naming the token.
    for bad in [
        format!("/portal/{}/unsubscribe?token=gh1.forged", org.id),
        format!("/portal/{}/unsubscribe", org.id),
        path.replace(&org.id, "other-org"),
    ] {
        let response = app.http.post(app.url(&bad)).send().await.unwrap();
        assert_eq!(response.status(), 400, "{bad}");
        assert_eq!(response.json::<Value>().await.unwrap()["errors"][0]["field"], "token");
    }

    let response = one_click(&app, path).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap()["unsubscribed"],
        "event_notice.api_event"
    );

    // The next API notice is skipped and says why; other families still arrive.
    create_api(&app, &org, "Second").await;
    let deliveries = app.finished_emails_to(&org.id, &ops, 2).await;
    let skipped = deliveries
        .iter()
        .find(|d| d.status == DeliveryStatus::Skipped)
        .expect("skipped");
    assert!(skipped
        .last_error
        .as_deref()
        .unwrap()
        .contains("unsubscribed from event_notice.api_event"));
    assert_eq!(skipped.reason, Some(WithheldReason::Unsubscribed));
    assert_eq!(app.emails_to(&ops).await.len(), 1);
}

/// A developer's unsubscribe from a recurring notice turns their own email preference for it off:
/// the preference page shows it, the next one is withheld as `preference` and still reaches the
/// inbox.
async fn a_persons_unsubscribe_turns_their_preference_off(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let entry = app.catalog_entry(&org, Some("auto")).await;
    let email = unique_email();
    assert_eq!(app.sign_up(&org.id, &email).await.status(), 202);
    let (_, login) = app.log_in(&org.id, &email).await;
    let session = login["token"].as_str().unwrap().to_string();
    let (status, request) = app
        .send(
            "POST",
            &format!("/portal/{}/key-requests", org.id),
            &session,
            Some(json!({"catalog_id": entry["id"]})),
        )
        .await;
    assert_eq!(status, 201, "{request}");
    let key_id = request["key_id"].as_str().unwrap().to_string();
    let silver = app.policy(&org, "Silver", &entry["api_id"]).await;
    let change = |policy: Value| {
        let (app, org, key_id) = (&app, &org, &key_id);
        async move {
            let (status, changed) = app
                .admin(
                    org,
                    "PATCH",
                    &format!("/keys/{key_id}"),
                    Some(json!({"policy_ids": [policy]})),
                )
                .await;
            assert_eq!(status, 200, "{changed}");
        }
    };
    change(silver["id"].clone()).await;
    let notice = eventually(Duration::from_secs(60), || async {
        app.emails_to(&email)
            .await
            .into_iter()
            .find(|m| mail_text(m).contains("changed the access"))
    })
    .await
    .expect("the key_updated email");
    let list = header(&notice, "List-Unsubscribe").expect("a recurring notice has List-Unsubscribe");
    let url = list.trim_start_matches('<').trim_end_matches('>');
    let path = &url["http://127.0.0.1:3000".len()..];
    // The approval (critical) carries none.
    let approval = app
        .emails_to(&email)
        .await
        .into_iter()
        .find(|m| mail_text(m).contains("was approved"))
        .expect("the approval");
    assert_eq!(header(&approval, "List-Unsubscribe"), None);

    let response = one_click(&app, path).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["unsubscribed"], "key_updated");
    let (_, preferences) = app
        .send("GET", &format!("/portal/{}/preferences", org.id), &session, None)
        .await;
    assert_eq!(
        preferences["types"]["key_updated"],
        json!({"email": false}),
        "{preferences}"
    );
    let effective = preferences["effective"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "key_updated")
        .unwrap()
        .clone();
    assert_eq!(
        (&effective["email"], &effective["in_app"]),
        (&json!(false), &json!(true))
    );

    // The next change: withheld by the preference, in the inbox.
    change(entry["policy_id"].clone()).await;
    let deliveries = app.finished_emails_to(&org.id, &email, 4).await;
    assert_eq!(
        deliveries
            .iter()
            .filter(|d| d.reason == Some(WithheldReason::Preference))
            .count(),
        1,
        "{deliveries:?}"
    );
    let updates = eventually(Duration::from_secs(30), || async {
        let (_, page) = app
            .send("GET", &format!("/portal/{}/notifications", org.id), &session, None)
            .await;
        let found = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["type"] == "key_updated")
            .count();
        (found == 2).then_some(found)
    })
    .await;
    assert_eq!(updates, Some(2), "both changes are in the inbox");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persons_unsubscribe_turns_their_preference_off_embedded() {
    a_persons_unsubscribe_turns_their_preference_off(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persons_unsubscribe_turns_their_preference_off_on_the_emulator() {
    a_persons_unsubscribe_turns_their_preference_off(Backend::Emulator).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn essential_emails_carry_no_unsubscribe_link() {
    let app = spawn_app(Backend::Embedded).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let email = unique_email();
    assert_eq!(app.sign_up(&org.id, &email).await.status(), 202);
    let welcome = eventually(Duration::from_secs(30), || async {
        app.emails_to(&email).await.into_iter().next()
    })
    .await
    .expect("welcome");
    assert_eq!(header(&welcome, "List-Unsubscribe"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounced_and_complaining_addresses_are_suppressed() {
    let app = spawn_app(Backend::Emulator).await;
    let (bounced, complained) = (unique_email(), unique_email());
    let org = app
        .create_org(json!({"name": "Acme", "event_options": {"api_event": {"email": bounced}, "key_event": {"email": complained}}}))
        .await;

    // SES feedback as it arrives: a bounce through SNS, a complaint through EventBridge.
    let bounce = json!({"eventType": "Bounce", "mail": {"destination": [bounced]},
        "bounce": {"bounceType": "Permanent", "bounceSubType": "General", "bouncedRecipients": [{"emailAddress": bounced}]}});
    let sns = json!({"Type": "Notification", "MessageId": "1", "TopicArn": "arn:aws:sns:us-east-1:000000000000:ses-feedback", "Message": bounce.to_string()});
    let complaint = json!({"version": "0", "source": "aws.ses", "detail-type": "Email Complaint Received",
        "detail": {"eventType": "Complaint", "complaint": {"complaintFeedbackType": "abuse", "complainedRecipients": [{"emailAddress": complained}]}}});
    let transient = json!({"Type": "Notification", "Message": json!({"notificationType": "Bounce",
        "bounce": {"bounceType": "Transient", "bouncedRecipients": [{"emailAddress": "full-mailbox@example.com"}]}}).to_string()});
    let queue = &app.local.services.email_queue;
    let messages = [sns, complaint, transient]
        .map(|m| OutgoingMessage { body: m.to_string() })
        .to_vec();
    queue.send(messages).await.unwrap();

    let store = app.local.services.store.clone();
    let suppressed = eventually(Duration::from_secs(30), || async {
        let email = gatehouse::domain::Email::parse(&complained).unwrap();
        gatehouse::store::suppression::suppressed(store.as_ref(), &email)
            .await
            .unwrap()
    })
    .await
    .expect("the complaint is recorded");
    assert_eq!(
        (suppressed.reason.as_str(), suppressed.detail.as_str()),
        ("complaint", "complaint (abuse)")
    );
    let transient_address = gatehouse::domain::Email::parse("full-mailbox@example.com").unwrap();
    assert!(
        gatehouse::store::suppression::suppressed(store.as_ref(), &transient_address)
            .await
            .unwrap()
            .is_none(),
        "a transient bounce is not"
    );

    // Neither address is written to again; the delivery log says why.
    create_api(&app, &org, "Payments").await;
    let to_bounced = app.finished_emails_to(&org.id, &bounced, 1).await;
    assert_eq!(to_bounced[0].status, DeliveryStatus::Skipped);
    assert_eq!(to_bounced[0].reason, Some(WithheldReason::SuppressedAddress));
    assert!(
        to_bounced[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("suppressed after a bounce (Permanent bounce (General)"),
        "{:?}",
        to_bounced[0].last_error
    );
    assert!(app.emails_to(&bounced).await.is_empty());
    let dead = app.dead_letters(false).await;
    assert!(
        dead.is_empty(),
        "feedback messages are consumed, not dead-lettered: {dead:?}"
    );
}
