use serde::{Deserialize, Serialize};

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use super::FieldError;

/// An email address as a person typed it, checked for a sane shape (a local part the mail stack
/// accepts, a dotted domain, no spaces, control or invisible format characters, at most 254
/// characters). Headers are built from it, so CR and LF can never get through; and an address that
/// passes here is one the mailer takes, so an account can always be reached. Internationalised local
/// parts and domains, and quoted local parts, are kept. Uniqueness is decided on
/// [`Email::normalized`] (lower case).
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
        // Zero-width spaces, direction overrides and the like make one address look like another.
        if s.chars().any(|c| c.general_category() == GeneralCategory::Format) {
            return bad("must not contain invisible formatting characters");
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return bad("must look like name@example.com");
        };
        if local.is_empty() || local.len() > 64 || local.contains('@') {
            return bad("must look like name@example.com");
        }
        // The mailer's own rule (RFC 5321 dot-atom or quoted string, RFC 6531 UTF-8): no leading,
        // trailing or doubled dot.
        if !email_address::EmailAddress::is_valid_local_part(local) {
            return bad("has a name part mail servers refuse (check the dots and special characters)");
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
        for ok in [
            "a@b.co",
            "first.last+tag@sub.example.org",
            " Dev@Example.COM ",
            "jörg@bücher.example",
            "用户@例子.广告",
            "\"quoted.name\"@example.com",
            "o'brien@example.ie",
        ] {
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
            ".a@example.com",
            "a.@example.com",
            "a..b@example.com",
            "a\u{200B}@example.com",
            "ad\u{202E}a@example.com",
            "a@exam\u{200D}ple.com",
            "\u{FEFF}a@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long).is_err());
    }
}
