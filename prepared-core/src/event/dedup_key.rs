//! [`DedupKey`]: what identifies one event across Prepared's redeliveries.

use std::fmt;

use sha2::{Digest, Sha256};

/// The key under which an event is deduplicated: two deliveries with the same key are the
/// same event, and its callback must run once.
///
/// Prepared sends no delivery-id header, so the key comes from the payload, prefixed with the
/// event's wire name:
///
/// | event | key | example |
/// |---|---|---|
/// | `note_created`, `location_updated`, `caller_location`, `media` | the event's `id` | `note_created:550e8400-…` |
/// | `incident_metadata` | the incident `id` **and** `updated_at` (Unix nanoseconds) | `incident_metadata:550e8400-…:1705314600000000000` |
/// | an unknown event | SHA-256 of its name, `id` and `updated_at` when it has an `id`, else of the whole body | `unknown:9f86d081…` |
///
/// `incident_metadata` carries the *incident's* id and is resent on every change of the
/// incident, so keying it on `id` alone would drop every update after the first; two
/// deliveries of the same update share `updated_at`. Using the instant rather than its text
/// makes `2024-01-15 10:30:00 UTC` and `2024-01-15T10:30:00Z` one key. Unknown events are
/// hashed so that the key stays short and free of payload text whatever Prepared sends.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DedupKey(String);

impl DedupKey {
    pub(crate) fn new(key: String) -> Self {
        Self(key)
    }

    /// `unknown:` and the hex SHA-256 of `parts`, each followed by a NUL byte so that no two
    /// different part lists hash alike.
    pub(crate) fn hashed<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update(part);
            hasher.update([0]);
        }
        let digest = hasher.finalize();
        let mut key = String::with_capacity("unknown:".len() + 64);
        key.push_str("unknown:");
        for byte in digest {
            key.push(char::from(HEX[usize::from(byte >> 4)]));
            key.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
        Self(key)
    }

    /// The key as text, e.g. for a Redis key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl fmt::Display for DedupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for DedupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DedupKey({})", self.0)
    }
}

impl AsRef<str> for DedupKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}
