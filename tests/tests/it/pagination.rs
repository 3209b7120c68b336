//! Every list answers one way: `limit` and `cursor` in, `{items, next_cursor}` out. A walk of every
//! list route, page by page, finds exactly what one big page holds; the set of routes walked is the
//! set `openapi.yaml` documents as lists, so a new list cannot skip this.

use gatehouse::domain::OrgId;
use gatehouse::store::endpoints::{self, EndpointHealth};
use gatehouse_tests::contract::spec;
use gatehouse_tests::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;

/// An organisation with three of everything a list shows.
struct Filled {
    app: TestApp,
    org: TestOrg,
    session: String,
    /// An owner admin user's session (their inbox).
    admin_session: String,
    /// The developer holding the keys (`/orgs/{org}/developers/{id}/keys`).
    developer: String,
}

impl Filled {
    async fn new() -> Self {
        let app = spawn_app(Backend::Embedded).await;
        let org = app
            .create_org(json!({
                "name": "Many Things",
                "event_options": {"developer_event": {"email": "ops@example.com"}},
            }))
            .await;
        let owner = app.admin_user(&org, "owner").await;
        let filled = Filled {
            app,
            org,
            session: String::new(),
            admin_session: owner.token,
            developer: String::new(),
        };
        let mut policies = Vec::new();
        for n in 0..3 {
            let (_, api) = filled
                .admin("POST", "/apis", Some(json!({"name": format!("API {n}")})))
                .await;
            let (status, policy) = filled
                .admin(
                    "POST",
                    "/policies",
                    Some(json!({"name": format!("Policy {n}"), "api_ids": [api["id"]]})),
                )
                .await;
            assert_eq!(status, 201, "{policy}");
            let (status, entry) = filled
                .admin(
                    "POST",
                    "/catalog",
                    Some(json!({"name": format!("Entry {n}"), "api_id": api["id"], "policy_id": policy["id"]})),
                )
                .await;
            assert_eq!(status, 201, "{entry}");
            policies.push((policy["id"].clone(), entry["id"].clone()));
        }
        let email = unique_email();
        assert_eq!(filled.app.sign_up(&filled.org.id, &email).await.status(), 202);
        let (status, login) = filled.app.log_in(&filled.org.id, &email).await;
        assert_eq!(status, 200, "{login}");
        let session = login["token"].as_str().unwrap().to_string();
        let developer = login["developer"]["id"].as_str().unwrap().to_string();
        let mut live_keys = Vec::new();
        for (policy, entry) in &policies {
            // Admin approval (the default): each request stays pending.
            let (status, request) = filled
                .app
                .send(
                    "POST",
                    &format!("/portal/{}/key-requests", filled.org.id),
                    &session,
                    Some(json!({"catalog_id": entry})),
                )
                .await;
            assert_eq!(status, 201, "{request}");
            let (status, key) = filled
                .admin(
                    "POST",
                    &format!("/developers/{developer}/keys"),
                    Some(json!({"policy_ids": [policy]})),
                )
                .await;
            assert_eq!(status, 201, "{key}");
            live_keys.push(key["key_id"].clone());
        }
        // Budgets: the developer's and one key's.
        for subject in [json!({"developer_id": developer}), json!({"key_id": live_keys[0]})] {
            let mut body = json!({"amount": 5000, "currency": "EUR"});
            body.as_object_mut()
                .unwrap()
                .extend(subject.as_object().unwrap().clone());
            let (status, budget) = filled.admin("POST", "/budgets", Some(body)).await;
            assert_eq!(status, 201, "{budget}");
        }
        // A key issued and revoked: the developer's inbox holds the welcome and the revocation.
        let (status, key) = filled
            .admin(
                "POST",
                &format!("/developers/{developer}/keys"),
                Some(json!({"policy_ids": [policies[0].0]})),
            )
            .await;
        assert_eq!(status, 201, "{key}");
        let (status, _) = filled
            .admin("DELETE", &format!("/keys/{}", key["key_id"].as_str().unwrap()), None)
            .await;
        assert_eq!(status, 204);
        for n in 0..3 {
            let (status, _) = filled
                .admin(
                    "POST",
                    "/developers",
                    Some(json!({"email": format!("invited-{n}@example.com")})),
                )
                .await;
            assert_eq!(status, 201);
        }
        for n in 0..2 {
            let (status, key) = filled
                .admin(
                    "POST",
                    "/admin-keys",
                    Some(json!({"name": format!("key {n}"), "role": "viewer"})),
                )
                .await;
            assert_eq!(status, 201, "{key}");
            let (status, admin) = filled
                .admin(
                    "POST",
                    "/admins",
                    Some(json!({"email": format!("admin-{n}@example.com"), "role": "viewer"})),
                )
                .await;
            assert_eq!(status, 201, "{admin}");
        }
        // Endpoint health records appear when deliveries fail; written directly here.
        let org_id = OrgId::parse(&filled.org.id).unwrap();
        for n in 0..3 {
            let health = EndpointHealth::new(&format!("https://hooks.example.com/{n}"));
            endpoints::save(filled.app.local.services.store.as_ref(), &org_id, &health, 0, &[])
                .await
                .unwrap();
        }
        // The delivery log settles (nothing new for a second), so the walk sees what one big page saw.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let mut last = usize::MAX;
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let now = filled.app.deliveries(&filled.org.id).await.len();
            if now >= 3 && now == last {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the deliveries did not settle ({now})"
            );
            last = now;
        }
        Filled {
            session,
            developer,
            ..filled
        }
    }

    async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.app.admin(&self.org, method, path, body).await
    }

    /// The credential a documented route takes.
    fn token_for(&self, template: &str) -> &str {
        match template {
            "/portal/{org}/catalog" => "",
            "/orgs/{org}/me/notifications" => &self.admin_session,
            t if t.starts_with("/portal/") => &self.session,
            _ => &self.org.admin_key,
        }
    }
}

/// The id of a listed item (endpoints are named by their URL).
fn item_id(item: &Value) -> String {
    item.get("id")
        .or_else(|| item.get("url"))
        .unwrap()
        .as_str()
        .unwrap()
        .to_string()
}

/// The GET routes whose answer `openapi.yaml` documents as a page.
fn documented_lists() -> BTreeSet<String> {
    spec()["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, item)| {
            item["get"]["responses"]["200"]["content"]["application/json"]["schema"]["required"]
                .as_array()
                .is_some_and(|r| r.contains(&json!("next_cursor")))
        })
        .map(|(template, _)| template.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_list_pages_with_limit_and_cursor() {
    let filled = Filled::new().await;
    let lists = documented_lists();
    assert_eq!(lists.len(), 18, "the documented lists: {lists:?}");
    for template in &lists {
        let path = template
            .replace("{org}", &filled.org.id)
            .replace("{id}", &filled.developer);
        let token = filled.token_for(template);
        let (status, whole) = filled.app.send("GET", &format!("{path}?limit=100"), token, None).await;
        assert_eq!(status, 200, "{template}: {whole}");
        assert_eq!(
            whole["next_cursor"],
            Value::Null,
            "{template}: one page holds everything"
        );
        let all: Vec<String> = whole["items"].as_array().unwrap().iter().map(item_id).collect();
        assert!(all.len() >= 2, "{template} lists at least two items: {whole}");

        let mut walked = Vec::new();
        let mut pages = 0;
        let mut cursor: Option<String> = None;
        loop {
            let url = match &cursor {
                None => format!("{path}?limit=1"),
                Some(c) => format!("{path}?limit=1&cursor={c}"),
            };
            let (status, page) = filled.app.send("GET", &url, token, None).await;
            assert_eq!(status, 200, "{template}: {page}");
            let object = page.as_object().unwrap();
            assert!(
                object.contains_key("items") && object.contains_key("next_cursor"),
                "{page}"
            );
            let items = page["items"].as_array().unwrap();
            assert!(items.len() <= 1, "{template}: limit=1 gave {items:?}");
            walked.extend(items.iter().map(item_id));
            pages += 1;
            assert!(pages <= 50, "{template}: the walk does not end");
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => break,
            }
        }
        assert_eq!(walked, all, "{template}: the pages, in order, hold the list");
        assert!(pages >= all.len(), "{template}: one item per page");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cursor_not_from_the_list_is_refused_naming_it() {
    let app = spawn_app(Backend::Embedded).await;
    let org = app.create_org(json!({"name": "Cursors"})).await;
    let (_, api) = app
        .send(
            "POST",
            &format!("/orgs/{}/apis", org.id),
            &org.admin_key,
            Some(json!({"name": "A"})),
        )
        .await;
    use base64::Engine;
    let encode = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    for (path, cursor) in [
        // Not base64url.
        ("apis", "!!".to_string()),
        // Another list's position: a developer's sort key on the APIs list.
        ("apis", encode("DEV#dev_01h00000000000000000000000")),
        // Longer than any key.
        ("apis", encode(&format!("API#{}", "a".repeat(2000)))),
        ("developers", encode("not a cursor")),
        ("deliveries", encode("API#x")),
    ] {
        let (status, problem) = app
            .send(
                "GET",
                &format!("/orgs/{}/{path}?cursor={cursor}", org.id),
                &org.admin_key,
                None,
            )
            .await;
        assert_eq!(status, 400, "{path} {cursor}: {problem}");
        assert_eq!(problem["errors"][0]["field"], "cursor", "{problem}");
    }
    // The list still reads from a real cursor.
    let (_, first) = app
        .send("GET", &format!("/orgs/{}/apis?limit=1", org.id), &org.admin_key, None)
        .await;
    assert_eq!(first["items"][0]["id"], api["id"]);
}
