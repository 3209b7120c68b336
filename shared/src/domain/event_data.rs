//! The payload of every event kind, written down once: what webhook receivers get under `data` and
//! what email templates read. [`EventData`] pairs each kind with its payload type; a payload's
//! private part (links, keys, addresses) is sealed for the person concerned and never reaches a
//! webhook.

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::api_keys::{ApiKey, KeyRequest};
use super::audit::{AuditActor, FieldChange};
use super::catalog::{Api, ApprovalMode};
use super::notifications::Cadence;
use super::roles::Role;
use super::{
    AdminUser, AdminUserId, ApiId, BudgetId, CatalogId, Developer, DeveloperId, DeveloperStatus, Email, EventKind,
    KeyId, KeyRequestId, OrgId, PolicyId, WebhookUrl,
};

/// Who made a change a developer's record or request shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    Developer,
    Admin,
}

/// A developer, as the developer events carry them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeveloperRef {
    pub developer_id: DeveloperId,
    pub email: Email,
}

impl From<&Developer> for DeveloperRef {
    fn from(d: &Developer) -> Self {
        Self {
            developer_id: d.id.clone(),
            email: d.email.clone(),
        }
    }
}

/// A developer's account after a change: sign-up, approval, rejection, edits.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeveloperState {
    pub developer_id: DeveloperId,
    pub email: Email,
    pub fields: Map<String, Value>,
    pub status: DeveloperStatus,
    /// Who changed it; absent on sign-up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<Actor>,
    /// On an open sign-up that must confirm its address: the confirmation link and how long it
    /// works, private to the welcome email.
    #[serde(skip)]
    pub confirmation: Option<(String, String)>,
}

impl DeveloperState {
    pub fn of(d: &Developer, by: Option<Actor>) -> Self {
        Self {
            developer_id: d.id.clone(),
            email: d.email.clone(),
            fields: d.fields.clone(),
            status: d.status,
            by,
            confirmation: None,
        }
    }
}

/// A link to choose a password (reset or invitation); the link itself is private.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PasswordLinkSent {
    pub developer_id: DeveloperId,
    pub email: Email,
    /// Epoch seconds when the link stops working.
    pub expires_at: i64,
    #[serde(skip)]
    pub url: String,
    /// How long the link works, for people ("1 hour").
    #[serde(skip)]
    pub expires_in: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SuspiciousLogin {
    pub developer_id: DeveloperId,
    pub email: Email,
    /// Failed attempts for this email before the login from a new address.
    pub failed_attempts: u32,
    /// The new source address (private: only the developer is told).
    #[serde(skip)]
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiChanged {
    pub api_id: ApiId,
    pub name: String,
    pub listen_path: Option<String>,
}

impl From<&Api> for ApiChanged {
    fn from(api: &Api) -> Self {
        Self {
            api_id: api.id.clone(),
            name: api.name.clone(),
            listen_path: api.listen_path.clone(),
        }
    }
}

/// A new key request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyRequestCreated {
    pub request_id: KeyRequestId,
    pub developer_id: DeveloperId,
    pub email: Email,
    pub catalog_id: Option<CatalogId>,
    /// The catalog entry's name; absent when an admin subscribed the developer directly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catalog_name: Option<String>,
    pub policy_ids: Vec<PolicyId>,
    pub fields: Map<String, Value>,
    pub approval: ApprovalMode,
    pub by: Actor,
}

impl KeyRequestCreated {
    pub fn of(request: &KeyRequest, catalog_name: Option<String>, by: Actor) -> Self {
        Self {
            request_id: request.id.clone(),
            developer_id: request.developer_id.clone(),
            email: request.developer_email.clone(),
            catalog_id: request.catalog_id.clone(),
            catalog_name,
            policy_ids: request.policy_ids.clone(),
            fields: request.fields.clone(),
            approval: request.approval,
            by,
        }
    }
}

/// How an approved key reaches the developer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyDelivery {
    /// The key itself, in the (private part of the) email.
    Key,
    /// A one-use Generate Key link (secure key approval).
    Link,
}

/// A key request approved (`status: approved`) or declined (`status: declined`, the request is
/// gone).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyRequestDecided {
    pub request_id: KeyRequestId,
    pub developer_id: DeveloperId,
    pub email: Email,
    pub catalog_id: Option<CatalogId>,
    pub catalog_name: String,
    pub policy_ids: Vec<PolicyId>,
    pub status: Decision,
    /// For approvals: the key or a link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<KeyDelivery>,
    /// For approvals delivering the key: its id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<KeyId>,
    #[serde(skip)]
    pub private: Option<DecisionSecret>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approved,
    Declined,
}

/// What only the developer may see of an approval.
#[derive(Debug, Clone, PartialEq)]
pub enum DecisionSecret {
    Key(String),
    Link { url: String, expires_in: String },
}

impl KeyRequestDecided {
    pub fn of(request: &KeyRequest, catalog_name: String, status: Decision) -> Self {
        Self {
            request_id: request.id.clone(),
            developer_id: request.developer_id.clone(),
            email: request.developer_email.clone(),
            catalog_id: request.catalog_id.clone(),
            catalog_name,
            policy_ids: request.policy_ids.clone(),
            status,
            delivery: None,
            key_id: None,
            private: None,
        }
    }
}

/// A key created, changed or revoked (hash never, prefix only).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyChanged {
    pub key_id: KeyId,
    pub developer_id: DeveloperId,
    pub email: Email,
    pub policy_ids: Vec<PolicyId>,
    pub catalog_id: Option<CatalogId>,
    pub key_prefix: String,
    /// On changes: the names of the key's policies now, for the developer's email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_names: Option<String>,
    /// On a roll: until when the former secret works.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_valid_until: Option<String>,
}

impl KeyChanged {
    pub fn of(key: &ApiKey, email: &Email) -> Self {
        Self {
            key_id: key.id.clone(),
            developer_id: key.developer_id.clone(),
            email: email.clone(),
            policy_ids: key.policy_ids.clone(),
            catalog_id: key.catalog_id.clone(),
            key_prefix: key.prefix.clone(),
            policy_names: None,
            previous_valid_until: None,
        }
    }
}

/// A webhook endpoint Gatehouse stopped sending to; `email` is the organisation's `admin_email`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndpointDisabled {
    pub url: WebhookUrl,
    pub reason: String,
    /// Epoch seconds of the first failure since the last success.
    pub failing_since: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
}

/// A delivery that failed every attempt its queue allows and went to the dead-letter queue (a
/// health notice, once a day per channel).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeliveryDeadLettered {
    pub delivery_id: String,
    pub event_id: String,
    /// `email` or `webhook`.
    pub channel: String,
    /// The endpoint without its query and fragment (which may hold a token), or the address.
    pub target: String,
    /// The last attempt's problem, as the delivery log has it.
    pub last_error: String,
}

/// A webhook endpoint that has failed every delivery for an hour (a health notice, once a day per
/// endpoint).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndpointFailing {
    /// Without its query and fragment (which may hold a token).
    pub url: String,
    /// Epoch seconds of the first failure since the last success.
    pub failing_since: i64,
    pub failing_for_minutes: i64,
    /// In how many hours Gatehouse disables it if it keeps failing.
    pub disabled_in_hours: i64,
}

/// The organisation's emails of today (UTC) bounced or drew complaints at or past `threshold_percent`
/// (a health notice, once a day per signal).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmailReputation {
    /// `bounce` or `complaint`.
    pub signal: String,
    /// Emails sent today.
    pub sent: i64,
    /// Of which bounced (permanently) or drew a complaint.
    pub count: i64,
    pub rate_percent: f64,
    pub threshold_percent: f64,
}

/// One request of a digest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DigestedRequest {
    pub request_id: KeyRequestId,
    /// The developer's email.
    pub email: Email,
    /// The catalog entry asked for (its name, or `-` for a direct subscription).
    pub catalog_name: String,
    pub created_at: String,
}

/// The key requests made in a window that still wait for a decision, for one admin user
/// (`delivery_event.key_request_digest`); at most [`KeyRequestDigest::LISTED`] are listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyRequestDigest {
    pub admin_id: AdminUserId,
    pub email: Email,
    pub cadence: Cadence,
    /// The window's name (`2026-12-02T05`, `2026-12-02`) and bounds (RFC 3339, `to` excluded).
    pub window: String,
    pub from: String,
    pub to: String,
    /// How many wait, and how many of those are not listed.
    pub count: usize,
    pub more: usize,
    pub requests: Vec<DigestedRequest>,
}

impl KeyRequestDigest {
    pub const LISTED: usize = 50;
}

/// An admin key made or revoked (`admin_event.key_created|key_revoked`); `recipients` are the
/// owners told (`service::admin_users::owners_to_tell`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdminKeyChanged {
    pub key_id: String,
    pub name: String,
    pub role: Role,
    /// Who did it.
    pub by: AuditActor,
    pub recipients: Vec<Email>,
}

/// Security settings changed (`security_event.settings_changed`): each field with its old and new
/// value, secrets and webhook URLs redacted as in the audit log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SettingsChanged {
    pub by: AuditActor,
    pub changes: Vec<FieldChange>,
    pub recipients: Vec<Email>,
}

/// An admin user invited (`admin_event.invited`, with the set-password link for them alone) or
/// sent a reset link (`admin_event.password_reset_requested`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdminLinkSent {
    pub admin_id: AdminUserId,
    pub email: Email,
    /// Invitations: the role offered, who invited, and the owners told.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<AuditActor>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<Email>,
    /// Epoch seconds when the link stops working.
    pub expires_at: i64,
    #[serde(skip)]
    pub url: String,
    #[serde(skip)]
    pub expires_in: String,
}

/// An admin user's role changed (`admin_event.role_changed`) or the admin removed
/// (`admin_event.removed`): the person and the owners are told who did it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdminChanged {
    pub admin_id: AdminUserId,
    pub email: Email,
    /// The role before a change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_role: Option<Role>,
    pub role: Role,
    pub by: AuditActor,
    pub recipients: Vec<Email>,
}

/// An admin user, as their own account's events carry them (`admin_event.password_changed`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdminRef {
    pub admin_id: AdminUserId,
    pub email: Email,
}

impl From<&AdminUser> for AdminRef {
    fn from(a: &AdminUser) -> Self {
        Self {
            admin_id: a.id.clone(),
            email: a.email.clone(),
        }
    }
}

/// An admin logged in from a new address after failed attempts (`admin_event.suspicious_login`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdminSuspiciousLogin {
    pub admin_id: AdminUserId,
    pub email: Email,
    pub failed_attempts: u32,
    #[serde(skip)]
    pub address: String,
}

/// A key's use crossed one of its policy's thresholds this period (`quota_event.threshold_reached`).
/// `message`, `org`, `key` and `trigger_limit` are Tyk's `TriggerExceeded` fields (`key` is the key's
/// id, never the key).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuotaThreshold {
    pub message: String,
    pub org: OrgId,
    pub key: KeyId,
    pub trigger_limit: u8,
    pub key_id: KeyId,
    pub key_prefix: String,
    pub developer_id: DeveloperId,
    pub email: Email,
    pub policy_id: PolicyId,
    /// `quota`: a policy's quota of calls.
    pub limit: &'static str,
    pub quota_max: u64,
    pub quota_used: u64,
    pub quota_remaining: u64,
    /// When the period ends and the quota refills.
    pub reset_at: String,
}

/// Reported spend crossed one of a budget's thresholds this month
/// (`quota_event.budget_threshold_reached`); `email` is the developer's (the key's, for a key's
/// budget).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BudgetThreshold {
    pub message: String,
    pub org: OrgId,
    pub trigger_limit: u8,
    pub budget_id: BudgetId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<KeyId>,
    pub developer_id: DeveloperId,
    pub email: Email,
    /// Minor units.
    pub amount: u64,
    pub spent: u64,
    pub currency: String,
    /// The amounts as people read them (`40.00 EUR`).
    pub amount_text: String,
    pub spent_text: String,
    /// `2026-12`.
    pub month: String,
    /// When the next month starts and spend is counted afresh.
    pub resets_at: String,
}

/// Every event's kind with its payload.
#[derive(Debug, Clone, PartialEq)]
pub enum EventData {
    ApiCreated(ApiChanged),
    ApiUpdated(ApiChanged),
    ApiDeleted(ApiChanged),
    KeyRequestCreated(KeyRequestCreated),
    KeyRequestUpdated(KeyRequestDecided),
    KeyCreated(KeyChanged),
    KeyUpdated(KeyChanged),
    KeyDeleted(KeyChanged),
    DeveloperSignedUp(DeveloperState),
    DeveloperApproved(DeveloperState),
    DeveloperRejected(DeveloperState),
    DeveloperUpdated(DeveloperState),
    DeveloperInvited(PasswordLinkSent),
    DeveloperDeleted(DeveloperRef),
    SignUpWithExistingEmail(DeveloperRef),
    PasswordResetRequested(PasswordLinkSent),
    EmailConfirmationRequested(PasswordLinkSent),
    PasswordChanged(DeveloperRef),
    SuspiciousLogin(SuspiciousLogin),
    EndpointDisabled(EndpointDisabled),
    AdminKeyCreated(AdminKeyChanged),
    AdminKeyRevoked(AdminKeyChanged),
    SecuritySettingsChanged(SettingsChanged),
    AdminInvited(AdminLinkSent),
    AdminRoleChanged(AdminChanged),
    AdminRemoved(AdminChanged),
    AdminPasswordResetRequested(AdminLinkSent),
    AdminPasswordChanged(AdminRef),
    AdminSuspiciousLogin(AdminSuspiciousLogin),
    KeyRequestDigest(KeyRequestDigest),
    QuotaThresholdReached(QuotaThreshold),
    BudgetThresholdReached(BudgetThreshold),
    DeliveryDeadLettered(DeliveryDeadLettered),
    EndpointFailing(EndpointFailing),
    EmailReputation(EmailReputation),
}

fn to_value<T: Serialize>(payload: &T) -> Value {
    serde_json::to_value(payload).expect("event payloads serialize")
}

impl EventData {
    pub fn kind(&self) -> EventKind {
        match self {
            Self::ApiCreated(_) => EventKind::ApiCreated,
            Self::ApiUpdated(_) => EventKind::ApiUpdated,
            Self::ApiDeleted(_) => EventKind::ApiDeleted,
            Self::KeyRequestCreated(_) => EventKind::KeyRequestCreated,
            Self::KeyRequestUpdated(_) => EventKind::KeyRequestUpdated,
            Self::KeyCreated(_) => EventKind::KeyCreated,
            Self::KeyUpdated(_) => EventKind::KeyUpdated,
            Self::KeyDeleted(_) => EventKind::KeyDeleted,
            Self::DeveloperSignedUp(_) => EventKind::DeveloperSignedUp,
            Self::DeveloperApproved(_) => EventKind::DeveloperApproved,
            Self::DeveloperRejected(_) => EventKind::DeveloperRejected,
            Self::DeveloperUpdated(_) => EventKind::DeveloperUpdated,
            Self::DeveloperInvited(_) => EventKind::DeveloperInvited,
            Self::DeveloperDeleted(_) => EventKind::DeveloperDeleted,
            Self::SignUpWithExistingEmail(_) => EventKind::SignUpWithExistingEmail,
            Self::PasswordResetRequested(_) => EventKind::PasswordResetRequested,
            Self::EmailConfirmationRequested(_) => EventKind::EmailConfirmationRequested,
            Self::PasswordChanged(_) => EventKind::PasswordChanged,
            Self::SuspiciousLogin(_) => EventKind::SuspiciousLogin,
            Self::EndpointDisabled(_) => EventKind::EndpointDisabled,
            Self::AdminKeyCreated(_) => EventKind::AdminKeyCreated,
            Self::AdminKeyRevoked(_) => EventKind::AdminKeyRevoked,
            Self::SecuritySettingsChanged(_) => EventKind::SecuritySettingsChanged,
            Self::AdminInvited(_) => EventKind::AdminInvited,
            Self::AdminRoleChanged(_) => EventKind::AdminRoleChanged,
            Self::AdminRemoved(_) => EventKind::AdminRemoved,
            Self::AdminPasswordResetRequested(_) => EventKind::AdminPasswordResetRequested,
            Self::AdminPasswordChanged(_) => EventKind::AdminPasswordChanged,
            Self::AdminSuspiciousLogin(_) => EventKind::AdminSuspiciousLogin,
            Self::KeyRequestDigest(_) => EventKind::KeyRequestDigest,
            Self::QuotaThresholdReached(_) => EventKind::QuotaThresholdReached,
            Self::BudgetThresholdReached(_) => EventKind::BudgetThresholdReached,
            Self::DeliveryDeadLettered(_) => EventKind::DeliveryDeadLettered,
            Self::EndpointFailing(_) => EventKind::EndpointFailing,
            Self::EmailReputation(_) => EventKind::EmailReputation,
        }
    }

    /// What webhooks and `event_options` addresses receive as `data`.
    pub fn public(&self) -> Value {
        match self {
            Self::ApiCreated(p) | Self::ApiUpdated(p) | Self::ApiDeleted(p) => to_value(p),
            Self::KeyRequestCreated(p) => to_value(p),
            Self::KeyRequestUpdated(p) => to_value(p),
            Self::KeyCreated(p) | Self::KeyUpdated(p) | Self::KeyDeleted(p) => to_value(p),
            Self::DeveloperSignedUp(p)
            | Self::DeveloperApproved(p)
            | Self::DeveloperRejected(p)
            | Self::DeveloperUpdated(p) => to_value(p),
            Self::DeveloperInvited(p) | Self::PasswordResetRequested(p) | Self::EmailConfirmationRequested(p) => {
                to_value(p)
            }
            Self::DeveloperDeleted(p) | Self::SignUpWithExistingEmail(p) | Self::PasswordChanged(p) => to_value(p),
            Self::SuspiciousLogin(p) => to_value(p),
            Self::EndpointDisabled(p) => to_value(p),
            Self::AdminKeyCreated(p) | Self::AdminKeyRevoked(p) => to_value(p),
            Self::SecuritySettingsChanged(p) => to_value(p),
            Self::AdminInvited(p) | Self::AdminPasswordResetRequested(p) => to_value(p),
            Self::AdminRoleChanged(p) | Self::AdminRemoved(p) => to_value(p),
            Self::AdminPasswordChanged(p) => to_value(p),
            Self::AdminSuspiciousLogin(p) => to_value(p),
            Self::KeyRequestDigest(p) => to_value(p),
            Self::QuotaThresholdReached(p) => to_value(p),
            Self::BudgetThresholdReached(p) => to_value(p),
            Self::DeliveryDeadLettered(p) => to_value(p),
            Self::EndpointFailing(p) => to_value(p),
            Self::EmailReputation(p) => to_value(p),
        }
    }

    /// What only the person concerned may see, sealed into the event for their email.
    pub fn private(&self) -> Option<Value> {
        match self {
            Self::DeveloperInvited(p) | Self::PasswordResetRequested(p) => {
                Some(json!({"reset_url": p.url, "expires_in": p.expires_in}))
            }
            Self::AdminInvited(p) | Self::AdminPasswordResetRequested(p) => {
                Some(json!({"reset_url": p.url, "expires_in": p.expires_in}))
            }
            Self::EmailConfirmationRequested(p) => Some(json!({"confirm_url": p.url, "expires_in": p.expires_in})),
            Self::DeveloperSignedUp(p) => p
                .confirmation
                .as_ref()
                .map(|(url, expires_in)| json!({"confirm_url": url, "expires_in": expires_in})),
            Self::SuspiciousLogin(p) => Some(json!({"address": p.address})),
            Self::AdminSuspiciousLogin(p) => Some(json!({"address": p.address})),
            Self::KeyRequestUpdated(p) => match &p.private {
                Some(DecisionSecret::Key(key)) => Some(json!({"key": key})),
                Some(DecisionSecret::Link { url, expires_in }) => {
                    Some(json!({"generate_url": url, "expires_in": expires_in}))
                }
                None => None,
            },
            _ => None,
        }
    }
}
