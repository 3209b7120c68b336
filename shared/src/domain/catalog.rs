//! What an organisation offers: APIs, access policies (rate limit, quota, which APIs) and catalog
//! entries (an API published with a policy and an approval mode), as in the Tyk Classic Portal.

use serde::{Deserialize, Serialize};

use super::{ApiId, CatalogId, FieldError, OrgId, PolicyId, ValidationErrors};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Api {
    pub id: ApiId,
    pub org_id: OrgId,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Where the gateway serves it, e.g. `/payments/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen_path: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    /// Requests allowed …
    pub requests: u64,
    /// … per this many seconds.
    pub per_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quota {
    /// Requests allowed per renewal period.
    pub max: u64,
    pub renewal_secs: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    pub id: PolicyId,
    pub org_id: OrgId,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<Rate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<Quota>,
    pub api_ids: Vec<ApiId>,
    /// Tyk's `trigger_limits`: the percentages of the quota at which the key's developer, the
    /// admins who read usage and `event_options.quota_event` are told, once each per period.
    #[serde(default = "default_trigger_limits")]
    pub trigger_limits: Vec<u8>,
    pub created_at: String,
    pub updated_at: String,
}

pub fn default_trigger_limits() -> Vec<u8> {
    vec![80, 100]
}

/// Up to 10 distinct percentages from 1 to 100, kept in rising order.
pub fn check_trigger_limits(given: &[i64], errors: &mut ValidationErrors) -> Vec<u8> {
    let mut limits = Vec::new();
    for (i, value) in given.iter().enumerate() {
        match u8::try_from(*value) {
            Ok(v @ 1..=100) if !limits.contains(&v) => limits.push(v),
            Ok(1..=100) => errors.push(format!("trigger_limits[{i}]"), "appears twice"),
            _ => errors.push(format!("trigger_limits[{i}]"), "must be a percentage from 1 to 100"),
        }
    }
    if given.len() > 10 {
        errors.push("trigger_limits", "must hold at most 10 thresholds");
    }
    limits.sort_unstable();
    limits
}

/// How a key request for a catalog entry is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalMode {
    /// A key is issued at once.
    Auto,
    /// An org admin approves or declines.
    Admin,
    /// The request is handed to a third party's webhook, which answers through the admin API.
    Webhook,
    /// The portal sends the developer to another address instead.
    Redirect,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogEntry {
    pub id: CatalogId,
    pub org_id: OrgId,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub api_id: ApiId,
    pub policy_id: PolicyId,
    /// This entry's approval mode; the organisation's default when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalMode>,
    /// For `redirect`: where to send the developer (else the organisation's `redirect_to`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_to: Option<super::HttpUrl>,
    pub published: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// A display name: 1 to 200 characters, no control characters.
pub fn check_name(name: &str, errors: &mut ValidationErrors) -> String {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        errors.push("name", "must be 1 to 200 characters without control characters");
    }
    name.to_string()
}

/// A description: at most 5000 characters.
pub fn check_description(text: &str, errors: &mut ValidationErrors) -> String {
    if text.chars().count() > 5000 {
        errors.push("description", "must be at most 5000 characters");
    }
    text.to_string()
}

pub fn check_listen_path(path: &str) -> Result<String, FieldError> {
    let ok = path.starts_with('/') && path.len() <= 500 && !path.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(path.to_string())
    } else {
        Err(FieldError::new("listen_path", "must start with / and hold no spaces"))
    }
}

pub fn check_rate(rate: &Rate, errors: &mut ValidationErrors) {
    if rate.requests == 0 || rate.per_secs == 0 {
        errors.push("rate", "requests and per_secs must be at least 1");
    }
}

pub fn check_quota(quota: &Quota, errors: &mut ValidationErrors) {
    if quota.max == 0 || quota.renewal_secs == 0 {
        errors.push("quota", "max and renewal_secs must be at least 1");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_paths_rates_and_urls_are_checked() {
        let mut errors = ValidationErrors::default();
        check_name("  ", &mut errors);
        check_rate(
            &Rate {
                requests: 0,
                per_secs: 1,
            },
            &mut errors,
        );
        check_quota(
            &Quota {
                max: 10,
                renewal_secs: 0,
            },
            &mut errors,
        );
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "rate", "quota"]);
        assert!(check_listen_path("/payments/").is_ok());
        assert!(check_listen_path("payments").is_err());
        assert!(super::super::HttpUrl::parse_field("redirect_to", "https://example.com/apply").is_ok());
        assert!(super::super::HttpUrl::parse_field("redirect_to", "javascript:alert(1)").is_err());
    }
}
