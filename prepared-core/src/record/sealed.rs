//! [`SealedPayload`]: a recorded payload at rest, encrypted with AES-256-GCM under a
//! [`RecordKey`], or in clear when the receiver has no key.
//!
//! Each payload is sealed with a random 96-bit nonce, and the record's key (the dedup key) as
//! associated data, so a payload copied onto another record does not open. The key id kept
//! beside it is derived from the key (the first 8 bytes of its SHA-256, in hex), so several
//! keys can be given for reading while the first one seals: rotating is adding the new key
//! first and keeping the old one until its records have aged out.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use base64::Engine as _;
use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::redact::RedactedLen;

/// A recorded payload as it is stored: ciphertext with its key id, or the payload in clear.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedPayload {
    key_id: Option<String>,
    bytes: Bytes,
}

impl SealedPayload {
    /// A payload stored in clear (no key).
    pub fn clear(payload: Bytes) -> Self {
        Self {
            key_id: None,
            bytes: payload,
        }
    }

    /// A payload as a log stored it: its key id (`None` in clear) and its bytes.
    pub fn from_stored(key_id: Option<String>, bytes: Bytes) -> Self {
        Self { key_id, bytes }
    }

    /// The id of the key that sealed it; `None` when it is stored in clear.
    pub fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    /// The stored bytes: the nonce and the ciphertext, or the payload in clear.
    pub fn stored_bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// Whether the payload is encrypted.
    pub fn is_encrypted(&self) -> bool {
        self.key_id.is_some()
    }
}

impl fmt::Debug for SealedPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedPayload")
            .field("key_id", &self.key_id)
            .field("bytes", &RedactedLen(self.bytes.len()))
            .finish()
    }
}

/// One AES-256 key for payloads at rest.
pub struct RecordKey {
    id: String,
    key: RandomizedNonceKey,
}

impl RecordKey {
    /// A key from its 32 bytes.
    pub fn new(bytes: &[u8; 32]) -> Self {
        let digest = Sha256::digest(bytes);
        let id = digest[..8]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        // AES_256_GCM takes exactly 32 bytes, which the type guarantees.
        let key = RandomizedNonceKey::new(&AES_256_GCM, bytes)
            .unwrap_or_else(|_| unreachable!("a 32-byte key is an AES-256 key"));
        Self { id, key }
    }

    /// A key from its 32 bytes in standard base64 (e.g. `openssl rand -base64 32`), as
    /// `PREPARED_RECORD_KEY` gives it.
    pub fn from_base64(encoded: &str) -> Result<Self, KeyError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| KeyError::NotBase64)?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|bytes: Vec<u8>| KeyError::Length(bytes.len()))?;
        Ok(Self::new(&bytes))
    }

    /// The key's id, as stored beside what it seals.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl fmt::Debug for RecordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A key given in a form that is not 32 bytes of base64.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Not standard base64.
    #[error("a record key is 32 bytes in standard base64, and this is not base64")]
    NotBase64,
    /// Base64 of another length.
    #[error("a record key is 32 bytes, and this one is {0}")]
    Length(usize),
}

/// The keys of a receiver or a tool: the first seals, every one opens what it sealed. Cheap
/// to clone (the keys are shared).
#[derive(Clone, Debug)]
pub struct RecordKeys {
    keys: Vec<Arc<RecordKey>>,
}

impl RecordKeys {
    /// Keys that seal with `current`.
    pub fn new(current: RecordKey) -> Self {
        Self {
            keys: vec![Arc::new(current)],
        }
    }

    /// Also opens what `previous` sealed (after a rotation).
    #[must_use]
    pub fn with_previous(mut self, previous: RecordKey) -> Self {
        self.keys.push(Arc::new(previous));
        self
    }

    /// Keys from a comma-separated list of base64 keys, the current one first, as
    /// `PREPARED_RECORD_KEY` gives them.
    pub fn from_base64_list(list: &str) -> Result<Self, KeyError> {
        let mut keys = list
            .split(',')
            .filter(|item| !item.trim().is_empty())
            .map(RecordKey::from_base64);
        let first = keys.next().unwrap_or(Err(KeyError::Length(0)))?;
        keys.try_fold(Self::new(first), |keys, key| Ok(keys.with_previous(key?)))
    }

    /// Encrypts a payload for the record `record_key`.
    pub fn seal(&self, record_key: &str, payload: &[u8]) -> Result<SealedPayload, OpenError> {
        let key = &self.keys[0];
        let mut sealed = payload.to_vec();
        let nonce = key
            .key
            .seal_in_place_append_tag(Aad::from(record_key.as_bytes()), &mut sealed)
            .map_err(|_| OpenError::Crypto)?;
        let mut bytes = Vec::with_capacity(NONCE_LEN + sealed.len());
        bytes.extend_from_slice(nonce.as_ref());
        bytes.extend_from_slice(&sealed);
        Ok(SealedPayload {
            key_id: Some(key.id.clone()),
            bytes: Bytes::from(bytes),
        })
    }

    /// The payload of the record `record_key`, decrypted (or as it is, if it is in clear).
    pub fn open(&self, record_key: &str, payload: &SealedPayload) -> Result<Bytes, OpenError> {
        open(Some(self), record_key, payload)
    }
}

/// Reads a sealed payload back, with the keys if there are any: a payload in clear needs none.
pub(crate) fn open(
    keys: Option<&RecordKeys>,
    record_key: &str,
    payload: &SealedPayload,
) -> Result<Bytes, OpenError> {
    let Some(id) = &payload.key_id else {
        return Ok(payload.bytes.clone());
    };
    let key = keys
        .and_then(|keys| keys.keys.iter().find(|key| key.id == *id))
        .ok_or_else(|| OpenError::UnknownKey(id.clone()))?;
    if payload.bytes.len() < NONCE_LEN {
        return Err(OpenError::Crypto);
    }
    let (nonce, sealed) = payload.bytes.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OpenError::Crypto)?;
    let mut in_out = sealed.to_vec();
    let opened = key
        .key
        .open_in_place(nonce, Aad::from(record_key.as_bytes()), &mut in_out)
        .map_err(|_| OpenError::Crypto)?;
    Ok(Bytes::copy_from_slice(opened))
}

/// A sealed payload that could not be read back.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// It was sealed with a key that was not given (its id is shown).
    #[error("the payload was sealed with key `{0}`, which was not given")]
    UnknownKey(String),
    /// The ciphertext does not open with its key: altered, or not this record's.
    #[error("the payload does not decrypt with its key")]
    Crypto,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_payload_opens_only_with_its_key_and_for_its_record() {
        let keys = RecordKeys::new(RecordKey::new(&[7; 32]));
        let sealed = keys
            .seal("caller_location:1", b"+15551234567")
            .expect("seals");
        assert!(sealed.is_encrypted());
        assert!(
            !sealed
                .stored_bytes()
                .windows(12)
                .any(|w| w == b"+15551234567")
        );
        assert_eq!(
            keys.open("caller_location:1", &sealed).expect("opens"),
            &b"+15551234567"[..]
        );
        assert_eq!(
            keys.open("caller_location:2", &sealed),
            Err(OpenError::Crypto)
        );
        let other = RecordKeys::new(RecordKey::new(&[8; 32]));
        assert!(matches!(
            other.open("caller_location:1", &sealed),
            Err(OpenError::UnknownKey(_))
        ));
        let rotated =
            RecordKeys::new(RecordKey::new(&[8; 32])).with_previous(RecordKey::new(&[7; 32]));
        assert!(rotated.open("caller_location:1", &sealed).is_ok());
    }

    #[test]
    fn keys_come_from_base64_and_say_what_is_wrong() {
        let key = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
        assert!(RecordKeys::from_base64_list(key).is_ok());
        assert_eq!(
            RecordKey::from_base64("not base64!").err(),
            Some(KeyError::NotBase64)
        );
        assert_eq!(
            RecordKey::from_base64("AAAA").err(),
            Some(KeyError::Length(3))
        );
        assert!(!format!("{:?}", RecordKey::new(&[7; 32])).contains("7, 7"));
    }
}
