//! The mailer on SendGrid's v3 Mail Send API (`POST /v3/mail/send`, bearer API key). SendGrid takes
//! the message as JSON parts, not MIME: subject, text then HTML content, and the extra headers.

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::http_api::{client, refused, unreachable};
use super::{MailError, Mailer, Outgoing};
use crate::secret::Secret;

pub const SENDGRID_API: &str = "https://api.sendgrid.com";

#[derive(Debug, Clone)]
pub struct SendGridSettings {
    pub api_key: Secret,
    /// `https://api.sendgrid.com`, or `https://api.eu.sendgrid.com` for EU-pinned accounts.
    pub api_url: String,
}

pub struct SendGridMailer {
    http: reqwest::Client,
    settings: SendGridSettings,
}

impl SendGridMailer {
    pub fn new(settings: SendGridSettings) -> Self {
        Self {
            http: client(),
            settings,
        }
    }
}

/// The Mail Send request body for one message.
pub fn mail_send_body(mail: &Outgoing) -> Value {
    let m = &mail.message;
    let mut from = json!({"email": m.from.as_str()});
    if let Some(name) = &m.from_name {
        from["name"] = json!(name);
    }
    let headers: Map<String, Value> = m.headers.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    json!({
        "personalizations": [{"to": [{"email": m.to.as_str()}]}],
        "from": from,
        "subject": m.subject,
        // SendGrid wants text/plain before text/html.
        "content": [
            {"type": "text/plain", "value": m.text},
            {"type": "text/html", "value": m.html},
        ],
        "headers": headers,
    })
}

#[async_trait]
impl Mailer for SendGridMailer {
    async fn send(&self, mail: &Outgoing) -> Result<String, MailError> {
        mail.message
            .check_headers()
            .map_err(|e| MailError::Rejected(e.to_string()))?;
        let url = format!("{}/v3/mail/send", self.settings.api_url.trim_end_matches('/'));
        let response = self
            .http
            .post(url)
            .bearer_auth(self.settings.api_key.expose())
            .json(&mail_send_body(mail))
            .send()
            .await
            .map_err(|e| unreachable("SendGrid", e))?;
        if !response.status().is_success() {
            return Err(refused("SendGrid", response).await);
        }
        let id = response
            .headers()
            .get("x-message-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        Ok(id.to_string())
    }
}
