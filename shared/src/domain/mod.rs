//! Validated domain types. Nothing here knows about AWS, HTTP or storage.

mod developer;
mod email;
mod event;
mod ids;
mod org;
mod validation;

pub use developer::{Developer, DeveloperStatus, Password, SignUp};
pub use email::Email;
pub use event::{Event, EventCategory, EventKind, PersonalEmail};
pub use ids::{DeveloperId, EventId, OrgId};
pub use org::{parse_event_options, parse_org_name, parse_settings, EventOptions, EventTarget, NewOrganisation, OrgPatch, OrgSettings, Organisation, WebhookUrl};
pub use validation::{FieldError, ValidationErrors};

/// Seconds since the Unix epoch, the unit of every stored expiry (`expires_at`, DynamoDB TTL).
pub fn now_epoch() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// RFC 3339 timestamp of now, the form of every stored and emitted time.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("formatting the current UTC time as RFC 3339 cannot fail")
}
