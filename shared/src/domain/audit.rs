//! The audit log's entries: who (an admin key, later an admin user) did what (an action on a
//! target), when and from which address, and for settings the fields changed with their old and new
//! values. Secrets never appear: a changed secret is recorded as changed, its values redacted.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::roles::Role;
use super::{AuditId, OrgId};

/// Who acted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditActor {
    /// `admin_key`, `admin_user`, `operator`, or `developer` (a developer's own key changes).
    pub kind: String,
    /// The admin key's id (`ak_…`), the admin user's (`adm_…`) or the developer's (`dev_…`).
    pub id: String,
    /// An admin's role; a developer has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// An admin user's email, so people reading a notice know who it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<crate::domain::Email>,
}

/// One changed field: its path (`settings.signup_mode`) and its values before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub old: Value,
    pub new: Value,
}

/// What a redacted value reads as.
pub const REDACTED: &str = "[redacted]";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: AuditId,
    pub org_id: OrgId,
    pub at: String,
    pub actor: AuditActor,
    /// `<thing>.<verb>`: `settings.changed`, `api.created`, `key_request.approved`, …
    pub action: String,
    /// The id of what was acted on, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The caller's source address.
    pub source: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<FieldChange>,
}

/// The fields that differ between two JSON objects (nested objects compared field by field, paths
/// joined with `.`), under `prefix`. Fields named in `secret` keep only the fact that they changed
/// (a URL keeps its scheme and host: a webhook URL often carries a token in its path).
pub fn changes(prefix: &str, old: &Value, new: &Value, secret: &[&str]) -> Vec<FieldChange> {
    let mut found = Vec::new();
    diff(prefix, old, new, secret, &mut found);
    found
}

fn diff(path: &str, old: &Value, new: &Value, secret: &[&str], found: &mut Vec<FieldChange>) {
    if old == new {
        return;
    }
    // An object appearing or disappearing is compared field by field too, so what it holds is
    // named (and redacted) one field at a time.
    let empty = Value::Object(Default::default());
    let (old, new) = match (old, new) {
        (Value::Null, Value::Object(_)) => (&empty, new),
        (Value::Object(_), Value::Null) => (old, &empty),
        _ => (old, new),
    };
    if let (Value::Object(a), Value::Object(b)) = (old, new) {
        let mut names: Vec<&String> = a.keys().chain(b.keys()).collect();
        names.sort();
        names.dedup();
        for name in names {
            let child = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            diff(
                &child,
                a.get(name).unwrap_or(&Value::Null),
                b.get(name).unwrap_or(&Value::Null),
                secret,
                found,
            );
        }
        return;
    }
    let hidden = secret.iter().any(|s| path == *s || path.ends_with(&format!(".{s}")));
    let shown = |v: &Value| match v {
        Value::Null => Value::Null,
        v if !hidden => v.clone(),
        Value::String(text) => match url::Url::parse(text) {
            Ok(u) if u.host_str().is_some() => Value::from(format!(
                "{}://{}/{REDACTED}",
                u.scheme(),
                u.host_str().unwrap_or_default()
            )),
            _ => Value::from(REDACTED),
        },
        _ => Value::from(REDACTED),
    };
    found.push(FieldChange {
        field: path.to_string(),
        old: shown(old),
        new: shown(new),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn changes_name_each_field_and_redact_secrets() {
        let old = json!({"settings": {"signup_mode": "open", "disable_login": false, "hook": {"secret": "a"},
            "webhook": null}});
        let new = json!({"settings": {"signup_mode": "invite_only", "disable_login": false, "hook": {"secret": "b"},
            "webhook": "https://hooks.example.com/services/T0/B0/token", "new": 1, "added": {"token": "t"}}});
        let found = changes("", &old, &new, &["secret", "webhook", "token"]);
        let fields: Vec<(&str, Value, Value)> = found
            .iter()
            .map(|c| (c.field.as_str(), c.old.clone(), c.new.clone()))
            .collect();
        assert_eq!(
            fields,
            [
                ("settings.added.token", json!(null), json!(REDACTED)),
                ("settings.hook.secret", json!(REDACTED), json!(REDACTED)),
                ("settings.new", json!(null), json!(1)),
                ("settings.signup_mode", json!("open"), json!("invite_only")),
                (
                    "settings.webhook",
                    json!(null),
                    json!("https://hooks.example.com/[redacted]")
                ),
            ]
        );
        assert!(changes("", &old, &old, &[]).is_empty());
    }
}
