//! Key requests through the HTTP API on the emulator, emails read back from SES: every approval mode,
//! secure Generate Key links, concurrent approvals, decline, keys, and Tyk-shaped notifications.

use gatehouse_tests::*;
use serde_json::{json, Value};
use std::time::Duration;

struct Portal {
    app: TestApp,
    org: TestOrg,
    api: String,
    policy: String,
}

impl Portal {
    /// An organisation with one API and policy, and `settings`.
    async fn new(settings: Value, event_options: Value) -> Self {
        Self::on(Backend::Emulator, settings, event_options).await
    }

    async fn on(backend: Backend, settings: Value, event_options: Value) -> Self {
        let app = spawn_app(backend).await;
        let org = app
            .create_org(json!({"name": "Acme", "settings": settings, "event_options": event_options}))
            .await;
        let mut portal = Portal {
            app,
            org,
            api: String::new(),
            policy: String::new(),
        };
        let api = portal.admin("POST", "/apis", Some(json!({"name": "Payments"}))).await.1;
        let policy = portal
            .admin(
                "POST",
                "/policies",
                Some(json!({"name": "Gold", "api_ids": [api["id"]], "rate": {"requests": 10, "per_secs": 1}})),
            )
            .await
            .1;
        portal.policy = policy["id"].as_str().unwrap().to_string();
        portal.api = api["id"].as_str().unwrap().to_string();
        portal
    }

    async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.app.admin(&self.org, method, path, body).await
    }

    async fn entry(&self, approval: Option<&str>, extra: Value) -> String {
        let mut body = json!({"name": format!("Payments {}", approval.unwrap_or("default")), "api_id": self.api, "policy_id": self.policy});
        if let Some(a) = approval {
            body["approval"] = json!(a);
        }
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, created) = self.admin("POST", "/catalog", Some(body)).await;
        assert_eq!(status, 201, "{created}");
        created["id"].as_str().unwrap().to_string()
    }

    /// A developer who signed up and logged in: (email, session token).
    async fn developer(&self) -> (String, String) {
        let email = unique_email();
        assert_eq!(self.app.sign_up(&self.org.id, &email).await.status(), 202);
        let login = self
            .app
            .post_json(
                &format!("/portal/{}/login", self.org.id),
                None,
                &json!({"email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(login.status(), 200);
        let token = login.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string();
        (email, token)
    }

    /// A key issued to `developer` by an admin for the organisation's policy: its id.
    async fn subscribe(&self, developer: &str) -> String {
        let (status, subscribed) = self
            .admin(
                "POST",
                &format!("/developers/{developer}/keys"),
                Some(json!({"policy_ids": [self.policy]})),
            )
            .await;
        assert_eq!(status, 201, "{subscribed}");
        subscribed["key_id"].as_str().unwrap().to_string()
    }

    async fn portal(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        self.app
            .send(method, &format!("/portal/{}{path}", self.org.id), token, body)
            .await
    }

    async fn request(&self, token: &str, catalog: &str) -> (u16, Value) {
        self.portal("POST", "/key-requests", token, Some(json!({"catalog_id": catalog})))
            .await
    }

    async fn email(&self, to: &str, needle: &str) -> String {
        eventually(Duration::from_secs(20), || async {
            self.app.emails_to(to).await.into_iter().find(|m| m.contains(needle))
        })
        .await
        .unwrap_or_else(|| panic!("no email to {to} containing {needle:?}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_approval_issues_the_key_at_once_and_mails_it() {
    let p = Portal::new(json!({}), json!({})).await;
    let entry = p.entry(Some("auto"), json!({})).await;
    let (email, token) = p.developer().await;
    let (status, body) = p.request(&token, &entry).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "approved");
    let key = body["key"].as_str().expect("the key, shown once").to_string();
    assert!(key.starts_with("gh_live_"));
    let mail = p.email(&email, "Your Acme API key").await;
    assert!(mail.contains(&key), "default flow: the email carries the key");

    let (_, keys) = p.portal("GET", "/keys", &token, None).await;
    let listed = &keys["items"][0];
    assert_eq!(listed["catalog_entry"]["id"], entry.as_str());
    assert_eq!(listed["policies"][0]["name"], "Gold");
    assert!(key.starts_with(listed["prefix"].as_str().unwrap().trim_end_matches('…')));
    assert!(!keys.to_string().contains(&key), "listings never show the key");
    assert!(listed.get("key_hash").is_none());

    // The table holds the key's hash and prefix only, the outbox event included (its part for the
    // developer is sealed).
    let everything = p.app.org_records(&p.org.id).await;
    assert!(everything.len() > 5);
    assert!(
        !serde_json::to_string(&everything).unwrap().contains(&key),
        "a plaintext key is stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_approval_and_decline() {
    let ops = unique_email();
    let hooks = WebhookReceiver::start(vec![200]).await;
    let p = Portal::new(
        json!({"key_request_fields": [{"name": "reason", "required": true}]}),
        json!({"key_request_event": {"email": ops, "webhook": hooks.url()}}),
    )
    .await;
    let entry = p.entry(None, json!({})).await; // the organisation's default: admin
    let (email, token) = p.developer().await;
    let (status, problem) = p.request(&token, &entry).await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (400, Some("fields.reason"))
    );
    let (status, problem) = p
        .portal(
            "POST",
            "/key-requests",
            &token,
            Some(json!({"catalog_id": "cat_nope", "fields": {"reason": "x"}})),
        )
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (400, Some("catalog_id"))
    );

    let ask = |reason: &'static str| {
        p.portal(
            "POST",
            "/key-requests",
            &token,
            Some(json!({"catalog_id": entry, "fields": {"reason": reason}})),
        )
    };
    let (status, first) = ask("billing").await;
    assert_eq!((status, first["status"].as_str()), (201, Some("pending")));
    assert!(first.get("key").is_none());
    let (_, second) = ask("testing").await;
    let (_, pending) = p.admin("GET", "/key-requests?status=pending", None).await;
    assert_eq!(pending["items"].as_array().unwrap().len(), 2);

    let (status, approved) = p
        .admin(
            "POST",
            &format!("/key-requests/{}/approve", first["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 200);
    // The approver gets the key's details; the key itself goes to its developer only.
    assert!(approved.get("key").is_none(), "{approved}");
    let prefix = approved["key_details"]["prefix"]
        .as_str()
        .unwrap()
        .trim_end_matches('…');
    assert!(prefix.starts_with("gh_live_"));
    let mail = mail_text(&p.email(&email, "Your Acme API key").await);
    let at = mail.find(prefix).expect("the key's email carries the key");
    let key: String = mail[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    assert!(key.len() > prefix.len(), "{key}");
    let (status, _) = p
        .admin(
            "POST",
            &format!("/key-requests/{}/approve", first["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 409, "approved once");

    let second_id = second["id"].as_str().unwrap();
    assert_eq!(
        p.admin("POST", &format!("/key-requests/{second_id}/decline"), None)
            .await
            .0,
        204
    );
    p.email(&email, "was declined").await;
    assert_eq!(
        p.admin("POST", &format!("/key-requests/{second_id}/approve"), None)
            .await
            .0,
        404,
        "a declined request is gone"
    );
    let (_, mine) = p.portal("GET", "/key-requests", &token, None).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);

    // The event_options address heard of the request, the approval and the decline, without the key.
    let notices = eventually(Duration::from_secs(20), || async {
        let m = p.app.emails_to(&ops).await;
        (m.len() >= 4).then_some(m)
    })
    .await
    .expect("key_request_event notices");
    assert!(notices.iter().all(|m| !m.contains(&key)));
    assert!(notices.iter().any(|m| m.contains("[Acme] key_request_event.updated")));
    let received = hooks
        .wait_for(4, Duration::from_secs(20))
        .await
        .expect("key_request_event webhooks");
    let statuses: Vec<Value> = received
        .iter()
        .map(|h| h.json())
        .filter(|b| b["event"] == "key_request_event.updated")
        .map(|b| b["data"]["status"].clone())
        .collect();
    assert!(statuses.contains(&json!("approved")) && statuses.contains(&json!("declined")));
    assert!(
        received
            .iter()
            .all(|h| verify_standard_webhook(&p.org.webhook_secret, h)
                && !String::from_utf8_lossy(&h.body).contains(&key))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_hand_off_approved_by_a_third_party() {
    let third_party = WebhookReceiver::start(vec![200]).await;
    let p = Portal::new(json!({"key_request_webhook": third_party.url()}), json!({})).await;
    let entry = p.entry(Some("webhook"), json!({})).await;
    let (email, token) = p.developer().await;
    let (status, request) = p.request(&token, &entry).await;
    assert_eq!((status, request["status"].as_str()), (201, Some("pending")));

    // The third party receives the signed request and approves it with an admin key.
    let hook = eventually(Duration::from_secs(20), || async {
        third_party.received().into_iter().next()
    })
    .await
    .expect("handed off");
    assert!(verify_standard_webhook(&p.org.webhook_secret, &hook));
    let body = hook.json();
    assert_eq!(body["event"], "key_request_event.created");
    assert_eq!(body["data"]["request_id"], request["id"]);
    let (status, approved) = p
        .admin(
            "POST",
            &format!("/key-requests/{}/approve", body["data"]["request_id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert!(approved.get("key").is_none(), "{approved}");
    let prefix = approved["key_details"]["prefix"]
        .as_str()
        .unwrap()
        .trim_end_matches('…');
    assert!(p.email(&email, "Your Acme API key").await.contains(prefix));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_mode_sends_the_developer_elsewhere() {
    let p = Portal::new(json!({}), json!({})).await;
    let entry = p
        .entry(
            Some("redirect"),
            json!({"redirect_to": "https://apply.example.com/form"}),
        )
        .await;
    let (_, token) = p.developer().await;
    let (status, body) = p.request(&token, &entry).await;
    assert_eq!(
        (status, body["redirect_to"].as_str()),
        (200, Some("https://apply.example.com/form"))
    );
    let (_, all) = p.admin("GET", "/key-requests", None).await;
    assert_eq!(all["items"], json!([]), "no request is made");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secure_key_approval_mails_a_link_only_its_developer_can_redeem_once() {
    let p = Portal::new(json!({"secure_key_approval": true}), json!({})).await;
    let entry = p.entry(Some("admin"), json!({})).await;
    let (email, token) = p.developer().await;
    let (_, other_token) = p.developer().await;
    let (_, request) = p.request(&token, &entry).await;
    let (status, approved) = p
        .admin(
            "POST",
            &format!("/key-requests/{}/approve", request["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert!(approved.get("key").is_none(), "no key exists yet");
    let (_, keys) = p.admin("GET", "/keys", None).await;
    assert_eq!(keys["items"], json!([]));

    let mail = p.email(&email, "ready to generate").await;
    assert!(!mail.contains("gh_live_"), "the email never contains a key");
    // The deployment's portal, shared by every organisation without its own: the link names its
    // organisation.
    let page = format!("https://portal.example.com/o/{}/keys/generate?token=", p.org.id);
    let link = find_link(&mail, &page);
    let link_token = link
        .expect("a Generate Key link")
        .split("token=")
        .nth(1)
        .unwrap()
        .to_string();
    let redeem = |session: String, t: String| {
        let p = &p;
        async move {
            p.portal("POST", "/keys/generate", &session, Some(json!({"token": t})))
                .await
        }
    };
    assert_eq!(redeem(String::new(), link_token.clone()).await.0, 401, "not logged in");
    assert_eq!(
        redeem(other_token.clone(), link_token.clone()).await.0,
        404,
        "another developer"
    );
    let (status, generated) = redeem(token.clone(), link_token.clone()).await;
    assert_eq!(status, 201);
    let key = generated["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("gh_live_"));
    assert_eq!(
        redeem(token.clone(), link_token.clone()).await.0,
        400,
        "a second redemption"
    );
    let (_, mine) = p.portal("GET", "/keys", &token, None).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert!(!mine.to_string().contains(&key));

    // An expired link (its record still there, as TTL deletion is lazy) is refused.
    let (_, again) = p.request(&token, &entry).await;
    p.admin(
        "POST",
        &format!("/key-requests/{}/approve", again["id"].as_str().unwrap()),
        None,
    )
    .await;
    let expired = "gh_keylink_expired_for_the_test_0000000000000000";
    let write = gatehouse::store::sessions::issue_key_link(
        &gatehouse::domain::OrgId::parse(&p.org.id).unwrap(),
        &gatehouse::secret::token_hash(expired),
        &gatehouse::store::sessions::KeyLink {
            developer_id: gatehouse::domain::DeveloperId::parse(generated["developer_id"].as_str().unwrap()).unwrap(),
            request_id: gatehouse::domain::KeyRequestId::parse(again["id"].as_str().unwrap()).unwrap(),
            expires_at: gatehouse::domain::now_epoch() - 1,
        },
    );
    p.app.local.services.store.transact(vec![write]).await.unwrap();
    assert_eq!(redeem(token.clone(), expired.to_string()).await.0, 400, "expired");
    // Nothing stored holds the key in plain text.
    assert!(!logged().contains(&key));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_admins_approving_at_once_issue_one_key_and_one_email() {
    let p = Portal::new(json!({}), json!({})).await;
    let entry = p.entry(Some("admin"), json!({})).await;
    let (email, token) = p.developer().await;
    let (_, request) = p.request(&token, &entry).await;
    let path = format!("/key-requests/{}/approve", request["id"].as_str().unwrap());
    let (a, b) = tokio::join!(p.admin("POST", &path, None), p.admin("POST", &path, None));
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [200, 409]);
    let (_, keys) = p.admin("GET", "/keys", None).await;
    assert_eq!(keys["items"].as_array().unwrap().len(), 1, "exactly one key");
    p.email(&email, "Your Acme API key").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let approvals = p
        .app
        .emails_to(&email)
        .await
        .into_iter()
        .filter(|m| m.contains("Your Acme API key"))
        .count();
    assert_eq!(approvals, 1, "exactly one email");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_lists_one_developers_keys_and_no_one_elses() {
    let p = Portal::on(Backend::Embedded, json!({}), json!({})).await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let (_, token) = p.developer().await;
        let (_, me) = p.portal("GET", "/me", &token, None).await;
        ids.push(me["id"].as_str().unwrap().to_string());
    }
    let mut issued = Vec::new();
    for developer in [&ids[0], &ids[0], &ids[1]] {
        issued.push(p.subscribe(developer).await);
    }
    let (status, first) = p.admin("GET", &format!("/developers/{}/keys", ids[0]), None).await;
    assert_eq!(status, 200, "{first}");
    let listed: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        [issued[0].as_str(), issued[1].as_str()],
        "in creation order, only hers"
    );
    assert!(first["items"][0].get("hash").is_none() && first["items"][0].get("key").is_none());
    // One a page: the cursor leads to the second, then to nothing.
    let (_, page) = p
        .admin("GET", &format!("/developers/{}/keys?limit=1", ids[0]), None)
        .await;
    assert_eq!(page["items"][0]["id"], issued[0].as_str());
    let cursor = page["next_cursor"].as_str().expect("a next page");
    let (_, rest) = p
        .admin(
            "GET",
            &format!("/developers/{}/keys?limit=1&cursor={cursor}", ids[0]),
            None,
        )
        .await;
    assert_eq!(rest["items"][0]["id"], issued[1].as_str());
    let (_, second) = p.admin("GET", &format!("/developers/{}/keys", ids[1]), None).await;
    assert_eq!(second["items"][0]["id"], issued[2].as_str());
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    let (status, problem) = p
        .admin("GET", "/developers/dev_00000000000000000000000000/keys", None)
        .await;
    assert_eq!((status, problem["status"].as_u64()), (404, Some(404)), "{problem}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_subscribe_change_and_revoke_keys_with_tyk_shaped_events() {
    let hooks = WebhookReceiver::start(vec![200]).await;
    let ops = unique_email();
    let p = Portal::new(json!({}), json!({"key_event": {"webhook": hooks.url(), "email": ops}})).await;
    let (email, token) = p.developer().await;
    let (_, me) = p.portal("GET", "/me", &token, None).await;
    let developer = me["id"].as_str().unwrap();
    let (status, problem) = p
        .admin(
            "POST",
            &format!("/developers/{developer}/keys"),
            Some(json!({"policy_ids": ["pol_nope"]})),
        )
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (400, Some("policy_ids[0]"))
    );
    let key_id = p.subscribe(developer).await;

    let (_, mine) = p.portal("GET", "/keys", &token, None).await;
    assert_eq!(mine["items"][0]["catalog_entry"]["name"], "(No Catalog Entry)");

    let gold_only = p
        .admin("POST", "/policies", Some(json!({"name": "Silver", "api_ids": [p.api]})))
        .await
        .1;
    let (status, changed) = p
        .admin(
            "PATCH",
            &format!("/keys/{key_id}"),
            Some(json!({"policy_ids": [gold_only["id"]]})),
        )
        .await;
    assert_eq!(
        (status, changed["policy_ids"][0].clone()),
        (200, gold_only["id"].clone())
    );
    p.email(&email, "was changed").await;
    assert_eq!(p.admin("DELETE", &format!("/keys/{key_id}"), None).await.0, 204);
    p.email(&email, "was revoked").await;
    let (_, mine) = p.portal("GET", "/keys", &token, None).await;
    assert_eq!(mine["items"], json!([]));

    let received = hooks.wait_for(3, Duration::from_secs(20)).await.expect("key events");
    let mut events: Vec<String> = received
        .iter()
        .map(|h| h.json()["event"].as_str().unwrap().to_string())
        .collect();
    events.sort();
    assert_eq!(events, ["key_event.created", "key_event.deleted", "key_event.updated"]);
    for hook in &received {
        let body = hook.json();
        assert!(verify_standard_webhook(&p.org.webhook_secret, hook));
        assert_eq!(body["org_id"], p.org.id.as_str());
        assert_eq!(body["data"]["key_id"], key_id.as_str());
        assert!(!String::from_utf8_lossy(&hook.body).contains("gh_live_") || body["data"]["key_prefix"].is_string());
        assert!(body["data"].get("key").is_none() && body["data"].get("key_hash").is_none());
    }
    let notices = eventually(Duration::from_secs(20), || async {
        let m = p.app.emails_to(&ops).await;
        (m.len() >= 3).then_some(m)
    })
    .await
    .expect("key_event notices by email");
    assert!(notices.iter().any(|m| m.contains("[Acme] key_event.deleted")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hide_token_data_keeps_keys_out_of_email_and_removal_revokes_keys() {
    let hooks = WebhookReceiver::start(vec![200]).await;
    let p = Portal::new(
        json!({"hide_token_data": true}),
        json!({"key_event": {"webhook": hooks.url()}}),
    )
    .await;
    let entry = p.entry(Some("auto"), json!({})).await;
    let (email, token) = p.developer().await;
    let (status, body) = p.request(&token, &entry).await;
    assert_eq!(status, 201);
    assert!(
        body.get("key").is_none(),
        "with hide_token_data the key comes through the link"
    );
    let mail = p.email(&email, "ready to generate").await;
    assert!(!mail.contains("gh_live_"));
    let page = format!("https://portal.example.com/o/{}/keys/generate?token=", p.org.id);
    let link = find_link(&mail, &page).expect("a Generate Key link");
    let link_token = link.split("token=").nth(1).unwrap().to_string();
    let (status, generated) = p
        .portal("POST", "/keys/generate", &token, Some(json!({"token": link_token})))
        .await;
    assert_eq!(status, 201);
    let key_id = generated["id"].as_str().unwrap().to_string();

    // Removing the developer revokes the key, with key_event.deleted for gateways that follow webhooks.
    let (_, me) = p.portal("GET", "/me", &token, None).await;
    assert_eq!(
        p.admin("DELETE", &format!("/developers/{}", me["id"].as_str().unwrap()), None)
            .await
            .0,
        204
    );
    let (_, keys) = p.admin("GET", "/keys", None).await;
    assert_eq!(keys["items"], json!([]));
    let (_, requests) = p.admin("GET", "/key-requests", None).await;
    assert_eq!(requests["items"], json!([]));
    let deleted = eventually(Duration::from_secs(20), || async {
        hooks
            .received()
            .into_iter()
            .map(|h| h.json())
            .find(|b| b["event"] == "key_event.deleted")
    })
    .await
    .expect("key_event.deleted");
    assert_eq!(deleted["data"]["key_id"], key_id.as_str());
}

/// The kinds of the outbox events written so far in the organisation.
async fn event_kinds(p: &Portal) -> Vec<String> {
    let mut events: Vec<_> = p
        .app
        .org_records(&p.org.id)
        .await
        .into_iter()
        .filter(|r| r["SK"] == gatehouse::store::table_keys::EVENT_SK)
        .collect();
    // In the order they were raised (event ids are time-ordered).
    events.sort_by_key(|r| r["PK"].as_str().unwrap_or_default().to_string());
    events.iter().map(|r| r["kind"].as_str().unwrap().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_failure_during_approval_leaves_the_request_pending_and_logs_the_request_id() {
    let p = Portal::on(Backend::Embedded, json!({}), json!({})).await;
    let entry = p.entry(Some("admin"), json!({})).await;
    let (_, token) = p.developer().await;
    let (_, request) = p.request(&token, &entry).await;
    let id = request["id"].as_str().unwrap();
    let events_before = event_kinds(&p).await;

    let memory = p.app.local.memory_store.clone().expect("the embedded store");
    memory.fail_next_transaction_writing(gatehouse::store::table_keys::API_KEY_KIND);
    let response = p
        .app
        .http
        .post(p.app.url(&format!("/orgs/{}/key-requests/{id}/approve", p.org.id)))
        .bearer_auth(&p.org.admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    let request_id = response.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(!request_id.is_empty());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "https://gatehouse.dev/problems/internal");

    // Nothing of the approval happened: the request is pending, there is no key and no new event.
    let (_, requests) = p.admin("GET", "/key-requests", None).await;
    assert_eq!(requests["items"][0]["id"], request["id"]);
    assert_eq!(requests["items"][0]["status"], "pending");
    assert!(requests["items"][0].get("key_id").is_none());
    let (_, keys) = p.admin("GET", "/keys", None).await;
    assert_eq!(keys["items"].as_array().unwrap().len(), 0, "no key");
    assert_eq!(event_kinds(&p).await, events_before, "no event");
    // The failure is logged with the request's id.
    let logs = logged();
    assert!(
        logs.lines()
            .any(|l| l.contains("request failed") && l.contains(&request_id)),
        "no error line with request id {request_id}"
    );
    assert!(logs.contains("injected store failure"), "the cause is logged");
    // And the request can still be approved.
    let (status, approved) = p.admin("POST", &format!("/key-requests/{id}/approve"), None).await;
    assert_eq!(status, 200, "{approved}");
    assert!(approved["key_details"]["prefix"]
        .as_str()
        .unwrap()
        .starts_with("gh_live_"));
    assert_eq!(event_kinds(&p).await.len(), events_before.len() + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_developer_lists_their_keys_and_requests_reading_only_their_own_records() {
    let p = Portal::on(Backend::Embedded, json!({}), json!({})).await;
    let admin_entry = p.entry(Some("admin"), json!({})).await;
    let auto_entry = p.entry(Some("auto"), json!({})).await;
    // Their six keys over two entries, within MAX_ACTIVE_KEYS_PER_CATALOG_ENTRY (5).
    let other_auto_entry = p.entry(Some("auto"), json!({})).await;
    let (_, mine) = p.developer().await;
    let (_, theirs) = p.developer().await;
    for n in 0..6 {
        assert_eq!(p.request(&theirs, &admin_entry).await.0, 201);
        let entry = if n % 2 == 0 { &auto_entry } else { &other_auto_entry };
        assert_eq!(p.request(&theirs, entry).await.0, 201);
    }
    assert_eq!(p.request(&mine, &admin_entry).await.0, 201);
    let (_, issued) = p.request(&mine, &auto_entry).await;
    let (_, me) = p.portal("GET", "/me", &mine, None).await;
    let my_id = me["id"].as_str().unwrap().to_string();

    let memory = p.app.local.memory_store.clone().expect("the embedded store");
    let request_kind = gatehouse::store::table_keys::KEY_REQUEST_KIND;
    let key_kind = gatehouse::store::table_keys::API_KEY_KIND;
    for (path, kind, expected) in [("/key-requests", request_kind, 2), ("/keys", key_kind, 1)] {
        memory.record_reads();
        let (status, listed) = p.portal("GET", path, &mine, None).await;
        assert_eq!(status, 200);
        let items = listed["items"].as_array().unwrap();
        assert_eq!(items.len(), expected, "{path}: {listed}");
        assert!(items.iter().all(|i| i["developer_id"] == my_id.as_str()));
        let read: Vec<_> = memory.reads().into_iter().filter(|k| k.sk == kind).collect();
        assert_eq!(
            read.len(),
            expected,
            "{path} read {} records of that kind: {read:?}",
            read.len()
        );
    }
    assert_eq!(issued["status"], "approved");
}
