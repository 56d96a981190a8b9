//! [`Mapper`]: domain events to stored events and back. JSON (compact UTF-8), then zlib if
//! configured, then AES-GCM if configured; the reverse on read.

#[cfg(feature = "cipher")]
mod cipher;
#[cfg(feature = "zlib")]
mod compressor;
mod json;
mod snapshot;

use std::borrow::Cow;

use uuid::Uuid;

use crate::domain::{Envelope, Event};
use crate::{BoxError, Env, Error, Result, StoredEvent};

#[cfg(feature = "cipher")]
pub use cipher::{AesCipher, CIPHER_TOPICS, CipherError};
#[cfg(feature = "zlib")]
pub use compressor::{COMPRESSOR_TOPICS, CompressError, DEFAULT_MAX_DECOMPRESSED, ZlibCompressor};

/// How event states and topics are written (`STORED_FORMAT`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoredFormat {
    /// This library's: topics `Dog.Registered`, the timestamp a string, keys sorted.
    #[default]
    Native,
    /// The Python library's (`eventsourcing` 9.5): topics `module:Qualname.Registered` from
    /// [`Event::PYTHON`], the timestamp transcoded as `datetime_iso`, `originator_topic` in the
    /// version-1 event, fields in declaration order. Snapshots in that format are not written
    /// yet.
    Python,
}

impl StoredFormat {
    /// From `STORED_FORMAT` (`native`, the default, or `python`), app-prefixed key first.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming `STORED_FORMAT` for another value.
    pub fn from_env(env: &Env) -> Result<Self> {
        match env.get("STORED_FORMAT").map(str::trim) {
            None | Some("" | "native") => Ok(Self::Native),
            Some("python") => Ok(Self::Python),
            Some(_) => Err(Error::config(
                env.keys_for("STORED_FORMAT").join(", "),
                "expected native or python",
            )),
        }
    }
}

/// Encodes and decodes event states. `Debug` shows whether compression and encryption are on,
/// never the key.
#[derive(Debug, Clone, Default)]
pub struct Mapper {
    format: StoredFormat,
    #[cfg(feature = "zlib")]
    compressor: Option<ZlibCompressor>,
    #[cfg(feature = "cipher")]
    cipher: Option<AesCipher>,
}

impl Mapper {
    /// Plain JSON.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes and reads `format`.
    #[must_use]
    pub fn with_format(mut self, format: StoredFormat) -> Self {
        self.format = format;
        self
    }

    /// The stored format.
    pub fn format(&self) -> StoredFormat {
        self.format
    }

    /// Also compresses.
    #[cfg(feature = "zlib")]
    #[must_use]
    pub fn with_compressor(mut self, compressor: ZlibCompressor) -> Self {
        self.compressor = Some(compressor);
        self
    }

    /// Also encrypts.
    #[cfg(feature = "cipher")]
    #[must_use]
    pub fn with_cipher(mut self, cipher: AesCipher) -> Self {
        self.cipher = Some(cipher);
        self
    }

    /// From `STORED_FORMAT` ([`StoredFormat::from_env`]), `COMPRESSOR_TOPIC` (`zlib` or
    /// `eventsourcing.compressor:ZlibCompressor`),
    /// `COMPRESSOR_MAX_DECOMPRESSED` (bytes), `CIPHER_TOPIC` (`eventsourcing.cipher:AESCipher`
    /// or `aes-gcm`; the default when only a key is set) and `CIPHER_KEY` (standard base64 of
    /// 16, 24 or 32 bytes), app-prefixed keys first.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the variable for an unknown topic, a cipher topic without a
    /// key, or a malformed key or number; for a compressor or cipher setting in a build
    /// without the `zlib` or `cipher` feature, naming the feature. Key material never appears
    /// in errors.
    pub fn from_env(env: &Env) -> Result<Self> {
        #[allow(unused_mut)] // Without both features there is nothing more to configure.
        let mut mapper = Self::new().with_format(StoredFormat::from_env(env)?);
        #[cfg(not(feature = "zlib"))]
        not_compiled(env, "COMPRESSOR_TOPIC", "zlib")?;
        #[cfg(feature = "zlib")]
        match env.get("COMPRESSOR_TOPIC").map(str::trim) {
            None | Some("") => {}
            Some(topic) if COMPRESSOR_TOPICS.contains(&topic) => {
                let max = env
                    .parse("COMPRESSOR_MAX_DECOMPRESSED")?
                    .unwrap_or(DEFAULT_MAX_DECOMPRESSED);
                mapper.compressor = Some(ZlibCompressor {
                    max_decompressed: max,
                });
            }
            Some(_) => {
                return Err(Error::config(
                    "COMPRESSOR_TOPIC",
                    format!("unknown compressor; expected one of {COMPRESSOR_TOPICS:?}"),
                ));
            }
        }
        #[cfg(not(feature = "cipher"))]
        {
            not_compiled(env, "CIPHER_TOPIC", "cipher")?;
            not_compiled(env, "CIPHER_KEY", "cipher")?;
        }
        #[cfg(feature = "cipher")]
        mapper.configure_cipher(env)?;
        Ok(mapper)
    }

    #[cfg(feature = "cipher")]
    fn configure_cipher(&mut self, env: &Env) -> Result<()> {
        let topic = env
            .get("CIPHER_TOPIC")
            .map(str::trim)
            .filter(|t| !t.is_empty());
        if let Some(topic) = topic
            && !CIPHER_TOPICS.contains(&topic)
        {
            return Err(Error::config(
                "CIPHER_TOPIC",
                format!("unknown cipher; expected one of {CIPHER_TOPICS:?}"),
            ));
        }
        match (
            topic,
            env.get("CIPHER_KEY").filter(|k| !k.trim().is_empty()),
        ) {
            (_, Some(key)) => self.cipher = Some(AesCipher::from_base64(key)?),
            (Some(_), None) => {
                return Err(Error::config(
                    env.keys_for("CIPHER_KEY").join(", "),
                    "not set, but CIPHER_TOPIC is",
                ));
            }
            (None, None) => {}
        }
        Ok(())
    }

    /// True when states are compressed.
    pub fn compresses(&self) -> bool {
        #[cfg(feature = "zlib")]
        return self.compressor.is_some();
        #[cfg(not(feature = "zlib"))]
        false
    }

    /// True when states are encrypted.
    pub fn encrypts(&self) -> bool {
        #[cfg(feature = "cipher")]
        return self.cipher.is_some();
        #[cfg(not(feature = "cipher"))]
        false
    }

    /// Compresses and encrypts serialised state, as configured.
    ///
    /// # Errors
    ///
    /// The compressor's or cipher's error.
    #[allow(unused_mut)] // Without both features the state passes through.
    pub fn encode_state(&self, mut state: Vec<u8>) -> Result<Vec<u8>, BoxError> {
        #[cfg(feature = "zlib")]
        if let Some(z) = &self.compressor {
            state = z.compress(&state)?;
        }
        #[cfg(feature = "cipher")]
        if let Some(c) = &self.cipher {
            state = c.encrypt(&state)?;
        }
        Ok(state)
    }

    /// The stored state decrypted and decompressed as configured, borrowed when neither is.
    fn plain_state<'a>(&self, stored: &'a [u8]) -> Result<Cow<'a, [u8]>, BoxError> {
        #[cfg(feature = "cipher")]
        if self.cipher.is_some() {
            return self.decode_state(stored).map(Cow::Owned);
        }
        #[cfg(feature = "zlib")]
        if self.compressor.is_some() {
            return self.decode_state(stored).map(Cow::Owned);
        }
        Ok(Cow::Borrowed(stored))
    }

    /// Decrypts and decompresses stored state, as configured.
    ///
    /// # Errors
    ///
    /// The cipher's error for a wrong key, damage or a short input; the compressor's for a
    /// truncated or corrupt stream or one beyond the bound.
    pub fn decode_state(&self, stored: &[u8]) -> Result<Vec<u8>, BoxError> {
        #[cfg(feature = "cipher")]
        let decrypted;
        #[allow(unused_mut)]
        let mut state = stored;
        #[cfg(feature = "cipher")]
        if let Some(c) = &self.cipher {
            decrypted = c.decrypt(state)?;
            state = &decrypted;
        }
        #[cfg(feature = "zlib")]
        if let Some(z) = &self.compressor {
            return Ok(z.decompress(state)?);
        }
        Ok(state.to_vec())
    }

    /// The stored form of `envelope`: its fields, timestamp and (above 1) class version as
    /// compact JSON, written straight from the event's `Serialize`, then compressed and
    /// encrypted as configured.
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] naming the topic.
    pub fn to_stored<E: Event>(&self, envelope: &Envelope<E>) -> Result<StoredEvent> {
        let mut json = Vec::with_capacity(256);
        let encode = |source: BoxError| Error::Encode {
            topic: envelope.event.topic(),
            source,
        };
        let topic = match self.format {
            StoredFormat::Native => {
                json::write_state(&envelope.event, envelope.timestamp, &mut json)
                    .map_err(|e| encode(Box::new(e)))?
            }
            StoredFormat::Python => json::write_python_state(
                &envelope.event,
                envelope.timestamp,
                envelope.originator_version,
                &mut json,
            )
            .map_err(|e| encode(e.into()))?,
        };
        let state = self.encode_state(json).map_err(|source| Error::Encode {
            topic: topic.clone(),
            source,
        })?;
        Ok(StoredEvent {
            originator_id: envelope.originator_id,
            originator_version: envelope.originator_version,
            topic,
            state,
        })
    }

    /// The domain event of a stored one (or of a notification's fields), read straight into
    /// `E` (through its upcasters for older class versions).
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] naming topic, originator and version, for a wrong key, damaged bytes,
    /// bad JSON, an unknown topic or a field that does not decode.
    pub fn to_envelope<E: Event>(
        &self,
        originator_id: Uuid,
        originator_version: u64,
        topic: &str,
        state: &[u8],
    ) -> Result<Envelope<E>> {
        let decode = |source: BoxError| Error::Decode {
            topic: topic.to_owned(),
            originator_id,
            originator_version,
            source,
        };
        let json = self.plain_state(state).map_err(decode)?;
        let (event, timestamp) = match self.format {
            StoredFormat::Native => json::read_state::<E>(topic, &json),
            StoredFormat::Python => json::read_python_state::<E>(topic, originator_version, &json),
        }
        .map_err(|e| decode(e.into()))?;
        Ok(Envelope {
            originator_id,
            originator_version,
            timestamp,
            event,
        })
    }

    /// [`to_envelope`](Self::to_envelope) of a stored event.
    ///
    /// # Errors
    ///
    /// As [`to_envelope`](Self::to_envelope).
    pub fn decode<E: Event>(&self, stored: &StoredEvent) -> Result<Envelope<E>> {
        self.to_envelope(
            stored.originator_id,
            stored.originator_version,
            &stored.topic,
            &stored.state,
        )
    }
}

/// [`Error::Config`] naming `key` and `feature` when `key` is set in a build without `feature`.
#[cfg(not(all(feature = "zlib", feature = "cipher")))]
fn not_compiled(env: &Env, key: &str, feature: &str) -> Result<()> {
    match env.get(key).map(str::trim).filter(|v| !v.is_empty()) {
        Some(_) => Err(Error::config(
            key,
            format!("set, but this build has no `{feature}` feature; enable it in Cargo.toml"),
        )),
        None => Ok(()),
    }
}
