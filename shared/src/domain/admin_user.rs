//! The people who run an organisation: admin users, each with a role (`roles::Role`), a password
//! chosen through an emailed one-use link, a name and a locale of their own.

use serde::{Deserialize, Serialize};

use super::roles::Role;
use super::{AdminUserId, Email, FieldError, OrgId};

/// An admin user of one organisation. Emails are unique among an organisation's admin users (a
/// person may also hold a developer account; the two are separate).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminUser {
    pub id: AdminUserId,
    pub org_id: OrgId,
    pub email: Email,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<Locale>,
    pub role: Role,
    pub status: AdminStatus,
    /// argon2id PHC string; empty until the invitation is accepted.
    #[serde(default)]
    pub password_hash: String,
    pub created_at: String,
    pub updated_at: String,
    /// Sessions started at or before this time (epoch milliseconds) are over: set when the password
    /// or the role changes.
    #[serde(default)]
    pub sessions_valid_after: i64,
    /// Password links (reset, invitation) made at or before this time (epoch milliseconds) no
    /// longer work: set when the password changes.
    #[serde(default)]
    pub links_valid_after: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminStatus {
    /// Invited; no password yet, so no login.
    Invited,
    Active,
}

impl AdminUser {
    /// A live owner: one who can act (an invited owner cannot until they accept).
    pub fn is_acting_owner(&self) -> bool {
        self.role == Role::Owner && self.status == AdminStatus::Active
    }

    /// An active admin user whose role holds `permission`.
    pub fn acts_with(&self, permission: super::roles::Permission) -> bool {
        self.status == AdminStatus::Active && self.role.allows(permission)
    }

    /// The admin user as routes show them (never the hash).
    pub fn view(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "locale": self.locale,
            "role": self.role,
            "status": self.status,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        })
    }
}

/// A person's language and region: `en`, `de`, `pt_BR`, `de-AT` (stored with `_`), as email
/// templates are looked up by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Locale(String);

impl Locale {
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let bad = || {
            FieldError::new(
                "locale",
                "must be a language code with an optional region, like en, de or pt_BR",
            )
        };
        let (language, region) = match s.split_once(['_', '-']) {
            Some((l, r)) => (l, Some(r)),
            None => (s, None),
        };
        let language_ok = (2..=3).contains(&language.len()) && language.chars().all(|c| c.is_ascii_lowercase());
        let region_ok = region.is_none_or(|r| {
            (r.len() == 2 && r.chars().all(|c| c.is_ascii_uppercase()))
                || (r.len() == 3 && r.chars().all(|c| c.is_ascii_digit()))
        });
        if !language_ok || !region_ok {
            return Err(bad());
        }
        Ok(Self(match region {
            Some(r) => format!("{language}_{r}"),
            None => language.to_string(),
        }))
    }
}

super::validated_string!(Locale);

impl Locale {
    /// The language without its region (`pt` of `pt_BR`).
    pub fn language(&self) -> &str {
        self.0.split('_').next().unwrap_or(&self.0)
    }

    /// The language every template exists in, the last fallback.
    pub const FALLBACK: &'static str = "en";

    /// Where to look for a template, best first: the person's locale, its language, the
    /// organisation's default locale, its language, then English (`pt_BR` → `pt` → org → `en`).
    pub fn fallbacks(person: Option<&Locale>, org_default: Option<&Locale>) -> Vec<String> {
        let mut chain: Vec<String> = Vec::new();
        for locale in [person, org_default].into_iter().flatten() {
            for candidate in [locale.as_str(), locale.language()] {
                if !chain.iter().any(|c| c == candidate) {
                    chain.push(candidate.to_string());
                }
            }
        }
        if !chain.iter().any(|c| c == Self::FALLBACK) {
            chain.push(Self::FALLBACK.to_string());
        }
        chain
    }
}

/// An admin's display name: 1 to 100 characters, no control characters.
pub fn parse_person_name(s: &str) -> Result<String, FieldError> {
    let trimmed = s.trim();
    if trimmed.is_empty() || trimmed.chars().count() > 100 || trimmed.chars().any(char::is_control) {
        return Err(FieldError::new(
            "name",
            "must be 1 to 100 characters without control characters",
        ));
    }
    Ok(trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locales_are_a_language_and_an_optional_region() {
        for (given, stored) in [
            ("en", "en"),
            ("de", "de"),
            ("pt_BR", "pt_BR"),
            ("de-AT", "de_AT"),
            ("es_419", "es_419"),
        ] {
            assert_eq!(Locale::parse(given).unwrap().as_str(), stored);
        }
        for bad in ["", "e", "EN", "english", "pt_br", "de_", "de_AUT", "../en", "en US"] {
            assert!(Locale::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn templates_fall_back_from_region_to_language_to_organisation_to_english() {
        let locale = |s: &str| Locale::parse(s).unwrap();
        assert_eq!(
            Locale::fallbacks(Some(&locale("pt_BR")), Some(&locale("de_AT"))),
            ["pt_BR", "pt", "de_AT", "de", "en"]
        );
        assert_eq!(Locale::fallbacks(Some(&locale("de_AT")), None), ["de_AT", "de", "en"]);
        assert_eq!(Locale::fallbacks(None, Some(&locale("en"))), ["en"]);
        assert_eq!(
            Locale::fallbacks(Some(&locale("fr")), Some(&locale("fr_CA"))),
            ["fr", "fr_CA", "en"]
        );
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(parse_person_name("  Ada Lovelace ").unwrap(), "Ada Lovelace");
        assert!(parse_person_name(" ").is_err());
        assert!(parse_person_name(&"a".repeat(101)).is_err());
        assert!(parse_person_name("a\u{7}b").is_err());
    }
}
