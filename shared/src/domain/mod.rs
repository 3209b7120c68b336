//! Validated domain types. Nothing here knows about AWS, HTTP or storage.

/// The conversions every validated string type shares: `as_str`, `Display`, and serde through
/// `parse` (`#[serde(try_from = "String", into = "String")]`), so stored and received values are
/// checked the same way.
macro_rules! validated_string {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                $name::parse(&s).map_err(|e| e.message)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
    };
}
pub(crate) use validated_string;

mod admin_user;
pub mod api_keys;
pub mod audit;
pub mod budgets;
pub mod catalog;
mod developer;
mod email;
mod event;
pub mod event_data;
pub mod fields;
pub mod gate;
mod ids;
pub mod jobs;
pub mod limits;
pub mod notifications;
mod org;
pub mod roles;
mod url;
mod validation;

pub use admin_user::{parse_person_name, AdminStatus, AdminUser, Locale};
pub use developer::{required, Developer, DeveloperStatus, KnownAddresses, Password, SignUp};
pub use email::Email;
pub use event::{Event, EventCategory, EventKind, PersonalEmail};
pub use ids::{
    AdminUserId, ApiId, AuditId, BudgetId, CatalogId, DeveloperId, EventId, KeyId, KeyRequestId, OrgId, PolicyId,
};
pub use org::{
    is_destination, is_security_setting, parse_event_options, parse_org_name, parse_settings, EventOptions,
    EventTarget, NewOrganisation, OrgPatch, OrgSettings, Organisation, SignupMode,
};
pub use url::{HttpUrl, LinkBase, WebhookUrl};
pub use validation::{FieldError, ValidationErrors};

/// Seconds since the Unix epoch, the unit of every stored expiry (`expires_at`, DynamoDB TTL).
pub fn now_epoch() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Epoch milliseconds of now, where seconds are too coarse to order two events.
pub fn now_epoch_millis() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// RFC 3339 timestamp of an epoch second.
pub fn epoch_rfc3339(epoch: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(epoch)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .format(&time::format_description::well_known::Rfc3339)
        .expect("formatting a UTC time as RFC 3339 cannot fail")
}

/// RFC 3339 timestamp of now, the form of every stored and emitted time.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("formatting the current UTC time as RFC 3339 cannot fail")
}
