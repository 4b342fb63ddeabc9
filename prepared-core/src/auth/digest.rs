//! [`TokenDigest`]: the SHA-256 of a secret, compared in constant time.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The SHA-256 digest of a token or secret. Secrets are compared through their digests, in
/// constant time, so the timing reveals neither their content nor their length; caches are
/// keyed by it, so they never hold a token.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct TokenDigest([u8; 32]);

impl TokenDigest {
    pub(crate) fn of(secret: &[u8]) -> Self {
        Self(Sha256::digest(secret).into())
    }

    /// Constant-time equality.
    pub(crate) fn matches(&self, other: &Self) -> bool {
        bool::from(self.0.ct_eq(&other.0))
    }

    /// The index of the last of `candidates` equal to `self`, comparing with every one (no
    /// early exit).
    pub(crate) fn position_in(&self, candidates: &[Self]) -> Option<usize> {
        let mut matched = None;
        for (index, candidate) in candidates.iter().enumerate() {
            if candidate.matches(self) {
                matched = Some(index);
            }
        }
        matched
    }
}

impl std::fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenDigest([redacted])")
    }
}
