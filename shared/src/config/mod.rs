//! Configuration, read once at start from the environment into typed values and checked there, so a
//! bad setting stops the process with a message naming it instead of failing a request later.

use base64::Engine;
use ipnet::IpNet;
use std::path::PathBuf;
use std::time::Duration;

use crate::domain::limits::{Limit, Limits, RateLimit};
use crate::domain::{Email, LinkBase};
use crate::secret::Secret;
use crate::webhook::NetworkPolicy;

mod email;
mod gate;
pub mod secrets;
pub use email::EmailBackend;
pub use gate::GateConfig;
pub use secrets::{FetchedSecrets, Function};

/// A fixed development key so local runs survive restarts; never accepted in Lambda.
pub const DEV_ROOT_KEY: &str = "gh_root_local_development_only";
const DEV_SECRET_KEY: [u8; 32] = *b"gatehouse-local-dev-key-32-bytes";

#[derive(Debug, thiserror::Error)]
#[error("configuration: {name} {problem}")]
pub struct ConfigError {
    pub name: &'static str,
    pub problem: String,
}

fn bad(name: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        name,
        problem: problem.into(),
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    /// The operator's keys for `POST /orgs` (`GATEHOUSE_ROOT_KEY`, one or more separated by spaces
    /// so a new key and the old one both work while it changes). Empty in a function that takes no
    /// operator call.
    pub root_keys: Vec<Secret>,
    /// The keys sealing webhook secrets and unsubscribe tokens (`GATEHOUSE_SECRET_KEY`; see
    /// [`crate::crypto::SecretBox::from_keys`]). `None` in a function that seals nothing.
    pub secret_key: Option<Secret>,
    /// The DynamoDB table (`TABLE_NAME`).
    pub table_name: String,
    /// Queue URLs in AWS (`EMAIL_QUEUE_URL`, `WEBHOOK_QUEUE_URL`); queue names locally.
    pub email_queue: String,
    pub webhook_queue: String,
    /// Sender of every email (`FROM_EMAIL`/`DEFAULT_FROM_EMAIL`, `FROM_NAME`/`DEFAULT_FROM_NAME`).
    pub from_email: Email,
    pub from_name: Option<String>,
    /// The portal's public address, used in email links (`PORTAL_URL`); never taken from a request.
    pub portal_url: LinkBase,
    /// The API's public address, for the one-click unsubscribe URL in emails (`PUBLIC_API_URL`).
    pub public_api_url: LinkBase,
    /// Where the embedded runner writes `.eml` files (`OUTBOX_DIR`).
    pub outbox_dir: PathBuf,
    /// Folder whose templates replace the built-in ones (`EMAIL_TEMPLATES_DIR`).
    pub email_templates_dir: Option<PathBuf>,
    /// Networks webhooks may reach despite being private or loopback (`WEBHOOK_ALLOWED_NETWORKS`).
    pub webhook_allowed_networks: Vec<IpNet>,
    pub webhook_timeout: Duration,
    /// Delays before each retry of a failed webhook (`WEBHOOK_RETRY_SCHEDULE`, seconds, comma
    /// separated; the last repeats until the queue dead-letters the job).
    pub webhook_retry_schedule: Vec<Duration>,
    /// An endpoint failing without a success for this long is disabled and the organisation's admin
    /// told (`WEBHOOK_DISABLE_AFTER_SECS`, default 5 days). A 410 Gone disables it at once.
    pub webhook_disable_after: Duration,
    /// Emails an organisation sends in a day before its bounce and complaint rates raise
    /// `system_event.email_reputation` (`EMAIL_REPUTATION_MIN_SENT`, default 100).
    pub email_reputation_min_sent: u64,
    /// How long the API reuses an organisation it read, for requests that decide nothing about
    /// security (`ORG_CACHE_SECS`, default 5; 0 reads it every time).
    pub org_cache_ttl: Duration,
    /// An endpoint failing without a success for this long raises `system_event.endpoint_failing`,
    /// once a day (`WEBHOOK_FAILING_NOTICE_AFTER_SECS`, default 1 hour).
    pub webhook_failing_notice_after: Duration,
    /// How emails leave (`EMAIL_BACKEND` with Tyk's codes and its settings, or Tyk's whole
    /// `email_backend` block in `EMAIL_BACKEND_CONFIG`; see `config/email.rs`). `None`: SES in AWS
    /// and on the emulator, the outbox embedded; an embedded run also sends through the backend given.
    pub email_backend: Option<EmailBackend>,
    /// SES configuration set for event publishing (`SES_CONFIGURATION_SET`).
    pub ses_configuration_set: Option<String>,
    /// The AWS endpoint of the local emulator (`AWS_ENDPOINT_URL`); unset in AWS and embedded runs.
    pub aws_endpoint_url: Option<String>,
    /// Local queues: visibility timeout and receives before the dead-letter queue
    /// (`QUEUE_VISIBILITY_TIMEOUT_SECS`, `QUEUE_MAX_RECEIVE_COUNT`). In AWS the template sets these.
    pub queue_visibility_timeout: Duration,
    pub queue_max_receive_count: u32,
    /// The local HTTP port (`PORT`).
    pub port: u16,
    /// Local runner: batches each queue's worker handles at once (`LOCAL_QUEUE_CONCURRENCY`; by
    /// default 8 embedded and 1 against an emulator, whose single table serialises writes anyway).
    /// Lambda's counterpart is the event source's maximum concurrency.
    pub local_queue_concurrency: Option<usize>,
    /// Local runner: `false` keeps webhook jobs on the in-process queue instead of sending them
    /// (`LOCAL_WEBHOOKS=hold`), so a frontend or a fuzzer working against it reaches no one.
    pub local_webhooks: bool,
    /// Sign-up and password-reset requests answer no sooner than this (`ACCOUNT_RESPONSE_FLOOR_MS`),
    /// so their timing does not tell whether an email has an account.
    pub account_response_floor: Duration,
    /// The abuse limits (`RATE_LIMIT_<NAME>=<count>/<window>` or `off`; see `domain::limits`).
    pub limits: Limits,
    /// Key requests one developer may have waiting for a decision (`MAX_PENDING_KEY_REQUESTS`).
    pub max_pending_key_requests: usize,
    /// Keys one developer may hold of one catalog entry (`MAX_ACTIVE_KEYS_PER_CATALOG_ENTRY`).
    pub max_active_keys_per_catalog_entry: usize,
    /// How long audit entries are kept (`AUDIT_RETENTION_DAYS`, default 365).
    pub audit_retention: Duration,
    /// How long in-app notifications are kept (`NOTIFICATION_RETENTION_DAYS`, default 90).
    pub notification_retention: Duration,
    /// How long an admin user's login lasts (`ADMIN_SESSION_TTL_SECS`, default 8 hours).
    pub admin_session_ttl: Duration,
    /// How often the local runner sends the digests that are due (`DIGEST_INTERVAL_SECS`, default
    /// an hour; `0` never). In AWS an EventBridge schedule runs the digest function instead.
    pub digest_interval: Option<Duration>,
}

impl Config {
    /// Settings for local runs and tests: development keys, local names.
    pub fn local_defaults() -> Self {
        Self {
            root_keys: vec![Secret::new(DEV_ROOT_KEY)],
            secret_key: Some(Secret::new(
                base64::engine::general_purpose::STANDARD.encode(DEV_SECRET_KEY),
            )),
            table_name: "gatehouse".into(),
            email_queue: "gatehouse-email".into(),
            webhook_queue: "gatehouse-webhook".into(),
            from_email: Email::parse("portal@gatehouse.local").expect("valid default sender"),
            from_name: Some("Gatehouse".into()),
            portal_url: LinkBase::parse("http://127.0.0.1:3000").expect("a valid address"),
            public_api_url: LinkBase::parse("http://127.0.0.1:3000").expect("a valid address"),
            outbox_dir: PathBuf::from("outbox"),
            email_templates_dir: None,
            webhook_allowed_networks: Vec::new(),
            webhook_timeout: Duration::from_secs(15),
            webhook_retry_schedule: [5, 300, 1800, 7200, 18_000, 36_000, 36_000]
                .map(Duration::from_secs)
                .to_vec(),
            webhook_disable_after: Duration::from_secs(5 * 86_400),
            webhook_failing_notice_after: Duration::from_secs(3_600),
            org_cache_ttl: Duration::from_secs(5),
            email_reputation_min_sent: 100,
            ses_configuration_set: None,
            email_backend: None,
            aws_endpoint_url: None,
            queue_visibility_timeout: Duration::from_secs(60),
            queue_max_receive_count: 5,
            port: 3000,
            local_queue_concurrency: None,
            local_webhooks: true,
            account_response_floor: Duration::from_millis(250),
            limits: Limits::default(),
            max_pending_key_requests: 20,
            max_active_keys_per_catalog_entry: 5,
            audit_retention: Duration::from_secs(365 * 86_400),
            admin_session_ttl: Duration::from_secs(8 * 3_600),
            digest_interval: Some(Duration::from_secs(3_600)),
            notification_retention: Duration::from_secs(90 * 86_400),
        }
    }

    /// Reads the process environment for the local runner: the development keys stand in for
    /// missing ones.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::load(Function::Local, &get, &FetchedSecrets::default())
    }

    /// The configuration `function` reads: its environment `env` and the secrets fetched for it
    /// (see [`Function::secret_arns`]). In Lambda (`AWS_LAMBDA_FUNCTION_NAME` set) the secrets the
    /// function needs must have been fetched; locally the development keys stand in.
    pub fn load(
        function: Function,
        env: &dyn Fn(&str) -> Option<String>,
        fetched: &FetchedSecrets,
    ) -> Result<Self, ConfigError> {
        let in_lambda = env("AWS_LAMBDA_FUNCTION_NAME").is_some();
        let lookup = secrets::merged(env, fetched, in_lambda)?;
        let get = &lookup as &dyn Fn(&str) -> Option<String>;
        let mut c = Self::local_defaults();
        let needs = |setting| function.secrets().contains(&setting);
        let missing = |setting: &'static str| {
            bad(
                secrets::arn_variable(setting),
                format!("must name the secret holding {setting} in Lambda"),
            )
        };
        match get(secrets::ROOT_KEY) {
            Some(v) => c.root_keys = v.split_whitespace().map(Secret::new).collect(),
            None if in_lambda && needs(secrets::ROOT_KEY) => return Err(missing(secrets::ROOT_KEY)),
            None if in_lambda => c.root_keys.clear(),
            None => {}
        }
        if c.root_keys.iter().any(|k| k.expose().len() < 24) {
            return Err(bad(secrets::ROOT_KEY, "must be at least 24 characters"));
        }
        match get(secrets::SEALING_KEY) {
            Some(v) => c.secret_key = Some(Secret::new(v)),
            None if in_lambda && needs(secrets::SEALING_KEY) => return Err(missing(secrets::SEALING_KEY)),
            None if in_lambda => c.secret_key = None,
            None => {}
        }
        if let Some(key) = &c.secret_key {
            crate::crypto::SecretBox::from_keys(key).map_err(|e| bad(secrets::SEALING_KEY, e.to_string()))?;
        }
        if let Some(v) = get("TABLE_NAME") {
            c.table_name = v;
        }
        if let Some(v) = get("EMAIL_QUEUE_URL").or_else(|| get("EMAIL_QUEUE")) {
            c.email_queue = v;
        }
        if let Some(v) = get("WEBHOOK_QUEUE_URL").or_else(|| get("WEBHOOK_QUEUE")) {
            c.webhook_queue = v;
        }
        if function.sends_email() {
            let email = email::read(get)?;
            if let Some(from) = email.from_email {
                c.from_email = from;
            }
            if let Some(name) = email.from_name {
                c.from_name = Some(name);
            }
            c.email_backend = email.backend;
        }
        if let Some(v) = get("OUTBOX_DIR") {
            c.outbox_dir = PathBuf::from(v);
        }
        c.email_templates_dir = get("EMAIL_TEMPLATES_DIR").map(PathBuf::from);
        if let Some(v) = get("WEBHOOK_ALLOWED_NETWORKS") {
            c.webhook_allowed_networks =
                NetworkPolicy::parse_allowed(&v).map_err(|e| bad("WEBHOOK_ALLOWED_NETWORKS", e))?;
        }
        if let Some(v) = get("WEBHOOK_TIMEOUT_SECS") {
            c.webhook_timeout = Duration::from_secs(parse_number("WEBHOOK_TIMEOUT_SECS", &v, 1, 60)?);
        }
        if let Some(v) = get("WEBHOOK_RETRY_SCHEDULE") {
            c.webhook_retry_schedule = v
                .split(',')
                .map(|n| parse_number("WEBHOOK_RETRY_SCHEDULE", n, 0, 43_200).map(Duration::from_secs))
                .collect::<Result<_, _>>()?;
        }
        if let Some(v) = get("WEBHOOK_DISABLE_AFTER_SECS") {
            c.webhook_disable_after =
                Duration::from_secs(parse_number("WEBHOOK_DISABLE_AFTER_SECS", &v, 0, 30 * 86_400)?);
        }
        if let Some(v) = get("EMAIL_REPUTATION_MIN_SENT") {
            c.email_reputation_min_sent = parse_number("EMAIL_REPUTATION_MIN_SENT", &v, 1, 1_000_000)?;
        }
        if let Some(v) = get("ORG_CACHE_SECS") {
            c.org_cache_ttl = Duration::from_secs(parse_number("ORG_CACHE_SECS", &v, 0, 60)?);
        }
        if let Some(v) = get("WEBHOOK_FAILING_NOTICE_AFTER_SECS") {
            c.webhook_failing_notice_after =
                Duration::from_secs(parse_number("WEBHOOK_FAILING_NOTICE_AFTER_SECS", &v, 0, 30 * 86_400)?);
        }
        c.ses_configuration_set = get("SES_CONFIGURATION_SET");
        c.aws_endpoint_url = get("AWS_ENDPOINT_URL");
        if let Some(v) = get("QUEUE_VISIBILITY_TIMEOUT_SECS") {
            c.queue_visibility_timeout =
                Duration::from_secs(parse_number("QUEUE_VISIBILITY_TIMEOUT_SECS", &v, 0, 43_200)?);
        }
        if let Some(v) = get("QUEUE_MAX_RECEIVE_COUNT") {
            c.queue_max_receive_count = parse_number("QUEUE_MAX_RECEIVE_COUNT", &v, 1, 1000)? as u32;
        }
        if let Some(v) = get("ACCOUNT_RESPONSE_FLOOR_MS") {
            c.account_response_floor = Duration::from_millis(parse_number("ACCOUNT_RESPONSE_FLOOR_MS", &v, 0, 5_000)?);
        }
        for limit in Limit::ALL {
            if let Some(v) = get(limit.env()) {
                let parsed = RateLimit::parse(&v).map_err(|problem| bad(limit.env(), problem))?;
                if parsed.is_some_and(|r| r.max > limit.max_count()) {
                    return Err(bad(
                        limit.env(),
                        format!("allows at most {} per window", limit.max_count()),
                    ));
                }
                c.limits.set(limit, parsed);
            }
        }
        if let Some(v) = get("MAX_ACTIVE_KEYS_PER_CATALOG_ENTRY") {
            c.max_active_keys_per_catalog_entry =
                parse_number("MAX_ACTIVE_KEYS_PER_CATALOG_ENTRY", &v, 1, 1_000)? as usize;
        }
        if let Some(v) = get("MAX_PENDING_KEY_REQUESTS") {
            c.max_pending_key_requests = parse_number("MAX_PENDING_KEY_REQUESTS", &v, 1, 1_000)? as usize;
        }
        if let Some(v) = get("AUDIT_RETENTION_DAYS") {
            c.audit_retention = Duration::from_secs(parse_number("AUDIT_RETENTION_DAYS", &v, 1, 3_650)? * 86_400);
        }
        if let Some(v) = get("NOTIFICATION_RETENTION_DAYS") {
            c.notification_retention =
                Duration::from_secs(parse_number("NOTIFICATION_RETENTION_DAYS", &v, 1, 3_650)? * 86_400);
        }
        if let Some(v) = get("ADMIN_SESSION_TTL_SECS") {
            c.admin_session_ttl = Duration::from_secs(parse_number("ADMIN_SESSION_TTL_SECS", &v, 300, 7 * 86_400)?);
        }
        if let Some(v) = get("DIGEST_INTERVAL_SECS") {
            let secs = parse_number("DIGEST_INTERVAL_SECS", &v, 0, 7 * 86_400)?;
            c.digest_interval = (secs > 0).then(|| Duration::from_secs(secs));
        }
        if let Some(v) = get("LOCAL_QUEUE_CONCURRENCY") {
            c.local_queue_concurrency = Some(parse_number("LOCAL_QUEUE_CONCURRENCY", &v, 1, 256)? as usize);
        }
        let port_given = match get("PORT") {
            Some(v) => {
                c.port = parse_number("PORT", &v, 0, 65_535)? as u16;
                c.port != 0
            }
            None => false,
        };
        // The deployment's own addresses are link bases like an organisation's portal_url. The
        // local runner serves the API and the portal: on another port, its links follow it.
        for (name, slot) in [
            ("PORTAL_URL", &mut c.portal_url),
            ("PUBLIC_API_URL", &mut c.public_api_url),
        ] {
            match get(name) {
                Some(v) => *slot = LinkBase::parse_field(name, &v).map_err(|e| bad(name, e.message))?,
                None if port_given => {
                    *slot = LinkBase::parse(&format!("http://127.0.0.1:{}", c.port)).expect("a loopback address")
                }
                None => {}
            }
        }
        if let Some(v) = get("LOCAL_WEBHOOKS") {
            c.local_webhooks = match v.as_str() {
                "send" => true,
                "hold" => false,
                _ => return Err(bad("LOCAL_WEBHOOKS", "must be send or hold")),
            };
        }
        Ok(c)
    }

    /// True when the development keys are in use, so the local runner can say so loudly.
    pub fn uses_development_keys(&self) -> bool {
        self.root_keys.iter().any(|k| k.expose() == DEV_ROOT_KEY)
    }
}

fn parse_number(name: &'static str, v: &str, min: u64, max: u64) -> Result<u64, ConfigError> {
    v.trim()
        .parse::<u64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| bad(name, format!("must be a whole number from {min} to {max}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn local_runs_get_development_defaults() {
        let c = from(&[]).unwrap();
        assert!(c.uses_development_keys());
        assert_eq!(c.port, 3000);
    }

    #[test]
    fn the_runners_links_follow_its_port_unless_set() {
        let c = from(&[("PORT", "4100")]).unwrap();
        assert_eq!(c.portal_url.as_str(), "http://127.0.0.1:4100");
        assert_eq!(c.public_api_url.as_str(), "http://127.0.0.1:4100");
        let c = from(&[("PORT", "4100"), ("PORTAL_URL", "https://portal.example.com")]).unwrap();
        assert_eq!(c.portal_url.as_str(), "https://portal.example.com");
        assert_eq!(c.public_api_url.as_str(), "http://127.0.0.1:4100");
        assert_eq!(from(&[]).unwrap().portal_url.as_str(), "http://127.0.0.1:3000");
    }

    #[test]
    fn smtp_settings_are_read_and_the_password_never_printed() {
        let c = from(&[
            ("SMTP_SERVER", "mail.example.com"),
            ("SMTP_PORT", "465"),
            ("SMTP_USER", "u"),
            ("SMTP_PASS", "hunter2"),
            ("EMAIL_BACKEND", "smtp"),
        ])
        .unwrap();
        let Some(EmailBackend::Smtp(smtp)) = c.email_backend.clone() else {
            panic!("smtp expected")
        };
        assert_eq!((smtp.port, smtp.tls), (465, crate::mail::SmtpTls::Implicit));
        assert!(!format!("{c:?}").contains("hunter2"));
        assert_eq!(
            from(&[("SMTP_SERVER", "m"), ("SMTP_TLS", "maybe")]).unwrap_err().name,
            "SMTP_TLS"
        );
    }

    #[test]
    fn email_backends_take_tyk_codes_and_settings() {
        let tyk = r#"{"enable_email_notifications": true, "code": "mailgun",
            "settings": {"Domain": "mg.example.com", "PrivateKey": "key-secret", "Region": "EU"},
            "default_from_email": "portal@example.com", "default_from_name": "Acme Portal"}"#;
        let c = from(&[("EMAIL_BACKEND_CONFIG", tyk)]).unwrap();
        let Some(EmailBackend::Mailgun(mailgun)) = c.email_backend.clone() else {
            panic!("mailgun expected")
        };
        assert_eq!(
            (mailgun.domain.as_str(), mailgun.api_url.as_str()),
            ("mg.example.com", "https://api.eu.mailgun.net")
        );
        assert_eq!(
            (c.from_email.as_str(), c.from_name.as_deref()),
            ("portal@example.com", Some("Acme Portal"))
        );
        assert!(!format!("{c:?}").contains("key-secret"), "keys never printed");

        let c = from(&[("EMAIL_BACKEND", "sendgrid"), ("SENDGRID_API_KEY", "SG.x")]).unwrap();
        assert!(matches!(c.email_backend, Some(EmailBackend::SendGrid(s)) if s.api_url == "https://api.sendgrid.com"));
        let c = from(&[(
            "EMAIL_BACKEND_CONFIG",
            r#"{"code": "mandrill", "settings": {"ClientKey": "k"}}"#,
        )])
        .unwrap();
        assert!(matches!(c.email_backend, Some(EmailBackend::Mandrill(_))));
        // Tyk's SMTPAddress is host:port.
        let c = from(&[(
            "EMAIL_BACKEND_CONFIG",
            r#"{"code": "smtp", "settings": {"SMTPAddress": "mail.example.com:2525"}}"#,
        )])
        .unwrap();
        assert!(
            matches!(c.email_backend, Some(EmailBackend::Smtp(s)) if s.server == "mail.example.com" && s.port == 2525)
        );
        // Switched off, whatever the backend.
        let c = from(&[("EMAIL_BACKEND", "sendgrid"), ("ENABLE_EMAIL_NOTIFICATIONS", "false")]).unwrap();
        assert!(matches!(c.email_backend, Some(EmailBackend::Disabled)));
        assert!(from(&[]).unwrap().email_backend.is_none(), "the way of running decides");
        // A missing setting is named.
        for (vars, name) in [
            (&[("EMAIL_BACKEND", "sendgrid")][..], "SENDGRID_API_KEY"),
            (
                &[("EMAIL_BACKEND", "mailgun"), ("MAILGUN_API_KEY", "k")][..],
                "MAILGUN_DOMAIN",
            ),
            (
                &[
                    ("EMAIL_BACKEND", "mailgun"),
                    ("MAILGUN_DOMAIN", "d"),
                    ("MAILGUN_API_KEY", "k"),
                    ("MAILGUN_REGION", "mars"),
                ][..],
                "MAILGUN_REGION",
            ),
            (&[("EMAIL_BACKEND", "mandrill")][..], "MANDRILL_API_KEY"),
            (&[("EMAIL_BACKEND", "smtp")][..], "SMTP_SERVER"),
            (
                &[
                    ("EMAIL_BACKEND", "sendgrid"),
                    ("SENDGRID_API_KEY", "k"),
                    ("SENDGRID_API_URL", "nope"),
                ][..],
                "SENDGRID_API_URL",
            ),
        ] {
            assert_eq!(from(vars).unwrap_err().name, name);
        }
    }

    #[test]
    fn limits_default_and_each_is_set_by_its_variable() {
        let c = from(&[
            ("RATE_LIMIT_SIGNUPS_PER_SOURCE", "100/1h"),
            ("RATE_LIMIT_PUBLIC_READS_PER_SOURCE", "off"),
        ])
        .unwrap();
        assert_eq!(c.limits.get(Limit::SignUpsPerSource), Some(RateLimit::new(100, 3_600)));
        assert_eq!(c.limits.get(Limit::PublicReadsPerSource), None);
        assert_eq!(
            c.limits.get(Limit::ResetEmailsPerRecipient),
            Some(RateLimit::new(3, 3_600)),
            "unset limits keep their defaults"
        );
    }

    fn in_lambda(
        function: Function,
        vars: &[(&str, &str)],
        fetched: &[(&'static str, &str)],
    ) -> Result<Config, ConfigError> {
        let mut map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        map.insert("AWS_LAMBDA_FUNCTION_NAME".into(), "gatehouse".into());
        let mut secrets = FetchedSecrets::default();
        for (setting, value) in fetched {
            secrets.add(setting, value).unwrap();
        }
        Config::load(function, &|k| map.get(k).cloned(), &secrets)
    }

    const ROOT: (&str, &str) = ("GATEHOUSE_ROOT_KEY", "gh_root_0123456789abcdefghijklmnop");
    const SEALING: (&str, &str) = ("GATEHOUSE_SECRET_KEY", "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ");

    #[test]
    fn lambda_requires_the_secrets_each_function_needs() {
        let err = in_lambda(Function::Api, &[], &[]).unwrap_err();
        assert_eq!(err.name, "GATEHOUSE_ROOT_KEY_SECRET_ARN");
        let err = in_lambda(Function::WebhookWorker, &[], &[]).unwrap_err();
        assert_eq!(err.name, "GATEHOUSE_SECRET_KEY_SECRET_ARN");
        let api = in_lambda(Function::Api, &[], &[ROOT, SEALING]).unwrap();
        assert_eq!(api.root_keys.len(), 1);
        assert!(!api.uses_development_keys());
        // The router and the digest hold no secret at all.
        for function in [Function::EventRouter, Function::Digest] {
            let c = in_lambda(function, &[], &[]).unwrap();
            assert!(c.root_keys.is_empty() && c.secret_key.is_none(), "{function:?}");
        }
        let worker = in_lambda(Function::WebhookWorker, &[], &[SEALING]).unwrap();
        assert!(worker.root_keys.is_empty(), "no operator key where no operator calls");
    }

    #[test]
    fn only_the_email_worker_reads_the_email_backend() {
        let sendgrid = [("EMAIL_BACKEND", "sendgrid")];
        for function in [Function::Api, Function::EventRouter, Function::Digest] {
            let c = in_lambda(function, &sendgrid, &[ROOT, SEALING]).unwrap();
            assert!(c.email_backend.is_none(), "{function:?}");
        }
        let err = in_lambda(Function::EmailWorker, &sendgrid, &[SEALING]).unwrap_err();
        assert_eq!(err.name, "SENDGRID_API_KEY");
        let c = in_lambda(
            Function::EmailWorker,
            &sendgrid,
            &[
                SEALING,
                (secrets::EMAIL_PROVIDER_SECRET_ARN, r#"{"SENDGRID_API_KEY": "SG.key"}"#),
            ],
        )
        .unwrap();
        assert!(matches!(c.email_backend, Some(EmailBackend::SendGrid(s)) if s.api_key.expose() == "SG.key"));
        let err = in_lambda(Function::EmailWorker, &[("SENDGRID_API_KEY", "SG.key")], &[SEALING]).unwrap_err();
        assert_eq!(err.name, "SENDGRID_API_KEY", "{err}");
    }

    #[test]
    fn bad_settings_name_themselves() {
        for (name, value) in [
            ("WEBHOOK_ALLOWED_NETWORKS", "localhost"),
            ("FROM_EMAIL", "nope"),
            ("PORT", "70000"),
            ("PORTAL_URL", "ftp://x"),
            ("PORTAL_URL", "https://portal.example.com/\r\nx"),
            ("PUBLIC_API_URL", "api.example.com"),
            ("GATEHOUSE_SECRET_KEY", "c2hvcnQ="),
            (
                "GATEHOUSE_SECRET_KEY",
                "a-new-key-of-forty-characters-or-more-xyz c2hvcnQ=",
            ),
            ("GATEHOUSE_ROOT_KEY", "short"),
            ("QUEUE_MAX_RECEIVE_COUNT", "0"),
            ("WEBHOOK_RETRY_SCHEDULE", "5,soon"),
            ("WEBHOOK_FAILING_NOTICE_AFTER_SECS", "an hour"),
            ("ORG_CACHE_SECS", "61"),
            ("EMAIL_REPUTATION_MIN_SENT", "0"),
            ("EMAIL_BACKEND", "postcard"),
            ("LOCAL_WEBHOOKS", "later"),
            ("EMAIL_BACKEND_CONFIG", "{\"code\": \"sendgrid\", \"setings\": {}}"),
            ("ENABLE_EMAIL_NOTIFICATIONS", "yes"),
            ("RATE_LIMIT_SIGNUPS_PER_SOURCE", "10 per hour"),
            ("RATE_LIMIT_RESET_EMAILS_PER_RECIPIENT", "0/1h"),
            ("RATE_LIMIT_WELCOME_EMAILS_PER_RECIPIENT", "1000/1d"),
            ("MAX_PENDING_KEY_REQUESTS", "0"),
            ("AUDIT_RETENTION_DAYS", "0"),
            ("ADMIN_SESSION_TTL_SECS", "60"),
            ("NOTIFICATION_RETENTION_DAYS", "0"),
            ("DIGEST_INTERVAL_SECS", "hourly"),
        ] {
            let err = from(&[(name, value)]).unwrap_err();
            assert_eq!(err.name, name);
            assert!(err.to_string().contains(name));
            if name.starts_with("GATEHOUSE_") {
                assert!(!err.to_string().contains(value), "a secret is not echoed: {err}");
            }
        }
    }
}
