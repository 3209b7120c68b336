//! What a deploy of `template.yaml` gives each function: every function starts from exactly the
//! variables the template sets for it, with its secrets read from Secrets Manager (the emulator's),
//! for every `EmailBackend`; no secret is in an environment or a parameter; every dead-letter queue
//! has an alarm.

use gatehouse::app::{aws, sdk_config};
use gatehouse::config::secrets::{is_secret, SECRET_SETTINGS};
use gatehouse::config::{Function, GateConfig};
use gatehouse_tests::{emulator_endpoint, unique};
use rand::distributions::{Alphanumeric, DistString};
use serde_norway::Value;
use std::collections::HashMap;

fn template() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    serde_norway::from_str(&text).unwrap()
}

/// A short-form intrinsic function (`!Ref X`) as its name and argument.
fn intrinsic(value: &Value) -> Option<(String, &Value)> {
    match value {
        Value::Tagged(tagged) => Some((
            tagged.tag.to_string().trim_start_matches('!').to_string(),
            &tagged.value,
        )),
        _ => None,
    }
}

/// The template evaluated for one deploy: parameter values, and what each resource's `Ref` is.
struct Deploy<'a> {
    template: &'a Value,
    parameters: HashMap<String, String>,
    refs: HashMap<String, String>,
}

impl Deploy<'_> {
    /// A value as CloudFormation would resolve it; `None` for `AWS::NoValue`.
    fn resolve(&self, value: &Value) -> Option<String> {
        let Some((function, argument)) = intrinsic(value) else {
            return match value {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                other => panic!("cannot resolve {other:?}"),
            };
        };
        match function.as_str() {
            "Ref" => self.reference(argument.as_str().unwrap()),
            "If" => {
                let branches = argument.as_sequence().unwrap();
                let condition = &self.template["Conditions"][branches[0].as_str().unwrap()];
                self.resolve(&branches[if self.holds(condition) { 1 } else { 2 }])
            }
            "Sub" => {
                let mut text = argument.as_str().unwrap().to_string();
                while let Some(start) = text.find("${") {
                    let end = start + text[start..].find('}').unwrap();
                    let name = text[start + 2..end].to_string();
                    let value = self.reference(&name).unwrap_or_else(|| format!("resolved-{name}"));
                    text.replace_range(start..=end, &value);
                }
                Some(text)
            }
            "GetAtt" => Some(format!("arn:aws:test:::{}", argument.as_str().unwrap())),
            other => panic!("the test does not resolve !{other}"),
        }
    }

    fn reference(&self, name: &str) -> Option<String> {
        match name {
            "AWS::NoValue" => None,
            "AWS::Region" => Some("us-east-1".into()),
            "AWS::URLSuffix" => Some("amazonaws.com".into()),
            _ => Some(
                self.parameters
                    .get(name)
                    .or_else(|| self.refs.get(name))
                    .cloned()
                    .unwrap_or_else(|| format!("ref-{name}")),
            ),
        }
    }

    fn holds(&self, condition: &Value) -> bool {
        let (function, argument) = intrinsic(condition).unwrap();
        match function.as_str() {
            "Not" => !self.holds(&argument.as_sequence().unwrap()[0]),
            "Or" => argument.as_sequence().unwrap().iter().any(|c| self.holds(c)),
            "Equals" => {
                let pair = argument.as_sequence().unwrap();
                self.resolve(&pair[0]) == self.resolve(&pair[1])
            }
            other => panic!("the test does not evaluate !{other}"),
        }
    }

    /// A function's environment in Lambda: the globals, its own variables, the runtime's own.
    fn environment(&self, function: &Value) -> HashMap<String, String> {
        let mut env = HashMap::new();
        let globals = &self.template["Globals"]["Function"]["Environment"]["Variables"];
        let own = &function["Properties"]["Environment"]["Variables"];
        for variables in [globals, own] {
            for (name, value) in variables.as_mapping().into_iter().flatten() {
                if let Some(value) = self.resolve(value) {
                    env.insert(name.as_str().unwrap().to_string(), value);
                }
            }
        }
        env.insert("AWS_LAMBDA_FUNCTION_NAME".into(), "gatehouse-test".into());
        env
    }
}

/// Gatehouse's functions in the template: (logical id, binary, resource).
fn functions(template: &Value) -> Vec<(String, String, &Value)> {
    template["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter_map(|(id, resource)| {
            let binary = resource["Metadata"]["BuildProperties"]["Binary"].as_str()?;
            Some((id.as_str().unwrap().to_string(), binary.to_string(), resource))
        })
        .collect()
}

/// The settings a provider's secret holds, as the README tells a team to write them.
fn provider_settings(backend: &str) -> Option<serde_json::Value> {
    Some(match backend {
        "smtp" => serde_json::json!({"SMTP_SERVER": "smtp.example.com", "SMTP_USER": "portal", "SMTP_PASS": "p4ss"}),
        "sendgrid" => serde_json::json!({"SENDGRID_API_KEY": "SG.test-key"}),
        "mailgun" => serde_json::json!({"MAILGUN_DOMAIN": "mg.example.com", "MAILGUN_API_KEY": "key-test"}),
        "mandrill" => serde_json::json!({"MANDRILL_API_KEY": "md-test"}),
        _ => return None,
    })
}

async fn create_secret(client: &aws_sdk_secretsmanager::Client, value: &str) -> String {
    let created = client
        .create_secret()
        .name(unique("gatehouse-secret"))
        .secret_string(value)
        .send()
        .await
        .expect("creating a secret on the emulator");
    created.arn().unwrap().to_string()
}

/// The variables Lambda itself sets in every function (the emulator standing in for AWS).
fn lambda_variables() -> Vec<(String, String)> {
    [
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_SESSION_TOKEN", "session-token"),
        ("AWS_ENDPOINT_URL", emulator_endpoint().as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Starts each function as it would start in Lambda, from the template's variables and Lambda's
/// alone: the SDK configuration too is the one a function makes there.
async fn start(function: Function, binary: &str, env: &HashMap<String, String>) -> anyhow::Result<Option<String>> {
    let shared = &aws::lambda_sdk_config(env.clone().into_iter().chain(lambda_variables()))?;
    let lookup = |name: &str| env.get(name).filter(|v| !v.is_empty()).cloned();
    if matches!(binary, "gatehouse-authorizer" | "gatehouse-usage") {
        let config = GateConfig::from_lookup(lookup)?;
        let _ = aws::authorizer(&config, shared);
        let _ = aws::access_log_counter(&config, shared);
        return Ok(None);
    }
    let config = aws::config_from(function, &lookup, shared).await?;
    let backend = config.email_backend.as_ref().map(|b| b.code().to_string());
    match function {
        Function::Api => drop(aws::api(config, shared)?),
        Function::EventRouter => drop(aws::event_router(&config, shared)?),
        Function::EmailWorker => drop(aws::email_worker(&config, shared)?),
        Function::WebhookWorker => drop(aws::webhook_worker(&config, shared)?),
        Function::Digest => drop(aws::digest_job(&config, shared)),
        Function::Local => unreachable!(),
    }
    Ok(backend)
}

fn function_of(binary: &str) -> Function {
    match binary {
        "gatehouse-api" => Function::Api,
        "gatehouse-event-router" => Function::EventRouter,
        "gatehouse-email-worker" => Function::EmailWorker,
        "gatehouse-webhook-worker" => Function::WebhookWorker,
        "gatehouse-digest" => Function::Digest,
        // The gate's functions read GateConfig; the kind is not used for them.
        "gatehouse-authorizer" | "gatehouse-usage" => Function::Digest,
        other => panic!("{other} is not a Gatehouse function this test knows"),
    }
}

#[tokio::test]
async fn every_function_starts_from_the_variables_the_template_gives_it_for_every_email_backend() {
    let template = template();
    let shared = sdk_config(Some(&emulator_endpoint())).await;
    let secrets = aws_sdk_secretsmanager::Client::new(&shared);

    // The generated secrets, as GenerateSecretString makes them.
    let mut refs = HashMap::new();
    for (id, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"].as_str() == Some("AWS::SecretsManager::Secret") {
            let generate = &resource["Properties"]["GenerateSecretString"];
            assert_eq!(generate["ExcludePunctuation"].as_bool(), Some(true));
            let length = generate["PasswordLength"].as_u64().unwrap() as usize;
            let value = Alphanumeric.sample_string(&mut rand::thread_rng(), length);
            refs.insert(id.as_str().unwrap().to_string(), create_secret(&secrets, &value).await);
        }
    }
    assert_eq!(refs.len(), 2, "the root key and the sealing key");

    let backends: Vec<String> = template["Parameters"]["EmailBackend"]["AllowedValues"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(backends.len(), 6);
    let mut started = 0;
    for backend in &backends {
        let provider_secret = match provider_settings(backend) {
            Some(settings) => create_secret(&secrets, &settings.to_string()).await,
            None => String::new(),
        };
        let parameters: HashMap<String, String> = [
            ("EmailBackend", backend.as_str()),
            ("EmailProviderSecretArn", provider_secret.as_str()),
            ("FromEmail", "portal@example.com"),
            ("FromName", "Developer Portal"),
            ("PortalUrl", "https://portal.example.com"),
            ("EmailTemplatesLayerArn", ""),
            ("SesDomain", ""),
            ("GateOrg", ""),
            ("GateApiId", ""),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let deploy = Deploy {
            template: &template,
            parameters,
            refs: refs.clone(),
        };
        for (id, binary, resource) in functions(&template) {
            let env = deploy.environment(resource);
            let function = function_of(&binary);
            let backend_read = start(function, &binary, &env)
                .await
                .unwrap_or_else(|e| panic!("{id} fails to start with EmailBackend {backend}: {e:#}"));
            if function == Function::EmailWorker {
                assert_eq!(backend_read.as_deref(), Some(backend.as_str()), "{id}");
            } else {
                assert_eq!(backend_read, None, "{id} reads no email backend");
            }
            started += 1;
        }

        // Without the provider's secret, a provider backend cannot start its email worker (and
        // the template's rule refuses such a deploy).
        if !provider_secret.is_empty() {
            let mut deploy = deploy;
            deploy.parameters.insert("EmailProviderSecretArn".into(), String::new());
            let (_, binary, worker) = functions(&template)
                .into_iter()
                .find(|(_, binary, _)| binary == "gatehouse-email-worker")
                .unwrap();
            let err = start(Function::EmailWorker, &binary, &deploy.environment(worker))
                .await
                .expect_err("a provider backend without its settings");
            assert!(err.to_string().contains("must be set"), "{backend}: {err}");
        }
    }
    assert_eq!(started, backends.len() * 7, "seven functions for each backend");
}

#[tokio::test]
async fn a_functions_sdk_configuration_reads_lambdas_variables_alone() {
    let table = unique("lean");
    let mut variables = lambda_variables();
    // Every service at a closed port but DynamoDB, which has its own variable.
    variables.retain(|(name, _)| name != "AWS_ENDPOINT_URL");
    variables.push(("AWS_ENDPOINT_URL".into(), "http://127.0.0.1:9".into()));
    variables.push(("AWS_ENDPOINT_URL_DYNAMODB".into(), emulator_endpoint()));
    let shared = aws::lambda_sdk_config(variables.clone()).unwrap();
    let dynamodb = aws_sdk_dynamodb::Client::new(&shared);
    gatehouse::store::TableSpec::ensure(&dynamodb, &table).await.unwrap();
    let described = dynamodb.describe_table().table_name(&table).send().await.unwrap();
    assert_eq!(
        described.table().and_then(|t| t.table_name()),
        Some(table.as_str()),
        "DynamoDB through AWS_ENDPOINT_URL_DYNAMODB"
    );
    let sqs = aws_sdk_sqs::Client::new(&shared);
    assert!(
        sqs.list_queues().send().await.is_err(),
        "SQS through AWS_ENDPOINT_URL, which is closed"
    );
    assert!(
        !format!("{shared:?}").contains("session-token"),
        "no credential in its Debug"
    );

    for missing in ["AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
        let without: Vec<_> = variables.iter().filter(|(name, _)| name != missing).cloned().collect();
        let err = aws::lambda_sdk_config(without).unwrap_err();
        assert!(err.to_string().contains(missing), "{missing}: {err}");
    }
}

#[test]
fn no_secret_is_in_an_environment_or_a_parameter() {
    let template = template();
    let mut environments = vec![(
        "Globals".to_string(),
        &template["Globals"]["Function"]["Environment"]["Variables"],
    )];
    for (id, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"].as_str() == Some("AWS::Serverless::Function") {
            environments.push((
                id.as_str().unwrap().to_string(),
                &resource["Properties"]["Environment"]["Variables"],
            ));
        }
    }
    assert!(environments.len() >= 8);
    for (id, variables) in &environments {
        for (name, value) in variables.as_mapping().into_iter().flatten() {
            let name = name.as_str().unwrap();
            assert!(!is_secret(name), "{id} carries the secret {name} in its environment");
            if name.ends_with("_SECRET_ARN") {
                // An ARN: a generated secret or the provider's secret parameter.
                let text = format!("{value:?}");
                assert!(
                    text.contains("KeySecret") || text.contains("EmailProviderSecretArn"),
                    "{id} {name}: {text}"
                );
            }
        }
    }
    for (name, parameter) in template["Parameters"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        assert!(parameter.get("NoEcho").is_none(), "{name} is a secret parameter");
        let lower = name.to_ascii_lowercase();
        assert!(
            !(lower.contains("key") || lower.contains("secret") || lower.contains("password"))
                || lower.ends_with("arn"),
            "{name} looks like a secret passed as a parameter"
        );
    }
    // Only the functions that need a secret may read one.
    let needs = ["ApiFunction", "EmailWorkerFunction", "WebhookWorkerFunction"];
    for (id, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let id = id.as_str().unwrap();
        let policies = format!("{:?}", resource["Properties"]["Policies"]);
        let may_read = policies.contains("secretsmanager:GetSecretValue");
        assert_eq!(may_read, needs.contains(&id), "{id} reading secrets");
        // Secrets are read in one batch at start.
        let may_batch = policies.contains("secretsmanager:BatchGetSecretValue");
        assert_eq!(may_batch, may_read, "{id} reading its secrets in one call");
    }
    assert_eq!(SECRET_SETTINGS.len(), 7);
}

/// The queues a value's redrive policies and failure destinations point at (`!GetAtt X.Arn`).
fn dead_letter_targets(value: &Value, found: &mut Vec<String>) {
    let target = |v: &Value| {
        intrinsic(v)
            .filter(|(function, _)| function == "GetAtt")
            .and_then(|(_, argument)| argument.as_str()?.strip_suffix(".Arn").map(str::to_string))
    };
    match value {
        Value::Mapping(mapping) => {
            for (key, inner) in mapping {
                let pointed = match key.as_str() {
                    Some("deadLetterTargetArn") => target(inner),
                    Some("OnFailure") => target(&inner["Destination"]),
                    _ => None,
                };
                found.extend(pointed);
                dead_letter_targets(inner, found);
            }
        }
        Value::Sequence(items) => items.iter().for_each(|item| dead_letter_targets(item, found)),
        Value::Tagged(tagged) => dead_letter_targets(&tagged.value, found),
        _ => {}
    }
}

#[test]
fn every_dead_letter_queue_has_an_alarm() {
    let template = template();
    let resources = template["Resources"].as_mapping().unwrap();
    let mut dead_letter_queues = Vec::new();
    dead_letter_targets(&template["Resources"], &mut dead_letter_queues);
    dead_letter_queues.sort();
    dead_letter_queues.dedup();
    assert_eq!(
        dead_letter_queues,
        ["EmailDeadLetterQueue", "StreamFailureQueue", "WebhookDeadLetterQueue"],
        "the dead-letter queues found"
    );
    for queue in &dead_letter_queues {
        let alarmed = resources.iter().any(|(_, resource)| {
            let properties = &resource["Properties"];
            resource["Type"].as_str() == Some("AWS::CloudWatch::Alarm")
                && properties["MetricName"].as_str() == Some("ApproximateNumberOfMessagesVisible")
                && format!("{:?}", properties["Dimensions"]).contains(&format!("\"{queue}.QueueName\""))
                && !properties["AlarmActions"].is_null()
        });
        assert!(alarmed, "{queue} has no alarm on the messages in it");
    }
}

/// Every function is watched (errors, throttles), and so are the stream, SES's reputation, disabled
/// endpoints and 4xx surges; every alarm notifies someone and has its runbook line in the README;
/// the dashboard's body is JSON once CloudFormation has filled it in.
#[test]
fn alarms_cover_every_function_and_each_has_a_runbook_line() {
    let template = template();
    let resources = template["Resources"].as_mapping().unwrap();
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let runbook = &readme[readme.find("## Operations").unwrap()..];
    let mut alarms = Vec::new();
    for (id, resource) in resources {
        if resource["Type"].as_str() != Some("AWS::CloudWatch::Alarm") {
            continue;
        }
        let id = id.as_str().unwrap().to_string();
        let properties = &resource["Properties"];
        assert!(
            format!("{:?}", properties["AlarmActions"]).contains("AlarmTopic"),
            "{id} notifies the alarm topic"
        );
        assert!(
            runbook.contains(&format!("`{id}`")),
            "{id} has no runbook line in the README"
        );
        alarms.push((id, format!("{properties:?}")));
    }
    let watching = |needle: &str| alarms.iter().filter(|(_, text)| text.contains(needle)).count();
    for (id, _, _) in functions(&template) {
        let errors = alarms
            .iter()
            .any(|(_, text)| text.contains("\"Errors\"") && text.contains(&format!("\"{id}\"")));
        assert!(errors, "{id} has no errors alarm");
        let throttles = alarms
            .iter()
            .any(|(_, text)| text.contains("\"Throttles\"") && text.contains(&format!("\"{id}\"")));
        assert!(throttles, "{id} has no throttles alarm");
    }
    for needle in [
        "\"IteratorAge\"",
        "\"Reputation.BounceRate\"",
        "\"Reputation.ComplaintRate\"",
        "\"EndpointsDisabled\"",
        "\"4xx\"",
    ] {
        assert_eq!(watching(needle), 1, "one alarm on {needle}");
    }

    // The dashboard's body with every ${…} filled in as CloudFormation would.
    let dashboard = &template["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"];
    let (_, argument) = intrinsic(dashboard).unwrap();
    let mut body = argument.as_sequence().unwrap()[0].as_str().unwrap().to_string();
    while let Some(start) = body.find("${") {
        let end = start + body[start..].find('}').unwrap();
        let name = &body[start + 2..end];
        let value = if name == "Errors" {
            r#"["AWS/Lambda", "Errors", "FunctionName", "f"]"#.to_string()
        } else {
            format!("filled-{name}")
        };
        body.replace_range(start..=end, &value);
    }
    let body: serde_json::Value = serde_json::from_str(&body).expect("the dashboard body is JSON");
    let widgets = body["widgets"].as_array().unwrap();
    assert!(widgets.len() >= 6);
    assert!(widgets.iter().all(|w| w["properties"]["title"].is_string()));
}

/// A worker counts a failure on the last receive its queue allows as dead-lettered: the number it
/// is given is the `maxReceiveCount` of every queue it takes jobs from.
#[test]
fn each_worker_counts_dead_letters_at_its_queues_max_receive_count() {
    let template = template();
    let mut checked = 0;
    for (id, _, function) in functions(&template) {
        let events = function["Properties"]["Events"].as_mapping().into_iter().flatten();
        let queues: Vec<String> = events
            .filter(|(_, e)| e["Type"].as_str() == Some("SQS"))
            .filter_map(|(_, e)| intrinsic(&e["Properties"]["Queue"]))
            .map(|(_, target)| target.as_str().unwrap().trim_end_matches(".Arn").to_string())
            .collect();
        if queues.is_empty() {
            continue;
        }
        let given = function["Properties"]["Environment"]["Variables"]["QUEUE_MAX_RECEIVE_COUNT"]
            .as_u64()
            .unwrap_or_else(|| panic!("{id} takes SQS jobs but is not given QUEUE_MAX_RECEIVE_COUNT"));
        for queue in queues {
            let allowed = template["Resources"][queue.as_str()]["Properties"]["RedrivePolicy"]["maxReceiveCount"]
                .as_u64()
                .unwrap_or_else(|| panic!("{queue} has no redrive policy"));
            assert_eq!(
                given, allowed,
                "{id}: QUEUE_MAX_RECEIVE_COUNT against {queue}'s maxReceiveCount"
            );
            checked += 1;
        }
    }
    assert_eq!(
        checked, 3,
        "the email queue, the SES feedback queue and the webhook queue"
    );
}

#[tokio::test]
async fn a_functions_secrets_are_read_in_one_call_by_arn_or_name() {
    let shared = sdk_config(Some(&emulator_endpoint())).await;
    let secrets = aws_sdk_secretsmanager::Client::new(&shared);
    let root_key = Alphanumeric.sample_string(&mut rand::thread_rng(), 48);
    let sealing_key = Alphanumeric.sample_string(&mut rand::thread_rng(), 64);
    let root_arn = create_secret(&secrets, &root_key).await;
    let sealing_arn = create_secret(&secrets, &sealing_key).await;
    let sealing_name = secrets
        .describe_secret()
        .secret_id(&sealing_arn)
        .send()
        .await
        .unwrap()
        .name()
        .unwrap()
        .to_string();
    let lambda = aws::lambda_sdk_config(lambda_variables()).unwrap();
    let load = |root: String, sealing: String| {
        let lambda = lambda.clone();
        async move {
            let env: HashMap<String, String> = [
                ("AWS_LAMBDA_FUNCTION_NAME", "gatehouse-api".to_string()),
                ("TABLE_NAME", "gatehouse".to_string()),
                ("GATEHOUSE_ROOT_KEY_SECRET_ARN", root),
                ("GATEHOUSE_SECRET_KEY_SECRET_ARN", sealing),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
            let lookup = |name: &str| env.get(name).cloned();
            aws::config_from(Function::Api, &lookup, &lambda).await
        }
    };

    // By ARN and by name, in one call.
    let config = load(root_arn.clone(), sealing_name)
        .await
        .expect("the api starts with its two secrets");
    let roots: Vec<&str> = config.root_keys.iter().map(|k| k.expose()).collect();
    assert_eq!(roots, [root_key.as_str()]);
    assert_eq!(
        config.secret_key.as_ref().map(|k| k.expose()),
        Some(sealing_key.as_str())
    );

    // A secret that does not exist is named, with its setting, and no value is shown.
    let missing = root_arn.replace("gatehouse-secret", "gatehouse-gone");
    let err = load(missing.clone(), sealing_arn)
        .await
        .expect_err("a missing secret stops the start");
    let err = format!("{err:#}");
    assert!(err.contains(&missing) && err.contains("GATEHOUSE_ROOT_KEY"), "{err}");
    assert!(!err.contains(&sealing_key) && !err.contains(&root_key), "{err}");
}
