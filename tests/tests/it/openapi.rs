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
