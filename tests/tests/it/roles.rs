//! Roles through the HTTP API: every admin operation in openapi.yaml names its permission
//! (`x-permission`), each role gets exactly what the permission table gives it and 403 otherwise,
//! and another organisation's admin gets 404 everywhere. Admin keys carry roles.

use std::collections::BTreeMap;
use std::time::Duration;

use gatehouse_tests::contract::spec;
use gatehouse_tests::*;
use serde_json::{json, Value};

/// The permission table, as the README states it.
fn allowed(role: &str, permission: &str) -> bool {
    const APPROVER: [&str; 6] = [
        "read_organisation",
        "read_developers",
        "read_catalog",
        "read_key_requests",
        "decide_key_requests",
        "read_keys",
    ];
    match role {
        "owner" => true,
        "admin" => !["manage_owners", "send_digests", "change_destinations"].contains(&permission),
        "approver" => APPROVER.contains(&permission),
        "viewer" => permission.starts_with("read_"),
        "gateway" => permission == "verify_keys",
        other => panic!("no role {other}"),
    }
}

/// Every operation an admin key may call: (method, path template, permission).
fn admin_operations() -> Vec<(String, String, String)> {
    let mut found = Vec::new();
    for (path, item) in spec()["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let secured_by_admin = operation["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("orgAdmin").is_some()));
            if !secured_by_admin {
                continue;
            }
            let permission = operation["x-permission"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} names no x-permission"));
            let responses = &operation["responses"];
            assert!(
                responses.get("403").is_some() && responses.get("404").is_some(),
                "{method} {path} documents 403 and 404"
            );
            found.push((method.to_uppercase(), path.clone(), permission.to_string()));
        }
    }
    found
}

/// The schema name of a path parameter (`DeveloperId`, `KeyId`, …) or its plain name.
fn parameter_kind(path: &str, method: &str, name: &str) -> String {
    let item = &spec()["paths"][path];
    let parameters = item["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(item[method]["parameters"].as_array().into_iter().flatten());
    for p in parameters {
        if p["name"] == name {
            if let Some(reference) = p["schema"]["$ref"].as_str() {
                return reference.rsplit('/').next().unwrap().to_string();
            }
        }
    }
    name.to_string()
}

struct Filled {
    ids: BTreeMap<&'static str, String>,
}

/// An organisation with one of everything an admin route can name.
async fn fill(app: &TestApp, org: &TestOrg) -> Filled {
    let mut ids = BTreeMap::new();
    let entry = app.catalog_entry(org, Some("admin")).await;
    let email = unique_email();
    assert_eq!(app.sign_up(&org.id, &email).await.status(), 202);
    let (_, login) = app.log_in(&org.id, &email).await;
    let session = login["token"].as_str().unwrap();
    let (status, request) = app
        .send(
            "POST",
            &format!("/portal/{}/key-requests", org.id),
            session,
            Some(json!({"catalog_id": entry["id"]})),
        )
        .await;
    assert_eq!(status, 201, "{request}");
    let (_, found) = app.admin(org, "GET", "/developers?limit=1", None).await;
    let developer = found["items"][0]["id"].as_str().unwrap().to_string();
    let (status, subscribed) = app
        .admin(
            org,
            "POST",
            &format!("/developers/{developer}/keys"),
            Some(json!({"policy_ids": [entry["policy_id"]]})),
        )
        .await;
    assert_eq!(status, 201, "{subscribed}");
    let spare = app.admin_key(org, "spare", "viewer").await;
    let (status, invited) = app
        .admin(
            org,
            "POST",
            "/admins",
            Some(json!({"email": unique_email(), "role": "viewer"})),
        )
        .await;
    assert_eq!(status, 201, "{invited}");
    let (status, budget) = app
        .admin(
            org,
            "POST",
            "/budgets",
            Some(json!({"developer_id": developer, "amount": 5000, "currency": "EUR"})),
        )
        .await;
    assert_eq!(status, 201, "{budget}");
    let delivery = eventually(Duration::from_secs(30), || async {
        app.deliveries(&org.id).await.first().map(|d| d.delivery_id.clone())
    })
    .await
    .expect("a delivery");
    for (kind, id) in [
        ("ApiId", &entry["api_id"]),
        ("PolicyId", &entry["policy_id"]),
        ("CatalogId", &entry["id"]),
        ("KeyRequestId", &request["id"]),
        ("KeyId", &subscribed["key_id"]),
        ("AdminKeyId", &spare["id"]),
        ("AdminUserId", &invited["id"]),
        ("BudgetId", &budget["id"]),
    ] {
        ids.insert(kind, id.as_str().unwrap_or_else(|| panic!("{kind}: {id}")).to_string());
    }
    ids.insert("DeveloperId", developer);
    ids.insert("DeliveryId", delivery);
    ids.insert("name", "developer_welcome".into());
    Filled { ids }
}

impl Filled {
    /// The path with `{org}` and every other parameter filled in.
    fn path(&self, template: &str, method: &str, org: &str) -> String {
        let mut path = template.replace("{org}", org);
        while let Some(start) = path.find('{') {
            let end = start + path[start..].find('}').unwrap();
            let name = &path[start + 1..end];
            let kind = parameter_kind(template, &method.to_lowercase(), name);
            let value = self
                .ids
                .get(kind.as_str())
                .unwrap_or_else(|| panic!("no value for {kind} in {template}"));
            path.replace_range(start..=end, value);
        }
        path
    }
}

/// Who calls the admin routes in a run of the matrix.
#[derive(Clone, Copy, PartialEq)]
enum Callers {
    AdminKeys,
    /// Admin users, invited with each role, logged in.
    AdminUsers,
}

async fn every_admin_route_gives_each_role_exactly_its_permissions(backend: Backend, callers: Callers) {
    let app = spawn_app(backend).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let other = app.create_org(json!({"name": "Elsewhere"})).await;
    let filled = fill(&app, &org).await;
    // (role, bearer token, actor id)
    let mut keys = Vec::new();
    match callers {
        Callers::AdminKeys => {
            keys.push(("owner".to_string(), org.admin_key.clone(), app.owner_key_id(&org).await));
            for role in ["admin", "approver", "viewer", "gateway"] {
                let key = app.admin_key(&org, role, role).await;
                assert_eq!(key["role"], role);
                keys.push((
                    role.to_string(),
                    key["key"].as_str().unwrap().to_string(),
                    key["id"].as_str().unwrap().to_string(),
                ));
            }
        }
        Callers::AdminUsers => {
            let every: Vec<String> =
                serde_json::from_value(spec()["components"]["schemas"]["Permission"]["enum"].clone()).unwrap();
            for role in ["owner", "admin", "approver", "viewer"] {
                let user = app.admin_user(&org, role).await;
                // The login answer lists exactly what the table below lets the role do, so a
                // frontend that shows only those shows what the routes then allow.
                let expected: Vec<&String> = every.iter().filter(|p| allowed(role, p)).collect();
                let listed: Vec<&String> = user.permissions.iter().collect();
                assert_eq!(listed, expected, "{role}'s login permissions");
                keys.push((role.to_string(), user.token, user.id));
            }
        }
    }
    let other_caller = match callers {
        Callers::AdminKeys => other.admin_key.clone(),
        Callers::AdminUsers => app.admin_user(&other, "owner").await.token,
    };

    let operations = admin_operations();
    assert!(operations.len() >= 46, "{} admin operations", operations.len());
    let named = &spec()["components"]["schemas"]["Permission"]["enum"];
    for (method, template, permission) in &operations {
        assert!(
            named.as_array().unwrap().iter().any(|p| p == permission.as_str()),
            "{method} {template}: x-permission {permission} is not in the Permission schema"
        );
    }
    // Forbidden roles first, so a refused call is seen to change nothing before an allowed one may.
    keys.reverse();
    for (method, template, permission) in &operations {
        let path = filled.path(template, method, &org.id);
        let body = spec()["paths"][template][method.to_lowercase()]
            .get("requestBody")
            .map(|_| json!({}));
        let (status, answer) = app.send(method, &path, &other_caller, body.clone()).await;
        assert_eq!(status, 404, "another organisation's owner on {method} {path}: {answer}");
        for (role, key, key_id) in &keys {
            let before = audit_log(&app, &org).await;
            let (status, answer) = app.send(method, &path, key, body.clone()).await;
            let after = audit_log(&app, &org).await;
            // Every admin write that happened is in the audit log, once, as its caller's; nothing else is.
            let writes = !permission.starts_with("read_");
            let recorded = after.len() - before.len();
            assert_eq!(
                recorded,
                usize::from(writes && (200..300).contains(&status)),
                "{role}: {method} {path} → {status}: audit entries {recorded}"
            );
            if recorded == 1 {
                assert_eq!(after[0]["actor"]["id"].as_str(), Some(key_id.as_str()));
                assert_eq!(after[0]["actor"]["role"], role.as_str());
                assert_eq!(after[0]["source"], "127.0.0.1");
            }
            if allowed(role, permission) {
                assert!(
                    status != 403 && status != 401,
                    "{role} may {permission}: {method} {path} → {status} {answer}"
                );
            } else {
                assert_eq!(status, 403, "{role} may not {permission}: {method} {path} → {answer}");
                assert_eq!(answer["status"], 403);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_route_gives_each_role_exactly_its_permissions_embedded() {
    every_admin_route_gives_each_role_exactly_its_permissions(Backend::Embedded, Callers::AdminKeys).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_route_gives_each_role_exactly_its_permissions_on_the_emulator() {
    every_admin_route_gives_each_role_exactly_its_permissions(Backend::Emulator, Callers::AdminKeys).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_route_gives_each_admin_user_role_exactly_its_permissions_embedded() {
    every_admin_route_gives_each_role_exactly_its_permissions(Backend::Embedded, Callers::AdminUsers).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_route_gives_each_admin_user_role_exactly_its_permissions_on_the_emulator() {
    every_admin_route_gives_each_role_exactly_its_permissions(Backend::Emulator, Callers::AdminUsers).await;
}

/// The whole audit log, newest first.
async fn audit_log(app: &TestApp, org: &TestOrg) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            None => "/audit-log?limit=100".to_string(),
            Some(c) => format!("/audit-log?limit=100&cursor={c}"),
        };
        let (status, page) = app.admin(org, "GET", &path, None).await;
        assert_eq!(status, 200, "{page}");
        entries.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return entries,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_keys_carry_roles_are_shown_once_and_the_last_owner_key_stays() {
    let app = spawn_app(Backend::Embedded).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let created = app.admin_key(&org, "CI deploys", "admin").await;
    let key = created["key"].as_str().unwrap().to_string();
    assert!(key.starts_with(&format!("gh_admin_{}.", org.id)));
    assert!(key.starts_with(created["prefix"].as_str().unwrap().trim_end_matches('…')));

    // Listed by prefix and role with its last use, never the key or its hash.
    let (_, used) = app.send("GET", &format!("/orgs/{}/apis", org.id), &key, None).await;
    assert!(used["items"].is_array());
    let (status, listed) = app.admin(&org, "GET", "/admin-keys", None).await;
    assert_eq!(status, 200);
    let text = listed.to_string();
    assert!(!text.contains(&key) && !text.contains(&gatehouse::secret::token_hash(&key)));
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let admin_entry = items.iter().find(|k| k["id"] == created["id"]).unwrap();
    assert_eq!(admin_entry["role"], "admin");
    assert!(admin_entry["last_used_at"].is_string(), "{admin_entry}");
    let owner_entry = items.iter().find(|k| k["role"] == "owner").unwrap().clone();
    let stored = app.org_records_text(&org.id).await;
    assert!(
        stored.contains(&gatehouse::secret::token_hash(&key)),
        "stored as its hash"
    );
    assert!(!stored.contains(&key), "and only as its hash");

    // An admin may not make or revoke owner keys, nor revoke the last one; an owner may not either.
    let as_admin = |method: &'static str, path: String, body: Option<Value>| {
        let key = key.clone();
        let app = &app;
        async move { app.send(method, &path, &key, body).await }
    };
    let (status, _) = as_admin(
        "POST",
        format!("/orgs/{}/admin-keys", org.id),
        Some(json!({"name": "x", "role": "owner"})),
    )
    .await;
    assert_eq!(status, 403);
    let owner_path = format!("/orgs/{}/admin-keys/{}", org.id, owner_entry["id"].as_str().unwrap());
    assert_eq!(as_admin("DELETE", owner_path.clone(), None).await.0, 403);
    let (status, problem) = app
        .admin(
            &org,
            "DELETE",
            &format!("/admin-keys/{}", owner_entry["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 409, "the last owner key stays: {problem}");
    assert_eq!(problem["errors"][0]["field"], "id");

    // A second owner key makes the first revocable; a revoked key is refused at once.
    let second_owner = app.admin_key(&org, "backup", "owner").await;
    let second = second_owner["key"].as_str().unwrap().to_string();
    let (status, _) = app.send("DELETE", &owner_path, &second, None).await;
    assert_eq!(status, 204);
    let (status, _) = app
        .send("GET", &format!("/orgs/{}", org.id), &org.admin_key, None)
        .await;
    assert_eq!(status, 401, "the revoked key no longer works");
    let (status, _) = app
        .send(
            "DELETE",
            &format!("/orgs/{}/admin-keys/{}", org.id, second_owner["id"].as_str().unwrap()),
            &second,
            None,
        )
        .await;
    assert_eq!(status, 409, "and now the second is the last");

    // Bad input names the field and changes nothing.
    let (status, problem) = app
        .send(
            "POST",
            &format!("/orgs/{}/admin-keys", org.id),
            &second,
            Some(json!({"name": "x", "role": "root"})),
        )
        .await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (400, Some("role")));
    let (_, listed) = app
        .send("GET", &format!("/orgs/{}/admin-keys", org.id), &second, None)
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2, "{listed}");
}
