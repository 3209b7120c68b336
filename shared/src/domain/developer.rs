use argon2::password_hash::{rand_core::OsRng, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};

use super::fields::{check_values, Completeness, FieldSpec};
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
    #[serde(default)]
    pub updated_at: String,
    /// Sessions started at or before this time (epoch milliseconds) are over: set when the password
    /// changes, so no session outlives it, however the sessions themselves are found and deleted.
    #[serde(default)]
    pub sessions_valid_after: i64,
    /// Password links (reset, invitation) made at or before this time (epoch milliseconds) no
    /// longer work: set when the password, the status or the email changes.
    #[serde(default)]
    pub links_valid_after: i64,
    /// The language of their emails and in-app notices (the organisation's default when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<super::Locale>,
    /// Whether the person at `email` is known to have asked for this account: false for an open
    /// sign-up until its confirmation link is followed (`settings.confirm_email`). Until then only
    /// the confirmation email goes to the address, and no key is issued. Accounts from before
    /// confirmation existed, and those an admin made, are confirmed.
    #[serde(default = "confirmed")]
    pub email_confirmed: bool,
}

fn confirmed() -> bool {
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeveloperStatus {
    Active,
    /// Waiting for an admin (sign-up mode `admin_approval`).
    Pending,
    Rejected,
}

/// Hashes of the source addresses of a developer's recent successful logins, newest last: a record
/// of its own, so a login does not rewrite the account (nor the index of accounts by email).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KnownAddresses {
    pub addresses: Vec<String>,
}

impl KnownAddresses {
    /// How many login addresses an account remembers.
    pub const MAX: usize = 10;

    /// Remembers a login address; true when it was new.
    pub fn remember(&mut self, address_hash: String) -> bool {
        let known = self.addresses.contains(&address_hash);
        self.addresses.retain(|a| a != &address_hash);
        self.addresses.push(address_hash);
        let excess = self.addresses.len().saturating_sub(Self::MAX);
        self.addresses.drain(..excess);
        !known
    }
}

impl Developer {
    /// The Gravatar image of the email (Gravatar takes SHA-256 of the trimmed, lower-cased address).
    pub fn gravatar_url(&self) -> String {
        format!(
            "https://www.gravatar.com/avatar/{}?d=identicon",
            crate::secret::token_hash(&self.email.normalized())
        )
    }

    /// The profile as the developer and admins see it (no hash, no address list).
    pub fn profile(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "email": self.email,
            "fields": self.fields,
            "status": self.status,
            "locale": self.locale,
            "email_confirmed": self.email_confirmed,
            "gravatar_url": self.gravatar_url(),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        })
    }
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
            return Err(FieldError::new(
                "password",
                format!("must be at least {} characters", Self::MIN_CHARS),
            ));
        }
        if n > Self::MAX_CHARS {
            return Err(FieldError::new(
                "password",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        Ok(Self(Secret::new(s)))
    }

    /// True when `phc` (an argon2 PHC string) is this password's hash. CPU-bound, like [`Self::hash`].
    pub fn verify(&self, phc: &str) -> bool {
        argon2::password_hash::PasswordHash::new(phc).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(self.0.expose().as_bytes(), &parsed)
                .is_ok()
        })
    }

    /// Verifies against a fixed hash of the same cost, so a login for an unknown account takes as
    /// long as one for a known account.
    pub fn verify_against_nothing(&self) {
        static DUMMY: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| Password(Secret::new("gatehouse-no-such-account")).hash());
        let _ = self.verify(&DUMMY);
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

/// A validated sign-up: `{email, password, fields}`, the fields checked against the organisation's
/// `signup_fields`.
#[derive(Debug, Clone)]
pub struct SignUp {
    pub email: Email,
    pub password: Password,
    pub fields: serde_json::Map<String, serde_json::Value>,
}

impl SignUp {
    pub fn parse(
        email: Option<&str>,
        password: Option<&str>,
        fields: Option<&serde_json::Value>,
        specs: &[FieldSpec],
    ) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let email = required(&mut errors, "email", email).and_then(|e| errors.check("email", Email::parse(e)));
        let password =
            required(&mut errors, "password", password).and_then(|p| errors.check("password", Password::parse(p)));
        let fields = check_values(specs, fields, Completeness::Whole, &mut errors);
        match (email, password) {
            (Some(email), Some(password)) if errors.is_empty() => Ok(Self {
                email,
                password,
                fields,
            }),
            _ => Err(errors),
        }
    }

    /// The account this sign-up creates (hashes the password: CPU-bound).
    pub fn into_developer(self, org_id: OrgId, status: DeveloperStatus, now: String) -> Developer {
        Developer {
            id: DeveloperId::generate(),
            org_id,
            password_hash: self.password.hash(),
            email: self.email,
            fields: self.fields,
            status,
            created_at: now.clone(),
            updated_at: now,
            sessions_valid_after: 0,
            links_valid_after: 0,
            locale: None,
            email_confirmed: true,
        }
    }
}

/// A present value, or an `is required` error for `field`.
pub fn required<'a>(errors: &mut ValidationErrors, field: &str, value: Option<&'a str>) -> Option<&'a str> {
    if value.is_none() {
        errors.push(field, "is required");
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sign_up_reports_every_bad_field() {
        let err = SignUp::parse(Some("nope"), Some("short"), Some(&json!({"team": ["x"]})), &[]).unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["email", "password", "fields.team"]);
        let err = SignUp::parse(None, None, None, &[]).unwrap_err();
        assert_eq!(err.0.len(), 2);
    }

    #[test]
    fn addresses_are_remembered_newest_last_and_capped() {
        let sign_up = SignUp::parse(Some("a@example.com"), Some("long enough password"), None, &[]).unwrap();
        let d = sign_up.into_developer(OrgId::parse("acme").unwrap(), DeveloperStatus::Active, "t".into());
        let mut known = KnownAddresses::default();
        assert!(known.remember("a".into()));
        assert!(!known.remember("a".into()));
        for i in 0..20 {
            known.remember(format!("x{i}"));
        }
        assert_eq!(known.addresses.len(), KnownAddresses::MAX);
        assert_eq!(known.addresses.last().unwrap(), "x19");
        assert!(d.gravatar_url().starts_with("https://www.gravatar.com/avatar/"));
    }

    #[test]
    fn password_hash_is_argon2id_and_hides_the_password() {
        let p = Password::parse("correct horse battery").unwrap();
        assert!(!format!("{p:?}").contains("horse"));
        let h = p.hash();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(!h.contains("horse"));
        assert!(p.verify(&h));
        assert!(!Password::parse("correct horse battery!").unwrap().verify(&h));
        assert!(!p.verify("not a hash"));
    }
}
