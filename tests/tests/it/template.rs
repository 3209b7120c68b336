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

/// The demo API is protected by the authorizer function (payload 2.0, simple responses, its
/// answers cached for the `AuthorizerCacheTtl` parameter, 60 s by default), and its access log, in
/// the format the usage function reads, is subscribed to the usage function.
#[test]
fn the_demo_api_is_guarded_by_the_authorizer_and_counted_from_its_access_log() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    let template: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    let resources = &template["Resources"];
    let api = &resources["DemoApi"]["Properties"];
    let auth = &api["Auth"]["Authorizers"]["GatehouseKey"];
    assert_eq!(api["Auth"]["DefaultAuthorizer"].as_str(), Some("GatehouseKey"));
    assert_eq!(auth["AuthorizerPayloadFormatVersion"].as_str(), Some("2.0"));
    assert_eq!(auth["EnableSimpleResponses"].as_bool(), Some(true));
    assert!(format!("{:?}", auth["FunctionArn"]).contains("AuthorizerFunction"));
    assert!(format!("{:?}", auth["Identity"]["ReauthorizeEvery"]).contains("AuthorizerCacheTtl"));
    assert_eq!(
        template["Parameters"]["AuthorizerCacheTtl"]["Default"].as_u64(),
        Some(60)
    );
    assert_eq!(
        resources["AuthorizerFunction"]["Metadata"]["BuildProperties"]["Binary"].as_str(),
        Some("gatehouse-authorizer")
    );
    let authorizer_may = format!("{:?}", resources["AuthorizerFunction"]["Properties"]["Policies"]);
    assert!(
        authorizer_may.contains("dynamodb:GetItem") && !authorizer_may.contains("PutItem"),
        "it only reads"
    );

    // The access log line carries what pipeline/access_log.rs reads.
    let format = api["AccessLogSettings"]["Format"].as_str().unwrap();
    let line: serde_json::Value = serde_json::from_str(format).unwrap();
    for (field, variable) in [
        ("orgId", "$context.authorizer.org_id"),
        ("keyId", "$context.authorizer.key_id"),
        ("developerId", "$context.authorizer.developer_id"),
    ] {
        assert_eq!(line[field].as_str(), Some(variable), "{format}");
    }
    let subscription = &resources["DemoApiUsageSubscription"]["Properties"];
    assert!(format!("{:?}", subscription["DestinationArn"]).contains("UsageFunction"));
    assert!(format!("{:?}", subscription["LogGroupName"]).contains("DemoApiAccessLogs"));
    assert_eq!(
        resources["UsageFunction"]["Metadata"]["BuildProperties"]["Binary"].as_str(),
        Some("gatehouse-usage")
    );
}
