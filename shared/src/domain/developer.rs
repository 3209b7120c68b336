use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};

use super::{DeveloperId, Email, FieldError, OrgId, ValidationErrors};
use crate::secret::Secret;

/// A developer account of one organisation. The same email in two organisations is two accounts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Developer {
    pub id: DeveloperId,
    pub org_id: OrgId,
    pub email: Email,
    /// argon2id PHC string; the password itself is never stored.
    pub password_hash: String,
    pub fields: serde_json::Map<String, serde_json::Value>,
    pub status: DeveloperStatus,
    pub created_at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeveloperStatus {
    Active,
    Pending,
}

/// A password as typed: 12 to 256 characters. Never printed (see [`Secret`]).
#[derive(Debug, Clone)]
pub struct Password(Secret);

impl Password {
    pub const MIN_CHARS: usize = 12;
    pub const MAX_CHARS: usize = 256;

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let n = s.chars().count();
        if n < Self::MIN_CHARS {
            return Err(FieldError::new("password", format!("must be at least {} characters", Self::MIN_CHARS)));
        }
        if n > Self::MAX_CHARS {
            return Err(FieldError::new("password", format!("must be at most {} characters", Self::MAX_CHARS)));
        }
        Ok(Self(Secret::new(s)))
    }

    /// argon2id with OWASP's first recommended parameters (m = 19 MiB, t = 2, p = 1). CPU-bound for
    /// tens of milliseconds: call it off the async executor.
    pub fn hash(&self) -> String {
        let params = Params::new(19 * 1024, 2, 1, None).expect("static argon2 parameters are valid");
        let salt = SaltString::generate(&mut OsRng);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(self.0.expose().as_bytes(), &salt)
            .expect("argon2 hashing with valid parameters and salt cannot fail")
            .to_string()
    }
}

/// A validated sign-up: `{email, password, fields}`.
#[derive(Debug, Clone)]
pub struct SignUp {
    pub email: Email,
    pub password: Password,
    pub fields: serde_json::Map<String, serde_json::Value>,
}

impl SignUp {
    const MAX_FIELDS: usize = 32;

    pub fn parse(
        email: Option<&str>,
        password: Option<&str>,
        fields: Option<&serde_json::Value>,
    ) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let email = match email {
            Some(e) => errors.check("email", Email::parse(e)),
            None => {
                errors.push("email", "is required");
                None
            }
        };
        let password = match password {
            Some(p) => errors.check("password", Password::parse(p)),
            None => {
                errors.push("password", "is required");
                None
            }
        };
        let fields = match fields {
            None | Some(serde_json::Value::Null) => Some(serde_json::Map::new()),
            Some(serde_json::Value::Object(map)) => {
                let before = errors.0.len();
                if map.len() > Self::MAX_FIELDS {
                    errors.push("fields", format!("must have at most {} entries", Self::MAX_FIELDS));
                }
                for (k, v) in map {
                    let ok_value = match v {
                        serde_json::Value::String(s) => s.chars().count() <= 2000,
                        serde_json::Value::Bool(_) | serde_json::Value::Number(_) => true,
                        _ => false,
                    };
                    if k.is_empty() || k.len() > 64 || !ok_value {
                        errors.push(
                            format!("fields.{k}"),
                            "must be a string (at most 2000 characters), number or boolean under a name of 1 to 64 characters",
                        );
                    }
                }
                (errors.0.len() == before).then(|| map.clone())
            }
            Some(_) => {
                errors.push("fields", "must be an object");
                None
            }
        };
        match (email, password, fields) {
            (Some(email), Some(password), Some(fields)) if errors.is_empty() => Ok(Self { email, password, fields }),
            _ => Err(errors),
        }
    }

    /// The account this sign-up creates (hashes the password: CPU-bound).
    pub fn into_developer(self, org_id: OrgId, now: String) -> Developer {
        Developer {
            id: DeveloperId::generate(),
            org_id,
            password_hash: self.password.hash(),
            email: self.email,
            fields: self.fields,
            status: DeveloperStatus::Active,
            created_at: now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sign_up_reports_every_bad_field() {
        let err = SignUp::parse(Some("nope"), Some("short"), Some(&json!({"team": ["x"]}))).unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["email", "password", "fields.team"]);
        let err = SignUp::parse(None, None, None).unwrap_err();
        assert_eq!(err.0.len(), 2);
    }

    #[test]
    fn password_hash_is_argon2id_and_hides_the_password() {
        let p = Password::parse("correct horse battery").unwrap();
        assert!(!format!("{p:?}").contains("horse"));
        let h = p.hash();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(!h.contains("horse"));
    }
}
