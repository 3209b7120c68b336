//! Encryption at rest for the secrets Gatehouse must be able to read back (webhook signing secrets).
//! Everything else secret is stored as a hash. XChaCha20-Poly1305 with a random nonce per value; the
//! key comes from configuration (`GATEHOUSE_SECRET_KEY`), never from the table.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::secret::Secret;

const PREFIX: &str = "enc:v1:";

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the secret key must be 32 bytes, base64 encoded")]
    BadKey,
    #[error("a stored secret could not be decrypted (wrong GATEHOUSE_SECRET_KEY, or the value was altered)")]
    Undecryptable,
}

#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(***)")
    }
}

impl SecretBox {
    /// From a base64-encoded 32-byte key.
    pub fn from_base64(key: &Secret) -> Result<Self, CryptoError> {
        let bytes = STANDARD.decode(key.expose().trim()).map_err(|_| CryptoError::BadKey)?;
        if bytes.len() != 32 {
            return Err(CryptoError::BadKey);
        }
        Ok(Self {
            cipher: XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| CryptoError::BadKey)?,
        })
    }

    pub fn seal(&self, plaintext: &Secret) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher
            .encrypt(&nonce, plaintext.expose().as_bytes())
            .expect("XChaCha20-Poly1305 encryption of an in-memory buffer cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{PREFIX}{}", STANDARD.encode(out))
    }

    pub fn open(&self, sealed: &str) -> Result<Secret, CryptoError> {
        let raw = sealed.strip_prefix(PREFIX).ok_or(CryptoError::Undecryptable)?;
        let bytes = STANDARD.decode(raw).map_err(|_| CryptoError::Undecryptable)?;
        if bytes.len() < 24 {
            return Err(CryptoError::Undecryptable);
        }
        let (nonce, body) = bytes.split_at(24);
        let plain = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), body)
            .map_err(|_| CryptoError::Undecryptable)?;
        String::from_utf8(plain)
            .map(Secret::new)
            .map_err(|_| CryptoError::Undecryptable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> Secret {
        Secret::new(STANDARD.encode([byte; 32]))
    }

    #[test]
    fn round_trips_and_hides_the_plaintext() {
        let b = SecretBox::from_base64(&key(7)).unwrap();
        let sealed = b.seal(&Secret::new("whsec_abc"));
        assert!(sealed.starts_with(PREFIX));
        assert!(!sealed.contains("whsec_abc"));
        assert_eq!(b.open(&sealed).unwrap().expose(), "whsec_abc");
        assert_ne!(sealed, b.seal(&Secret::new("whsec_abc")), "nonces differ");
    }

    #[test]
    fn wrong_key_or_tampering_is_refused() {
        let b = SecretBox::from_base64(&key(7)).unwrap();
        let other = SecretBox::from_base64(&key(8)).unwrap();
        let sealed = b.seal(&Secret::new("x"));
        assert!(other.open(&sealed).is_err());
        assert!(b.open("enc:v1:AAAA").is_err());
        assert!(b.open("plain").is_err());
        assert!(SecretBox::from_base64(&Secret::new("c2hvcnQ=")).is_err());
    }
}
