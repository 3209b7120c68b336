//! The SAM template is valid CloudFormation (cfn-lint, offline).

use std::process::Command;

#[test]
fn sam_template_passes_cfn_lint() {
    let cfn_lint = std::env::var("GATEHOUSE_TEST_CFN_LINT").unwrap_or_else(|_| "cfn-lint".into());
    let template = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
    let output = Command::new(&cfn_lint)
        .arg(template)
        .output()
        .unwrap_or_else(|e| panic!("running {cfn_lint} (scripts/test installs it): {e}"));
    assert!(
        output.status.success(),
        "cfn-lint found problems:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_http_api_is_throttled_by_the_template_parameters() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    let template: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    let settings = &template["Resources"]["HttpApi"]["Properties"]["DefaultRouteSettings"];
    for (setting, parameter) in [
        ("ThrottlingRateLimit", "ApiThrottleRate"),
        ("ThrottlingBurstLimit", "ApiThrottleBurst"),
    ] {
        let reference = format!("{:?}", settings[setting]);
        assert!(
            reference.contains("Ref") && reference.contains(parameter),
            "{setting}: {reference}"
        );
        let default = template["Parameters"][parameter]["Default"].as_u64();
        assert!(default.is_some_and(|d| d > 0), "{parameter} has a default");
    }
}

/// What each function's code calls on the table is allowed by its policy: the event router reads
/// organisations and their owners and puts inbox items.
#[test]
fn the_event_router_may_read_owners_and_put_inbox_items() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    let template: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    let router = &template["Resources"]["EventRouterFunction"]["Properties"];
    let allowed = format!("{:?}", router["Policies"]);
    for action in ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem"] {
        assert!(allowed.contains(action), "{action}: {allowed}");
    }
    let variables = &router["Environment"]["Variables"];
    assert_eq!(
        variables["EMAIL_TEMPLATES_DIR"].as_str(),
        Some("/opt/email_templates"),
        "in-app titles use the same templates as the emails"
    );
}

/// The digest function runs on a schedule and may read the digest takers' index and write a
/// cursor with its outbox event.
#[test]
fn the_digest_function_runs_hourly_and_may_read_the_index() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    let template: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    let digest = &template["Resources"]["DigestFunction"];
    assert_eq!(
        digest["Metadata"]["BuildProperties"]["Binary"].as_str(),
        Some("gatehouse-digest")
    );
    let schedule = &digest["Properties"]["Events"]["Hourly"];
    assert_eq!(schedule["Type"].as_str(), Some("ScheduleV2"));
    assert_eq!(
        schedule["Properties"]["ScheduleExpression"].as_str(),
        Some("rate(1 hour)")
    );
    let allowed = format!("{:?}", digest["Properties"]["Policies"]);
    for needed in ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "index/*"] {
        assert!(allowed.contains(needed), "{needed}: {allowed}");
    }
}
