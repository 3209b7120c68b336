//! Notification types: every notice Gatehouse sends a person, with its category, the channels it
//! uses by default, whether it is critical (no switch or preference turns it off), who receives it
//! in the app, and its in-app text. One table; a type is named by its email template.

use serde::{Deserialize, Serialize};

/// What a notification is about: the unit of people's preferences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Account,
    Security,
    Keys,
    Catalog,
    Quota,
    Delivery,
    Admin,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Account => "account",
            Category::Security => "security",
            Category::Keys => "keys",
            Category::Catalog => "catalog",
            Category::Quota => "quota",
            Category::Delivery => "delivery",
            Category::Admin => "admin",
        }
    }
}

/// Where a notification reaches a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    InApp,
}

/// Whose inbox a notification lands in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The developer the event names (`data.developer_id`).
    Developer,
    /// The admin user the event names (`data.admin_id`).
    Admin,
    /// Every acting owner user of the organisation.
    Owners,
    /// The admin user the event names and every acting owner user.
    AdminAndOwners,
}

/// One kind of notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotificationType {
    /// The email template's name, which names the type too.
    pub name: &'static str,
    pub category: Category,
    /// Whether it is sent by email and put in the inbox unless a person or switch says otherwise.
    pub email: bool,
    pub in_app: bool,
    /// Sent whatever the preferences and switches (security notices, delivered keys).
    pub critical: bool,
    pub audience: Audience,
    /// The in-app body (plain text, a handlebars template over the event's public data; never the
    /// event's private part), and the path under the portal address the item links to.
    pub body: &'static str,
    pub link: &'static str,
}

const fn t(
    name: &'static str,
    category: Category,
    in_app: bool,
    critical: bool,
    audience: Audience,
    body: &'static str,
    link: &'static str,
) -> NotificationType {
    NotificationType {
        name,
        category,
        email: true,
        in_app,
        critical,
        audience,
        body,
        link,
    }
}

use Audience as A;
use Category as C;

/// Every notification type. The in-app title is the email's subject.
pub const TYPES: &[NotificationType] = &[
    t(
        "developer_welcome",
        C::Account,
        true,
        false,
        A::Developer,
        "Your account {{data.email}} is ready: browse the catalog and request API keys.",
        "/catalog",
    ),
    t("signup_received", C::Account, false, false, A::Developer, "", ""),
    t(
        "signup_approved",
        C::Account,
        true,
        false,
        A::Developer,
        "An administrator approved your account {{data.email}}.",
        "/catalog",
    ),
    t("signup_rejected", C::Account, false, false, A::Developer, "", ""),
    t("developer_invited", C::Account, false, true, A::Developer, "", ""),
    t(
        "signup_existing_account",
        C::Security,
        false,
        false,
        A::Developer,
        "",
        "",
    ),
    t("password_reset", C::Security, false, true, A::Developer, "", ""),
    t(
        "password_changed",
        C::Security,
        true,
        true,
        A::Developer,
        "The password of {{data.email}} was changed and every session ended.",
        "/account",
    ),
    t(
        "suspicious_login",
        C::Security,
        true,
        true,
        A::Developer,
        "Your account was signed in to from a new address after {{data.failed_attempts}} failed attempts.",
        "/account",
    ),
    t(
        "key_approved",
        C::Keys,
        true,
        true,
        A::Developer,
        "Your request for {{data.catalog_name}} was approved; the key is in your email.",
        "/keys",
    ),
    t(
        "key_approved_link",
        C::Keys,
        true,
        true,
        A::Developer,
        "Your request for {{data.catalog_name}} was approved; generate the key from the link in your email.",
        "/keys",
    ),
    t(
        "key_request_declined",
        C::Keys,
        true,
        false,
        A::Developer,
        "Your request for {{data.catalog_name}} was declined.",
        "/keys",
    ),
    t(
        "key_updated",
        C::Keys,
        true,
        false,
        A::Developer,
        "The policies of your key {{data.key_prefix}} changed.",
        "/keys",
    ),
    t(
        "key_revoked",
        C::Keys,
        true,
        false,
        A::Developer,
        "Your key {{data.key_prefix}} was revoked and no longer works.",
        "/keys",
    ),
    t(
        "endpoint_disabled",
        C::Delivery,
        true,
        false,
        A::Owners,
        "Gatehouse stopped sending to {{data.url}}: {{data.reason}}.",
        "/admin/webhook-endpoints",
    ),
    t("admin_invited", C::Admin, false, true, A::Admin, "", ""),
    t(
        "admin_invited_notice",
        C::Admin,
        true,
        true,
        A::Owners,
        "{{data.email}} was invited with the {{data.role}} role.",
        "/admin/admins",
    ),
    t(
        "admin_role_changed",
        C::Admin,
        true,
        true,
        A::AdminAndOwners,
        "The role of {{data.email}} changed from {{data.old_role}} to {{data.role}}.",
        "/admin/admins",
    ),
    t(
        "admin_removed",
        C::Admin,
        true,
        true,
        A::Owners,
        "{{data.email}} ({{data.role}}) was removed from the admins.",
        "/admin/admins",
    ),
    t("admin_password_reset", C::Security, false, true, A::Admin, "", ""),
    t(
        "admin_password_changed",
        C::Security,
        true,
        true,
        A::Admin,
        "The password of your admin account {{data.email}} was changed and every session ended.",
        "/admin/account",
    ),
    t(
        "admin_suspicious_login",
        C::Security,
        true,
        true,
        A::Admin,
        "Your admin account was signed in to from a new address after {{data.failed_attempts}} failed attempts.",
        "/admin/account",
    ),
    t(
        "admin_key_created",
        C::Admin,
        true,
        true,
        A::Owners,
        "Admin key \"{{data.name}}\" ({{data.key_id}}) was made with the {{data.role}} role.",
        "/admin/admin-keys",
    ),
    t(
        "admin_key_revoked",
        C::Admin,
        true,
        true,
        A::Owners,
        "Admin key \"{{data.name}}\" ({{data.key_id}}) was revoked.",
        "/admin/admin-keys",
    ),
    t(
        "security_settings_changed",
        C::Security,
        true,
        true,
        A::Owners,
        "{{#each data.changes}}{{field}}: {{old}} → {{new}}{{#unless @last}}; {{/unless}}{{/each}}",
        "/admin/audit-log",
    ),
];

/// The type named `name`, if there is one.
pub fn notification_type(name: &str) -> Option<&'static NotificationType> {
    TYPES.iter().find(|t| t.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_is_named_once_and_in_app_ones_have_text() {
        for (i, t) in TYPES.iter().enumerate() {
            assert!(TYPES[..i].iter().all(|o| o.name != t.name), "{} twice", t.name);
            assert_eq!(
                t.in_app,
                !t.body.is_empty(),
                "{}: in-app text exactly when in-app",
                t.name
            );
            assert_eq!(t.in_app, t.link.starts_with('/'), "{}", t.name);
            assert!(
                !t.body.contains("private"),
                "{}: an inbox never shows the private part",
                t.name
            );
        }
        for critical in [
            "password_reset",
            "password_changed",
            "suspicious_login",
            "security_settings_changed",
            "admin_role_changed",
            "key_approved",
            "key_approved_link",
        ] {
            assert!(notification_type(critical).unwrap().critical, "{critical}");
        }
        assert!(!notification_type("key_updated").unwrap().critical);
        assert!(
            notification_type("event_notice").is_none(),
            "notices to event_options addresses are not a person's"
        );
    }
}
