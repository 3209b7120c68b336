//! Which email backend sends, and with what: Tyk's `email_backend` codes and settings (a Tyk
//! `email_backend` block can be pasted whole into `EMAIL_BACKEND_CONFIG`), AI Studio's SMTP names,
//! and one environment variable per setting, which wins over the block.

use serde::Deserialize;
use std::collections::HashMap;

use super::{bad, ConfigError};
use crate::domain::Email;
use crate::mail::{
    MailgunRegion, MailgunSettings, MandrillSettings, SendGridSettings, SmtpSettings, SmtpTls, MANDRILL_API,
    SENDGRID_API,
};
use crate::secret::Secret;

/// How emails leave.
#[derive(Debug, Clone)]
pub enum EmailBackend {
    /// `amazonses`: SES v2 with the function's role (the default in AWS).
    AmazonSes,
    Smtp(SmtpSettings),
    SendGrid(SendGridSettings),
    Mailgun(MailgunSettings),
    Mandrill(MandrillSettings),
    /// `outbox`: `.eml` files in `OUTBOX_DIR` (local runs).
    Outbox,
    /// `none`, or `enable_email_notifications` off: no email is sent; each is recorded as skipped
    /// and counted.
    Disabled,
}

impl EmailBackend {
    /// Tyk's code for the backend.
    pub fn code(&self) -> &'static str {
        match self {
            EmailBackend::AmazonSes => "amazonses",
            EmailBackend::Smtp(_) => "smtp",
            EmailBackend::SendGrid(_) => "sendgrid",
            EmailBackend::Mailgun(_) => "mailgun",
            EmailBackend::Mandrill(_) => "mandrill",
            EmailBackend::Outbox => "outbox",
            EmailBackend::Disabled => "none",
        }
    }
}

/// Tyk's `email_backend` block.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TykEmailBackend {
    #[serde(default)]
    enable_email_notifications: Option<bool>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    settings: HashMap<String, String>,
    #[serde(default)]
    default_from_email: Option<String>,
    #[serde(default)]
    default_from_name: Option<String>,
}

/// The sender and the backend, as read from the environment.
pub struct EmailSettings {
    /// `None`: the way of running decides (SES in AWS and on the emulator, the outbox embedded).
    pub backend: Option<EmailBackend>,
    pub from_email: Option<Email>,
    pub from_name: Option<String>,
}

pub fn read(get: &dyn Fn(&str) -> Option<String>) -> Result<EmailSettings, ConfigError> {
    let tyk: TykEmailBackend = match get("EMAIL_BACKEND_CONFIG") {
        Some(json) => serde_json::from_str(&json)
            .map_err(|e| bad("EMAIL_BACKEND_CONFIG", format!("is not a Tyk email_backend block: {e}")))?,
        None => TykEmailBackend::default(),
    };
    // An environment variable, else the Tyk block's setting.
    let setting =
        |env: &str, tyk_key: &str| get(env).or_else(|| tyk.settings.get(tyk_key).filter(|v| !v.is_empty()).cloned());

    let from_email = match get("DEFAULT_FROM_EMAIL")
        .or_else(|| get("FROM_EMAIL"))
        .or(tyk.default_from_email.clone())
    {
        Some(v) => Some(Email::parse(&v).map_err(|e| bad("FROM_EMAIL", e.message))?),
        None => None,
    };
    let from_name = get("DEFAULT_FROM_NAME")
        .or_else(|| get("FROM_NAME"))
        .or(tyk.default_from_name.clone());
    if from_name.as_deref().is_some_and(|n| n.contains(['\r', '\n'])) {
        return Err(bad("FROM_NAME", "must be one line"));
    }

    let enabled = match get("ENABLE_EMAIL_NOTIFICATIONS") {
        Some(v) => match v.as_str() {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => return Err(bad("ENABLE_EMAIL_NOTIFICATIONS", "must be true or false")),
        },
        None => tyk.enable_email_notifications.unwrap_or(true),
    };
    let smtp_server = setting("SMTP_SERVER", "SMTPAddress");
    // AI Studio's convention: an SMTP server given means SMTP.
    let code = get("EMAIL_BACKEND")
        .or(tyk.code.clone())
        .or_else(|| smtp_server.as_ref().map(|_| "smtp".to_string()));
    let required = |env: &'static str, tyk_key: &str, code: &str| {
        setting(env, tyk_key).ok_or_else(|| bad(env, format!("must be set for the {code} email backend")))
    };
    let backend = match code.as_deref() {
        _ if !enabled => Some(EmailBackend::Disabled),
        None => None,
        Some("none") => Some(EmailBackend::Disabled),
        Some("amazonses") => Some(EmailBackend::AmazonSes),
        Some("outbox") => Some(EmailBackend::Outbox),
        Some("smtp") => Some(EmailBackend::Smtp(smtp(&setting, smtp_server, get)?)),
        Some("sendgrid") => Some(EmailBackend::SendGrid(SendGridSettings {
            api_key: Secret::new(required("SENDGRID_API_KEY", "ClientKey", "sendgrid")?),
            api_url: api_url(get, "SENDGRID_API_URL", SENDGRID_API)?,
        })),
        Some("mailgun") => {
            let region = match setting("MAILGUN_REGION", "Region")
                .map(|r| r.to_ascii_lowercase())
                .as_deref()
            {
                None | Some("us") => MailgunRegion::Us,
                Some("eu") => MailgunRegion::Eu,
                Some(_) => return Err(bad("MAILGUN_REGION", "must be us or eu")),
            };
            let domain = required("MAILGUN_DOMAIN", "Domain", "mailgun")?;
            if domain.contains(['/', '?', '#', ' ']) {
                return Err(bad("MAILGUN_DOMAIN", "must be a domain name"));
            }
            Some(EmailBackend::Mailgun(MailgunSettings {
                domain,
                api_key: Secret::new(required("MAILGUN_API_KEY", "PrivateKey", "mailgun")?),
                api_url: api_url(get, "MAILGUN_API_URL", region.api_url())?,
            }))
        }
        Some("mandrill") => Some(EmailBackend::Mandrill(MandrillSettings {
            api_key: Secret::new(required("MANDRILL_API_KEY", "ClientKey", "mandrill")?),
            api_url: api_url(get, "MANDRILL_API_URL", MANDRILL_API)?,
        })),
        Some(_) => {
            return Err(bad(
                "EMAIL_BACKEND",
                "must be amazonses, smtp, sendgrid, mailgun, mandrill, outbox or none",
            ));
        }
    };
    Ok(EmailSettings {
        backend,
        from_email,
        from_name,
    })
}

/// The SMTP settings: AI Studio's `SMTP_SERVER` + `SMTP_PORT`, or Tyk's `SMTPAddress` as `host:port`.
fn smtp(
    setting: &dyn Fn(&str, &str) -> Option<String>,
    server: Option<String>,
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<SmtpSettings, ConfigError> {
    let server = server.ok_or_else(|| bad("SMTP_SERVER", "must be set for the smtp email backend"))?;
    let (host, port_in_address) = match server.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) && !port.is_empty() => {
            (host.to_string(), Some(port.to_string()))
        }
        _ => (server, None),
    };
    let port = match get("SMTP_PORT").or(port_in_address) {
        Some(p) => super::parse_number("SMTP_PORT", &p, 1, 65_535)? as u16,
        None => 587,
    };
    let tls = match get("SMTP_TLS").as_deref() {
        None if port == 465 => SmtpTls::Implicit,
        None | Some("starttls") => SmtpTls::StartTls,
        Some("implicit") => SmtpTls::Implicit,
        Some("none") => SmtpTls::None,
        Some(_) => return Err(bad("SMTP_TLS", "must be starttls, implicit or none")),
    };
    Ok(SmtpSettings {
        server: host,
        port,
        user: setting("SMTP_USER", "SMTPUsername"),
        password: setting("SMTP_PASS", "SMTPPassword").map(Secret::new),
        tls,
    })
}

/// An API base URL: the provider's, or a stand-in (a local test server) given in `name`.
fn api_url(get: &dyn Fn(&str) -> Option<String>, name: &'static str, default: &str) -> Result<String, ConfigError> {
    match get(name) {
        None => Ok(default.to_string()),
        Some(v) => match url::Url::parse(&v) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
                Ok(v.trim_end_matches('/').to_string())
            }
            _ => Err(bad(name, "must be an absolute http or https URL")),
        },
    }
}
