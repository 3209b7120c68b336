//! An organisation's configurable profile fields (`signup_fields`, later `key_request_fields`): what a
//! developer may and must fill in, checked the same way at sign-up, at profile edits and by admins.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::ValidationErrors;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// 1 to 64 lower-case letters, digits and underscores.
    pub name: String,
    #[serde(rename = "type", default)]
    pub kind: FieldType,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    #[default]
    Text,
    Number,
    Boolean,
}

/// Longest text value a field takes.
const MAX_TEXT: usize = 2000;
pub const MAX_FIELDS: usize = 32;

/// Checks a list of field definitions; `path` names it in errors (`settings.signup_fields`).
pub fn check_specs(specs: &[FieldSpec], path: &str, errors: &mut ValidationErrors) {
    if specs.len() > MAX_FIELDS {
        errors.push(path, format!("must have at most {MAX_FIELDS} fields"));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, spec) in specs.iter().enumerate() {
        let ok = !spec.name.is_empty()
            && spec.name.len() <= 64
            && spec
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !ok {
            errors.push(
                format!("{path}[{i}].name"),
                "must be 1 to 64 lower-case letters, digits and underscores",
            );
        } else if !seen.insert(spec.name.as_str()) {
            errors.push(format!("{path}[{i}].name"), "appears twice");
        }
        if spec
            .label
            .as_ref()
            .is_some_and(|l| l.chars().count() > 200 || l.chars().any(char::is_control))
        {
            errors.push(
                format!("{path}[{i}].label"),
                "must be at most 200 characters without control characters",
            );
        }
    }
}

/// How a value set is checked against the specs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completeness {
    /// Every required field must be present (sign-up, admin replacing the set).
    Whole,
    /// Only the fields given are checked (a profile edit); `null` removes an optional field.
    Partial,
}

/// Checks `input` (a JSON object) against `specs`, naming each bad field `fields.<name>`; returns the
/// values to store.
pub fn check_values(
    specs: &[FieldSpec],
    input: Option<&Value>,
    mode: Completeness,
    errors: &mut ValidationErrors,
) -> Map<String, Value> {
    let empty = Map::new();
    let map = match input {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(m)) => m,
        Some(_) => {
            errors.push("fields", "must be an object");
            return Map::new();
        }
    };
    let mut out = Map::new();
    for (name, value) in map {
        let path = format!("fields.{name}");
        let Some(spec) = specs.iter().find(|s| &s.name == name) else {
            errors.push(path, "is not a field of this portal");
            continue;
        };
        if value.is_null() {
            if spec.required {
                errors.push(path, "is required");
            } else {
                out.insert(name.clone(), Value::Null);
            }
            continue;
        }
        let ok = match (spec.kind, value) {
            (FieldType::Text, Value::String(s)) => !s.trim().is_empty() && s.chars().count() <= MAX_TEXT,
            (FieldType::Number, Value::Number(_)) => true,
            (FieldType::Boolean, Value::Bool(_)) => true,
            _ => false,
        };
        if ok {
            out.insert(name.clone(), value.clone());
        } else {
            let expected = match spec.kind {
                FieldType::Text => format!("must be non-empty text of at most {MAX_TEXT} characters"),
                FieldType::Number => "must be a number".into(),
                FieldType::Boolean => "must be true or false".into(),
            };
            errors.push(path, expected);
        }
    }
    if mode == Completeness::Whole {
        for spec in specs.iter().filter(|s| s.required && !map.contains_key(&s.name)) {
            errors.push(format!("fields.{}", spec.name), "is required");
        }
    }
    out
}

/// A stored field set with `changes` applied (`null` removes).
pub fn merge(mut current: Map<String, Value>, changes: Map<String, Value>) -> Map<String, Value> {
    for (k, v) in changes {
        if v.is_null() {
            current.remove(&k);
        } else {
            current.insert(k, v);
        }
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn specs() -> Vec<FieldSpec> {
        serde_json::from_value(json!([
            {"name": "company", "required": true},
            {"name": "seats", "type": "number"},
            {"name": "newsletter", "type": "boolean"}
        ]))
        .unwrap()
    }

    fn fields(errors: &ValidationErrors) -> Vec<&str> {
        errors.0.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn whole_sets_need_required_fields_and_known_names() {
        let mut errors = ValidationErrors::default();
        check_values(
            &specs(),
            Some(&json!({"seats": "ten", "team": "x"})),
            Completeness::Whole,
            &mut errors,
        );
        let mut got = fields(&errors);
        got.sort();
        assert_eq!(got, ["fields.company", "fields.seats", "fields.team"]);

        let mut errors = ValidationErrors::default();
        let out = check_values(
            &specs(),
            Some(&json!({"company": "Acme", "newsletter": true})),
            Completeness::Whole,
            &mut errors,
        );
        assert!(errors.is_empty());
        assert_eq!(out["company"], "Acme");
    }

    #[test]
    fn partial_sets_check_only_what_is_given() {
        let mut errors = ValidationErrors::default();
        let out = check_values(
            &specs(),
            Some(&json!({"seats": 3, "newsletter": null})),
            Completeness::Partial,
            &mut errors,
        );
        assert!(errors.is_empty());
        let merged = merge(
            serde_json::from_value(json!({"company": "A", "newsletter": true})).unwrap(),
            out,
        );
        assert_eq!(Value::Object(merged), json!({"company": "A", "seats": 3}));
        let mut errors = ValidationErrors::default();
        check_values(
            &specs(),
            Some(&json!({"company": null})),
            Completeness::Partial,
            &mut errors,
        );
        assert_eq!(fields(&errors), ["fields.company"]);
    }

    #[test]
    fn specs_are_checked() {
        let mut errors = ValidationErrors::default();
        let bad: Vec<FieldSpec> =
            serde_json::from_value(json!([{"name": "Bad Name"}, {"name": "a"}, {"name": "a"}])).unwrap();
        check_specs(&bad, "settings.signup_fields", &mut errors);
        assert_eq!(
            fields(&errors),
            ["settings.signup_fields[0].name", "settings.signup_fields[2].name"]
        );
    }
}
