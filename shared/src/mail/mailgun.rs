//! The mailer on Mailgun's sending API, MIME flavour (`POST /v3/{domain}/messages.mime`, basic auth
//! `api:<key>`, multipart form with `to` and the `message` file), so Mailgun sends the very bytes
//! the other backends send. US and EU accounts live at different API hosts.

use async_trait::async_trait;

use super::http_api::{client, refused, unreachable};
use super::{MailError, Mailer, Outgoing};
use crate::secret::Secret;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailgunRegion {
    Us,
    Eu,
}

impl MailgunRegion {
    pub fn api_url(self) -> &'static str {
        match self {
            MailgunRegion::Us => "https://api.mailgun.net",
            MailgunRegion::Eu => "https://api.eu.mailgun.net",
        }
    }
}

#[derive(Debug, Clone)]
pub struct MailgunSettings {
    /// The sending domain (`mg.example.com`).
    pub domain: String,
    pub api_key: Secret,
    /// The region's API host, or a stand-in.
    pub api_url: String,
}

pub struct MailgunMailer {
    http: reqwest::Client,
    settings: MailgunSettings,
}

impl MailgunMailer {
    pub fn new(settings: MailgunSettings) -> Self {
        Self {
            http: client(),
            settings,
        }
    }
}

#[derive(serde::Deserialize)]
struct Accepted {
    #[serde(default)]
    id: String,
}

#[async_trait]
impl Mailer for MailgunMailer {
    async fn send(&self, mail: &Outgoing) -> Result<String, MailError> {
        let url = format!(
            "{}/v3/{}/messages.mime",
            self.settings.api_url.trim_end_matches('/'),
            self.settings.domain
        );
        let message = reqwest::multipart::Part::bytes(mail.mime.clone())
            .file_name("message.mime")
            .mime_str("message/rfc822")
            .expect("a valid media type");
        let form = reqwest::multipart::Form::new()
            .text("to", mail.message.to.to_string())
            .part("message", message);
        let response = self
            .http
            .post(url)
            .basic_auth("api", Some(self.settings.api_key.expose()))
            .multipart(form)
            .send()
            .await
            .map_err(|e| unreachable("Mailgun", e))?;
        if !response.status().is_success() {
            return Err(refused("Mailgun", response).await);
        }
        let accepted: Accepted = response.json().await.map_err(|e| unreachable("Mailgun", e))?;
        Ok(accepted.id)
    }
}
