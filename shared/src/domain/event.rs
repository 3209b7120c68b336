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
    /// What only the person concerned may see (a reset link, a login address), sealed with the
    /// deployment's secret key; it reaches their email and never a webhook or an admin notice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_sealed: Option<String>,
}

/// The family an event belongs to: the key of the organisation's `event_options` that routes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventCategory {
    ApiEvent,
    KeyEvent,
    KeyRequestEvent,
    DeveloperEvent,
    /// Gatehouse's own notices to the organisation's admins (`settings.admin_email`); no
    /// `event_options` family routes them.
    DeliveryEvent,
    /// Admin keys made or revoked, security settings changed (`admin_event.*`, `security_event.*`).
    AdminEvent,
    /// Keys reaching a threshold of their quota or budget (`quota_event.*`).
    QuotaEvent,
    /// Gatehouse's health notices about the organisation's own deliveries (`system_event.*`), to
    /// the admin users who manage deliveries and the family's `event_options` destinations.
    SystemEvent,
}

impl EventCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApiEvent => "api_event",
            Self::KeyEvent => "key_event",
            Self::KeyRequestEvent => "key_request_event",
            Self::DeveloperEvent => "developer_event",
            Self::DeliveryEvent => "delivery_event",
            Self::AdminEvent => "admin_event",
            Self::QuotaEvent => "quota_event",
            Self::SystemEvent => "system_event",
        }
    }

    /// This family's destinations in an organisation's `event_options`.
    pub fn target(self, options: &EventOptions) -> Option<&EventTarget> {
        match self {
            Self::ApiEvent => options.api_event.as_ref(),
            Self::KeyEvent => options.key_event.as_ref(),
            Self::KeyRequestEvent => options.key_request_event.as_ref(),
            Self::DeveloperEvent => options.developer_event.as_ref(),
            Self::DeliveryEvent => None,
            Self::SystemEvent => options.system_event.as_ref(),
            Self::AdminEvent => options.admin_event.as_ref(),
            Self::QuotaEvent => options.quota_event.as_ref(),
        }
    }
}

/// Every kind of event, named `<family>.<what happened>` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventKind {
    #[serde(rename = "api_event.created")]
    ApiCreated,
    #[serde(rename = "api_event.updated")]
    ApiUpdated,
    #[serde(rename = "api_event.deleted")]
    ApiDeleted,
    #[serde(rename = "key_request_event.created")]
    KeyRequestCreated,
    /// Approved (`data.status: approved`) or declined (`declined`, the request is gone).
    #[serde(rename = "key_request_event.updated")]
    KeyRequestUpdated,
    #[serde(rename = "key_event.created")]
    KeyCreated,
    #[serde(rename = "key_event.updated")]
    KeyUpdated,
    #[serde(rename = "key_event.deleted")]
    KeyDeleted,
    #[serde(rename = "developer_event.signed_up")]
    DeveloperSignedUp,
    #[serde(rename = "developer_event.approved")]
    DeveloperApproved,
    #[serde(rename = "developer_event.rejected")]
    DeveloperRejected,
    #[serde(rename = "developer_event.updated")]
    DeveloperUpdated,
    /// An admin created the account; the developer chooses a password through the emailed link.
    #[serde(rename = "developer_event.invited")]
    DeveloperInvited,
    #[serde(rename = "developer_event.deleted")]
    DeveloperDeleted,
    /// Someone tried to sign up with an email that has an account; its owner is told.
    #[serde(rename = "developer_event.signup_with_existing_email")]
    SignUpWithExistingEmail,
    #[serde(rename = "developer_event.password_reset_requested")]
    PasswordResetRequested,
    /// The confirmation link of an unconfirmed sign-up, sent again (asked for by a reset request
    /// or a second sign-up with the address).
    #[serde(rename = "developer_event.email_confirmation_requested")]
    EmailConfirmationRequested,
    #[serde(rename = "developer_event.password_changed")]
    PasswordChanged,
    #[serde(rename = "developer_event.suspicious_login")]
    SuspiciousLogin,
    /// A delivery failed every attempt its queue allows and went to the dead-letter queue.
    #[serde(rename = "system_event.delivery_dead_lettered")]
    DeliveryDeadLettered,
    /// A webhook endpoint has failed every delivery for an hour (it is disabled later, after
    /// `WEBHOOK_DISABLE_AFTER_SECS`).
    #[serde(rename = "system_event.endpoint_failing")]
    EndpointFailing,
    /// The organisation's emails today bounced or drew complaints past the rate SES reviews
    /// accounts at.
    #[serde(rename = "system_event.email_reputation")]
    EmailReputation,
    /// A webhook endpoint answered 410 Gone or kept failing, and is no longer sent to.
    #[serde(rename = "delivery_event.endpoint_disabled")]
    EndpointDisabled,
    /// An admin's test of an email template; queued straight to the email worker.
    #[serde(rename = "delivery_event.test_email")]
    TestEmail,
    /// The key requests still waiting for a decision, for an admin user who takes them as a digest.
    #[serde(rename = "delivery_event.key_request_digest")]
    KeyRequestDigest,
    #[serde(rename = "admin_event.key_created")]
    AdminKeyCreated,
    #[serde(rename = "admin_event.key_revoked")]
    AdminKeyRevoked,
    /// A security setting changed (sign-up mode, logins, key delivery, webhook URLs, the signing
    /// secret): the owners are told who changed what.
    #[serde(rename = "security_event.settings_changed")]
    SecuritySettingsChanged,
    /// An admin user was invited; they choose a password through the emailed link.
    #[serde(rename = "admin_event.invited")]
    AdminInvited,
    #[serde(rename = "admin_event.role_changed")]
    AdminRoleChanged,
    #[serde(rename = "admin_event.removed")]
    AdminRemoved,
    #[serde(rename = "admin_event.password_reset_requested")]
    AdminPasswordResetRequested,
    #[serde(rename = "admin_event.password_changed")]
    AdminPasswordChanged,
    #[serde(rename = "admin_event.suspicious_login")]
    AdminSuspiciousLogin,
    /// A key's use crossed one of its policy's `trigger_limits` (a percentage of the quota) in the
    /// current period: once per key, period and threshold.
    #[serde(rename = "quota_event.threshold_reached")]
    QuotaThresholdReached,
    /// A key's or developer's reported spend crossed one of its budget's thresholds this month:
    /// once per budget, month and threshold.
    #[serde(rename = "quota_event.budget_threshold_reached")]
    BudgetThresholdReached,
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
            Self::ApiCreated => "api_event.created",
            Self::ApiUpdated => "api_event.updated",
            Self::ApiDeleted => "api_event.deleted",
            Self::KeyRequestCreated => "key_request_event.created",
            Self::KeyRequestUpdated => "key_request_event.updated",
            Self::KeyCreated => "key_event.created",
            Self::KeyUpdated => "key_event.updated",
            Self::KeyDeleted => "key_event.deleted",
            Self::DeveloperSignedUp => "developer_event.signed_up",
            Self::DeveloperApproved => "developer_event.approved",
            Self::DeveloperRejected => "developer_event.rejected",
            Self::DeveloperUpdated => "developer_event.updated",
            Self::DeveloperInvited => "developer_event.invited",
            Self::DeveloperDeleted => "developer_event.deleted",
            Self::SignUpWithExistingEmail => "developer_event.signup_with_existing_email",
            Self::PasswordResetRequested => "developer_event.password_reset_requested",
            Self::EmailConfirmationRequested => "developer_event.email_confirmation_requested",
            Self::PasswordChanged => "developer_event.password_changed",
            Self::SuspiciousLogin => "developer_event.suspicious_login",
            Self::DeliveryDeadLettered => "system_event.delivery_dead_lettered",
            Self::EndpointFailing => "system_event.endpoint_failing",
            Self::EmailReputation => "system_event.email_reputation",
            Self::EndpointDisabled => "delivery_event.endpoint_disabled",
            Self::TestEmail => "delivery_event.test_email",
            Self::KeyRequestDigest => "delivery_event.key_request_digest",
            Self::AdminKeyCreated => "admin_event.key_created",
            Self::AdminKeyRevoked => "admin_event.key_revoked",
            Self::SecuritySettingsChanged => "security_event.settings_changed",
            Self::AdminInvited => "admin_event.invited",
            Self::AdminRoleChanged => "admin_event.role_changed",
            Self::AdminRemoved => "admin_event.removed",
            Self::AdminPasswordResetRequested => "admin_event.password_reset_requested",
            Self::AdminPasswordChanged => "admin_event.password_changed",
            Self::AdminSuspiciousLogin => "admin_event.suspicious_login",
            Self::QuotaThresholdReached => "quota_event.threshold_reached",
            Self::BudgetThresholdReached => "quota_event.budget_threshold_reached",
        }
    }

    pub fn category(self) -> EventCategory {
        match self {
            Self::ApiCreated | Self::ApiUpdated | Self::ApiDeleted => EventCategory::ApiEvent,
            Self::KeyRequestCreated | Self::KeyRequestUpdated => EventCategory::KeyRequestEvent,
            Self::KeyCreated | Self::KeyUpdated | Self::KeyDeleted => EventCategory::KeyEvent,
            Self::EndpointDisabled | Self::TestEmail | Self::KeyRequestDigest => EventCategory::DeliveryEvent,
            Self::AdminKeyCreated
            | Self::AdminKeyRevoked
            | Self::SecuritySettingsChanged
            | Self::AdminInvited
            | Self::AdminRoleChanged
            | Self::AdminRemoved
            | Self::AdminPasswordResetRequested
            | Self::AdminPasswordChanged
            | Self::AdminSuspiciousLogin => EventCategory::AdminEvent,
            Self::QuotaThresholdReached | Self::BudgetThresholdReached => EventCategory::QuotaEvent,
            Self::DeliveryDeadLettered | Self::EndpointFailing | Self::EmailReputation => EventCategory::SystemEvent,
            _ => EventCategory::DeveloperEvent,
        }
    }

    /// The template used when an `event_options` email address is told of this event.
    pub const ADMIN_NOTICE_TEMPLATE: &'static str = "event_notice";
}

impl Event {
    pub fn new(org_id: OrgId, kind: EventKind, occurred_at: String, data: serde_json::Value) -> Self {
        Self {
            id: EventId::generate(),
            org_id,
            kind,
            occurred_at,
            data,
            private_sealed: None,
        }
    }

    /// The emails this event sends besides `event_options` destinations: to the person it concerns
    /// (`data.email`), and to the owners named in `data.recipients` (admin and security events).
    pub fn personal_emails(&self) -> Vec<PersonalEmail> {
        let concerned = self.concerned_email();
        let mut emails: Vec<PersonalEmail> = concerned.into_iter().collect();
        if let (Some(template), Some(list)) = (
            self.owner_template(),
            self.data.get("recipients").and_then(|v| v.as_array()),
        ) {
            for to in list
                .iter()
                .filter_map(|v| v.as_str())
                .filter_map(|s| Email::parse(s).ok())
            {
                if emails.iter().all(|e| e.to.normalized() != to.normalized()) {
                    emails.push(PersonalEmail { template, to });
                }
            }
        }
        emails
    }

    /// The notification types this event sends (the concerned person's and the owners'), each once.
    pub fn notice_types(&self) -> Vec<&'static str> {
        let mut types: Vec<&'static str> = self.concerned_email().map(|c| c.template).into_iter().collect();
        if let Some(owners) = self.owner_template().filter(|t| !types.contains(t)) {
            types.push(owners);
        }
        types.extend(self.deciders_template());
        types
    }

    /// The template the admin users whose role holds a permission get: the deciders of key
    /// requests when a request waits for them, the readers of usage when a key reaches a threshold,
    /// the managers of deliveries when the organisation's deliveries are in trouble.
    pub fn deciders_template(&self) -> Option<&'static str> {
        match self.kind {
            EventKind::KeyRequestCreated if self.data.get("approval").and_then(|a| a.as_str()) == Some("admin") => {
                Some("key_request_pending")
            }
            EventKind::QuotaThresholdReached => Some("quota_threshold_staff"),
            EventKind::BudgetThresholdReached => Some("budget_threshold_staff"),
            EventKind::DeliveryDeadLettered => Some("delivery_dead_lettered"),
            EventKind::EndpointFailing => Some("endpoint_failing"),
            EventKind::EmailReputation => Some("email_reputation"),
            _ => None,
        }
    }

    /// The template the owners named in `data.recipients` get.
    fn owner_template(&self) -> Option<&'static str> {
        Some(match self.kind {
            EventKind::AdminKeyCreated => "admin_key_created",
            EventKind::AdminKeyRevoked => "admin_key_revoked",
            EventKind::SecuritySettingsChanged => "security_settings_changed",
            EventKind::AdminInvited => "admin_invited_notice",
            EventKind::AdminRoleChanged => "admin_role_changed",
            EventKind::AdminRemoved => "admin_removed",
            EventKind::EndpointDisabled => "endpoint_disabled",
            _ => return None,
        })
    }

    /// The email to the person the event concerns (`data.email`), if this kind sends one; only this
    /// email may show the event's private part.
    pub fn concerned_email(&self) -> Option<PersonalEmail> {
        let to = self
            .data
            .get("email")
            .and_then(|v| v.as_str())
            .and_then(|s| Email::parse(s).ok())?;
        let status = self.data.get("status").and_then(|v| v.as_str());
        let pending = status == Some("pending");
        let by_link = self.data.get("delivery").and_then(|v| v.as_str()) == Some("link");
        let template = match self.kind {
            EventKind::DeveloperSignedUp if pending => "signup_received",
            EventKind::DeveloperSignedUp => "developer_welcome",
            EventKind::DeveloperApproved => "signup_approved",
            EventKind::DeveloperInvited => "developer_invited",
            EventKind::DeveloperRejected => "signup_rejected",
            EventKind::SignUpWithExistingEmail => "signup_existing_account",
            EventKind::PasswordResetRequested => "password_reset",
            EventKind::EmailConfirmationRequested => "email_confirmation",
            EventKind::PasswordChanged => "password_changed",
            EventKind::SuspiciousLogin => "suspicious_login",
            EventKind::KeyRequestUpdated if status == Some("declined") => "key_request_declined",
            EventKind::KeyRequestUpdated if by_link => "key_approved_link",
            EventKind::KeyRequestUpdated => "key_approved",
            EventKind::KeyUpdated => "key_updated",
            EventKind::KeyDeleted => "key_revoked",
            EventKind::EndpointDisabled => "endpoint_disabled",
            EventKind::AdminInvited => "admin_invited",
            EventKind::AdminRoleChanged => "admin_role_changed",
            EventKind::AdminRemoved => "admin_removed",
            EventKind::AdminPasswordResetRequested => "admin_password_reset",
            EventKind::AdminPasswordChanged => "admin_password_changed",
            EventKind::AdminSuspiciousLogin => "admin_suspicious_login",
            EventKind::KeyRequestDigest => "key_request_digest",
            EventKind::QuotaThresholdReached => "quota_threshold",
            EventKind::BudgetThresholdReached => "budget_threshold",
            EventKind::AdminKeyCreated
            | EventKind::AdminKeyRevoked
            | EventKind::SecuritySettingsChanged
            | EventKind::KeyRequestCreated
            | EventKind::KeyCreated
            | EventKind::DeveloperUpdated
            | EventKind::DeveloperDeleted
            | EventKind::ApiCreated
            | EventKind::ApiUpdated
            | EventKind::ApiDeleted
            | EventKind::DeliveryDeadLettered
            | EventKind::EndpointFailing
            | EventKind::EmailReputation
            | EventKind::TestEmail => return None,
        };
        Some(PersonalEmail { template, to })
    }

    /// Whether the email of `template` to `to` may show the event's private part: only the one to
    /// the person the event concerns, never a notice to owners or an `event_options` address (and a
    /// test email, whose private part is sample data).
    pub fn shows_private_to(&self, to: &Email, template: &str) -> bool {
        self.kind == EventKind::TestEmail
            || self
                .concerned_email()
                .is_some_and(|c| c.to.normalized() == to.normalized() && c.template == template)
    }

    /// The body webhooks receive: Tyk's envelope with Gatehouse's ids. Never the private part.
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
        for kind in [
            EventKind::DeveloperSignedUp,
            EventKind::DeveloperApproved,
            EventKind::PasswordResetRequested,
            EventKind::SuspiciousLogin,
            EventKind::SignUpWithExistingEmail,
            EventKind::ApiCreated,
            EventKind::ApiDeleted,
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), json!(kind.name()));
            assert!(kind.name().starts_with(kind.category().as_str()));
        }
    }

    #[test]
    fn an_invitation_mails_the_link_to_the_invitee_and_a_notice_to_each_owner() {
        let org = OrgId::parse("acme").unwrap();
        let e = Event::new(
            org,
            EventKind::AdminInvited,
            "2026-01-01T00:00:00Z".into(),
            json!({"email": "new@example.com", "recipients": ["owner@example.com", "NEW@example.com", "ops@example.com"]}),
        );
        let mails: Vec<(&str, String)> = e
            .personal_emails()
            .into_iter()
            .map(|m| (m.template, m.to.to_string()))
            .collect();
        assert_eq!(
            mails,
            [
                ("admin_invited", "new@example.com".to_string()),
                ("admin_invited_notice", "owner@example.com".to_string()),
                ("admin_invited_notice", "ops@example.com".to_string()),
            ],
            "the invitee once, with the link; each owner once, with the notice"
        );
        assert!(e.shows_private_to(&Email::parse("new@example.com").unwrap(), "admin_invited"));
        assert!(!e.shows_private_to(&Email::parse("owner@example.com").unwrap(), "admin_invited_notice"));
    }

    #[test]
    fn sign_up_mails_the_developer_and_has_the_tyk_envelope() {
        let org = OrgId::parse("acme").unwrap();
        let mut e = Event::new(
            org,
            EventKind::DeveloperSignedUp,
            "2026-01-01T00:00:00Z".into(),
            json!({"email": "d@example.com"}),
        );
        e.private_sealed = Some("enc:v1:secret".into());
        let mail = e.concerned_email().unwrap();
        assert_eq!(
            (mail.template, mail.to.as_str()),
            ("developer_welcome", "d@example.com")
        );
        let body = e.webhook_payload();
        assert_eq!(body["event"], "developer_event.signed_up");
        assert_eq!(body["org_id"], "acme");
        assert_eq!(body["data"]["email"], "d@example.com");
        assert!(
            !body.to_string().contains("enc:v1"),
            "the private part never reaches a webhook"
        );
        let ada = Email::parse("d@example.com").unwrap();
        assert!(e.shows_private_to(&ada, "developer_welcome"));
        assert!(!e.shows_private_to(&ada, EventKind::ADMIN_NOTICE_TEMPLATE));
        assert!(!e.shows_private_to(&Email::parse("ops@example.com").unwrap(), "developer_welcome"));
        e.data["status"] = json!("pending");
        assert_eq!(e.personal_emails()[0].template, "signup_received");
    }
}
