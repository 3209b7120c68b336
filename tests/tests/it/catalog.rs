//! Admin: APIs, policies and catalog entries — validation, references, isolation, `api_event`
//! notifications in Tyk's envelope — and the portal's published catalog.

use gatehouse_tests::*;
use serde_json::{json, Value};
use std::time::Duration;

struct Admin<'a> {
    app: &'a TestApp,
    org: &'a TestOrg,
}

impl Admin<'_> {
    async fn send(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let path = format!("/orgs/{}{path}", self.org.id);
        self.app.send(method, &path, &self.org.admin_key, body).await
    }

    async fn created(&self, path: &str, body: Value) -> Value {
        let (status, body) = self.send("POST", path, Some(body)).await;
        assert_eq!(status, 201, "POST {path}: {body}");
        body
    }
}

fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apis_policies_and_catalog_entries_are_managed_with_checks() {
    let app = spawn_app(Backend::Emulator).await;
    let receiver = WebhookReceiver::start(vec![200]).await;
    let ops = unique_email();
    let org = app
        .create_org(json!({"name": "Acme", "event_options": {"api_event": {"webhook": receiver.url(), "email": ops}}}))
        .await;
    let admin = Admin { app: &app, org: &org };

    // Validation names the field; nothing is written.
    let (status, problem) = admin
        .send(
            "POST",
            "/apis",
            Some(json!({"name": "", "listen_path": "nope", "extra": 1})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(fields(&problem), ["extra"]);
    let (status, problem) = admin
        .send("POST", "/apis", Some(json!({"name": "", "listen_path": "nope"})))
        .await;
    assert_eq!(status, 400);
    assert_eq!(fields(&problem), ["name", "listen_path"]);
    assert_eq!(admin.send("GET", "/apis", None).await.1["items"], json!([]));

    let api = admin
        .created("/apis", json!({"name": "Payments", "listen_path": "/payments/"}))
        .await;
    let api_id = api["id"].as_str().unwrap();
    let other_api = admin.created("/apis", json!({"name": "Ledger"})).await;

    let (status, problem) = admin
        .send("POST", "/policies", Some(json!({"name": "Gold", "api_ids": ["api_nope", api_id, api_id], "rate": {"requests": 0, "per_secs": 1}})))
        .await;
    assert_eq!(status, 400);
    assert_eq!(fields(&problem), ["rate", "api_ids[0]", "api_ids[2]"]);
    let policy = admin
        .created("/policies", json!({"name": "Gold", "api_ids": [api_id], "rate": {"requests": 100, "per_secs": 60}, "quota": {"max": 10000, "renewal_secs": 2592000}}))
        .await;
    let policy_id = policy["id"].as_str().unwrap();

    let (status, problem) = admin
        .send(
            "POST",
            "/catalog",
            Some(json!({"name": "Ledger", "api_id": other_api["id"], "policy_id": policy_id})),
        )
        .await;
    assert_eq!(status, 400, "the policy must grant the api");
    assert_eq!(fields(&problem), ["policy_id"]);
    let entry = admin
        .created("/catalog", json!({"name": "Payments", "description": "Take payments", "api_id": api_id, "policy_id": policy_id, "approval": "admin"}))
        .await;
    let hidden = admin
        .created(
            "/catalog",
            json!({"name": "Beta", "api_id": api_id, "policy_id": policy_id, "published": false}),
        )
        .await;

    // PATCH changes only what it names and is validated as a whole.
    let (status, patched) = admin
        .send(
            "PATCH",
            &format!("/apis/{api_id}"),
            Some(json!({"name": "Payments v2"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (patched["name"].as_str(), patched["listen_path"].as_str()),
        (Some("Payments v2"), Some("/payments/"))
    );
    let (status, problem) = admin
        .send("PATCH", &format!("/apis/{api_id}"), Some(json!({"id": "api_other"})))
        .await;
    assert_eq!((status, fields(&problem)), (400, vec!["id".to_string()]));

    // What a catalog entry uses cannot be deleted from under it.
    assert_eq!(admin.send("DELETE", &format!("/apis/{api_id}"), None).await.0, 409);
    assert_eq!(
        admin.send("DELETE", &format!("/policies/{policy_id}"), None).await.0,
        409
    );

    // The portal shows published entries with their API and limits; no admin key needed.
    let catalog: Value = app
        .http
        .get(app.url(&format!("/portal/{}/catalog", org.id)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = catalog["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], entry["id"]);
    assert_eq!(items[0]["api"]["name"], "Payments v2");
    assert_eq!(items[0]["rate"]["requests"], 100);
    assert_eq!(items[0]["approval"], "admin", "how a request for it is decided");
    assert!(items.iter().all(|i| i["id"] != hidden["id"]));

    // Deleting in order works, and raises api_event.deleted.
    assert_eq!(
        admin
            .send("DELETE", &format!("/catalog/{}", entry["id"].as_str().unwrap()), None)
            .await
            .0,
        204
    );
    assert_eq!(
        admin
            .send("DELETE", &format!("/catalog/{}", hidden["id"].as_str().unwrap()), None)
            .await
            .0,
        204
    );
    assert_eq!(
        admin.send("DELETE", &format!("/policies/{policy_id}"), None).await.0,
        204
    );
    assert_eq!(admin.send("DELETE", &format!("/apis/{api_id}"), None).await.0, 204);
    assert_eq!(admin.send("GET", &format!("/apis/{api_id}"), None).await.0, 404);

    // api_event reached the webhook (Tyk's envelope, signed) and the email address of event_options.
    let hooks = receiver
        .wait_for(4, Duration::from_secs(20))
        .await
        .expect("api events were delivered");
    let mut events: Vec<String> = hooks
        .iter()
        .map(|h| h.json()["event"].as_str().unwrap().to_string())
        .collect();
    events.sort();
    assert_eq!(
        events,
        [
            "api_event.created",
            "api_event.created",
            "api_event.deleted",
            "api_event.updated"
        ]
    );
    for hook in &hooks {
        assert!(verify_standard_webhook(&org.webhook_secret, hook));
        let body = hook.json();
        assert_eq!(body["org_id"], org.id.as_str());
        assert!(body["data"]["api_id"].as_str().unwrap().starts_with("api_"));
    }
    let notices = eventually(Duration::from_secs(20), || async {
        let m = app.emails_to(&ops).await;
        (m.len() >= 4).then_some(m)
    })
    .await
    .expect("api events were emailed");
    assert!(notices.iter().any(|m| m.contains("[Acme] api_event.deleted")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_organisations_admin_sees_none_of_it() {
    let app = spawn_app(Backend::Embedded).await;
    let a = app.create_org(json!({"name": "A"})).await;
    let b = app.create_org(json!({"name": "B"})).await;
    let owner = Admin { app: &app, org: &b };
    let api = owner.created("/apis", json!({"name": "Payments"})).await;
    let path = format!("/apis/{}", api["id"].as_str().unwrap());
    let intruder = |method: &'static str, body: Option<Value>| {
        let (app, url, key) = (&app, app.url(&format!("/orgs/{}{path}", b.id)), a.admin_key.clone());
        async move {
            let mut r = app.http.request(method.parse().unwrap(), url).bearer_auth(key);
            if let Some(body) = body {
                r = r.json(&body);
            }
            r.send().await.unwrap().status().as_u16()
        }
    };
    assert_eq!(intruder("GET", None).await, 404);
    assert_eq!(intruder("PATCH", Some(json!({"name": "Mine"}))).await, 404);
    assert_eq!(intruder("DELETE", None).await, 404);
    let list = app
        .http
        .get(app.url(&format!("/orgs/{}/apis", b.id)))
        .bearer_auth(&a.admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), 404);
    assert_eq!(owner.send("GET", &path, None).await.1["name"], "Payments", "unchanged");
    // A's own list is empty: nothing of B shows through.
    let own: Value = app
        .http
        .get(app.url(&format!("/orgs/{}/apis", a.id)))
        .bearer_auth(&a.admin_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(own["items"], json!([]));
}
