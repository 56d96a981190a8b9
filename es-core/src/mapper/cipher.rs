//! [`AesCipher`]: AES-GCM with the Python library's byte layout `nonce(12) | tag(16) | ciphertext`.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aes_gcm::aead::{AeadInPlace, KeyInit, OsRng, rand_core::RngCore};
use aes_gcm::{Aes128Gcm, Aes256Gcm, AesGcm, Nonce, Tag};
use base64::Engine;

use crate::{Error, Result};

type Aes192Gcm = AesGcm<aes_gcm::aes::Aes192, aes_gcm::aead::consts::U12>;

const NONCE: usize = 12;
const TAG: usize = 16;

/// The cipher topics accepted in `CIPHER_TOPIC` (Python's names and ours).
pub const CIPHER_TOPICS: [&str; 3] = [
    "eventsourcing.cipher:AESCipher",
    "eventsourcing.cryptography:AESCipher",
    "aes-gcm",
];

#[derive(Clone)]
enum Key {
    Aes128(Aes128Gcm),
    Aes192(Aes192Gcm),
    Aes256(Aes256Gcm),
}

/// AES-GCM with a 16, 24 or 32-byte key, a fresh random 12-byte nonce per message from the OS
/// generator, no associated data, and output `nonce | tag | ciphertext`, byte-compatible with the
/// Python library's `AESCipher`. `Debug` never shows the key.
///
/// # Key lifetime
///
/// With random 96-bit nonces, NIST SP 800-38D allows at most 2^32 encryptions under one key.
/// [`encryptions`](Self::encryptions) counts them (per cipher and its clones); rotate the key
/// well before the limit. No public constructor or method accepts a caller-chosen nonce.
#[derive(Clone)]
pub struct AesCipher {
    key: Key,
    encryptions: Arc<AtomicU64>,
}

impl fmt::Debug for AesCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bits = match self.key {
            Key::Aes128(_) => 128,
            Key::Aes192(_) => 192,
            Key::Aes256(_) => 256,
        };
        f.debug_struct("AesCipher")
            .field("bits", &bits)
            .finish_non_exhaustive()
    }
}

/// Why a message could not be decrypted.
#[derive(Debug, thiserror::Error)]
pub enum CipherError {
    /// Shorter than a nonce and a tag.
    #[error("damaged cipher text: {0} bytes is shorter than nonce and tag")]
    TooShort(usize),
    /// The tag did not authenticate: a wrong key or damaged bytes.
    #[error("cipher text is damaged or the key is wrong: MAC check failed")]
    Authentication,
    /// Encryption failed.
    #[error("encryption failed")]
    Encryption,
}

impl AesCipher {
    /// A cipher from `CIPHER_KEY`'s value: standard base64 of 16, 24 or 32 bytes.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming `CIPHER_KEY` (never its value) for bad base64 or length.
    pub fn from_base64(key: &str) -> Result<Self> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(key.trim())
            .map_err(|_| Error::config("CIPHER_KEY", "not standard base64"))?;
        Self::new(&bytes)
    }

    /// A cipher from raw key bytes.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the key is not 16, 24 or 32 bytes.
    pub fn new(key: &[u8]) -> Result<Self> {
        let invalid = || {
            Error::config(
                "CIPHER_KEY",
                format!("invalid key size: {} not in (16, 24, 32)", key.len()),
            )
        };
        let key = match key.len() {
            16 => Key::Aes128(Aes128Gcm::new_from_slice(key).map_err(|_| invalid())?),
            24 => Key::Aes192(Aes192Gcm::new_from_slice(key).map_err(|_| invalid())?),
            32 => Key::Aes256(Aes256Gcm::new_from_slice(key).map_err(|_| invalid())?),
            _ => return Err(invalid()),
        };
        Ok(Self {
            key,
            encryptions: Arc::new(AtomicU64::new(0)),
        })
    }

    /// A new random key of `len` bytes (16, 24 or 32), as standard base64 for `CIPHER_KEY`.
    pub fn create_key(len: usize) -> String {
        let mut key = vec![0; len];
        OsRng.fill_bytes(&mut key);
        base64::engine::general_purpose::STANDARD.encode(key)
    }

    /// How many messages this cipher (and its clones) encrypted.
    pub fn encryptions(&self) -> u64 {
        self.encryptions.load(Ordering::Relaxed)
    }

    /// Encrypts `plain` with a fresh random nonce.
    ///
    /// # Errors
    ///
    /// [`CipherError::Encryption`] (only for messages beyond AES-GCM's length limit).
    pub fn encrypt(&self, plain: &[u8]) -> Result<Vec<u8>, CipherError> {
        let mut nonce = [0; NONCE];
        OsRng.fill_bytes(&mut nonce);
        self.encryptions.fetch_add(1, Ordering::Relaxed);
        self.seal(plain, nonce)
    }

    /// Encrypts with a given nonce. Private: reusing a nonce with one key breaks AES-GCM.
    fn seal(&self, plain: &[u8], nonce: [u8; NONCE]) -> Result<Vec<u8>, CipherError> {
        let mut out = Vec::with_capacity(NONCE + TAG + plain.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&[0; TAG]);
        out.extend_from_slice(plain);
        let (head, body) = out.split_at_mut(NONCE + TAG);
        let n = Nonce::from_slice(&nonce);
        let tag = match &self.key {
            Key::Aes128(c) => c.encrypt_in_place_detached(n, b"", body),
            Key::Aes192(c) => c.encrypt_in_place_detached(n, b"", body),
            Key::Aes256(c) => c.encrypt_in_place_detached(n, b"", body),
        }
        .map_err(|_| CipherError::Encryption)?;
        head[NONCE..].copy_from_slice(&tag);
        Ok(out)
    }

    /// Decrypts `nonce | tag | ciphertext`.
    ///
    /// # Errors
    ///
    /// [`CipherError::TooShort`] or [`CipherError::Authentication`].
    pub fn decrypt(&self, data: &[u8]) -> Result<Vec<u8>, CipherError> {
        if data.len() < NONCE + TAG {
            return Err(CipherError::TooShort(data.len()));
        }
        let (nonce, rest) = data.split_at(NONCE);
        let (tag, ciphertext) = rest.split_at(TAG);
        let mut plain = ciphertext.to_vec();
        let (n, t) = (Nonce::from_slice(nonce), Tag::from_slice(tag));
        match &self.key {
            Key::Aes128(c) => c.decrypt_in_place_detached(n, b"", &mut plain, t),
            Key::Aes192(c) => c.decrypt_in_place_detached(n, b"", &mut plain, t),
            Key::Aes256(c) => c.decrypt_in_place_detached(n, b"", &mut plain, t),
        }
        .map_err(|_| CipherError::Authentication)?;
        Ok(plain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Generated with pycryptodome (`AES.new(key, AES.MODE_GCM, nonce=nonce).encrypt_and_digest`,
    /// written `nonce + tag + ciphertext` as `eventsourcing.cipher:AESCipher` does); the vectors are
    /// repeated in `tests/mapper.rs`, which checks decryption through the public API.
    #[test]
    fn encryption_is_byte_compatible_with_python() {
        let plain = br#"{"timestamp":"2026-11-26T14:00:00.000000+00:00","name":"Fido"}"#;
        let nonce: [u8; 12] = core::array::from_fn(|i| 100 + u8::try_from(i).unwrap_or(0));
        for (key, expected) in [
            (
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
                "6465666768696a6b6c6d6e6fc0ae0c9286b50d2fb11e0488408e64733339aa0f148c25ea5f0f2fcae04758cd70f42b3bba41c144f3e09872cb939f78a4c770f07c22ab34d6c34805cd72e8e33935f98a45687b0abc98c8b9cdfc",
            ),
            (
                "AAECAwQFBgcICQoLDA0ODw==",
                "6465666768696a6b6c6d6e6fae9286a649758228b8144861388a32d561403accb667cb8efa532732bce819dc02be55cea384ef6ca05e85ad8cc2cdc38ad26214bb2817a1a168177cbdb2662bf9f37c1ef8247b0a85e76532eee3",
            ),
        ] {
            let cipher = AesCipher::from_base64(key).unwrap();
            let sealed = cipher.seal(plain, nonce).unwrap();
            let hex: String = sealed.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(hex, expected);
        }
    }
}
