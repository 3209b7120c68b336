//! Standard Webhooks signing: `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`,
//! keyed with the base64 bytes after the `whsec_` prefix.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::secret::Secret;

pub const ID_HEADER: &str = "webhook-id";
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
pub const SIGNATURE_HEADER: &str = "webhook-signature";

const PREFIX: &str = "whsec_";

#[derive(Debug, Clone)]
pub struct SigningSecret {
    text: Secret,
    key: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
#[error("a signing secret is `whsec_` followed by base64 of 24 to 64 bytes")]
pub struct BadSecret;

impl SigningSecret {
    pub fn generate() -> Self {
        let mut key = vec![0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Self {
            text: Secret::new(format!("{PREFIX}{}", STANDARD.encode(&key))),
            key,
        }
    }

    pub fn parse(secret: &Secret) -> Result<Self, BadSecret> {
        let encoded = secret.expose().strip_prefix(PREFIX).ok_or(BadSecret)?;
        let key = STANDARD.decode(encoded).map_err(|_| BadSecret)?;
        if !(24..=64).contains(&key.len()) {
            return Err(BadSecret);
        }
        Ok(Self {
            text: secret.clone(),
            key,
        })
    }

    /// The `whsec_…` text, to show the organisation once and to seal for storage.
    pub fn text(&self) -> &Secret {
        &self.text
    }

    /// The `webhook-signature` header value for this message.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC accepts keys of any length");
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_standard_webhooks_reference_vector() {
        // The example from the Standard Webhooks specification.
        let secret = SigningSecret::parse(&Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")).unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn generated_secrets_parse_and_differ() {
        let a = SigningSecret::generate();
        assert!(a.text().expose().starts_with("whsec_"));
        assert!(SigningSecret::parse(a.text()).is_ok());
        assert_ne!(a.text(), SigningSecret::generate().text());
        assert!(SigningSecret::parse(&Secret::new("whsec_c2hvcnQ=")).is_err());
        assert!(SigningSecret::parse(&Secret::new("nope")).is_err());
    }
}
