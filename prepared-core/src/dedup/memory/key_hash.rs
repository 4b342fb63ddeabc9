//! [`KeyHash`]: the 128-bit keyed hash the memory store keeps instead of the key's text.

use std::hash::{BuildHasher, RandomState};

use siphasher::sip128::{Hash128, SipHasher13};

use crate::DedupKey;

/// A 128-bit hash of a [`DedupKey`]: SipHash-1-3 with its 128-bit output, under a random key.
///
/// Two different keys share a hash with probability about 2⁻¹²⁸, so a store of n keys
/// mistakes a new event for a duplicate with probability about n²/2¹²⁹ (10⁻²⁷ at a million
/// keys). The hash key is random per store, so nobody can craft colliding event ids.
///
/// Kept as two 64-bit halves, as SipHash gives them: 16 bytes a key in the shard's map.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct KeyHash {
    pub(super) low: u64,
    /// Picks the shard.
    pub(super) high: u64,
}

impl KeyHash {
    /// The shard of this key, for a shard count of `mask + 1` (a power of two).
    pub(super) fn shard(self, mask: usize) -> usize {
        // Truncation is intended: only the low bits select the shard.
        (self.high as usize) & mask
    }
}

/// Hashes keys for one store, under a random 128-bit SipHash key.
pub(super) struct KeyHasher {
    sip: SipHasher13,
}

impl KeyHasher {
    pub(super) fn new() -> Self {
        // `RandomState` is seeded from the operating system's random source; its hashes of
        // two constants are unpredictable 64-bit values under that seed.
        let seed = RandomState::new();
        Self {
            sip: SipHasher13::new_with_keys(seed.hash_one(0_u64), seed.hash_one(1_u64)),
        }
    }

    pub(super) fn hash(&self, key: &DedupKey) -> KeyHash {
        let Hash128 { h1: low, h2: high } = self.sip.hash(key.as_str().as_bytes());
        KeyHash { low, high }
    }
}
