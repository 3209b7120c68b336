//! Which settings are secrets, which function needs which, and how a value fetched from AWS Secrets
//! Manager becomes settings. In Lambda a secret setting comes only from Secrets Manager (the secret's
//! ARN in the environment, read once at start), never from an environment variable or a template
//! parameter, which anyone allowed `lambda:GetFunctionConfiguration` or
//! `cloudformation:DescribeStacks` can read. Locally the environment may carry them.

use std::collections::HashMap;

use super::{bad, ConfigError};

/// The operator's key for `POST /orgs`.
pub const ROOT_KEY: &str = "GATEHOUSE_ROOT_KEY";
/// The key sealing webhook signing secrets and unsubscribe tokens.
pub const SEALING_KEY: &str = "GATEHOUSE_SECRET_KEY";
/// The ARN of a secret holding an email provider's settings as a JSON object of setting names
/// (`{"SENDGRID_API_KEY": "SG.…"}`, `{"SMTP_SERVER": "…", "SMTP_USER": "…", "SMTP_PASS": "…"}`).
pub const EMAIL_PROVIDER_SECRET_ARN: &str = "EMAIL_PROVIDER_SECRET_ARN";

/// Every setting whose value is a secret. A Tyk `email_backend` block usually carries the
/// provider's key, so it counts as one.
pub const SECRET_SETTINGS: [&str; 7] = [
    ROOT_KEY,
    SEALING_KEY,
    "SENDGRID_API_KEY",
    "MAILGUN_API_KEY",
    "MANDRILL_API_KEY",
    "SMTP_PASS",
    "EMAIL_BACKEND_CONFIG",
];

/// The settings an email provider's secret may hold: its keys and the rest of its settings, so a
/// team keeps one provider's configuration in one place.
const PROVIDER_SETTINGS: [&str; 16] = [
    "EMAIL_BACKEND_CONFIG",
    "SENDGRID_API_KEY",
    "SENDGRID_API_URL",
    "MAILGUN_API_KEY",
    "MAILGUN_DOMAIN",
    "MAILGUN_REGION",
    "MAILGUN_API_URL",
    "MANDRILL_API_KEY",
    "MANDRILL_API_URL",
    "SMTP_SERVER",
    "SMTP_PORT",
    "SMTP_USER",
    "SMTP_PASS",
    "SMTP_TLS",
    "DEFAULT_FROM_EMAIL",
    "DEFAULT_FROM_NAME",
];

pub fn is_secret(setting: &str) -> bool {
    SECRET_SETTINGS.contains(&setting)
}

/// The environment variable naming the secret that holds `setting` (`GATEHOUSE_ROOT_KEY_SECRET_ARN`).
pub fn arn_variable(setting: &'static str) -> &'static str {
    match setting {
        ROOT_KEY => "GATEHOUSE_ROOT_KEY_SECRET_ARN",
        SEALING_KEY => "GATEHOUSE_SECRET_KEY_SECRET_ARN",
        _ => EMAIL_PROVIDER_SECRET_ARN,
    }
}

/// Each deployed function, for what configuration it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Api,
    EventRouter,
    EmailWorker,
    WebhookWorker,
    Digest,
    /// The local runner: every part in one process.
    Local,
}

impl Function {
    pub const DEPLOYED: [Function; 5] = [
        Function::Api,
        Function::EventRouter,
        Function::EmailWorker,
        Function::WebhookWorker,
        Function::Digest,
    ];

    /// The secrets this function cannot start without (in Lambda).
    pub fn secrets(self) -> &'static [&'static str] {
        match self {
            Function::Api | Function::Local => &[ROOT_KEY, SEALING_KEY],
            // Unsubscribe tokens in emails; signing secrets of endpoints.
            Function::EmailWorker | Function::WebhookWorker => &[SEALING_KEY],
            Function::EventRouter | Function::Digest => &[],
        }
    }

    /// Whether it sends email, and so reads the email backend and its provider's settings.
    pub fn sends_email(self) -> bool {
        matches!(self, Function::EmailWorker | Function::Local)
    }

    /// The secrets to fetch at start, as (setting, the variable holding its ARN, the ARN): those
    /// this function needs, plus the email provider's when it sends email and one is named.
    pub fn secret_arns(self, env: &dyn Fn(&str) -> Option<String>) -> Vec<(&'static str, String)> {
        let mut arns: Vec<(&'static str, String)> = self
            .secrets()
            .iter()
            .filter_map(|&setting| env(arn_variable(setting)).map(|arn| (setting, arn)))
            .collect();
        if self.sends_email() {
            if let Some(arn) = env(EMAIL_PROVIDER_SECRET_ARN) {
                arns.push((EMAIL_PROVIDER_SECRET_ARN, arn));
            }
        }
        arns
    }
}

/// Settings fetched from Secrets Manager, by setting name.
#[derive(Debug, Default, Clone)]
pub struct FetchedSecrets(HashMap<String, String>);

impl FetchedSecrets {
    /// Takes the value of the secret fetched for `setting` (as [`Function::secret_arns`] named it).
    pub fn add(&mut self, setting: &'static str, secret_string: &str) -> Result<(), ConfigError> {
        if setting != EMAIL_PROVIDER_SECRET_ARN {
            self.0.insert(setting.to_string(), secret_string.trim().to_string());
            return Ok(());
        }
        let settings: HashMap<String, String> = serde_json::from_str(secret_string).map_err(|_| {
            bad(
                EMAIL_PROVIDER_SECRET_ARN,
                "names a secret that is not a JSON object of setting names to strings",
            )
        })?;
        for (name, value) in settings {
            if !PROVIDER_SETTINGS.contains(&name.as_str()) {
                return Err(bad(
                    EMAIL_PROVIDER_SECRET_ARN,
                    format!("names a secret with `{name}`, which is not an email provider setting"),
                ));
            }
            self.0.insert(name, value);
        }
        Ok(())
    }

    pub fn get(&self, setting: &str) -> Option<String> {
        self.0.get(setting).filter(|v| !v.is_empty()).cloned()
    }
}

/// One lookup over the environment and the fetched secrets. A secret setting comes from its
/// fetched secret; in Lambda the environment may not carry it. Any other setting comes from the
/// environment first, then from a provider's secret.
pub fn merged<'a>(
    env: &'a dyn Fn(&str) -> Option<String>,
    fetched: &'a FetchedSecrets,
    in_lambda: bool,
) -> Result<impl Fn(&str) -> Option<String> + 'a, ConfigError> {
    if in_lambda {
        if let Some(&setting) = SECRET_SETTINGS.iter().find(|s| env(s).is_some()) {
            return Err(bad(
                setting,
                format!(
                    "is a secret and must not be an environment variable in Lambda: keep it in Secrets Manager and set {}",
                    arn_variable(setting)
                ),
            ));
        }
    }
    Ok(move |name: &str| {
        if is_secret(name) {
            fetched.get(name).or_else(|| env(name))
        } else {
            env(name).or_else(|| fetched.get(name))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_secrets_hold_only_provider_settings() {
        let mut fetched = FetchedSecrets::default();
        fetched
            .add(
                EMAIL_PROVIDER_SECRET_ARN,
                r#"{"SMTP_SERVER": "mail.example.com", "SMTP_PASS": "p"}"#,
            )
            .unwrap();
        assert_eq!(fetched.get("SMTP_PASS").as_deref(), Some("p"));
        let err = fetched
            .add(EMAIL_PROVIDER_SECRET_ARN, r#"{"GATEHOUSE_ROOT_KEY": "x"}"#)
            .unwrap_err();
        assert_eq!(err.name, EMAIL_PROVIDER_SECRET_ARN);
        assert!(!err.to_string().contains("\"x\""));
        assert!(fetched.add(EMAIL_PROVIDER_SECRET_ARN, "SG.key").is_err());
    }

    #[test]
    fn in_lambda_a_secret_in_the_environment_is_refused() {
        let env = |name: &str| (name == "SENDGRID_API_KEY").then(|| "SG.key".to_string());
        let fetched = FetchedSecrets::default();
        let err = merged(&env, &fetched, true).err().unwrap();
        assert_eq!(err.name, "SENDGRID_API_KEY");
        assert!(err.to_string().contains(EMAIL_PROVIDER_SECRET_ARN));
        assert!(!err.to_string().contains("SG.key"));
        let local = merged(&env, &fetched, false).unwrap();
        assert_eq!(local("SENDGRID_API_KEY").as_deref(), Some("SG.key"));
    }

    #[test]
    fn fetched_secrets_win_for_secrets_and_the_environment_for_the_rest() {
        let env = |name: &str| match name {
            "SMTP_SERVER" => Some("env.example.com".to_string()),
            _ => None,
        };
        let mut fetched = FetchedSecrets::default();
        fetched
            .add(
                EMAIL_PROVIDER_SECRET_ARN,
                r#"{"SMTP_SERVER": "secret.example.com", "SMTP_PASS": "p", "SMTP_USER": "u"}"#,
            )
            .unwrap();
        let get = merged(&env, &fetched, true).unwrap();
        assert_eq!(get("SMTP_SERVER").as_deref(), Some("env.example.com"));
        assert_eq!(get("SMTP_USER").as_deref(), Some("u"));
        assert_eq!(get("SMTP_PASS").as_deref(), Some("p"));
    }
}
