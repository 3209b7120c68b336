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
    let json_headers = json_headers();
    let check = |v: &Value| checker.problems("GET", &path, 200, &json_headers, v.to_string().as_bytes());
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
    assert!(!checker.problems("GET", &path, 203, &json_headers, b"{}").is_empty());
    // An answer showing a secret without the headers that keep it out of caches breaks it too.
    let rotate = format!("/orgs/{}/webhook-secret/rotate", org.id);
    let rotated = serde_json::json!({"webhook_secret": "whsec_x", "previous_secret_valid_until": null});
    let problems = checker.problems("POST", &rotate, 200, &json_headers, rotated.to_string().as_bytes());
    assert!(
        problems.iter().any(|p| p.contains("Cache-Control")) && problems.iter().any(|p| p.contains("Pragma")),
        "{problems:?}"
    );
    let mut uncached = json_headers.clone();
    uncached.insert("cache-control", "no-store".parse().unwrap());
    uncached.insert("pragma", "no-cache".parse().unwrap());
    assert!(checker
        .problems("POST", &rotate, 200, &uncached, rotated.to_string().as_bytes())
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
                // `Policys`, `Entrys`: a consonant before `ys` is a misspelt plural (`Keys` is fine).
                let misspelt = id.ends_with("ys") && id.chars().rev().nth(2).is_some_and(|c| !"aeiouAEIOU".contains(c));
                assert!(!misspelt, "{id}: a misspelt plural clients would freeze");
            }
        }
    }
    assert!(seen.contains("listPolicies") && seen.contains("listCatalogEntries"));
}

/// Every event payload, built by its typed constructor, matches the catalogue published for webhook
/// receivers in `webhooks` (required fields present, no undocumented field, types right), and every
/// kind a webhook can carry is published.
#[test]
fn every_event_payload_matches_the_published_catalogue() {
    use gatehouse::domain::api_keys::{ApiKey, KeyRequest, KeyRequestStatus};
    use gatehouse::domain::catalog::{Api, ApprovalMode};
    use gatehouse::domain::event_data::*;
    use gatehouse::domain::*;

    let org = OrgId::parse("acme").unwrap();
    let email = Email::parse("ada@example.com").unwrap();
    let developer = Developer {
        id: DeveloperId::generate(),
        org_id: org.clone(),
        email: email.clone(),
        password_hash: String::new(),
        fields: serde_json::Map::from_iter([("company".to_string(), serde_json::json!("Acme"))]),
        status: DeveloperStatus::Active,
        created_at: now_rfc3339(),
        updated_at: now_rfc3339(),
        sessions_valid_after: 0,
        links_valid_after: 0,
        locale: None,
        email_confirmed: true,
    };
    let api = Api {
        id: ApiId::generate(),
        org_id: org.clone(),
        name: "Payments".into(),
        description: String::new(),
        listen_path: Some("/payments/".into()),
        created_at: now_rfc3339(),
        updated_at: now_rfc3339(),
    };
    let request = KeyRequest {
        id: KeyRequestId::generate(),
        org_id: org.clone(),
        developer_id: developer.id.clone(),
        developer_email: email.clone(),
        catalog_id: Some(CatalogId::generate()),
        policy_ids: vec![PolicyId::generate()],
        fields: Default::default(),
        approval: ApprovalMode::Admin,
        status: KeyRequestStatus::Pending,
        key_id: None,
        created_at: now_rfc3339(),
        updated_at: now_rfc3339(),
    };
    let (_, key): (_, ApiKey) = gatehouse::domain::api_keys::mint_key(
        &org,
        &developer.id,
        request.policy_ids.clone(),
        None,
        Some(request.id.clone()),
        &now_rfc3339(),
    );
    let link = PasswordLinkSent {
        developer_id: developer.id.clone(),
        email: email.clone(),
        expires_at: now_epoch() + 3600,
        url: "https://portal.example.com/reset-password?token=secret".into(),
        expires_in: "1 hour".into(),
    };
    let mut approved = KeyRequestDecided::of(&request, "Payments".into(), Decision::Approved);
    approved.delivery = Some(KeyDelivery::Key);
    approved.key_id = Some(key.id.clone());
    approved.private = Some(DecisionSecret::Key("gh_live_secret".into()));
    let mut by_link = KeyRequestDecided::of(&request, "Payments".into(), Decision::Approved);
    by_link.delivery = Some(KeyDelivery::Link);
    let actor = gatehouse::domain::audit::AuditActor {
        kind: "admin_key".into(),
        id: "ak_0123456789abcdef".into(),
        role: Some(gatehouse::domain::roles::Role::Owner),
        email: None,
    };
    let admin_key = AdminKeyChanged {
        key_id: "ak_fedcba9876543210".into(),
        name: "CI deploys".into(),
        role: gatehouse::domain::roles::Role::Viewer,
        by: actor.clone(),
        recipients: vec![email.clone()],
    };
    let admin_id = AdminUserId::generate();
    let by_user = gatehouse::domain::audit::AuditActor {
        kind: "admin_user".into(),
        id: AdminUserId::generate().to_string(),
        role: Some(gatehouse::domain::roles::Role::Owner),
        email: Some(Email::parse("owner@example.com").unwrap()),
    };
    let admin_link = AdminLinkSent {
        admin_id: admin_id.clone(),
        email: email.clone(),
        role: Some(gatehouse::domain::roles::Role::Approver),
        by: Some(by_user.clone()),
        recipients: vec![Email::parse("owner@example.com").unwrap()],
        expires_at: now_epoch() + 3600,
        url: "https://portal.example.com/admin/accept-invitation?token=secret".into(),
        expires_in: "7 days".into(),
    };
    let admin_changed = AdminChanged {
        admin_id: admin_id.clone(),
        email: email.clone(),
        old_role: Some(gatehouse::domain::roles::Role::Owner),
        role: gatehouse::domain::roles::Role::Admin,
        by: by_user,
        recipients: vec![Email::parse("owner@example.com").unwrap()],
    };
    let mut changed = KeyChanged::of(&key, &email);
    changed.policy_names = Some("Gold".into());
    let all = vec![
        EventData::ApiCreated((&api).into()),
        EventData::ApiUpdated(ApiChanged {
            listen_path: None,
            ..(&api).into()
        }),
        EventData::ApiDeleted((&api).into()),
        EventData::KeyRequestCreated(KeyRequestCreated::of(
            &request,
            Some("Payments".into()),
            Actor::Developer,
        )),
        EventData::KeyRequestCreated(KeyRequestCreated::of(&request, None, Actor::Admin)),
        EventData::KeyRequestUpdated(approved),
        EventData::KeyRequestUpdated(by_link),
        EventData::KeyRequestUpdated(KeyRequestDecided::of(
            &request,
            "(No Catalog Entry)".into(),
            Decision::Declined,
        )),
        EventData::KeyCreated(KeyChanged::of(&key, &email)),
        EventData::KeyUpdated(changed),
        EventData::KeyDeleted(KeyChanged::of(&key, &email)),
        EventData::KeyUpdated(KeyChanged {
            previous_valid_until: Some(now_rfc3339()),
            ..KeyChanged::of(&key, &email)
        }),
        EventData::QuotaThresholdReached(gatehouse::domain::event_data::QuotaThreshold {
            message: "Quota trigger reached: 80% of 10 calls".into(),
            org: org.clone(),
            key: key.id.clone(),
            trigger_limit: 80,
            key_id: key.id.clone(),
            key_prefix: key.prefix.clone(),
            developer_id: developer.id.clone(),
            email: email.clone(),
            policy_id: key.policy_ids[0].clone(),
            limit: "quota",
            quota_max: 10,
            quota_used: 8,
            quota_remaining: 2,
            reset_at: now_rfc3339(),
        }),
        EventData::BudgetThresholdReached(gatehouse::domain::event_data::BudgetThreshold {
            message: "Budget trigger reached: 80% of 50.00 EUR".into(),
            org: org.clone(),
            trigger_limit: 80,
            budget_id: gatehouse::domain::BudgetId::generate(),
            key_id: Some(key.id.clone()),
            developer_id: developer.id.clone(),
            email: email.clone(),
            amount: 5000,
            spent: 4000,
            currency: "EUR".into(),
            amount_text: "50.00 EUR".into(),
            spent_text: "40.00 EUR".into(),
            month: "2026-12".into(),
            resets_at: now_rfc3339(),
        }),
        EventData::DeliveryDeadLettered(DeliveryDeadLettered {
            delivery_id: "evt_01jsample.webhook.0123456789abcdef".into(),
            event_id: "evt_01jsample".into(),
            channel: "webhook".into(),
            target: "https://hooks.example.com/in".into(),
            last_error: "the endpoint answered 503".into(),
        }),
        EventData::EndpointFailing(EndpointFailing {
            url: "https://hooks.example.com/in".into(),
            failing_since: now_epoch() - 3700,
            failing_for_minutes: 61,
            disabled_in_hours: 118,
        }),
        EventData::EmailReputation(EmailReputation {
            signal: "bounce".into(),
            sent: 400,
            count: 26,
            rate_percent: 6.5,
            threshold_percent: 5.0,
        }),
        EventData::DeveloperSignedUp(DeveloperState::of(&developer, None)),
        EventData::DeveloperApproved(DeveloperState::of(&developer, Some(Actor::Admin))),
        EventData::DeveloperRejected(DeveloperState::of(&developer, Some(Actor::Admin))),
        EventData::DeveloperUpdated(DeveloperState::of(&developer, Some(Actor::Developer))),
        EventData::DeveloperInvited(link.clone()),
        EventData::DeveloperDeleted((&developer).into()),
        EventData::SignUpWithExistingEmail((&developer).into()),
        EventData::EmailConfirmationRequested(link.clone()),
        EventData::PasswordResetRequested(link),
        EventData::PasswordChanged((&developer).into()),
        EventData::SuspiciousLogin(SuspiciousLogin {
            developer_id: developer.id.clone(),
            email: email.clone(),
            failed_attempts: 3,
            address: "192.0.2.1".into(),
        }),
        EventData::AdminKeyCreated(admin_key.clone()),
        EventData::AdminKeyRevoked(AdminKeyChanged {
            recipients: vec![],
            ..admin_key
        }),
        EventData::AdminInvited(admin_link.clone()),
        EventData::AdminPasswordResetRequested(AdminLinkSent {
            role: None,
            by: None,
            recipients: vec![],
            ..admin_link
        }),
        EventData::AdminRoleChanged(admin_changed.clone()),
        EventData::AdminRemoved(AdminChanged {
            old_role: None,
            ..admin_changed
        }),
        EventData::AdminPasswordChanged(AdminRef {
            admin_id: admin_id.clone(),
            email: email.clone(),
        }),
        EventData::AdminSuspiciousLogin(AdminSuspiciousLogin {
            admin_id,
            email: email.clone(),
            failed_attempts: 2,
            address: "192.0.2.1".into(),
        }),
        EventData::SecuritySettingsChanged(SettingsChanged {
            by: actor,
            changes: vec![gatehouse::domain::audit::FieldChange {
                field: "settings.signup_mode".into(),
                old: serde_json::json!("open"),
                new: serde_json::json!("invite_only"),
            }],
            recipients: vec![email.clone()],
        }),
    ];
    let checker = gatehouse_tests::contract::ContractChecker::default();
    let mut covered = std::collections::BTreeSet::new();
    for data in all {
        let event = Event::new(org.clone(), data.kind(), now_rfc3339(), data.public());
        let body = event.webhook_payload();
        let name = data.kind().name();
        let problems = checker.validate(
            &gatehouse_tests::contract::ContractChecker::webhook_schema_pointer(name),
            &body,
        );
        assert_eq!(problems, Vec::<String>::new(), "{name}: {body}");
        assert!(
            !body.to_string().contains("secret"),
            "{name}: a private part reached the payload"
        );
        covered.insert(name.to_string());
    }
    let published: std::collections::BTreeSet<String> = gatehouse_tests::contract::spec()["webhooks"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        covered, published,
        "every event kind a webhook carries is published, and only those"
    );
    // A payload missing a documented field, or carrying an undocumented one, is caught.
    let pointer =
        gatehouse_tests::contract::ContractChecker::webhook_schema_pointer("developer_event.password_changed");
    let mut body = Event::new(
        org.clone(),
        EventKind::PasswordChanged,
        now_rfc3339(),
        serde_json::json!({"developer_id": developer.id}),
    )
    .webhook_payload();
    assert!(!checker.validate(&pointer, &body).is_empty(), "email is required");
    body["data"]["email"] = serde_json::json!(email);
    assert!(checker.validate(&pointer, &body).is_empty());
    body["data"]["extra"] = serde_json::json!(1);
    assert!(
        !checker.validate(&pointer, &body).is_empty(),
        "undocumented fields are caught"
    );
}

fn json_headers() -> axum::http::HeaderMap {
    let mut headers = axum::http::HeaderMap::new();
    headers.insert("content-type", "application/json".parse().unwrap());
    headers
}

/// Whether a schema (with what it refers to) holds a property marked `x-secret`.
fn holds_secret(schema: &Value, seen: &mut Vec<String>) -> bool {
    if let Some(reference) = schema["$ref"].as_str() {
        if seen.iter().any(|s| s == reference) {
            return false;
        }
        seen.push(reference.to_string());
        return holds_secret(gatehouse_tests::contract::resolved(schema), seen);
    }
    match schema {
        Value::Object(map) => {
            map.get("x-secret") == Some(&Value::Bool(true)) || map.values().any(|v| holds_secret(v, seen))
        }
        Value::Array(items) => items.iter().any(|v| holds_secret(v, seen)),
        _ => false,
    }
}

/// Every answer that shows a secret (a schema property marked `x-secret`) declares the headers that
/// keep it out of caches; the contract check of every test server then holds each such answer to
/// them. The secrets Gatehouse shows are all marked.
#[test]
fn every_answer_showing_a_secret_is_kept_out_of_caches() {
    let mut secret_answers = Vec::new();
    for (path, item) in gatehouse_tests::contract::spec()["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for (status, response) in operation["responses"].as_object().into_iter().flatten() {
                let response = gatehouse_tests::contract::resolved(response);
                if !holds_secret(&response["content"], &mut Vec::new()) {
                    continue;
                }
                let headers = &response["headers"];
                for (name, wanted) in [("Cache-Control", "no-store"), ("Pragma", "no-cache")] {
                    let header = gatehouse_tests::contract::resolved(&headers[name]);
                    assert_eq!(
                        header["schema"]["const"], wanted,
                        "{method} {path} {status} shows a secret: it declares {name}: {wanted}"
                    );
                }
                secret_answers.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    secret_answers.sort();
    assert_eq!(
        secret_answers,
        [
            "POST /orgs",
            "POST /orgs/{org}/admin-keys",
            "POST /orgs/{org}/developers/{id}/keys",
            "POST /orgs/{org}/login",
            "POST /orgs/{org}/webhook-secret/rotate",
            "POST /portal/{org}/key-requests",
            "POST /portal/{org}/keys/generate",
            "POST /portal/{org}/keys/{id}/roll",
            "POST /portal/{org}/login",
        ],
        "the answers that show a key, a token or a signing secret"
    );
}
