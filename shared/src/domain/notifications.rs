//! Notification types: every notice Gatehouse sends a person, with its category, the channels it
//! uses by default, whether it is critical (no switch or preference turns it off), who receives it
//! in the app, and its in-app text. One table; a type is named by its email template.

use serde::{Deserialize, Serialize};

use super::roles::Permission;

/// What a notification is about: the unit of people's preferences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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
    /// Every active admin user whose role holds the permission (the deciders of key requests).
    Holders(Permission),
    /// The email address of the organisation's `event_options` for the event's family: a feed,
    /// not a person (no inbox, no preferences; the organisation's switches apply).
    EventOptions,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Developer => "developer",
            Audience::Admin => "admin",
            Audience::Owners => "owners",
            Audience::AdminAndOwners => "admin_and_owners",
            Audience::Holders(Permission::DecideKeyRequests) => "decide_key_requests",
            Audience::Holders(Permission::ReadUsage) => "read_usage",
            Audience::Holders(Permission::ManageDeliveries) => "manage_deliveries",
            Audience::Holders(_) => "permission_holders",
            Audience::EventOptions => "event_options",
        }
    }
}

/// One kind of notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotificationType {
    /// The type's name: its email template's for a notice to a person, the event family's for an
    /// `event_options` feed.
    pub name: &'static str,
    pub template: &'static str,
    pub category: Category,
    /// Whether it is sent by email and put in the inbox unless a person or switch says otherwise.
    pub email: bool,
    pub in_app: bool,
    /// Sent whatever the preferences and switches (security notices, delivered keys).
    pub critical: bool,
    pub audience: Audience,
    /// The path under the portal address an inbox item links to. Its title is the email's subject
    /// and its body the `<type>.inapp.hbs` template (plain text over the event's public data; never
    /// the event's private part).
    pub link: &'static str,
}

const fn t(
    name: &'static str,
    category: Category,
    in_app: bool,
    critical: bool,
    audience: Audience,
    link: &'static str,
) -> NotificationType {
    NotificationType {
        name,
        template: name,
        category,
        email: true,
        in_app,
        critical,
        audience,
        link,
    }
}

/// The email to an `event_options` address for an event family (template `event_notice`).
const fn feed(family: &'static str, category: Category) -> NotificationType {
    NotificationType {
        name: family,
        template: "event_notice",
        category,
        email: true,
        in_app: false,
        critical: false,
        audience: Audience::EventOptions,
        link: "",
    }
}

use Audience as A;
use Category as C;

/// Every notification type.
pub const TYPES: &[NotificationType] = &[
    t("developer_welcome", C::Account, true, false, A::Developer, "/catalog"),
    t("signup_received", C::Account, false, false, A::Developer, ""),
    t("email_confirmation", C::Account, false, true, A::Developer, ""),
    t("signup_approved", C::Account, true, false, A::Developer, "/catalog"),
    t("signup_rejected", C::Account, false, false, A::Developer, ""),
    t("developer_invited", C::Account, false, true, A::Developer, ""),
    t("signup_existing_account", C::Security, false, false, A::Developer, ""),
    t("password_reset", C::Security, false, true, A::Developer, ""),
    t("password_changed", C::Security, true, true, A::Developer, "/account"),
    t("suspicious_login", C::Security, true, true, A::Developer, "/account"),
    t("key_approved", C::Keys, true, true, A::Developer, "/keys"),
    t("key_approved_link", C::Keys, true, true, A::Developer, "/keys"),
    t("key_request_declined", C::Keys, true, false, A::Developer, "/keys"),
    t("key_updated", C::Keys, true, false, A::Developer, "/keys"),
    t("key_revoked", C::Keys, true, false, A::Developer, "/keys"),
    t(
        "endpoint_disabled",
        C::Delivery,
        true,
        false,
        A::Owners,
        "/admin/webhook-endpoints",
    ),
    t("admin_invited", C::Admin, false, true, A::Admin, ""),
    t("admin_invited_notice", C::Admin, true, true, A::Owners, "/admin/admins"),
    t(
        "admin_role_changed",
        C::Admin,
        true,
        true,
        A::AdminAndOwners,
        "/admin/admins",
    ),
    t("admin_removed", C::Admin, true, true, A::Owners, "/admin/admins"),
    t("admin_password_reset", C::Security, false, true, A::Admin, ""),
    t(
        "admin_password_changed",
        C::Security,
        true,
        true,
        A::Admin,
        "/admin/account",
    ),
    t(
        "admin_suspicious_login",
        C::Security,
        true,
        true,
        A::Admin,
        "/admin/account",
    ),
    t(
        "admin_key_created",
        C::Admin,
        true,
        true,
        A::Owners,
        "/admin/admin-keys",
    ),
    t(
        "admin_key_revoked",
        C::Admin,
        true,
        true,
        A::Owners,
        "/admin/admin-keys",
    ),
    t(
        "security_settings_changed",
        C::Security,
        true,
        true,
        A::Owners,
        "/admin/audit-log",
    ),
    t(
        "key_request_pending",
        C::Keys,
        true,
        false,
        A::Holders(Permission::DecideKeyRequests),
        "/admin/key-requests",
    ),
    t("key_request_digest", C::Keys, false, false, A::Admin, ""),
    t("quota_threshold", C::Quota, true, false, A::Developer, "/usage"),
    t("budget_threshold", C::Quota, true, false, A::Developer, "/usage"),
    // Admins who read usage see keys reaching a threshold in their inbox; no email each.
    NotificationType {
        name: "quota_threshold_staff",
        template: "quota_threshold_staff",
        category: C::Quota,
        email: false,
        in_app: true,
        critical: false,
        audience: A::Holders(Permission::ReadUsage),
        link: "/admin/usage",
    },
    NotificationType {
        name: "budget_threshold_staff",
        template: "budget_threshold_staff",
        category: C::Quota,
        email: false,
        in_app: true,
        critical: false,
        audience: A::Holders(Permission::ReadUsage),
        link: "/admin/budgets",
    },
    // Health notices: to the admin users who can act on the delivery log and the endpoints.
    t(
        "delivery_dead_lettered",
        C::Delivery,
        true,
        false,
        A::Holders(Permission::ManageDeliveries),
        "/admin/deliveries",
    ),
    t(
        "endpoint_failing",
        C::Delivery,
        true,
        false,
        A::Holders(Permission::ManageDeliveries),
        "/admin/webhook-endpoints",
    ),
    t(
        "email_reputation",
        C::Delivery,
        true,
        false,
        A::Holders(Permission::ManageDeliveries),
        "/admin/deliveries",
    ),
    feed("api_event", C::Catalog),
    feed("key_event", C::Keys),
    feed("key_request_event", C::Keys),
    feed("developer_event", C::Account),
    feed("admin_event", C::Admin),
    feed("quota_event", C::Quota),
    feed("system_event", C::Delivery),
];

impl NotificationType {
    /// Whether it reaches a person (who may have preferences and an inbox), not a feed address.
    pub fn is_personal(&self) -> bool {
        self.audience != Audience::EventOptions
    }

    /// Whether its emails carry a one-click unsubscribe (RFC 8058) that turns the person's email
    /// preference for it off: recurring notices, not critical ones nor the account's own lifecycle
    /// and security notices, which answer something the person did.
    pub fn unsubscribable(&self) -> bool {
        self.is_personal() && !self.critical && !matches!(self.category, Category::Account | Category::Security)
    }
}

/// How often a person gets a type by email: each notice at once, or one digest an hour or a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cadence {
    Immediate,
    Hourly,
    Daily,
}

impl Cadence {
    /// The window's length in milliseconds.
    pub fn length_ms(self) -> i64 {
        match self {
            Cadence::Immediate => 0,
            Cadence::Hourly => 3_600_000,
            Cadence::Daily => 86_400_000,
        }
    }

    /// The window (UTC hour or day) that the instant `at_ms` falls in, named by its start:
    /// `2026-12-02T05` or `2026-12-02`.
    pub fn window_of(self, at_ms: i64) -> String {
        let at = time::OffsetDateTime::from_unix_timestamp(at_ms.div_euclid(1000))
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        let day = format!("{:04}-{:02}-{:02}", at.year(), u8::from(at.month()), at.day());
        match self {
            Cadence::Immediate => format!("{day}T{:02}:{:02}:{:02}", at.hour(), at.minute(), at.second()),
            Cadence::Hourly => format!("{day}T{:02}", at.hour()),
            Cadence::Daily => day,
        }
    }
}

/// The types a person may take as a digest, each with the type of the digest that gathers them.
pub const DIGESTS: &[(&str, &str)] = &[("key_request_pending", "key_request_digest")];

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
                t.link.starts_with('/'),
                "{}: a link exactly when in-app",
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
            "a feed type is named by its event family"
        );
        let feed = notification_type("api_event").unwrap();
        assert_eq!(
            (feed.template, feed.is_personal(), feed.critical),
            ("event_notice", false, false)
        );
    }
}

/// The channels an organisation switched off, per notification type (AI Studio's system-wide
/// switches). Only what is off is kept; a type not named is on everywhere.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Switches(pub std::collections::BTreeMap<String, Vec<Channel>>);

impl Switches {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn is_off(&self, t: &NotificationType, channel: Channel) -> bool {
        self.0.get(t.name).is_some_and(|off| off.contains(&channel))
    }

    /// Switches from `{"<type>": {"email": bool, "in_app": bool}}`: unknown types and channels, and
    /// a critical type switched off, are errors naming `types.<type>[.<channel>]`.
    pub fn parse(value: &serde_json::Value, errors: &mut super::ValidationErrors) -> Option<Switches> {
        let Some(types) = value.as_object() else {
            errors.push("types", "must be an object of notification types");
            return None;
        };
        let before = errors.0.len();
        let mut switches = Switches::default();
        for (name, channels) in types {
            let field = format!("types.{name}");
            let Some(t) = notification_type(name) else {
                errors.push(
                    field,
                    "is not a notification type (GET /orgs/{org}/notification-types lists them)",
                );
                continue;
            };
            let Some(channels) = channels.as_object() else {
                errors.push(field, "must be an object like {\"email\": false, \"in_app\": true}");
                continue;
            };
            let mut off = Vec::new();
            for (channel, on) in channels {
                let channel_field = format!("{field}.{channel}");
                let channel = match channel.as_str() {
                    "email" => Channel::Email,
                    "in_app" => Channel::InApp,
                    _ => {
                        errors.push(channel_field, "is not a channel (email, in_app)");
                        continue;
                    }
                };
                match on.as_bool() {
                    Some(true) => {}
                    Some(false) if t.critical => errors.push(
                        channel_field,
                        "belongs to a critical notification type, which cannot be switched off",
                    ),
                    Some(false) => off.push(channel),
                    None => errors.push(channel_field, "must be true or false"),
                }
            }
            if !off.is_empty() {
                switches.0.insert(t.name.to_string(), off);
            }
        }
        (errors.0.len() == before).then_some(switches)
    }
}

/// One person's choices (per type, then per category), per channel: `Some(false)` off, `Some(true)`
/// on, `None` no choice.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preferences {
    #[serde(default)]
    pub types: std::collections::BTreeMap<String, ChannelChoices>,
    #[serde(default)]
    pub categories: std::collections::BTreeMap<Category, ChannelChoices>,
    /// Types taken as a digest (`hourly`, `daily`) instead of one email each; `immediate` is not
    /// kept.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub digests: std::collections::BTreeMap<String, Cadence>,
}

impl Preferences {
    /// How the person takes type `t` by email.
    pub fn cadence(&self, t: &NotificationType) -> Cadence {
        self.digests.get(t.name).copied().unwrap_or(Cadence::Immediate)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelChoices {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_app: Option<bool>,
}

impl ChannelChoices {
    fn of(&self, channel: Channel) -> Option<bool> {
        match channel {
            Channel::Email => self.email,
            Channel::InApp => self.in_app,
        }
    }
}

impl Preferences {
    /// Preferences from `{"categories": {"<category>": {"email": bool|null, "in_app": bool|null}},
    /// "types": {"<type>": {…}}}`: unknown categories, types and channels, and a critical type turned
    /// off, are errors naming the field.
    pub fn parse(value: &serde_json::Value, errors: &mut super::ValidationErrors) -> Option<Preferences> {
        let Some(object) = value.as_object() else {
            errors.push("preferences", "must be an object with categories and types");
            return None;
        };
        let before = errors.0.len();
        let mut preferences = Preferences::default();
        for (key, entries) in object {
            let known = match key.as_str() {
                "categories" | "types" => key.as_str(),
                "digests" => {
                    preferences.digests = parse_digests(entries, errors);
                    continue;
                }
                _ => {
                    errors.push(key.clone(), "is not a part of preferences (categories, types, digests)");
                    continue;
                }
            };
            let Some(entries) = entries.as_object() else {
                errors.push(known, "must be an object");
                continue;
            };
            for (name, choices) in entries {
                let field = format!("{known}.{name}");
                let parsed = ChannelChoices::parse(&field, choices, errors);
                if known == "categories" {
                    match serde_json::from_value::<Category>(serde_json::Value::from(name.clone())) {
                        Ok(category) => {
                            if let Some(c) = parsed {
                                preferences.categories.insert(category, c);
                            }
                        }
                        Err(_) => errors.push(
                            field,
                            "is not a category (account, security, keys, catalog, quota, delivery, admin)",
                        ),
                    }
                    continue;
                }
                let Some(t) = notification_type(name).filter(|t| t.is_personal()) else {
                    errors.push(field, "is not a notification type to a person");
                    continue;
                };
                if let Some(c) = parsed {
                    if t.critical && (c.email == Some(false) || c.in_app == Some(false)) {
                        errors.push(field, "is critical: it cannot be turned off");
                        continue;
                    }
                    preferences.types.insert(t.name.to_string(), c);
                }
            }
        }
        (errors.0.len() == before).then_some(preferences)
    }
}

/// `{"<type>": "immediate" | "hourly" | "daily"}` for the types that have a digest.
fn parse_digests(
    value: &serde_json::Value,
    errors: &mut super::ValidationErrors,
) -> std::collections::BTreeMap<String, Cadence> {
    let mut digests = std::collections::BTreeMap::new();
    let Some(object) = value.as_object() else {
        errors.push("digests", "must be an object like {\"key_request_pending\": \"daily\"}");
        return digests;
    };
    for (name, cadence) in object {
        let field = format!("digests.{name}");
        if !DIGESTS.iter().any(|(t, _)| t == name) {
            errors.push(field, "has no digest (key_request_pending has)");
            continue;
        }
        match serde_json::from_value::<Cadence>(cadence.clone()) {
            Ok(Cadence::Immediate) => {}
            Ok(c) => {
                digests.insert(name.clone(), c);
            }
            Err(_) => errors.push(field, "must be immediate, hourly or daily"),
        }
    }
    digests
}

impl ChannelChoices {
    fn parse(field: &str, value: &serde_json::Value, errors: &mut super::ValidationErrors) -> Option<ChannelChoices> {
        let Some(object) = value.as_object() else {
            errors.push(field, "must be an object like {\"email\": false}");
            return None;
        };
        let mut choices = ChannelChoices::default();
        let before = errors.0.len();
        for (channel, choice) in object {
            let slot = match channel.as_str() {
                "email" => &mut choices.email,
                "in_app" => &mut choices.in_app,
                _ => {
                    errors.push(format!("{field}.{channel}"), "is not a channel (email, in_app)");
                    continue;
                }
            };
            match choice {
                serde_json::Value::Bool(b) => *slot = Some(*b),
                serde_json::Value::Null => *slot = None,
                _ => errors.push(format!("{field}.{channel}"), "must be true, false or null"),
            }
        }
        (errors.0.len() == before).then_some(choices)
    }
}

/// Why a notification was not sent on a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Suppressed {
    /// The person turned it off.
    Preference,
    /// The organisation switched it off.
    OrgSwitch,
    /// The person takes it in a digest.
    Digest,
}

/// Whether a notification goes out on a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    Send,
    /// The type does not use this channel (and nobody asked for it).
    NotAChannel,
    Withheld(Suppressed),
}

/// The one order of decision: critical → the organisation's switch → the person's choice for the
/// type → their choice for the category → the type's default.
pub fn resolve(
    t: &NotificationType,
    channel: Channel,
    switches: &Switches,
    person: Option<&Preferences>,
) -> Resolution {
    let default = match channel {
        Channel::Email => t.email,
        Channel::InApp => t.in_app,
    };
    if t.critical {
        return if default {
            Resolution::Send
        } else {
            Resolution::NotAChannel
        };
    }
    if switches.is_off(t, channel) {
        return Resolution::Withheld(Suppressed::OrgSwitch);
    }
    let chosen = person.and_then(|p| {
        p.types
            .get(t.name)
            .and_then(|c| c.of(channel))
            .or_else(|| p.categories.get(&t.category).and_then(|c| c.of(channel)))
    });
    match (chosen, default) {
        (Some(false), _) => Resolution::Withheld(Suppressed::Preference),
        // A type without in-app text cannot be put in an inbox, whatever a person asks.
        (Some(true), _) if channel == Channel::InApp && !t.in_app => Resolution::NotAChannel,
        (Some(true), _) | (None, true) => Resolution::Send,
        (None, false) => Resolution::NotAChannel,
    }
}

#[cfg(test)]
mod resolution_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_order_is_critical_switch_type_category_default() {
        let key_updated = notification_type("key_updated").unwrap();
        let key_approved = notification_type("key_approved").unwrap();
        let received = notification_type("signup_received").unwrap();
        let off = |name: &str| Switches([(name.to_string(), vec![Channel::Email])].into_iter().collect());
        let prefs = |types: Vec<(&str, Option<bool>)>, categories: Vec<(Category, Option<bool>)>| Preferences {
            types: types
                .into_iter()
                .map(|(n, e)| (n.to_string(), ChannelChoices { email: e, in_app: None }))
                .collect(),
            categories: categories
                .into_iter()
                .map(|(c, e)| (c, ChannelChoices { email: e, in_app: None }))
                .collect(),
            digests: Default::default(),
        };
        use Resolution::*;
        let none = Switches::default();
        let cases: Vec<(&NotificationType, Switches, Option<Preferences>, Resolution)> = vec![
            // Critical: whatever the switch and the person say.
            (
                key_approved,
                off("key_approved"),
                Some(prefs(vec![("key_approved", Some(false))], vec![])),
                Send,
            ),
            // The switch before the person.
            (
                key_updated,
                off("key_updated"),
                Some(prefs(vec![("key_updated", Some(true))], vec![])),
                Withheld(Suppressed::OrgSwitch),
            ),
            // The type's choice before the category's.
            (
                key_updated,
                none.clone(),
                Some(prefs(
                    vec![("key_updated", Some(true))],
                    vec![(Category::Keys, Some(false))],
                )),
                Send,
            ),
            (
                key_updated,
                none.clone(),
                Some(prefs(
                    vec![("key_updated", Some(false))],
                    vec![(Category::Keys, Some(true))],
                )),
                Withheld(Suppressed::Preference),
            ),
            // The category's when the type has none.
            (
                key_updated,
                none.clone(),
                Some(prefs(vec![], vec![(Category::Keys, Some(false))])),
                Withheld(Suppressed::Preference),
            ),
            // The default last.
            (key_updated, none.clone(), None, Send),
            (
                key_updated,
                off("key_revoked"),
                Some(prefs(vec![], vec![(Category::Account, Some(false))])),
                Send,
            ),
            (received, none.clone(), None, Send),
        ];
        for (t, switches, person, expected) in cases {
            assert_eq!(
                resolve(t, Channel::Email, &switches, person.as_ref()),
                expected,
                "{} {switches:?} {person:?}",
                t.name
            );
        }
        // signup_received has no in-app text: an inbox never gets it.
        let wants = Preferences {
            types: [(
                "signup_received".to_string(),
                ChannelChoices {
                    email: None,
                    in_app: Some(true),
                },
            )]
            .into(),
            categories: Default::default(),
            digests: Default::default(),
        };
        assert_eq!(resolve(received, Channel::InApp, &none, Some(&wants)), NotAChannel);
    }

    #[test]
    fn preferences_name_what_is_wrong_and_lock_critical_types() {
        let mut errors = crate::domain::ValidationErrors::default();
        let parsed = Preferences::parse(
            &json!({"categories": {"keys": {"email": false}}, "types": {"key_updated": {"in_app": true, "email": null}}}),
            &mut errors,
        )
        .unwrap();
        assert_eq!(parsed.categories[&Category::Keys].email, Some(false));
        assert_eq!(
            parsed.types["key_updated"],
            ChannelChoices {
                email: None,
                in_app: Some(true)
            }
        );
        for (bad, field) in [
            (
                json!({"categories": {"weather": {"email": false}}}),
                "categories.weather",
            ),
            (json!({"categories": {"keys": {"sms": false}}}), "categories.keys.sms"),
            (json!({"types": {"nope": {"email": false}}}), "types.nope"),
            (json!({"types": {"api_event": {"email": false}}}), "types.api_event"),
            (
                json!({"types": {"password_changed": {"email": false}}}),
                "types.password_changed",
            ),
            (
                json!({"types": {"key_updated": {"email": 1}}}),
                "types.key_updated.email",
            ),
            (json!({"colours": {}}), "colours"),
        ] {
            let mut errors = crate::domain::ValidationErrors::default();
            assert!(Preferences::parse(&bad, &mut errors).is_none(), "{bad}");
            assert_eq!(errors.0[0].field, field, "{bad}");
        }
    }

    #[test]
    fn digests_are_chosen_for_digest_types_only_and_windows_are_utc_hours_and_days() {
        let mut errors = crate::domain::ValidationErrors::default();
        let parsed = Preferences::parse(&json!({"digests": {"key_request_pending": "daily"}}), &mut errors).unwrap();
        let pending = notification_type("key_request_pending").unwrap();
        assert_eq!(parsed.cadence(pending), Cadence::Daily);
        let immediate =
            Preferences::parse(&json!({"digests": {"key_request_pending": "immediate"}}), &mut errors).unwrap();
        assert!(immediate.digests.is_empty(), "immediate is the default, not kept");
        assert_eq!(immediate.cadence(pending), Cadence::Immediate);
        for (bad, field) in [
            (json!({"digests": {"key_updated": "daily"}}), "digests.key_updated"),
            (
                json!({"digests": {"key_request_pending": "weekly"}}),
                "digests.key_request_pending",
            ),
            (json!({"digests": ["daily"]}), "digests"),
        ] {
            let mut errors = crate::domain::ValidationErrors::default();
            assert!(Preferences::parse(&bad, &mut errors).is_none(), "{bad}");
            assert_eq!(errors.0[0].field, field, "{bad}");
        }
        // 2026-12-02T05:59:59.999Z and the next millisecond.
        let before = 1_796_191_199_999;
        assert_eq!(Cadence::Hourly.window_of(before), "2026-12-02T05");
        assert_eq!(Cadence::Hourly.window_of(before + 1), "2026-12-02T06");
        assert_eq!(Cadence::Daily.window_of(before), "2026-12-02");
        assert_eq!(Cadence::Daily.window_of(before + 18 * 3_600_000 + 1), "2026-12-03");
    }

    #[test]
    fn switches_name_what_is_wrong_and_never_turn_off_a_critical_type() {
        let mut errors = crate::domain::ValidationErrors::default();
        let parsed = Switches::parse(&json!({"key_updated": {"email": false, "in_app": true}}), &mut errors).unwrap();
        assert!(parsed.is_off(notification_type("key_updated").unwrap(), Channel::Email));
        assert!(!parsed.is_off(notification_type("key_updated").unwrap(), Channel::InApp));
        for (bad, field) in [
            (json!({"nope": {"email": false}}), "types.nope"),
            (json!({"key_updated": {"sms": false}}), "types.key_updated.sms"),
            (json!({"key_updated": {"email": "no"}}), "types.key_updated.email"),
            (json!({"key_approved": {"email": false}}), "types.key_approved.email"),
            (json!([]), "types"),
        ] {
            let mut errors = crate::domain::ValidationErrors::default();
            assert!(Switches::parse(&bad, &mut errors).is_none(), "{bad}");
            assert_eq!(errors.0[0].field, field, "{bad}");
        }
    }
}
