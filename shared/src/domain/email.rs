use serde::{Deserialize, Serialize};

use super::FieldError;

/// An email address as a person typed it, checked for a sane shape (one `@`, a dotted domain, no
/// spaces or control characters, at most 254 characters). Headers are built from it, so CR and LF can
/// never get through. Uniqueness is decided on [`Email::normalized`] (lower case).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s = input.trim();
        let bad = |m: &str| Err(FieldError::new("email", m));
        if s.is_empty() {
            return bad("is required");
        }
        if s.len() > 254 {
            return bad("must be at most 254 characters");
        }
        if s.chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>' || c == ',')
        {
            return bad("must not contain spaces, control characters, `<`, `>` or `,`");
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return bad("must look like name@example.com");
        };
        if local.is_empty() || local.len() > 64 || local.contains('@') {
            return bad("must look like name@example.com");
        }
        let labels: Vec<&str> = domain.split('.').collect();
        let label_ok = |l: &&str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        if labels.len() < 2 || !labels.iter().all(label_ok) {
            return bad("must have a domain such as example.com");
        }
        Ok(Self(s.to_string()))
    }

    /// The form compared for uniqueness: `Dev@Example.com` and `dev@example.com` are one account.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

super::validated_string!(Email);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses() {
        for ok in ["a@b.co", "first.last+tag@sub.example.org", " Dev@Example.COM "] {
            assert!(Email::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            Email::parse(" Dev@Example.COM ").unwrap().normalized(),
            "dev@example.com"
        );
    }

    #[test]
    fn refuses_malformed_and_injected_addresses() {
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@localhost",
            "a@-x.com",
            "a b@example.com",
            "a@example.com\r\nBcc: victim@example.com",
            "a@exa mple.com",
            "<a@example.com>",
            "a@b..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long).is_err());
    }
}
