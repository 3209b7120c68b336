//! The mailer on Mandrill's API (`POST /api/1.0/messages/send-raw`, the key in the JSON body), with
//! the MIME message as `raw_message`. Mandrill answers 200 with a status per recipient, and errors
//! as `{"status": "error", "name": …}`.

use async_trait::async_trait;
use serde_json::json;

use super::http_api::{client, unreachable};
use super::{MailError, Mailer, Outgoing};
use crate::secret::Secret;

pub const MANDRILL_API: &str = "https://mandrillapp.com";

#[derive(Debug, Clone)]
pub struct MandrillSettings {
    pub api_key: Secret,
    pub api_url: String,
}

pub struct MandrillMailer {
    http: reqwest::Client,
    settings: MandrillSettings,
}

impl MandrillMailer {
    pub fn new(settings: MandrillSettings) -> Self {
        Self {
            http: client(),
            settings,
        }
    }
}

#[derive(serde::Deserialize)]
struct RecipientResult {
    status: String,
    #[serde(default)]
    reject_reason: Option<String>,
    #[serde(default, rename = "_id")]
    id: String,
}

#[derive(serde::Deserialize)]
struct ErrorAnswer {
    #[serde(default)]
    name: String,
    #[serde(default)]
    message: String,
}

#[async_trait]
impl Mailer for MandrillMailer {
    async fn send(&self, mail: &Outgoing) -> Result<String, MailError> {
        let m = &mail.message;
        let body = json!({
            "key": self.settings.api_key.expose(),
            "raw_message": String::from_utf8_lossy(&mail.mime),
            "from_email": m.from.as_str(),
            "from_name": m.from_name,
            "to": [m.to.as_str()],
            "async": false,
        });
        let url = format!(
            "{}/api/1.0/messages/send-raw",
            self.settings.api_url.trim_end_matches('/')
        );
        let response = self
            .http
            .post(url)
            .json(&body)
            .send()
            .await
            .map_err(|e| unreachable("Mandrill", e))?;
        let status = response.status();
        if !status.is_success() {
            let error: ErrorAnswer = response.json().await.unwrap_or(ErrorAnswer {
                name: String::new(),
                message: String::new(),
            });
            let problem = format!("Mandrill answered {status}: {} {}", error.name, error.message);
            // Only a general (server-side) error may pass; a bad key, a payment problem or an
            // invalid message will not.
            return Err(
                if error.name == "GeneralError"
                    || status.as_u16() == 429
                    || error.name.is_empty() && status.is_server_error()
                {
                    MailError::Unavailable(problem.into())
                } else {
                    MailError::Rejected(problem)
                },
            );
        }
        let results: Vec<RecipientResult> = response.json().await.map_err(|e| unreachable("Mandrill", e))?;
        match results.into_iter().next() {
            Some(r) if matches!(r.status.as_str(), "sent" | "queued" | "scheduled") => Ok(r.id),
            Some(r) => Err(MailError::Rejected(format!(
                "Mandrill: {} ({})",
                r.status,
                r.reject_reason.unwrap_or_default()
            ))),
            None => Err(MailError::Unavailable("Mandrill answered no recipient status".into())),
        }
    }
}
