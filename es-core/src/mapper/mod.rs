//! [`Mapper`]: domain events to stored events and back. JSON (compact UTF-8), then zlib if
//! configured, then AES-GCM if configured; the reverse on read.

mod cipher;
mod compressor;

use serde_json::Value;
use uuid::Uuid;

use crate::domain::{Envelope, Event, Fields, Timestamp};
use crate::{BoxError, Env, Error, Result, StoredEvent};

pub use cipher::{AesCipher, CIPHER_TOPICS, CipherError};
pub use compressor::{COMPRESSOR_TOPICS, CompressError, DEFAULT_MAX_DECOMPRESSED, ZlibCompressor};

const TIMESTAMP: &str = "timestamp";
const CLASS_VERSION: &str = "class_version";

/// Encodes and decodes event states. `Debug` shows whether compression and encryption are on,
/// never the key.
#[derive(Debug, Clone, Default)]
pub struct Mapper {
    compressor: Option<ZlibCompressor>,
    cipher: Option<AesCipher>,
}

impl Mapper {
    /// Plain JSON.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also compresses.
    #[must_use]
    pub fn with_compressor(mut self, compressor: ZlibCompressor) -> Self {
        self.compressor = Some(compressor);
        self
    }

    /// Also encrypts.
    #[must_use]
    pub fn with_cipher(mut self, cipher: AesCipher) -> Self {
        self.cipher = Some(cipher);
        self
    }

    /// From `COMPRESSOR_TOPIC` (`zlib` or `eventsourcing.compressor:ZlibCompressor`),
    /// `COMPRESSOR_MAX_DECOMPRESSED` (bytes), `CIPHER_TOPIC` (`eventsourcing.cipher:AESCipher`
    /// or `aes-gcm`; the default when only a key is set) and `CIPHER_KEY` (standard base64 of
    /// 16, 24 or 32 bytes), app-prefixed keys first.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the variable for an unknown topic, a cipher topic without a
    /// key, or a malformed key or number. Key material never appears in errors.
    pub fn from_env(env: &Env) -> Result<Self> {
        let mut mapper = Self::new();
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
            (_, Some(key)) => mapper.cipher = Some(AesCipher::from_base64(key)?),
            (Some(_), None) => {
                return Err(Error::config(
                    env.keys_for("CIPHER_KEY").join(", "),
                    "not set, but CIPHER_TOPIC is",
                ));
            }
            (None, None) => {}
        }
        Ok(mapper)
    }

    /// True when states are compressed.
    pub fn compresses(&self) -> bool {
        self.compressor.is_some()
    }

    /// True when states are encrypted.
    pub fn encrypts(&self) -> bool {
        self.cipher.is_some()
    }

    /// Compresses and encrypts serialised state, as configured.
    ///
    /// # Errors
    ///
    /// The compressor's or cipher's error.
    pub fn encode_state(&self, mut state: Vec<u8>) -> Result<Vec<u8>, BoxError> {
        if let Some(z) = &self.compressor {
            state = z.compress(&state)?;
        }
        if let Some(c) = &self.cipher {
            state = c.encrypt(&state)?;
        }
        Ok(state)
    }

    /// Decrypts and decompresses stored state, as configured.
    ///
    /// # Errors
    ///
    /// [`CipherError`] for a wrong key, damage or a short input; [`CompressError`] for a
    /// truncated or corrupt stream or one beyond the bound.
    pub fn decode_state(&self, stored: &[u8]) -> Result<Vec<u8>, BoxError> {
        let decrypted;
        let mut state = stored;
        if let Some(c) = &self.cipher {
            decrypted = c.decrypt(state)?;
            state = &decrypted;
        }
        Ok(match &self.compressor {
            Some(z) => z.decompress(state)?,
            None => state.to_vec(),
        })
    }

    /// The stored form of `envelope`: its fields, timestamp and (above 1) class version as
    /// compact JSON, then compressed and encrypted as configured.
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] naming the topic.
    pub fn to_stored<E: Event>(&self, envelope: &Envelope<E>) -> Result<StoredEvent> {
        let topic = envelope.event.topic_name();
        let encode = |source: BoxError| Error::Encode {
            topic: topic.to_owned(),
            source,
        };
        let mut fields = envelope
            .event
            .to_fields()
            .map_err(|e| encode(Box::new(e)))?;
        fields.insert(
            TIMESTAMP.to_owned(),
            Value::String(envelope.timestamp.to_string()),
        );
        let version = envelope.event.class_version();
        if version > 1 {
            fields.insert(CLASS_VERSION.to_owned(), Value::from(version));
        }
        let json = serde_json::to_vec(&fields).map_err(|e| encode(Box::new(e)))?;
        Ok(StoredEvent {
            originator_id: envelope.originator_id,
            originator_version: envelope.originator_version,
            topic: topic.to_owned(),
            state: self.encode_state(json).map_err(encode)?,
        })
    }

    /// The domain event of a stored one (or of a notification's fields).
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
        let json = self.decode_state(state).map_err(decode)?;
        let mut fields: Fields = serde_json::from_slice(&json).map_err(|e| decode(Box::new(e)))?;
        let timestamp = match fields.remove(TIMESTAMP) {
            Some(Value::String(s)) => Timestamp::parse(&s)
                .ok_or_else(|| decode(format!("invalid timestamp {s:?}").into()))?,
            Some(_) => return Err(decode("timestamp is not a string".into())),
            None => Timestamp::default(),
        };
        let version = match fields.remove(CLASS_VERSION) {
            None => 1,
            Some(v) => v
                .as_u64()
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| decode("invalid class_version".into()))?,
        };
        let event = E::from_fields(topic, version, fields).map_err(|e| decode(e.into()))?;
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
