//! The messages on the email and webhook queues. Each carries the whole event, so a worker needs no
//! read to render or sign it, and a delivery id that is the same every time the job is made, so a
//! job routed twice is still delivered once.

use serde::{Deserialize, Serialize};

use super::{Email, Event, WebhookUrl};
use crate::secret::token_hash;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailJob {
    pub delivery_id: String,
    pub event: Event,
    pub to: Email,
    pub template: String,
    /// Template data besides the event: the organisation's name, the portal URL, …
    pub context: serde_json::Value,
    /// Set when the router decided the email must not go out (a switch or a preference): the
    /// worker records the delivery as skipped with this reason instead of sending it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withheld: Option<super::notifications::Suppressed>,
    /// The languages to write it in, best first (`Locale::fallbacks`); empty: English.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<String>,
    /// The account id of the person it goes to (a developer or admin user), when it is one: their
    /// unsubscribe link turns their preference off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// The organisation's default language, so the worker can write in the person's language as it
    /// is when the email goes out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_locale: Option<super::Locale>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookJob {
    pub delivery_id: String,
    pub event: Event,
    pub url: WebhookUrl,
}

/// What every queued job says of its delivery, for the notices about it.
pub trait DeliveryJob {
    fn delivery_id(&self) -> &str;
    fn event(&self) -> &Event;
    /// The recipient as a notice may show it: an address, or an endpoint without its query and
    /// fragment (where receivers keep tokens).
    fn shown_target(&self) -> String;
}

impl DeliveryJob for EmailJob {
    fn delivery_id(&self) -> &str {
        &self.delivery_id
    }
    fn event(&self) -> &Event {
        &self.event
    }
    fn shown_target(&self) -> String {
        self.to.to_string()
    }
}

impl DeliveryJob for WebhookJob {
    fn delivery_id(&self) -> &str {
        &self.delivery_id
    }
    fn event(&self) -> &Event {
        &self.event
    }
    fn shown_target(&self) -> String {
        self.url.without_query().as_str().to_string()
    }
}

/// `<event id>.<channel>.<hash of target>`: stable across re-routing, and no address in a key.
pub fn delivery_id(event: &Event, channel: &str, target: &str) -> String {
    format!("{}.{channel}.{}", event.id, &token_hash(target)[..16])
}

impl EmailJob {
    pub fn new(event: &Event, to: Email, template: &str, context: serde_json::Value) -> Self {
        Self {
            delivery_id: delivery_id(event, "email", &to.normalized()),
            event: event.clone(),
            to,
            template: template.to_string(),
            context,
            withheld: None,
            languages: Vec::new(),
            person: None,
            default_locale: None,
        }
    }
}

impl WebhookJob {
    pub fn new(event: &Event, url: WebhookUrl) -> Self {
        Self {
            delivery_id: delivery_id(event, "webhook", url.as_str()),
            event: event.clone(),
            url,
        }
    }
}
