use serde::{Deserialize, Serialize};
use std::fmt;

use super::FieldError;

/// An organisation's id: a slug a frontend can put in its URLs (`acme`, `acme-labs`), 3 to 40
/// characters of lower-case letters, digits and single hyphens. Given at creation or generated.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrgId(String);

impl OrgId {
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let ok_chars = s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !(3..=40).contains(&s.len()) || !ok_chars || s.starts_with('-') || s.ends_with('-') || s.contains("--") {
            return Err(FieldError::new(
                "id",
                "must be 3 to 40 lower-case letters, digits and single hyphens, not starting or ending with a hyphen",
            ));
        }
        Ok(Self(s.to_string()))
    }

    pub fn generate() -> Self {
        Self(format!("org-{}", ulid::Ulid::new().to_string().to_lowercase()))
    }
}

/// Time-ordered, unique ids with a type prefix, so an id in a log says what it names.
macro_rules! prefixed_id {
    ($name:ident, $prefix:literal) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn generate() -> Self {
                Self(format!(
                    "{}{}",
                    $prefix,
                    ulid::Ulid::new().to_string().to_lowercase()
                ))
            }

            /// An id read back from storage or a path; only its shape is checked.
            pub fn parse(s: &str) -> Option<Self> {
                let rest = s.strip_prefix($prefix)?;
                (rest.len() == 26 && rest.chars().all(|c| c.is_ascii_alphanumeric())).then(|| Self(s.to_string()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

prefixed_id!(DeveloperId, "dev_");
prefixed_id!(EventId, "evt_");
prefixed_id!(ApiId, "api_");
prefixed_id!(PolicyId, "pol_");
prefixed_id!(CatalogId, "cat_");
prefixed_id!(KeyRequestId, "kr_");
prefixed_id!(KeyId, "key_");
prefixed_id!(AuditId, "aud_");
prefixed_id!(AdminUserId, "adm_");
prefixed_id!(BudgetId, "bud_");

super::validated_string!(OrgId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_ids_are_url_slugs() {
        assert!(OrgId::parse("acme").is_ok());
        assert!(OrgId::parse("acme-labs-2").is_ok());
        for bad in [
            "ab",
            "Acme",
            "acme_labs",
            "-acme",
            "acme-",
            "ac--me",
            "a/b",
            &"a".repeat(41),
        ] {
            assert!(OrgId::parse(bad).is_err(), "{bad}");
        }
        assert!(OrgId::parse(OrgId::generate().as_str()).is_ok());
    }

    #[test]
    fn prefixed_ids_round_trip() {
        let id = EventId::generate();
        assert_eq!(EventId::parse(id.as_str()), Some(id.clone()));
        assert!(EventId::parse("dev_01h").is_none());
        assert!(DeveloperId::parse(id.as_str()).is_none());
        let a = EventId::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert!(EventId::generate() > a, "ids sort by time");
    }
}
