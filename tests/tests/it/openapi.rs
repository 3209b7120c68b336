//! `openapi.yaml` and the router agree: every documented operation is routed, and every other method
//! on a documented path is refused with 405.

use gatehouse_tests::*;
use serde_json::Value;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_is_routed_and_no_other() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml")).unwrap();
    let spec: Value = serde_norway::from_str(&text).unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    let app = spawn_app(Backend::Embedded).await;
    let paths = spec["paths"].as_object().unwrap();
    assert!(paths.len() >= 4);
    for (template, item) in paths {
        let path = template.replace("{org}", "no-such-org").replace("{id}", "dev_x");
        for method in METHODS {
            let response = app
                .http
                .request(method.to_uppercase().parse().unwrap(), app.url(&path))
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let unrouted = status == 405 || (status == 404 && body["detail"] == "route not found");
            if item.get(method).is_some() {
                assert!(!unrouted, "{method} {template} is documented but not routed ({status})");
            } else {
                assert_eq!(status, 405, "{method} {template} is routed but not documented");
            }
        }
    }
}

/// The contract check that every test server runs: a real answer passes, the same answer without a
/// documented required field (or with a field of the wrong type) does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_missing_a_documented_field_breaks_the_contract() {
    let app = spawn_app(Backend::Embedded).await;
    let org = app.create_org(serde_json::json!({"name": "Acme"})).await;
    let path = format!("/orgs/{}", org.id);
    let response = app
        .http
        .get(app.url(&path))
        .bearer_auth(&org.admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let checker = gatehouse_tests::contract::ContractChecker::default();
    let check = |v: &Value| checker.problems("GET", &path, 200, "application/json", v.to_string().as_bytes());
    assert_eq!(check(&body), Vec::<String>::new(), "the real answer matches");
    for field in ["name", "settings", "created_at"] {
        let mut without = body.clone();
        without.as_object_mut().unwrap().remove(field);
        let problems = check(&without);
        assert!(problems.iter().any(|p| p.contains(field)), "{field}: {problems:?}");
    }
    let mut wrong = body.clone();
    wrong["name"] = serde_json::json!(7);
    assert!(!check(&wrong).is_empty());
    // An undocumented success is a break too.
    assert!(!checker
        .problems("GET", &path, 203, "application/json", b"{}")
        .is_empty());
    // And every answer of this test's server matched (checked again when the app drops).
    assert!(app.contract.violations.lock().unwrap().is_empty());
}

#[test]
fn operation_ids_are_unique_and_read_as_english() {
    let spec = gatehouse_tests::contract::spec();
    let mut seen = std::collections::HashSet::new();
    for item in spec["paths"].as_object().unwrap().values() {
        for method in METHODS {
            if let Some(id) = item[method]["operationId"].as_str() {
                assert!(seen.insert(id.to_string()), "{id} twice");
                assert!(
                    !id.ends_with("ys") && !id.ends_with("Entrys"),
                    "{id}: a plural clients would freeze"
                );
            }
        }
    }
    assert!(seen.contains("listPolicies") && seen.contains("listCatalogEntries"));
}
