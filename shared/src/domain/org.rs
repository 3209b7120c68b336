use serde::{Deserialize, Serialize};

use super::catalog::ApprovalMode;
use super::fields::{check_specs, FieldSpec};
use super::{Email, FieldError, HttpUrl, LinkBase, OrgId, ValidationErrors, WebhookUrl};

/// An organisation: one portal, its developers, its settings and where its events go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Organisation {
    pub id: OrgId,
    pub name: String,
    pub settings: OrgSettings,
    pub event_options: EventOptions,
    /// The Standard Webhooks signing secret (`whsec_…`), sealed with the deployment's secret key.
    pub webhook_secret_sealed: String,
    /// After a rotation, the previous secret, still signing (alongside the new one) until
    /// `previous_webhook_secret_until` (epoch seconds), so receivers can switch without a gap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_webhook_secret_sealed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_webhook_secret_until: Option<i64>,
    /// Notification types the organisation switched off, per channel.
    #[serde(default, skip_serializing_if = "super::notifications::Switches::is_empty")]
    pub notification_switches: super::notifications::Switches,
    pub created_at: String,
    pub updated_at: String,
}

/// Portal behaviour switches, named as in Tyk where Tyk has the setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgSettings {
    /// Tyk's `disable_signup`: the portal refuses new sign-ups.
    #[serde(default)]
    pub disable_signup: bool,
    /// Open sign-ups confirm their address (a one-use link in the welcome email) before any other
    /// email goes to it or a key is issued to them. On unless turned off.
    #[serde(default = "yes")]
    pub confirm_email: bool,
    /// Tyk's `disable_login`: the portal refuses logins.
    #[serde(default)]
    pub disable_login: bool,
    #[serde(default)]
    pub signup_mode: SignupMode,
    /// The profile fields developers fill in at sign-up and may edit later.
    #[serde(default)]
    pub signup_fields: Vec<FieldSpec>,
    /// The portal's public address for links in emails; the deployment's `PORTAL_URL` when unset.
    /// An origin and an optional path only (no query, fragment or credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portal_url: Option<LinkBase>,
    /// How long a password reset link works (5 minutes to 24 hours).
    #[serde(default = "default_reset_ttl")]
    pub password_reset_ttl_secs: i64,
    /// How long a login session lasts (5 minutes to 30 days).
    #[serde(default = "default_session_ttl")]
    pub session_ttl_secs: i64,
    /// The fields a developer fills in when requesting a key (reason, use case, …).
    #[serde(default)]
    pub key_request_fields: Vec<FieldSpec>,
    /// The approval mode of catalog entries that set none.
    #[serde(default = "default_approval")]
    pub default_approval: ApprovalMode,
    /// Tyk's secure key approval: an approval emails a one-use Generate Key link, not the key.
    #[serde(default)]
    pub secure_key_approval: bool,
    /// Tyk's `hide_token_data`: approval emails never contain the key.
    #[serde(default)]
    pub hide_token_data: bool,
    /// Tyk's `redirect_on_key_request` and `redirect_to`: key requests send the developer elsewhere.
    #[serde(default)]
    pub redirect_on_key_request: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_to: Option<HttpUrl>,
    /// Where key requests of `webhook`-approval entries are handed off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_request_webhook: Option<WebhookUrl>,
    /// How long a Generate Key link works (default 72 hours).
    #[serde(default = "default_key_link_ttl")]
    pub key_link_ttl_secs: i64,
    /// Where Gatehouse's own notices to the organisation's admins go (a disabled webhook endpoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_email: Option<Email>,
    /// Sign-ups allowed from one source address per window of the deployment's
    /// `RATE_LIMIT_SIGNUPS_PER_SOURCE`: it can lower that limit, never raise it (1 to 10000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signup_limit_per_source: Option<u32>,
    /// The language of emails and in-app notices to people who chose none, and the fallback of
    /// those whose language has no templates (`en` when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_locale: Option<super::Locale>,
}

fn default_approval() -> ApprovalMode {
    ApprovalMode::Admin
}

fn default_key_link_ttl() -> i64 {
    72 * 3600
}

fn default_reset_ttl() -> i64 {
    3600
}

fn default_session_ttl() -> i64 {
    24 * 3600
}

impl Default for OrgSettings {
    fn default() -> Self {
        Self {
            disable_signup: false,
            confirm_email: true,
            disable_login: false,
            signup_mode: SignupMode::default(),
            signup_fields: Vec::new(),
            portal_url: None,
            password_reset_ttl_secs: default_reset_ttl(),
            session_ttl_secs: default_session_ttl(),
            key_request_fields: Vec::new(),
            default_approval: default_approval(),
            secure_key_approval: false,
            hide_token_data: false,
            redirect_on_key_request: false,
            redirect_to: None,
            key_request_webhook: None,
            key_link_ttl_secs: default_key_link_ttl(),
            admin_email: None,
            signup_limit_per_source: None,
            default_locale: None,
        }
    }
}

fn yes() -> bool {
    true
}

/// Who may create an account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignupMode {
    /// Accounts are active at once.
    #[default]
    Open,
    /// Accounts wait for an admin to approve them.
    AdminApproval,
    /// The portal takes no sign-ups; admins create accounts.
    InviteOnly,
}

/// Where each family of events goes, as in Tyk's organisation `event_options` (`api_event`,
/// `key_event`, `key_request_event`), plus Gatehouse's `developer_event` (sign-ups and account changes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_event: Option<EventTarget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_event: Option<EventTarget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_request_event: Option<EventTarget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub developer_event: Option<EventTarget>,
    /// Admin keys made or revoked and security settings changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_event: Option<EventTarget>,
    /// Keys reaching a threshold of their quota or budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_event: Option<EventTarget>,
    /// Gatehouse's health notices about the organisation's deliveries (an incident tool's inbox).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_event: Option<EventTarget>,
}

impl EventOptions {
    /// Every family's destinations that are set.
    pub fn targets_mut(&mut self) -> impl Iterator<Item = &mut EventTarget> {
        [
            &mut self.api_event,
            &mut self.key_event,
            &mut self.key_request_event,
            &mut self.developer_event,
            &mut self.admin_event,
            &mut self.quota_event,
            &mut self.system_event,
        ]
        .into_iter()
        .flatten()
    }
}

/// One family's destinations: a webhook URL and/or an email address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventTarget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookUrl>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
}

/// What `POST /orgs` asks for, validated.
#[derive(Debug, Clone)]
pub struct NewOrganisation {
    pub id: OrgId,
    pub name: String,
    pub settings: OrgSettings,
    pub event_options: EventOptions,
}

/// What `PATCH /orgs/{org}` may change; absent fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct OrgPatch {
    pub name: Option<String>,
    pub settings: Option<OrgSettings>,
    pub event_options: Option<EventOptions>,
}

impl Organisation {
    pub fn apply(&mut self, patch: OrgPatch, now: String) {
        if let Some(name) = patch.name {
            self.name = name;
        }
        if let Some(settings) = patch.settings {
            self.settings = settings;
        }
        if let Some(options) = patch.event_options {
            self.event_options = options;
        }
        self.updated_at = now;
    }
}

/// An organisation's display name: 1 to 200 characters, no control characters (it goes into
/// email subjects).
pub fn parse_org_name(s: &str) -> Result<String, FieldError> {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > 200 || s.chars().any(char::is_control) {
        return Err(FieldError::new(
            "name",
            "must be 1 to 200 characters without control characters",
        ));
    }
    Ok(s.to_string())
}

/// Parses `settings` from JSON, naming the offending field.
pub fn parse_settings(value: &serde_json::Value, errors: &mut ValidationErrors) -> Option<OrgSettings> {
    let before = errors.0.len();
    // URLs are checked first, so a bad one is reported beside the other settings' errors.
    let mut value = value.clone();
    if let Some(map) = value.as_object_mut() {
        let link_base = |field: &str, text: &str| LinkBase::parse_field(field, text).map(|_| ());
        let any_url = |field: &str, text: &str| HttpUrl::parse_field(field, text).map(|_| ());
        for (name, check) in [
            (
                "portal_url",
                &link_base as &dyn Fn(&str, &str) -> Result<(), FieldError>,
            ),
            ("redirect_to", &any_url),
        ] {
            if let Some(serde_json::Value::String(text)) = map.get(name) {
                if let Err(e) = check(&format!("settings.{name}"), text) {
                    errors.0.push(e);
                    map.remove(name);
                }
            }
        }
    }
    let settings = match serde_path_to_error::deserialize::<_, OrgSettings>(value) {
        Ok(s) => s,
        Err(e) => {
            let path = e.path().to_string();
            let field = if path == "." {
                "settings".to_string()
            } else {
                format!("settings.{path}")
            };
            errors.push(field, e.into_inner().to_string());
            return None;
        }
    };
    check_specs(&settings.signup_fields, "settings.signup_fields", errors);
    check_specs(&settings.key_request_fields, "settings.key_request_fields", errors);
    if settings.redirect_on_key_request && settings.redirect_to.is_none() {
        errors.push("settings.redirect_to", "is required when redirect_on_key_request is on");
    }
    if !(3600..=30 * 86_400).contains(&settings.key_link_ttl_secs) {
        errors.push("settings.key_link_ttl_secs", "must be from 3600 to 2592000 seconds");
    }
    if !(300..=86_400).contains(&settings.password_reset_ttl_secs) {
        errors.push("settings.password_reset_ttl_secs", "must be from 300 to 86400 seconds");
    }
    if !(300..=30 * 86_400).contains(&settings.session_ttl_secs) {
        errors.push("settings.session_ttl_secs", "must be from 300 to 2592000 seconds");
    }
    if settings
        .signup_limit_per_source
        .is_some_and(|n| !(1..=10_000).contains(&n))
    {
        errors.push("settings.signup_limit_per_source", "must be from 1 to 10000");
    }
    (errors.0.len() == before).then_some(settings)
}

impl Organisation {
    /// The base of links in this organisation's emails: its own portal as it is, or the
    /// deployment's portal with the organisation in the path (`{PORTAL_URL}/o/{org}`), so a portal
    /// that several organisations share knows whose page a link opens.
    pub fn link_base(&self, deployment_portal: &LinkBase) -> LinkBase {
        match &self.settings.portal_url {
            Some(own) => own.clone(),
            None => deployment_portal.under(&["o", self.id.as_str()]),
        }
    }
}

/// Whether a changed field (as the audit log names it: `settings.signup_mode`,
/// `event_options.api_event.webhook`) is a security setting, whose change the owners are told of.
pub fn is_security_setting(field: &str) -> bool {
    matches!(
        field,
        "settings.signup_mode"
            | "settings.disable_signup"
            | "settings.disable_login"
            | "settings.confirm_email"
            | "settings.secure_key_approval"
            | "settings.hide_token_data"
    ) || is_destination(field)
}

/// Whether a changed field says where links, emails or webhooks go: only owners change these
/// (`Permission::ChangeDestinations`).
pub fn is_destination(field: &str) -> bool {
    matches!(
        field,
        "settings.portal_url" | "settings.redirect_to" | "settings.key_request_webhook" | "settings.admin_email"
    ) || field.starts_with("event_options.")
}

/// Parses `event_options` from JSON, with a field path for each bad entry.
pub fn parse_event_options(value: &serde_json::Value, errors: &mut ValidationErrors) -> Option<EventOptions> {
    let Some(map) = value.as_object() else {
        errors.push("event_options", "must be an object");
        return None;
    };
    let before = errors.0.len();
    let mut options = EventOptions::default();
    for (key, target) in map {
        let path = format!("event_options.{key}");
        let slot = match key.as_str() {
            "api_event" => &mut options.api_event,
            "key_event" => &mut options.key_event,
            "key_request_event" => &mut options.key_request_event,
            "developer_event" => &mut options.developer_event,
            "admin_event" => &mut options.admin_event,
            "quota_event" => &mut options.quota_event,
            "system_event" => &mut options.system_event,
            _ => {
                errors.push(
                    path,
                    "is not an event family (api_event, key_event, key_request_event, developer_event, admin_event, quota_event, system_event)",
                );
                continue;
            }
        };
        if target.is_null() {
            continue;
        }
        let Some(fields) = target.as_object() else {
            errors.push(path, "must be an object with `webhook` and/or `email`");
            continue;
        };
        let mut parsed = EventTarget::default();
        for (name, v) in fields {
            let field_path = format!("{path}.{name}");
            let text = match v {
                serde_json::Value::Null => continue,
                serde_json::Value::String(s) if s.is_empty() => continue,
                serde_json::Value::String(s) => s.as_str(),
                _ => {
                    errors.push(field_path, "must be a string");
                    continue;
                }
            };
            match name.as_str() {
                "webhook" => parsed.webhook = errors.check(&field_path, WebhookUrl::parse(text)),
                "email" => parsed.email = errors.check(&field_path, Email::parse(text)),
                _ => errors.push(field_path, "is not a destination (webhook, email)"),
            }
        }
        if parsed.webhook.is_some() || parsed.email.is_some() {
            *slot = Some(parsed);
        }
    }
    (errors.0.len() == before).then_some(options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn event_options_parse_with_field_paths() {
        let mut errors = ValidationErrors::default();
        let parsed = parse_event_options(
            &json!({"key_event": {"webhook": "https://hooks.example.com/x", "email": "ops@example.com"}}),
            &mut errors,
        )
        .unwrap();
        assert!(errors.is_empty());
        assert_eq!(
            parsed.key_event.unwrap().webhook.unwrap().as_str(),
            "https://hooks.example.com/x"
        );

        let mut errors = ValidationErrors::default();
        let parsed = parse_event_options(
            &json!({"api_event": {"webhook": "ftp://x"}, "bogus": {}, "key_event": {"email": "nope"}}),
            &mut errors,
        );
        assert!(parsed.is_none());
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"event_options.api_event.webhook"));
        assert!(fields.contains(&"event_options.bogus"));
        assert!(fields.contains(&"event_options.key_event.email"));
    }

    #[test]
    fn webhook_urls_must_be_http_without_credentials() {
        assert!(WebhookUrl::parse("http://127.0.0.1:9000/hook").is_ok());
        for bad in [
            "/relative",
            "javascript:alert(1)",
            "https://user:pw@example.com/",
            "http://",
        ] {
            assert!(WebhookUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_settings_are_refused() {
        let mut errors = ValidationErrors::default();
        assert!(
            parse_settings(&json!({"disable_signup": true}), &mut errors)
                .unwrap()
                .disable_signup
        );
        assert!(parse_settings(&json!({"disable_sign_up": true}), &mut errors).is_none());
        assert_eq!(errors.0[0].field, "settings.disable_sign_up");
        let mut errors = ValidationErrors::default();
        let bad = json!({"signup_mode": "sometimes", "password_reset_ttl_secs": 5});
        assert!(parse_settings(&bad, &mut errors).is_none());
        assert_eq!(errors.0[0].field, "settings.signup_mode");
        let mut errors = ValidationErrors::default();
        assert!(parse_settings(
            &json!({"password_reset_ttl_secs": 5, "portal_url": "nope"}),
            &mut errors
        )
        .is_none());
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["settings.portal_url", "settings.password_reset_ttl_secs"]);
    }
}
