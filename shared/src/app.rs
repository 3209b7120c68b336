//! Wiring: the clients and adapters each way of running needs, built once. The API state and each
//! worker are built by one function apiece ([`api_state`], [`event_router`], [`email_worker`],
//! [`webhook_worker`]) that the Lambda mains (through [`aws`]) and the local runner both call.
//!
//! - In Lambda each function's `main` reads its configuration and calls its builder in [`aws`], which
//!   makes only the SDK clients that function uses, then hands the handler to [`lambda`].
//! - Locally, [`Local::start`] runs everything in one process: embedded (memory store, in-process
//!   queues, `.eml` outbox) by default, or against an AWS endpoint such as the local emulator
//!   (`AWS_ENDPOINT_URL`), with pollers standing in for Lambda's event source mappings.

use anyhow::Context;
use std::sync::Arc;
use tokio::task::JoinHandle;

use crate::config::{Config, EmailBackend};
use crate::crypto::SecretBox;
use crate::mail::{AllOf, Mailer, MailgunMailer, MandrillMailer, OutboxMailer, SendGridMailer, SesMailer, SmtpMailer};
use crate::pipeline::{
    poll_queue_concurrently, poll_stream, DigestJob, DynamoStreamSource, EmailWorker, EventRouter, MemoryStreamSource,
    QueueHandler, RetryPolicy, StreamHandler, StreamSource, WebhookWorker,
};
use crate::queue::{JobScheduler, JobSender, MemoryQueue, Queue, QueueSpec, SqsQueue};
use crate::service::gate::Gate;
use crate::service::AppState;
use crate::store::{DynamoStore, MemoryStore, Store, TableSpec};
use crate::templates::Templates;
use crate::webhook::{NetworkPolicy, WebhookClient};

/// The AWS SDK clients, from one shared configuration.
#[derive(Clone, Debug)]
pub struct AwsClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub streams: aws_sdk_dynamodbstreams::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub ses: aws_sdk_sesv2::Client,
}

impl AwsClients {
    /// From the environment's region and credentials; with `endpoint` (a local emulator), from that
    /// endpoint with test credentials unless the environment has some.
    pub async fn load(endpoint: Option<&str>) -> Self {
        let shared = sdk_config(endpoint).await;
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(&shared),
            streams: aws_sdk_dynamodbstreams::Client::new(&shared),
            sqs: aws_sdk_sqs::Client::new(&shared),
            ses: aws_sdk_sesv2::Client::new(&shared),
        }
    }
}

/// The SDK configuration from the environment's region and credentials; with `endpoint` (a local
/// emulator), for that endpoint with test credentials unless the environment has some.
pub async fn sdk_config(endpoint: Option<&str>) -> aws_config::SdkConfig {
    {
        let mut loader =
            aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(crate::tls::sdk_http_client());
        if let Some(endpoint) = endpoint {
            loader = loader.endpoint_url(endpoint);
            if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
                loader = loader.credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                    "test",
                    "test",
                    None,
                    None,
                    "gatehouse-local",
                ));
            }
            if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none() {
                loader = loader.region(aws_config::Region::new("us-east-1"));
            }
        }
        loader.load().await
    }
}

/// Every piece of the system, for running it in one process.
#[derive(Clone)]
pub struct Services {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub email_queue: Arc<dyn Queue>,
    pub webhook_queue: Arc<dyn Queue>,
    /// `None` when emails are switched off.
    pub mailer: Option<Arc<dyn Mailer>>,
    pub templates: Arc<Templates>,
    pub secrets: SecretBox,
    /// The gate's leases and counted use, one for the process like a Lambda instance's.
    pub gate: Arc<Gate>,
}

impl Services {
    pub fn http_state(&self) -> AppState {
        AppState {
            gate: self.gate.clone(),
            ..api_state(
                self.config.clone(),
                self.store.clone(),
                self.email_queue.clone(),
                self.webhook_queue.clone(),
                self.secrets.clone(),
                self.templates.clone(),
            )
        }
    }

    pub fn router(&self) -> axum::Router {
        crate::http::router(self.http_state())
    }

    pub fn event_router(&self) -> EventRouter {
        event_router(
            &self.config,
            self.store.clone(),
            self.email_queue.clone(),
            self.webhook_queue.clone(),
            self.templates.clone(),
        )
    }

    pub fn email_worker(&self) -> EmailWorker {
        email_worker(
            &self.config,
            self.store.clone(),
            self.secrets.clone(),
            self.mailer.clone(),
            self.templates.clone(),
            self.email_queue.clone(),
        )
    }

    pub fn webhook_worker(&self) -> WebhookWorker {
        webhook_worker(
            &self.config,
            self.store.clone(),
            self.secrets.clone(),
            self.webhook_queue.clone(),
        )
    }
}

/// The HTTP API's state; `email_jobs` and `webhook_jobs` take replays and test emails.
pub fn api_state(
    config: Arc<Config>,
    store: Arc<dyn Store>,
    email_jobs: Arc<dyn JobSender>,
    webhook_jobs: Arc<dyn JobSender>,
    secrets: SecretBox,
    templates: Arc<Templates>,
) -> AppState {
    AppState {
        gate: Arc::new(Gate::new(store.clone())),
        orgs: Arc::new(crate::service::OrgCache::new(config.org_cache_ttl)),
        store,
        config,
        secrets,
        email_jobs,
        webhook_jobs,
        templates,
    }
}

/// The event router: the table's stream in, inbox items, email and webhook jobs out.
pub fn event_router(
    config: &Config,
    store: Arc<dyn Store>,
    email_jobs: Arc<dyn JobSender>,
    webhook_jobs: Arc<dyn JobSender>,
    templates: Arc<Templates>,
) -> EventRouter {
    EventRouter::new(
        store,
        email_jobs,
        webhook_jobs,
        config.portal_url.clone(),
        templates,
        config.notification_retention.as_secs() as i64,
    )
}

/// The email worker; `queue` is the one its jobs come from, where a busy delivery is put off.
pub fn email_worker(
    config: &Config,
    store: Arc<dyn Store>,
    secrets: SecretBox,
    mailer: Option<Arc<dyn Mailer>>,
    templates: Arc<Templates>,
    queue: Arc<dyn JobScheduler>,
) -> EmailWorker {
    EmailWorker::new(
        store,
        secrets,
        mailer,
        templates,
        config.from_email.clone(),
        config.from_name.clone(),
        config.public_api_url.clone(),
    )
    .with_limits(config.limits.clone())
    .dead_lettered_after(config.queue_max_receive_count)
    .reputation_after(config.email_reputation_min_sent)
    .postponing_on(queue)
}

pub fn secret_box(config: &Config) -> anyhow::Result<SecretBox> {
    let keys = config
        .secret_key
        .as_ref()
        .context("GATEHOUSE_SECRET_KEY is not given to this function")?;
    SecretBox::from_keys(keys).context("GATEHOUSE_SECRET_KEY")
}

pub fn templates(config: &Config) -> anyhow::Result<Arc<Templates>> {
    Ok(Arc::new(
        Templates::load(config.email_templates_dir.as_deref()).context("loading email templates")?,
    ))
}

/// The mailer of the configured backend, or `None` when emails are switched off. Without a
/// configured backend: SES when there is an SES client (AWS, the emulator), else the outbox.
pub fn mailer(config: &Config, ses: Option<&aws_sdk_sesv2::Client>) -> anyhow::Result<Option<Arc<dyn Mailer>>> {
    let default = if ses.is_some() {
        EmailBackend::AmazonSes
    } else {
        EmailBackend::Outbox
    };
    let backend = config.email_backend.clone().unwrap_or(default);
    let code = backend.code();
    let mailer: Arc<dyn Mailer> = match backend {
        EmailBackend::Disabled => {
            tracing::warn!("email notifications are switched off: every email is skipped, recorded as skipped and counted (metric EmailsSkipped)");
            return Ok(None);
        }
        EmailBackend::AmazonSes => {
            let ses = ses.context("EMAIL_BACKEND amazonses needs AWS (or AWS_ENDPOINT_URL locally)")?;
            Arc::new(SesMailer::new(ses.clone(), config.ses_configuration_set.clone()))
        }
        EmailBackend::Smtp(settings) => Arc::new(SmtpMailer::new(&settings).context("SMTP_SERVER")?),
        EmailBackend::SendGrid(settings) => Arc::new(SendGridMailer::new(settings)),
        EmailBackend::Mailgun(settings) => Arc::new(MailgunMailer::new(settings)),
        EmailBackend::Mandrill(settings) => Arc::new(MandrillMailer::new(settings)),
        EmailBackend::Outbox => Arc::new(OutboxMailer::new(&config.outbox_dir)),
    };
    tracing::info!(backend = code, "email backend");
    Ok(Some(mailer))
}

/// The webhook worker; `queue` is the one its jobs come from, where retries are scheduled.
pub fn webhook_worker(
    config: &Config,
    store: Arc<dyn Store>,
    secrets: SecretBox,
    queue: Arc<dyn Queue>,
) -> WebhookWorker {
    let policy = NetworkPolicy::new(config.webhook_allowed_networks.clone());
    let retries = RetryPolicy {
        schedule: config.webhook_retry_schedule.clone(),
        queue,
    };
    WebhookWorker::new(
        store,
        WebhookClient::new(policy, config.webhook_timeout),
        secrets,
        retries,
        config.webhook_disable_after,
    )
    .dead_lettered_after(config.queue_max_receive_count)
    .failing_notice_after(config.webhook_failing_notice_after)
}

/// How the local runner is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Embedded,
    Emulated,
}

impl Mode {
    /// The batches each queue's worker handles at once: `LOCAL_QUEUE_CONCURRENCY`, else 8
    /// embedded and 1 against an emulator (whose one table serialises writes anyway).
    pub fn queue_concurrency(self, config: &Config) -> usize {
        config.local_queue_concurrency.unwrap_or(match self {
            Mode::Embedded => 8,
            Mode::Emulated => 1,
        })
    }
}

/// The whole system in one process, with its pollers running; dropping it stops them.
pub struct Local {
    pub mode: Mode,
    pub services: Services,
    pub email_dead_letters: Arc<dyn Queue>,
    pub webhook_dead_letters: Arc<dyn Queue>,
    /// The embedded store, for tests that inject faults into it.
    pub memory_store: Option<Arc<MemoryStore>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Local {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The adapters of one way of running locally.
struct Backends {
    store: Arc<dyn Store>,
    memory_store: Option<Arc<MemoryStore>>,
    /// Each queue with its dead-letter queue.
    email: (Arc<dyn Queue>, Arc<dyn Queue>),
    webhook: (Arc<dyn Queue>, Arc<dyn Queue>),
    mailer: Option<Arc<dyn Mailer>>,
    stream: Box<dyn StreamSource>,
}

impl Backends {
    /// Memory store, in-process queues with SQS's semantics, `.eml` files.
    fn embedded(config: &Config) -> anyhow::Result<Self> {
        let store = Arc::new(MemoryStore::new());
        let queue = |name: &str| {
            let dlq = Arc::new(MemoryQueue::dead_letter(&format!("{name}-dlq")));
            let main = MemoryQueue::new(
                name,
                config.queue_visibility_timeout,
                config.queue_max_receive_count,
                Some(dlq.clone()),
            );
            (Arc::new(main) as Arc<dyn Queue>, dlq as Arc<dyn Queue>)
        };
        Ok(Self {
            store: store.clone(),
            memory_store: Some(store.clone()),
            email: queue(&config.email_queue),
            webhook: queue(&config.webhook_queue),
            // Every email lands in the outbox, and also goes through the backend given, if any.
            mailer: match mailer(config, None)? {
                Some(backend) if !matches!(config.email_backend, None | Some(EmailBackend::Outbox)) => {
                    Some(Arc::new(AllOf(vec![
                        Arc::new(OutboxMailer::new(&config.outbox_dir)),
                        backend,
                    ])))
                }
                other => other,
            },
            stream: Box::new(MemoryStreamSource::new(store)),
        })
    }

    /// The real table, stream, queues and SES at `endpoint`, created if missing.
    async fn aws(config: &Config, endpoint: &str) -> anyhow::Result<Self> {
        let clients = AwsClients::load(Some(endpoint)).await;
        let stream_arn = TableSpec::ensure(&clients.dynamodb, &config.table_name).await?;
        ensure_sender_identity(&clients.ses, config).await?;
        let spec = |name| QueueSpec {
            name,
            visibility_timeout: config.queue_visibility_timeout,
            max_receive_count: config.queue_max_receive_count,
        };
        let (email, email_dlq) = spec(config.email_queue.as_str()).ensure(&clients.sqs).await?;
        let (webhook, webhook_dlq) = spec(config.webhook_queue.as_str()).ensure(&clients.sqs).await?;
        let arc = |q: SqsQueue| Arc::new(q) as Arc<dyn Queue>;
        Ok(Self {
            store: Arc::new(DynamoStore::new(clients.dynamodb.clone(), &config.table_name).one_transaction_at_a_time()),
            memory_store: None,
            email: (arc(email), arc(email_dlq)),
            webhook: (arc(webhook), arc(webhook_dlq)),
            mailer: mailer(config, Some(&clients.ses))?,
            stream: Box::new(DynamoStreamSource::new(clients.streams.clone(), stream_arn)),
        })
    }
}

/// Which pollers [`Local::start_with`] runs: all of them normally; a fault-injection test runs a
/// worker itself.
#[derive(Debug, Clone, Copy)]
pub struct Pollers {
    pub email_worker: bool,
    pub webhook_worker: bool,
}

impl Default for Pollers {
    fn default() -> Self {
        Self {
            email_worker: true,
            webhook_worker: true,
        }
    }
}

impl Local {
    pub async fn start(config: Config) -> anyhow::Result<Self> {
        Self::start_with(config, Pollers::default()).await
    }

    pub async fn start_with(config: Config, pollers: Pollers) -> anyhow::Result<Self> {
        let config = Arc::new(config);
        let secrets = secret_box(&config)?;
        let templates = templates(&config)?;
        let (mode, backends) = match &config.aws_endpoint_url {
            None => (Mode::Embedded, Backends::embedded(&config)?),
            Some(endpoint) => (Mode::Emulated, Backends::aws(&config, endpoint).await?),
        };
        let services = Services {
            config,
            store: backends.store.clone(),
            email_queue: backends.email.0,
            webhook_queue: backends.webhook.0,
            mailer: backends.mailer,
            templates,
            secrets,
            gate: Arc::new(Gate::new(backends.store.clone())),
        };
        let router: Arc<dyn StreamHandler> = Arc::new(services.event_router());
        let mut tasks = vec![
            tokio::spawn(poll_stream(backends.stream, router)),
            tokio::spawn(usage_flush_timer(services.gate.clone())),
        ];
        if pollers.email_worker {
            let email_worker: Arc<dyn QueueHandler> = Arc::new(services.email_worker());
            tasks.push(tokio::spawn(poll_queue_concurrently(
                services.email_queue.clone(),
                email_worker,
                mode.queue_concurrency(&services.config),
            )));
        }
        if pollers.webhook_worker {
            let webhook_worker: Arc<dyn QueueHandler> = Arc::new(services.webhook_worker());
            tasks.push(tokio::spawn(poll_queue_concurrently(
                services.webhook_queue.clone(),
                webhook_worker,
                mode.queue_concurrency(&services.config),
            )));
        }
        if let Some(every) = services.config.digest_interval {
            tasks.push(tokio::spawn(digest_timer(
                DigestJob::new(services.store.clone()),
                every,
            )));
        }
        Ok(Self {
            mode,
            services,
            email_dead_letters: backends.email.1,
            webhook_dead_letters: backends.webhook.1,
            memory_store: backends.memory_store,
            tasks,
        })
    }
}

/// The local stand-in for the digest function's EventBridge schedule: the job every `every`,
/// first after one interval.
async fn digest_timer(job: DigestJob, every: std::time::Duration) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(e) = job.handle(&serde_json::Value::Null).await {
            tracing::error!(error = ?e, "the digest job failed; the next tick tries again");
        }
    }
}

/// Writes the use the gate counted every [`crate::service::gate::USAGE_FLUSH`], so a quiet key's
/// last calls are not left waiting for its next one (in Lambda, each verify writes when one is due).
async fn usage_flush_timer(gate: Arc<Gate>) {
    let mut ticks = tokio::time::interval(crate::service::gate::USAGE_FLUSH);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(e) = gate.flush_usage(true).await {
            tracing::error!(error = ?e, "writing the counted key use failed; the next tick tries again");
        }
    }
}

/// An emulator's SES refuses unverified senders, as SES does; locally the runner registers its own
/// sender. In AWS the identity is set up once, outside Gatehouse.
async fn ensure_sender_identity(ses: &aws_sdk_sesv2::Client, config: &Config) -> anyhow::Result<()> {
    let sender = config.from_email.as_str();
    match ses.create_email_identity().email_identity(sender).send().await {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_already_exists_exception()) => Ok(()),
        Err(e) => Err(anyhow::Error::new(e).context(format!("registering the sender identity {sender}"))),
    }
}

/// Each Lambda function's pieces, built from its configuration with only the SDK clients it calls.
pub mod aws {
    use anyhow::Context;
    use std::sync::Arc;

    use super::{
        email_worker as build_email_worker, event_router as build_event_router, mailer, secret_box, templates,
    };
    use super::{sdk_config, webhook_worker as build_webhook_worker};
    use crate::config::{Config, FetchedSecrets, Function, GateConfig};
    use crate::pipeline::access_log::AccessLogCounter;
    use crate::pipeline::authorizer::Authorizer;
    use crate::pipeline::{DigestJob, EmailWorker, EventRouter, WebhookWorker};
    use crate::queue::SqsQueue;
    use crate::service::gate::Gate;
    use crate::store::{DynamoStore, Store};

    pub use aws_config::SdkConfig;

    fn env(name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }

    /// A function's start: the SDK configuration from the environment, and the function's
    /// configuration with its secrets fetched.
    pub async fn start(function: Function) -> anyhow::Result<(Config, SdkConfig)> {
        let shared = lambda_sdk_config(std::env::vars())?;
        let config = config_from(function, &env, &shared).await?;
        Ok((config, shared))
    }

    /// The configuration `function` reads from `env`, with the secrets it needs fetched from
    /// Secrets Manager in one `BatchGetSecretValue` call (one connection and one round trip at a
    /// cold start, however many secrets). Only a function that needs a secret links the Secrets
    /// Manager client's calls.
    pub async fn config_from(
        function: Function,
        env: &dyn Fn(&str) -> Option<String>,
        shared: &SdkConfig,
    ) -> anyhow::Result<Config> {
        let arns = function.secret_arns(env);
        let mut fetched = FetchedSecrets::default();
        if !arns.is_empty() {
            let client = aws_sdk_secretsmanager::Client::new(shared);
            let answer = client
                .batch_get_secret_value()
                .set_secret_id_list(Some(
                    arns.iter()
                        .map(|(_, arn)| arn.to_string())
                        .collect::<std::collections::BTreeSet<_>>()
                        .into_iter()
                        .collect(),
                ))
                .send()
                .await
                .with_context(|| {
                    let settings: Vec<&str> = arns.iter().map(|(setting, _)| *setting).collect();
                    format!("reading the secrets of {}", settings.join(", "))
                })?;
            for (setting, arn) in &arns {
                let value =
                    secret_string(&answer, arn).with_context(|| format!("reading the secret {arn} ({setting})"))?;
                fetched.add(setting, value)?;
            }
        }
        Ok(Config::load(function, env, &fetched)?)
    }

    /// The value `BatchGetSecretValue` gave for the secret asked for as `id` (an ARN, a partial
    /// ARN without the random suffix, or a name), or the error it gave for it.
    fn secret_string<'a>(
        answer: &'a aws_sdk_secretsmanager::operation::batch_get_secret_value::BatchGetSecretValueOutput,
        id: &str,
    ) -> anyhow::Result<&'a str> {
        let matches = |arn: Option<&str>, name: Option<&str>| {
            arn.is_some_and(|arn| arn == id || arn.strip_prefix(id).is_some_and(|rest| rest.starts_with('-')))
                || name == Some(id)
        };
        if let Some(entry) = answer.secret_values().iter().find(|e| matches(e.arn(), e.name())) {
            return entry.secret_string().context("it holds no string");
        }
        match answer.errors().iter().find(|e| e.secret_id() == Some(id)) {
            Some(error) => anyhow::bail!(
                "{}: {}",
                error.error_code().unwrap_or("error"),
                error.message().unwrap_or("no message")
            ),
            None => anyhow::bail!("Secrets Manager did not answer for it"),
        }
    }

    /// The gate's functions' start: they hold no secret.
    pub async fn start_gate() -> anyhow::Result<(GateConfig, SdkConfig)> {
        Ok((GateConfig::from_env()?, lambda_sdk_config(std::env::vars())?))
    }

    /// The SDK configuration of a function in Lambda. Lambda gives a function its region and its
    /// execution role's credentials as environment variables, so this reads those alone: none of
    /// the default chains (profile files, instance metadata, SSO, STS) runs at start, or is linked
    /// into the function. `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` work as the SDK
    /// documents them; connections time out as the SDK's defaults do.
    pub fn lambda_sdk_config(environment: impl IntoIterator<Item = (String, String)>) -> anyhow::Result<SdkConfig> {
        use aws_config::{retry::RetryConfig, timeout::TimeoutConfig, BehaviorVersion, Region};
        use aws_sdk_dynamodb::config::{Credentials, IdentityCache, SharedCredentialsProvider};

        let environment: std::collections::HashMap<String, String> =
            environment.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        let var = |name: &str| environment.get(name).cloned();
        let region = var("AWS_REGION")
            .or_else(|| var("AWS_DEFAULT_REGION"))
            .context("AWS_REGION is not set")?;
        // What the SDK's environment provider would read once, as Lambda's variables never change.
        let credentials = Credentials::new(
            var("AWS_ACCESS_KEY_ID").context("AWS_ACCESS_KEY_ID is not set")?,
            var("AWS_SECRET_ACCESS_KEY").context("AWS_SECRET_ACCESS_KEY is not set")?,
            var("AWS_SESSION_TOKEN"),
            None,
            "lambda-environment",
        );
        let endpoint_urls = EndpointUrls(
            environment
                .iter()
                .filter(|(name, _)| name.starts_with("AWS_ENDPOINT_URL"))
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
        );
        Ok(SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region))
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .identity_cache(IdentityCache::lazy().build())
            .http_client(crate::tls::sdk_http_client())
            .retry_config(RetryConfig::standard())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(crate::tls::CONNECT_TIMEOUT)
                    .build(),
            )
            .service_config(endpoint_urls)
            .build())
    }

    /// The endpoint URLs of a function's environment, answering the SDK's per-service setting (each
    /// client asks it for its endpoint): `AWS_ENDPOINT_URL_<SERVICE>` (the service's id, upper case,
    /// spaces as `_`: `AWS_ENDPOINT_URL_SECRETS_MANAGER`), else `AWS_ENDPOINT_URL`.
    #[derive(Debug)]
    struct EndpointUrls(std::collections::HashMap<String, String>);

    impl aws_types::service_config::LoadServiceConfig for EndpointUrls {
        fn load_config(&self, key: aws_types::service_config::ServiceConfigKey<'_>) -> Option<String> {
            let service = key.service_id().to_uppercase().replace(' ', "_");
            let url = |name: &str| self.0.get(name).cloned();
            url(&format!("{}_{service}", key.env())).or_else(|| url(key.env()))
        }
    }

    fn store(config: &Config, shared: &SdkConfig) -> Arc<dyn Store> {
        table(&config.table_name, shared)
    }

    /// The table through DynamoDB, for any function's configuration.
    fn table(name: &str, shared: &SdkConfig) -> Arc<dyn Store> {
        Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(shared), name))
    }

    /// A queue by its URL; Lambda reports the real ARNs in its own payloads, so the label only
    /// names it in logs.
    fn queue(sqs: &aws_sdk_sqs::Client, url: &str, label: &str) -> Arc<SqsQueue> {
        Arc::new(SqsQueue::new(sqs.clone(), url, label))
    }

    /// The HTTP API: DynamoDB, and SQS to replay deliveries and queue test emails.
    pub fn api(config: Config, shared: &SdkConfig) -> anyhow::Result<axum::Router> {
        let config = Arc::new(config);
        let sqs = aws_sdk_sqs::Client::new(shared);
        let state = super::api_state(
            config.clone(),
            store(&config, shared),
            queue(&sqs, &config.email_queue, "email"),
            queue(&sqs, &config.webhook_queue, "webhook"),
            secret_box(&config)?,
            templates(&config)?,
        );
        Ok(crate::http::router(state))
    }

    /// The event router: DynamoDB (organisations, inboxes) and SQS (jobs); the templates give
    /// in-app notifications their text.
    pub fn event_router(config: &Config, shared: &SdkConfig) -> anyhow::Result<EventRouter> {
        let sqs = aws_sdk_sqs::Client::new(shared);
        let email = queue(&sqs, &config.email_queue, "email");
        let webhook = queue(&sqs, &config.webhook_queue, "webhook");
        Ok(build_event_router(
            config,
            store(config, shared),
            email,
            webhook,
            templates(config)?,
        ))
    }

    /// The email worker: DynamoDB, SQS (its own queue), and SES v2 when that is the backend.
    pub fn email_worker(config: &Config, shared: &SdkConfig) -> anyhow::Result<EmailWorker> {
        let ses = aws_sdk_sesv2::Client::new(shared);
        Ok(build_email_worker(
            config,
            store(config, shared),
            secret_box(config)?,
            mailer(config, Some(&ses))?,
            templates(config)?,
            queue(&aws_sdk_sqs::Client::new(shared), &config.email_queue, "email"),
        ))
    }

    /// The digest job: DynamoDB alone (a digest is an outbox event; the pipeline emails it).
    pub fn digest_job(config: &Config, shared: &SdkConfig) -> DigestJob {
        DigestJob::new(store(config, shared))
    }

    /// The API Gateway authorizer: DynamoDB only.
    pub fn authorizer(config: &GateConfig, shared: &SdkConfig) -> Authorizer {
        let gate = Arc::new(Gate::new(table(&config.table_name, shared)));
        Authorizer::new(gate, config.org.clone(), config.api_id.clone())
    }

    /// The usage function (an access log's subscription): DynamoDB only.
    pub fn access_log_counter(config: &GateConfig, shared: &SdkConfig) -> AccessLogCounter {
        AccessLogCounter::new(Arc::new(Gate::new(table(&config.table_name, shared))))
    }

    /// Moves what waits in a dead-letter queue back to its queue (the `gatehouse redrive`
    /// command): SQS alone. Returns how many messages moved.
    pub async fn redrive(dead_letter_queue_url: &str, queue_url: &str) -> anyhow::Result<usize> {
        let shared = sdk_config(None).await;
        let sqs = aws_sdk_sqs::Client::new(&shared);
        let dead_letters = queue(&sqs, dead_letter_queue_url, "dead letters");
        let queue = queue(&sqs, queue_url, "queue");
        Ok(crate::queue::redrive(&*dead_letters, &*queue).await?)
    }

    /// The webhook worker: DynamoDB and SQS (its own queue, where retries are scheduled).
    pub fn webhook_worker(config: &Config, shared: &SdkConfig) -> anyhow::Result<WebhookWorker> {
        let queue = queue(&aws_sdk_sqs::Client::new(shared), &config.webhook_queue, "webhook");
        Ok(build_webhook_worker(
            config,
            store(config, shared),
            secret_box(config)?,
            queue,
        ))
    }
}

/// The Lambda entry points: each function's `main` builds its handler and calls one of these.
pub mod lambda {
    use aws_lambda_events::dynamodb::Event as StreamEvent;
    use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
    use aws_lambda_events::streams::DynamoDbEventResponse;
    use lambda_runtime::{service_fn, Error, LambdaEvent};

    use crate::pipeline::access_log::{AccessLogCounter, Counted};
    use crate::pipeline::authorizer::{Authorizer, AuthorizerRequest, AuthorizerResponse};
    use crate::pipeline::{QueueHandler, StreamHandler};
    use aws_lambda_events::cloudwatch_logs::LogsEvent;

    /// What each invocation recorded, written after it (Embedded Metric Format on stdout).
    fn flush_metrics() {
        crate::telemetry::flush_metrics(std::io::stdout());
    }

    pub async fn run_http(router: axum::Router) -> Result<(), Error> {
        use lambda_http::tower::ServiceExt;
        let router = router.layer(axum::middleware::map_response(
            |response: axum::response::Response| async {
                flush_metrics();
                response
            },
        ));
        let service = ServiceExt::<lambda_http::Request>::map_response(router, GatewayResponse);
        lambda_http::run(service).await
    }

    /// An answer on its way to API Gateway. Gatehouse writes UTF-8 alone, so a body that is UTF-8
    /// and not content-encoded goes as text and any other as binary (base64). lambda_http's own
    /// conversion reads a charset and decodes from any encoding, which links every legacy
    /// encoding's tables into the function.
    pub struct GatewayResponse(pub axum::response::Response);

    impl lambda_http::IntoResponse for GatewayResponse {
        fn into_response(
            self,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = lambda_http::Response<lambda_http::Body>> + Send>>
        {
            let (parts, body) = self.0.into_parts();
            Box::pin(async move {
                // An axum body fails only if its stream does, which Gatehouse's never do.
                let bytes = Vec::from(axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default());
                let body = if bytes.is_empty() {
                    lambda_http::Body::Empty
                } else if parts.headers.contains_key(axum::http::header::CONTENT_ENCODING) {
                    lambda_http::Body::Binary(bytes)
                } else {
                    match String::from_utf8(bytes) {
                        Ok(text) => lambda_http::Body::Text(text),
                        Err(e) => lambda_http::Body::Binary(e.into_bytes()),
                    }
                };
                lambda_http::Response::from_parts(parts, body)
            })
        }
    }

    pub async fn run_stream(handler: impl StreamHandler) -> Result<(), Error> {
        let handler = &handler;
        lambda_runtime::run(service_fn(move |event: LambdaEvent<StreamEvent>| async move {
            let response = handler.handle(event.payload).await;
            flush_metrics();
            Ok::<DynamoDbEventResponse, Error>(response)
        }))
        .await
    }

    /// A scheduled function: the EventBridge event in, what the job did out (in its log line too).
    pub async fn run_schedule(job: crate::pipeline::DigestJob) -> Result<(), Error> {
        let job = &job;
        lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
            let done = job.handle(&event.payload).await;
            flush_metrics();
            Ok::<_, Error>(done?)
        }))
        .await
    }

    /// The API Gateway authorizer: payload 2.0 in, a simple response out.
    pub async fn run_authorizer(authorizer: Authorizer) -> Result<(), Error> {
        let authorizer = &authorizer;
        lambda_runtime::run(service_fn(move |event: LambdaEvent<AuthorizerRequest>| async move {
            let answer = authorizer.handle(&event.payload).await;
            flush_metrics();
            Ok::<AuthorizerResponse, Error>(answer?)
        }))
        .await
    }

    /// The usage function: a CloudWatch Logs subscription batch in, what it counted out.
    pub async fn run_access_logs(counter: AccessLogCounter) -> Result<(), Error> {
        let counter = &counter;
        lambda_runtime::run(service_fn(move |event: LambdaEvent<LogsEvent>| async move {
            let counted = counter.handle(event.payload).await;
            flush_metrics();
            Ok::<Counted, Error>(counted?)
        }))
        .await
    }

    pub async fn run_queue(handler: impl QueueHandler) -> Result<(), Error> {
        let handler = &handler;
        lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
            let response = handler.handle(event.payload).await;
            flush_metrics();
            Ok::<SqsBatchResponse, Error>(response)
        }))
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::lambda::GatewayResponse;
    use lambda_http::{Body, IntoResponse};

    async fn to_gateway(response: axum::response::Response) -> lambda_http::Response<Body> {
        GatewayResponse(response).into_response().await
    }

    #[tokio::test]
    async fn answers_go_to_api_gateway_as_text_unless_encoded_or_not_utf8() {
        let json = axum::response::Response::builder()
            .status(201)
            .header("content-type", "application/problem+json")
            .body(axum::body::Body::from(r#"{"title":"é"}"#))
            .unwrap();
        let answer = to_gateway(json).await;
        assert_eq!(answer.status(), 201);
        assert_eq!(answer.headers()["content-type"], "application/problem+json");
        assert!(matches!(answer.body(), Body::Text(t) if t == r#"{"title":"é"}"#));

        let gzipped = axum::response::Response::builder()
            .header("content-encoding", "gzip")
            .body(axum::body::Body::from("not really gzip"))
            .unwrap();
        assert!(matches!(to_gateway(gzipped).await.body(), Body::Binary(b) if b == b"not really gzip"));

        let bytes = axum::response::Response::new(axum::body::Body::from(vec![0xff, 0xfe, 0x00]));
        assert!(matches!(to_gateway(bytes).await.body(), Body::Binary(b) if b == &[0xff, 0xfe, 0x00]));

        let empty = axum::response::Response::builder()
            .status(204)
            .body(axum::body::Body::empty())
            .unwrap();
        assert!(matches!(to_gateway(empty).await.body(), Body::Empty));
    }
}
