//! Encryption at rest for the secrets Gatehouse must be able to read back (webhook signing secrets,
//! unsubscribe tokens). Everything else secret is stored as a hash. XChaCha20-Poly1305 with a random
//! nonce per value; the keys come from configuration (`GATEHOUSE_SECRET_KEY`), never from the table.
//!
//! The setting holds one key or several separated by spaces: the first seals, any opens, so a new key
//! can be put first while values sealed under the old one stay readable. A key is base64 of 32
//! bytes, or a random string of at least 40 characters (what Secrets Manager's
//! `GenerateSecretString` makes), which is hashed into 32 bytes.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

use crate::secret::Secret;

const PREFIX: &str = "enc:v1:";

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("each secret key must be 32 bytes, base64 encoded, or a random string of at least 40 characters")]
    BadKey,
    #[error("a stored secret could not be decrypted (wrong GATEHOUSE_SECRET_KEY, or the value was altered)")]
    Undecryptable,
}

/// Shortest generated key taken: 40 characters of 62 letters and digits carry over 230 bits.
const MIN_GENERATED_KEY: usize = 40;

#[derive(Clone)]
pub struct SecretBox {
    /// The sealing key first, then older keys that only open.
    ciphers: Vec<XChaCha20Poly1305>,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(***)")
    }
}

impl SecretBox {
    /// From the configured keys: one or more, separated by whitespace, the sealing one first.
    pub fn from_keys(keys: &Secret) -> Result<Self, CryptoError> {
        let ciphers = keys
            .expose()
            .split_whitespace()
            .map(key_bytes)
            .map(|bytes| bytes.map(|b| XChaCha20Poly1305::new(&b.into())))
            .collect::<Result<Vec<_>, _>>()?;
        if ciphers.is_empty() {
            return Err(CryptoError::BadKey);
        }
        Ok(Self { ciphers })
    }

    /// From one base64-encoded 32-byte key.
    pub fn from_base64(key: &Secret) -> Result<Self, CryptoError> {
        let bytes = STANDARD.decode(key.expose().trim()).map_err(|_| CryptoError::BadKey)?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(Self {
            ciphers: vec![XChaCha20Poly1305::new(&bytes.into())],
        })
    }

    pub fn seal(&self, plaintext: &Secret) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self.ciphers[0]
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
            .ciphers
            .iter()
            .find_map(|cipher| cipher.decrypt(XNonce::from_slice(nonce), body).ok())
            .ok_or(CryptoError::Undecryptable)?;
        String::from_utf8(plain)
            .map(Secret::new)
            .map_err(|_| CryptoError::Undecryptable)
    }
}

/// One key's 32 bytes: base64 of exactly 32 bytes as given, a long random string hashed.
fn key_bytes(key: &str) -> Result<[u8; 32], CryptoError> {
    if let Ok(bytes) = STANDARD.decode(key) {
        if let Ok(bytes) = <[u8; 32]>::try_from(bytes) {
            return Ok(bytes);
        }
    }
    if key.len() < MIN_GENERATED_KEY {
        return Err(CryptoError::BadKey);
    }
    let mut hash = Sha256::new();
    hash.update(b"gatehouse sealing key v1\0");
    hash.update(key.as_bytes());
    Ok(hash.finalize().into())
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
        assert!(SecretBox::from_keys(&Secret::new("c2hvcnQ=")).is_err());
        assert!(SecretBox::from_keys(&Secret::new("   ")).is_err());
    }

    #[test]
    fn a_new_key_seals_and_the_old_still_opens() {
        let generated = "Xq3vB9kLm2Rt7Yw1Zp4Hs8Nc6Jd0Fg5Ka2Qe9Uo3Ti7";
        let old = SecretBox::from_keys(&key(7)).unwrap();
        let sealed_before = old.seal(&Secret::new("whsec_old"));
        let both = SecretBox::from_keys(&Secret::new(format!("{generated} {}", key(7).expose()))).unwrap();
        assert_eq!(both.open(&sealed_before).unwrap().expose(), "whsec_old");
        let sealed_after = both.seal(&Secret::new("whsec_new"));
        assert!(old.open(&sealed_after).is_err(), "the first key seals");
        let new_only = SecretBox::from_keys(&Secret::new(generated)).unwrap();
        assert_eq!(new_only.open(&sealed_after).unwrap().expose(), "whsec_new");
    }
}
