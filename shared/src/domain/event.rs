use serde::{Deserialize, Serialize};
use std::fmt;

use super::{Email, EventId, EventOptions, EventTarget, OrgId};

/// Something that happened in an organisation. Written in the same transaction as the change that
/// raised it (the outbox); the table's stream carries it to the event router.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: EventId,
    pub org_id: OrgId,
    pub kind: EventKind,
    pub occurred_at: String,
    /// The event's payload, as webhooks receive it under `data`.
    pub data: serde_json::Value,
}

/// The family an event belongs to: the key of the organisation's `event_options` that routes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventCategory {
    ApiEvent,
    KeyEvent,
    KeyRequestEvent,
    DeveloperEvent,
}

impl EventCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApiEvent => "api_event",
            Self::KeyEvent => "key_event",
            Self::KeyRequestEvent => "key_request_event",
            Self::DeveloperEvent => "developer_event",
        }
    }

    /// This family's destinations in an organisation's `event_options`.
    pub fn target(self, options: &EventOptions) -> Option<&EventTarget> {
        match self {
            Self::ApiEvent => options.api_event.as_ref(),
            Self::KeyEvent => options.key_event.as_ref(),
            Self::KeyRequestEvent => options.key_request_event.as_ref(),
            Self::DeveloperEvent => options.developer_event.as_ref(),
        }
    }
}

/// Every kind of event, named `<family>.<what happened>` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventKind {
    #[serde(rename = "developer_event.signed_up")]
    DeveloperSignedUp,
}

/// The email an event sends to the person it concerns (besides `event_options` destinations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonalEmail {
    pub template: &'static str,
    pub to: Email,
}

impl EventKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::DeveloperSignedUp => "developer_event.signed_up",
        }
    }

    pub fn category(self) -> EventCategory {
        match self {
            Self::DeveloperSignedUp => EventCategory::DeveloperEvent,
        }
    }

    /// The template used when an `event_options` email address is told of this event.
    pub const ADMIN_NOTICE_TEMPLATE: &'static str = "event_notice";
}

impl Event {
    pub fn new(org_id: OrgId, kind: EventKind, occurred_at: String, data: serde_json::Value) -> Self {
        Self { id: EventId::generate(), org_id, kind, occurred_at, data }
    }

    /// The email to the person the event concerns, if this kind sends one.
    pub fn personal_email(&self) -> Option<PersonalEmail> {
        let address = |field: &str| self.data.get(field).and_then(|v| v.as_str()).and_then(|s| Email::parse(s).ok());
        match self.kind {
            EventKind::DeveloperSignedUp => {
                address("email").map(|to| PersonalEmail { template: "developer_welcome", to })
            }
        }
    }

    /// The body webhooks receive: Tyk's envelope with Gatehouse's ids.
    pub fn webhook_payload(&self) -> serde_json::Value {
        serde_json::json!({
            "event": self.kind.name(),
            "id": self.id,
            "org_id": self.org_id,
            "occurred_at": self.occurred_at,
            "data": self.data,
        })
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_serialize_with_their_wire_names() {
        assert_eq!(serde_json::to_value(EventKind::DeveloperSignedUp).unwrap(), json!("developer_event.signed_up"));
        assert_eq!(EventKind::DeveloperSignedUp.category().as_str(), "developer_event");
    }

    #[test]
    fn sign_up_mails_the_developer_and_has_the_tyk_envelope() {
        let org = OrgId::parse("acme").unwrap();
        let e = Event::new(org, EventKind::DeveloperSignedUp, "2026-01-01T00:00:00Z".into(), json!({"email": "d@example.com"}));
        let mail = e.personal_email().unwrap();
        assert_eq!((mail.template, mail.to.as_str()), ("developer_welcome", "d@example.com"));
        let body = e.webhook_payload();
        assert_eq!(body["event"], "developer_event.signed_up");
        assert_eq!(body["org_id"], "acme");
        assert_eq!(body["data"]["email"], "d@example.com");
    }
}
