//! The test harness: a running Gatehouse per test (embedded, or on the AWS emulator with its own
//! table and queues), a real webhook receiver, and readers for the emails each backend sent.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub mod contract;

use axum::http::{HeaderMap, StatusCode};
use gatehouse::app::{Local, Pollers};
use gatehouse::config::Config;
use serde_json::{json, Value};

pub use gatehouse;

/// The password every test account signs up with.
pub const PASSWORD: &str = "a long enough password";

/// The emulator's address, exported by `scripts/test`.
pub fn emulator_endpoint() -> String {
    std::env::var("GATEHOUSE_TEST_AWS_ENDPOINT").expect(
        "GATEHOUSE_TEST_AWS_ENDPOINT is not set: run the suite with scripts/test, which starts the AWS emulator",
    )
}

/// An emulator of a test's own, for a test whose load would slow the shared one down (moto copies
/// every table on each transaction). Heavy tests take turns: two at once on a small machine starve
/// their emulators until requests time out.
pub struct PrivateEmulator {
    pub endpoint: String,
    process: std::process::Child,
    _turn: tokio::sync::OwnedMutexGuard<()>,
}

impl Drop for PrivateEmulator {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// The emulator launcher (`tests/emulator.py`): moto's server with a cheap read of the emails SES
/// accepted, without moto's record of every object it made, and optionally atomic DynamoDB requests.
pub const EMULATOR_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/emulator.py");

impl PrivateEmulator {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// An emulator whose DynamoDB requests are atomic, as DynamoDB's are (`--atomic-dynamodb` in
    /// `tests/emulator.py`).
    pub async fn start_atomic() -> Self {
        Self::start_with(&["--atomic-dynamodb"]).await
    }

    async fn start_with(options: &[&str]) -> Self {
        static TURN: std::sync::OnceLock<Arc<tokio::sync::Mutex<()>>> = std::sync::OnceLock::new();
        let turn = TURN.get_or_init(Default::default).clone().lock_owned().await;
        let python =
            std::env::var("GATEHOUSE_TEST_PYTHON").expect("GATEHOUSE_TEST_PYTHON: run the suite with scripts/test");
        let port = free_port();
        let process = std::process::Command::new(python)
            .arg(EMULATOR_SCRIPT)
            .arg(port.to_string())
            .args(options)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("starting the emulator (tests/emulator.py)");
        let endpoint = format!("http://127.0.0.1:{port}");
        let probe = format!("{endpoint}/moto-api/");
        let up = eventually(Duration::from_secs(30), || async { reqwest::get(&probe).await.ok() }).await;
        assert!(up.is_some(), "the private emulator did not start");
        Self {
            endpoint,
            process,
            _turn: turn,
        }
    }
}

/// The local runner binary in a process of its own, on the emulator with a test's table and queues
/// (its webhooks held): a second Gatehouse beside a test's own, sharing nothing but the endpoint.
pub struct RunnerProcess {
    pub base: String,
    process: std::process::Child,
    _outbox: PathBuf,
}

impl Drop for RunnerProcess {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
        let _ = std::fs::remove_dir_all(&self._outbox);
    }
}

impl RunnerProcess {
    pub async fn start(config: &Config) -> Self {
        let binary = std::env::var("GATEHOUSE_TEST_LOCAL_RUNNER")
            .expect("GATEHOUSE_TEST_LOCAL_RUNNER: run the suite with scripts/test");
        let endpoint = config.aws_endpoint_url.clone().expect("a runner on the emulator");
        let port = free_port();
        let outbox = std::env::temp_dir().join(unique("gh-runner-outbox"));
        std::fs::create_dir_all(&outbox).unwrap();
        let log_path = outbox.join("runner.log");
        let log = std::fs::File::create(&log_path).unwrap();
        let process = std::process::Command::new(binary)
            .env_clear()
            .envs(std::env::vars().filter(|(k, _)| k.starts_with("AWS_")))
            .envs([
                ("AWS_ENDPOINT_URL", endpoint.as_str()),
                ("TABLE_NAME", config.table_name.as_str()),
                ("EMAIL_QUEUE", config.email_queue.as_str()),
                ("WEBHOOK_QUEUE", config.webhook_queue.as_str()),
                ("PORT", &port.to_string()),
                // The queues exist already; their attributes must be the ones they were made with.
                (
                    "QUEUE_VISIBILITY_TIMEOUT_SECS",
                    &config.queue_visibility_timeout.as_secs().to_string(),
                ),
                ("QUEUE_MAX_RECEIVE_COUNT", &config.queue_max_receive_count.to_string()),
                ("LOCAL_WEBHOOKS", "hold"),
                ("RUST_LOG", "warn"),
            ])
            .env("OUTBOX_DIR", &outbox)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("starting the local runner");
        let base = format!("http://127.0.0.1:{port}");
        let health = format!("{base}/health");
        let up = eventually(Duration::from_secs(60), || async {
            reqwest::get(&health).await.ok().filter(|r| r.status().is_success())
        })
        .await;
        assert!(
            up.is_some(),
            "the runner process did not start:\n{}",
            std::fs::read_to_string(&log_path).unwrap_or_default()
        );
        Self {
            base,
            process,
            _outbox: outbox,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// A loopback port nothing listens on now, for a process the test starts.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A fresh name, so tests sharing one emulator never see each other's tables or queues.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", ulid::Ulid::new().to_string().to_lowercase())
}

/// An email address no other test uses.
pub fn unique_email() -> String {
    format!("dev-{}@example.com", ulid::Ulid::new().to_string().to_lowercase())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Embedded,
    Emulator,
}

pub struct TestApp {
    pub base: String,
    pub local: Local,
    pub http: reqwest::Client,
    pub outbox: PathBuf,
    pub backend: Backend,
    /// Every answer is checked against `openapi.yaml`; what did not match fails the test.
    pub contract: contract::ContractChecker,
    server: tokio::task::JoinHandle<()>,
    /// A DynamoDB client for reading the emulator's table directly, made on first use.
    dynamo: tokio::sync::OnceCell<aws_sdk_dynamodb::Client>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
        let _ = std::fs::remove_dir_all(&self.outbox);
        let violations = std::mem::take(&mut *self.contract.violations.lock().unwrap());
        if !violations.is_empty() && !std::thread::panicking() {
            panic!("answers that do not match openapi.yaml:\n{}", violations.join("\n"));
        }
    }
}

/// Checks each answer of the test server against the OpenAPI document.
async fn check_contract(
    axum::extract::State(checker): axum::extract::State<contract::ContractChecker>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let problems = checker.problems(&method, &path, parts.status.as_u16(), &parts.headers, &bytes);
    checker.violations.lock().unwrap().extend(problems);
    axum::response::Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// Settings for one test: its own names, short queue timings so retries happen in seconds, and
/// loopback webhooks allowed.
pub fn test_config(backend: Backend) -> Config {
    let mut c = Config::local_defaults();
    c.table_name = unique("gh-table");
    c.email_queue = unique("gh-email");
    c.webhook_queue = unique("gh-webhook");
    c.outbox_dir = std::env::temp_dir().join(unique("gh-outbox"));
    c.webhook_allowed_networks = vec!["127.0.0.0/8".parse().unwrap()];
    c.queue_visibility_timeout = Duration::from_secs(1);
    c.queue_max_receive_count = 3;
    c.webhook_retry_schedule = vec![Duration::from_secs(1)];
    c.portal_url = gatehouse::domain::LinkBase::parse("https://portal.example.com").unwrap();
    if backend == Backend::Emulator {
        c.aws_endpoint_url = Some(emulator_endpoint());
    }
    c
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(test_config(backend)).await
}

pub async fn spawn_app_with(config: Config) -> TestApp {
    spawn_app_with_pollers(config, Pollers::default()).await
}

/// The app with the event router running but neither delivery worker: what it queues stays queued
/// (for counting a request's own writes, or timing the router alone).
pub async fn spawn_app_without_workers(config: Config) -> TestApp {
    spawn_app_with_pollers(
        config,
        Pollers {
            email_worker: false,
            webhook_worker: false,
        },
    )
    .await
}

pub async fn spawn_app_with_pollers(config: Config, pollers: Pollers) -> TestApp {
    capture_logs();
    let backend = if config.aws_endpoint_url.is_some() {
        Backend::Emulator
    } else {
        Backend::Embedded
    };
    let outbox = config.outbox_dir.clone();
    let local = Local::start_with(config, pollers).await.expect("Gatehouse starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let contract = contract::ContractChecker::default();
    let router = local
        .services
        .router()
        .layer(axum::middleware::from_fn_with_state(contract.clone(), check_contract))
        .into_make_service_with_connect_info::<SocketAddr>();
    let server = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    TestApp {
        base: format!("http://{address}"),
        local,
        http: reqwest::Client::new(),
        outbox,
        backend,
        contract,
        server,
        dynamo: tokio::sync::OnceCell::new(),
    }
}

/// An organisation as `POST /orgs` returned it.
/// A logged-in admin user.
#[derive(Debug, Clone)]
pub struct AdminLogin {
    pub id: String,
    pub email: String,
    pub token: String,
    /// What the login answer says the role allows (`permissions`).
    pub permissions: Vec<String>,
}

/// A catalog entry whose policy meters keys, and a gateway key to verify them with.
pub struct Gated {
    pub entry: Value,
    pub policy: Value,
    pub gateway: String,
}

/// A developer holding a key.
pub struct KeyHolder {
    pub email: String,
    pub session: String,
    pub developer_id: String,
    pub key: String,
    pub key_id: String,
}

pub struct TestOrg {
    pub id: String,
    pub admin_key: String,
    pub webhook_secret: String,
    pub body: Value,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn root_key(&self) -> String {
        self.local.services.config.root_keys[0].expose().to_string()
    }

    pub async fn post_json(&self, path: &str, bearer: Option<&str>, body: &Value) -> reqwest::Response {
        let mut request = self.http.post(self.url(path)).json(body);
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    /// `method path` with a bearer token (none when empty) and a JSON body: the status and the JSON
    /// answer (`null` when there is none).
    pub async fn send(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.http.request(method.parse().unwrap(), self.url(path));
        if !token.is_empty() {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The items of one type in the inbox at `path`, read with `token`.
    pub async fn inbox_items(&self, path: &str, token: &str, type_: &str) -> Vec<Value> {
        let (status, inbox) = self.send("GET", path, token, None).await;
        assert_eq!(status, 200, "{inbox}");
        inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["type"] == type_)
            .cloned()
            .collect()
    }

    /// `method /orgs/{org}{path}` with the organisation's admin key: the status and the JSON answer.
    pub async fn admin(&self, org: &TestOrg, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.send(method, &format!("/orgs/{}{path}", org.id), &org.admin_key, body)
            .await
    }

    /// A policy named `name` granting the API `api_id`: the policy as created.
    pub async fn policy(&self, org: &TestOrg, name: &str, api_id: &Value) -> Value {
        let (status, policy) = self
            .admin(
                org,
                "POST",
                "/policies",
                Some(json!({"name": name, "api_ids": [api_id]})),
            )
            .await;
        assert_eq!(status, 201, "{policy}");
        policy
    }

    /// An API, a policy granting it and a catalog entry publishing it, with `approval` or the
    /// organisation's default: the entry as created.
    pub async fn catalog_entry(&self, org: &TestOrg, approval: Option<&str>) -> Value {
        let (_, api) = self
            .admin(org, "POST", "/apis", Some(json!({"name": "Payments"})))
            .await;
        let policy = json!({"name": "Gold", "api_ids": [api["id"]]});
        let (_, policy) = self.admin(org, "POST", "/policies", Some(policy)).await;
        let mut entry = json!({"name": "Payments", "api_id": api["id"], "policy_id": policy["id"]});
        if let Some(approval) = approval {
            entry["approval"] = json!(approval);
        }
        let (status, entry) = self.admin(org, "POST", "/catalog", Some(entry)).await;
        assert_eq!(status, 201, "{entry}");
        entry
    }

    /// An API whose policy has `limits` (`{"quota": …, "rate": …, "trigger_limits": …}`), published
    /// in `org`'s catalog, and a gateway key of `org`.
    pub async fn gated_entry(&self, org: &TestOrg, limits: Value) -> Gated {
        let (_, api) = self
            .admin(org, "POST", "/apis", Some(json!({"name": "Payments"})))
            .await;
        let mut policy = json!({"name": "Metered", "api_ids": [api["id"]]});
        for (name, value) in limits.as_object().expect("limits are an object") {
            policy[name] = value.clone();
        }
        let (status, policy) = self.admin(org, "POST", "/policies", Some(policy)).await;
        assert_eq!(status, 201, "{policy}");
        let entry = json!({"name": "Payments", "api_id": api["id"], "policy_id": policy["id"]});
        let (status, entry) = self.admin(org, "POST", "/catalog", Some(entry)).await;
        assert_eq!(status, 201, "{entry}");
        let gateway = self.admin_key(org, "edge", "gateway").await;
        Gated {
            entry,
            policy,
            gateway: gateway["key"].as_str().unwrap().to_string(),
        }
    }

    /// [`TestApp::gated_entry`] in a new organisation that issues keys at once.
    pub async fn gated(&self, limits: Value) -> (TestOrg, Gated) {
        let org = self
            .create_org(json!({"name": "Acme", "settings": {"default_approval": "auto"}}))
            .await;
        let gated = self.gated_entry(&org, limits).await;
        (org, gated)
    }

    /// A new developer of `org`, logged in, with a key for `entry` (issued at once).
    pub async fn key_holder(&self, org: &TestOrg, entry: &Value) -> KeyHolder {
        let email = unique_email();
        assert_eq!(self.sign_up(&org.id, &email).await.status(), 202);
        let (_, login) = self.log_in(&org.id, &email).await;
        let session = login["token"].as_str().unwrap().to_string();
        let (status, issued) = self
            .send(
                "POST",
                &format!("/portal/{}/key-requests", org.id),
                &session,
                Some(json!({"catalog_id": entry["id"]})),
            )
            .await;
        assert_eq!(status, 201, "{issued}");
        KeyHolder {
            email,
            session,
            developer_id: issued["developer_id"].as_str().unwrap().to_string(),
            key: issued["key"].as_str().unwrap().to_string(),
            key_id: issued["key_details"]["id"].as_str().unwrap().to_string(),
        }
    }

    /// The id (`ak_…`) of the organisation's first owner key.
    pub async fn owner_key_id(&self, org: &TestOrg) -> String {
        let (status, keys) = self.admin(org, "GET", "/admin-keys", None).await;
        assert_eq!(status, 200, "{keys}");
        let owner = keys["items"].as_array().unwrap().iter().find(|k| k["role"] == "owner");
        owner.expect("an owner key")["id"].as_str().unwrap().to_string()
    }

    /// A new admin key of `org` with `role`, made with its owner key: the answer (with `key`).
    pub async fn admin_key(&self, org: &TestOrg, name: &str, role: &str) -> Value {
        let (status, key) = self
            .admin(org, "POST", "/admin-keys", Some(json!({"name": name, "role": role})))
            .await;
        assert_eq!(status, 201, "{key}");
        key
    }

    /// The token of the newest invitation link emailed to `to` (waits for the email).
    pub async fn invitation_token(&self, to: &str) -> String {
        eventually(Duration::from_secs(60), || async {
            self.emails_to(to)
                .await
                .iter()
                .rev()
                .find_map(|mail| link_token(mail, "accept-invitation?token="))
        })
        .await
        .unwrap_or_else(|| panic!("an invitation email to {to}"))
    }

    /// Accepts the invitation emailed to `email` with the test password and logs in.
    pub async fn accept_and_log_in(&self, org: &TestOrg, email: &str) -> AdminLogin {
        let token = self.invitation_token(email).await;
        let (status, accepted) = self
            .send(
                "POST",
                &format!("/orgs/{}/admins/accept", org.id),
                "",
                Some(json!({"token": token, "password": PASSWORD})),
            )
            .await;
        assert_eq!(status, 200, "{accepted}");
        self.log_in_admin(org, email).await
    }

    /// Logs an admin user in with the test password.
    pub async fn log_in_admin(&self, org: &TestOrg, email: &str) -> AdminLogin {
        let (status, login) = self
            .send(
                "POST",
                &format!("/orgs/{}/login", org.id),
                "",
                Some(json!({"email": email, "password": PASSWORD})),
            )
            .await;
        assert_eq!(status, 200, "{login}");
        AdminLogin {
            id: login["admin"]["id"].as_str().unwrap().to_string(),
            email: email.to_string(),
            token: login["token"].as_str().unwrap().to_string(),
            permissions: serde_json::from_value(login["permissions"].clone()).unwrap(),
        }
    }

    /// A new admin user of `org` with `role`, invited with its owner key, accepted and logged in.
    pub async fn admin_user(&self, org: &TestOrg, role: &str) -> AdminLogin {
        let email = unique_email();
        let (status, invited) = self
            .admin(org, "POST", "/admins", Some(json!({"email": email, "role": role})))
            .await;
        assert_eq!(status, 201, "{invited}");
        self.accept_and_log_in(org, &email).await
    }

    /// A new organisation. Address confirmation (`settings.confirm_email`, on in production) is off
    /// unless the body sets it, so tests of other features sign developers up and use them at
    /// once; the tests of confirmation turn it on.
    pub async fn create_org(&self, mut body: Value) -> TestOrg {
        if body["settings"].get("confirm_email").is_none() {
            body["settings"]["confirm_email"] = Value::Bool(false);
        }
        let response = self.post_json("/orgs", Some(&self.root_key()), &body).await;
        assert_eq!(response.status(), 201, "creating an organisation");
        let body: Value = response.json().await.unwrap();
        TestOrg {
            id: body["id"].as_str().unwrap().to_string(),
            admin_key: body["admin_key"].as_str().unwrap().to_string(),
            webhook_secret: body["webhook_secret"].as_str().unwrap().to_string(),
            body,
        }
    }

    pub async fn sign_up(&self, org: &str, email: &str) -> reqwest::Response {
        self.post_json(
            &format!("/portal/{org}/signup"),
            None,
            &json!({"email": email, "password": PASSWORD}),
        )
        .await
    }

    /// Logs `email` in with the test password: the status and the answer (`token` on success).
    pub async fn log_in(&self, org: &str, email: &str) -> (u16, Value) {
        let body = json!({"email": email, "password": PASSWORD});
        self.send("POST", &format!("/portal/{org}/login"), "", Some(body)).await
    }

    /// Every email sent to `to` so far, as raw MIME: from the emulator's SES store or the outbox.
    pub async fn emails_to(&self, to: &str) -> Vec<String> {
        match self.backend {
            Backend::Emulator => ses_raw_messages(&emulator_endpoint())
                .await
                .into_iter()
                .filter(|(destinations, _)| destinations.iter().any(|d| d.eq_ignore_ascii_case(to)))
                .map(|(_, raw)| raw)
                .collect(),
            Backend::Embedded => outbox_messages(&self.outbox)
                .into_iter()
                .filter(|m| m.lines().any(|l| l.eq_ignore_ascii_case(&format!("To: {to}"))))
                .collect(),
        }
    }

    /// The organisation's email deliveries to `to` once at least `count` of them are finished.
    pub async fn finished_emails_to(
        &self,
        org: &str,
        to: &str,
        count: usize,
    ) -> Vec<gatehouse::store::deliveries::Delivery> {
        use gatehouse::store::deliveries::DeliveryStatus;
        eventually(Duration::from_secs(60), || async {
            let found: Vec<_> = self
                .deliveries(org)
                .await
                .into_iter()
                .filter(|d| d.channel == "email" && d.target == to && d.status != DeliveryStatus::InProgress)
                .collect();
            (found.len() >= count).then_some(found)
        })
        .await
        .unwrap_or_else(|| panic!("{count} finished deliveries to {to}"))
    }

    /// The organisation's deliveries (emails and webhook attempts), each as its record and its
    /// batch's outcome record make it.
    pub async fn deliveries(&self, org: &str) -> Vec<gatehouse::store::deliveries::Delivery> {
        gatehouse::store::deliveries::resolve_records(&self.org_records(org).await).unwrap()
    }

    /// Every record of the organisation as one text, to look for what must never be stored.
    pub async fn org_records_text(&self, org: &str) -> String {
        self.org_records(org).await.iter().map(|r| format!("{r:?}")).collect()
    }

    /// Every record of the organisation, across all its partitions (`ORG#{org}` and
    /// `ORG#{org}#…`): read from the memory store, or scanned from the test's own table.
    pub async fn org_records(&self, org: &str) -> Vec<gatehouse::store::Record> {
        let own = format!("ORG#{org}");
        let nested = format!("{own}#");
        let belongs = |r: &gatehouse::store::Record| {
            r.get("PK")
                .and_then(Value::as_str)
                .is_some_and(|pk| pk == own || pk.starts_with(&nested))
        };
        self.table_records().await.into_iter().filter(belongs).collect()
    }

    /// Every record of the test's table.
    pub async fn table_records(&self) -> Vec<gatehouse::store::Record> {
        if let Some(memory) = &self.local.memory_store {
            return memory.records_under("");
        }
        let client = self
            .dynamo
            .get_or_init(|| async {
                let endpoint = self.local.services.config.aws_endpoint_url.as_deref();
                let endpoint = endpoint.map_or_else(emulator_endpoint, str::to_string);
                aws_sdk_dynamodb::Client::new(&gatehouse::app::sdk_config(Some(&endpoint)).await)
            })
            .await;
        let mut records = Vec::new();
        let mut start = None;
        loop {
            let out = client
                .scan()
                .table_name(&self.local.services.config.table_name)
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap();
            for item in out.items.unwrap_or_default() {
                records.push(serde_dynamo::from_item(item).unwrap());
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return records,
            }
        }
    }

    /// Messages sitting in a dead-letter queue (received, so invisible for a while afterwards).
    pub async fn dead_letters(&self, webhook: bool) -> Vec<String> {
        let queue = if webhook {
            &self.local.webhook_dead_letters
        } else {
            &self.local.email_dead_letters
        };
        queue
            .receive(10, Duration::from_secs(1))
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.body)
            .collect()
    }
}

/// `(destinations, raw MIME)` of every message the emulator's SES has accepted.
pub async fn ses_raw_messages(endpoint: &str) -> Vec<(Vec<String>, String)> {
    let response = reqwest::get(format!("{endpoint}/_gatehouse/ses/raw-messages"))
        .await
        .expect("reading the emulator's sent emails (is it tests/emulator.py?)");
    assert!(
        response.status().is_success(),
        "the emulator's sent emails: {}",
        response.status()
    );
    let messages: Vec<Value> = response.json().await.expect("the emulator's sent emails as JSON");
    messages
        .into_iter()
        .map(|m| {
            let destinations = m["destinations"].as_array().cloned().unwrap_or_default();
            (
                destinations
                    .iter()
                    .filter_map(|d| d.as_str().map(str::to_string))
                    .collect(),
                m["raw_data"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

pub fn outbox_messages(dir: &std::path::Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect()
}

/// A small two-part message from `from` to `to`, rendered once.
pub fn test_mail(from: &str, to: &str, subject: &str) -> gatehouse::mail::Outgoing {
    gatehouse::mail::Outgoing::new(gatehouse::mail::EmailMessage {
        from: gatehouse::domain::Email::parse(from).unwrap(),
        from_name: Some("Acme Portal".into()),
        to: gatehouse::domain::Email::parse(to).unwrap(),
        subject: subject.into(),
        text: "text part".into(),
        html: "<p>html part</p>".into(),
        headers: vec![("X-Gatehouse-Event".into(), "evt_test".into())],
    })
    .unwrap()
}

/// Polls `check` until it gives a value or `timeout` passes.
pub async fn eventually<T, F, Fut>(timeout: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return Some(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct ReceivedWebhook {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub at: std::time::Instant,
    /// The status the receiver answered.
    pub status: u16,
}

impl ReceivedWebhook {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
}

/// A real HTTP server on loopback that records every request and answers with a scripted status
/// sequence (the last status repeats).
pub struct WebhookReceiver {
    pub address: SocketAddr,
    received: Arc<Mutex<Vec<ReceivedWebhook>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl WebhookReceiver {
    pub async fn start(statuses: Vec<u16>) -> Self {
        Self::start_with(statuses, None).await
    }

    /// Like [`Self::start`], sending `Retry-After: <secs>` with every non-2xx answer.
    pub async fn start_with(statuses: Vec<u16>, retry_after: Option<u64>) -> Self {
        assert!(!statuses.is_empty());
        Self::serve(Answers::Scripted(statuses), retry_after).await
    }

    /// Answers 500 to a random `failure_rate` share of requests and 204 to the rest.
    pub async fn start_flaky(failure_rate: f64) -> Self {
        Self::serve(Answers::Random(failure_rate), None).await
    }

    async fn serve(answers: Answers, retry_after: Option<u64>) -> Self {
        let received: Arc<Mutex<Vec<ReceivedWebhook>>> = Arc::default();
        let answers = Arc::new(Mutex::new(answers));
        let log = received.clone();
        let app = axum::Router::new().fallback(move |headers: HeaderMap, body: axum::body::Bytes| {
            let log = log.clone();
            let answers = answers.clone();
            async move {
                let status = StatusCode::from_u16(answers.lock().unwrap().next()).unwrap();
                let at = std::time::Instant::now();
                log.lock().unwrap().push(ReceivedWebhook {
                    headers,
                    body: body.to_vec(),
                    at,
                    status: status.as_u16(),
                });
                let mut response = axum::response::IntoResponse::into_response(status);
                if let (Some(secs), false) = (retry_after, status.is_success()) {
                    response.headers_mut().insert("retry-after", secs.into());
                }
                response
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            address,
            received,
            server,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hooks/gatehouse", self.address)
    }

    pub fn received(&self) -> Vec<ReceivedWebhook> {
        self.received.lock().unwrap().clone()
    }

    /// Everything received, once there are at least `count` requests (or `None` after `timeout`).
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Option<Vec<ReceivedWebhook>> {
        eventually(timeout, || async {
            let r = self.received();
            (r.len() >= count).then_some(r)
        })
        .await
    }
}

/// How a [`WebhookReceiver`] answers.
enum Answers {
    /// In this order; the last one repeats.
    Scripted(Vec<u16>),
    /// 500 with this probability, else 204.
    Random(f64),
}

impl Answers {
    fn next(&mut self) -> u16 {
        match self {
            Answers::Scripted(list) if list.len() > 1 => list.remove(0),
            Answers::Scripted(list) => list[0],
            Answers::Random(rate) => {
                if rand::random::<f64>() < *rate {
                    500
                } else {
                    204
                }
            }
        }
    }
}

/// A TCP proxy in front of the AWS emulator that can be switched off: while down it refuses new
/// connections and cuts open ones, as an unreachable endpoint would.
pub struct FlakyProxy {
    pub address: SocketAddr,
    down: tokio::sync::watch::Sender<bool>,
    /// Connections refused or cut while down.
    cut: Arc<std::sync::atomic::AtomicUsize>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FlakyProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FlakyProxy {
    pub async fn start(upstream: &str) -> Self {
        let upstream = upstream.trim_start_matches("http://").to_string();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (down, watch) = tokio::sync::watch::channel(false);
        let cut: Arc<std::sync::atomic::AtomicUsize> = Arc::default();
        let counter = cut.clone();
        let server = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                if *watch.borrow() {
                    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    drop(inbound);
                    continue;
                }
                let (upstream, counter) = (upstream.clone(), counter.clone());
                let mut watch = watch.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = watch.wait_for(|down| *down) => {
                            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                    }
                });
            }
        });
        Self {
            address,
            down,
            cut,
            server,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn set_down(&self, down: bool) {
        self.down.send_replace(down);
    }

    /// How many connections were refused or cut while down.
    pub fn cut_connections(&self) -> usize {
        self.cut.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Verifies a Standard Webhooks signature twice, independently of Gatehouse's signer: with the
/// specification's own library (`standardwebhooks`, which also checks the timestamp is recent) and
/// from first principles (HMAC-SHA256 over `id.timestamp.body`, keyed with the base64 after
/// `whsec_`). Both must accept it.
pub fn verify_standard_webhook(secret: &str, hook: &ReceivedWebhook) -> bool {
    let by_library = standardwebhooks::Webhook::new(secret)
        .map(|wh| wh.verify(&hook.body, &hook.headers).is_ok())
        .unwrap_or(false);
    by_library && verify_by_hand(secret, hook)
}

fn verify_by_hand(secret: &str, hook: &ReceivedWebhook) -> bool {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"))
        .expect("base64 secret");
    let signed = format!(
        "{}.{}.{}",
        hook.header("webhook-id"),
        hook.header("webhook-timestamp"),
        String::from_utf8_lossy(&hook.body)
    );
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(signed.as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    hook.header("webhook-signature")
        .split(' ')
        .any(|s| s.strip_prefix("v1,") == Some(expected.as_str()))
}

/// Everything the process logs (at the production level, `info`), for tests that check no secret is
/// ever written to a log line. One subscriber for the whole test process.
static LOGS: std::sync::OnceLock<Arc<Mutex<Vec<u8>>>> = std::sync::OnceLock::new();

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn capture_logs() {
    LOGS.get_or_init(|| {
        let buffer: Arc<Mutex<Vec<u8>>> = Arc::default();
        let writer = buffer.clone();
        use tracing_subscriber::prelude::*;
        let _ = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || LogWriter(writer.clone()))
            .finish()
            .with(tracing_subscriber::filter::LevelFilter::INFO)
            .try_init();
        buffer
    });
}

/// What has been logged so far.
pub fn logged() -> String {
    String::from_utf8_lossy(&LOGS.get().expect("capture_logs ran").lock().unwrap()).into_owned()
}

/// A client whose requests come from another loopback address (a source address of its own).
pub fn client_from(address: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(address))
        .build()
        .unwrap()
}

/// The token after `marker` (`…?token=`) in a MIME message, quoted-printable undone.
pub fn link_token(mime: &str, marker: &str) -> Option<String> {
    let text = mail_text(mime);
    let start = text.find(marker)? + marker.len();
    Some(
        text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect(),
    )
}

/// A MIME message's text with quoted-printable soft breaks and `=3D` undone, for searching.
pub fn mail_text(mime: &str) -> String {
    mime.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=")
}

/// The first URL in a MIME message starting with `prefix`, with quoted-printable soft breaks and
/// escapes undone.
pub fn find_link(mime: &str, prefix: &str) -> Option<String> {
    let text = mail_text(mime);
    let start = text.find(prefix)?;
    let link: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '<')
        .collect();
    Some(link)
}

/// The stream record of an outbox event as DynamoDB Streams delivers its insertion (keys, new
/// image, sequence number), for handing batches to the event router.
pub fn stream_record(record: &gatehouse::store::Record, sequence: u64) -> aws_lambda_events::dynamodb::EventRecord {
    let mut keys = gatehouse::store::Record::new();
    keys.insert("PK".into(), record["PK"].clone());
    keys.insert("SK".into(), record["SK"].clone());
    let mut change = aws_lambda_events::dynamodb::StreamRecord::default();
    change.keys = serde_dynamo::to_item(&keys).unwrap();
    change.new_image = serde_dynamo::to_item(record).unwrap();
    change.sequence_number = Some(sequence.to_string());
    let mut out = aws_lambda_events::dynamodb::EventRecord::default();
    out.event_name = "INSERT".into();
    out.event_id = format!("replayed-{sequence}");
    out.change = change;
    out
}

/// An active admin user of `org` with `role` and the password [`PASSWORD`], as an accepted
/// invitation leaves them, for tests that store one without the invitation email
/// (`store::admin_users::create`).
pub fn accepted_admin_user(org: &str, role: gatehouse::domain::roles::Role) -> gatehouse::domain::AdminUser {
    let now = gatehouse::domain::now_rfc3339();
    gatehouse::domain::AdminUser {
        id: gatehouse::domain::AdminUserId::generate(),
        org_id: gatehouse::domain::OrgId::parse(org).unwrap(),
        email: gatehouse::domain::Email::parse(&unique_email()).unwrap(),
        name: None,
        locale: None,
        role,
        status: gatehouse::domain::AdminStatus::Active,
        password_hash: gatehouse::domain::Password::parse(PASSWORD).unwrap().hash(),
        created_at: now.clone(),
        updated_at: now,
        sessions_valid_after: 0,
        links_valid_after: 0,
    }
}

/// The median of benchmark samples (the upper one of an even count).
pub fn median(mut samples: Vec<std::time::Duration>) -> std::time::Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// The scenario `$scenario(backend)` as two tests: on the embedded runner and on the emulator.
#[macro_export]
macro_rules! on_both_backends {
    ($scenario:ident, $embedded:ident, $emulator:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $embedded() {
            $scenario($crate::Backend::Embedded).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $emulator() {
            $scenario($crate::Backend::Emulator).await;
        }
    };
}

pub use counting::Counted;

mod counting {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use async_trait::async_trait;
    use gatehouse::store::{Key, Page, Record, Store, StoreError, Write};

    /// A store with its reads (gets and queries) and writes (each write of a transaction) counted.
    pub struct Counted {
        pub inner: Arc<dyn Store>,
        pub reads: AtomicUsize,
        pub writes: AtomicUsize,
    }

    impl Counted {
        pub fn new(inner: Arc<dyn Store>) -> Self {
            Self {
                inner,
                reads: AtomicUsize::new(0),
                writes: AtomicUsize::new(0),
            }
        }

        /// (reads, writes) so far.
        pub fn counts(&self) -> (usize, usize) {
            (self.reads.load(Ordering::Relaxed), self.writes.load(Ordering::Relaxed))
        }
    }

    #[async_trait]
    impl Store for Counted {
        async fn get(&self, key: &Key) -> Result<Option<Record>, StoreError> {
            self.reads.fetch_add(1, Ordering::Relaxed);
            self.inner.get(key).await
        }

        async fn query(
            &self,
            pk: &str,
            sk_prefix: &str,
            after: Option<&str>,
            limit: usize,
        ) -> Result<Page, StoreError> {
            self.reads.fetch_add(1, Ordering::Relaxed);
            self.inner.query(pk, sk_prefix, after, limit).await
        }

        async fn query_gsi1(
            &self,
            pk: &str,
            sk_prefix: &str,
            after: Option<&str>,
            limit: usize,
        ) -> Result<Page, StoreError> {
            self.reads.fetch_add(1, Ordering::Relaxed);
            self.inner.query_gsi1(pk, sk_prefix, after, limit).await
        }

        async fn query_gsi2(
            &self,
            pk: &str,
            after: Option<&str>,
            newest_first: bool,
            limit: usize,
        ) -> Result<Vec<Record>, StoreError> {
            self.reads.fetch_add(1, Ordering::Relaxed);
            self.inner.query_gsi2(pk, after, newest_first, limit).await
        }

        async fn get_eventually(&self, key: &Key) -> Result<Option<Record>, StoreError> {
            self.reads.fetch_add(1, Ordering::Relaxed);
            self.inner.get_eventually(key).await
        }

        async fn query_sorted(
            &self,
            pk: &str,
            after: Option<&str>,
            newest_first: bool,
            limit: usize,
        ) -> Result<Vec<Record>, StoreError> {
            self.reads.fetch_add(1, Ordering::Relaxed);
            self.inner.query_sorted(pk, after, newest_first, limit).await
        }

        async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
            self.writes.fetch_add(writes.len(), Ordering::Relaxed);
            self.inner.transact(writes).await
        }
    }
}
