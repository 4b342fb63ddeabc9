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
        bool::from(self.0[..].ct_eq(&other.0[..]))
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

#[cfg(test)]
mod tests {
    use super::TokenDigest;

    #[test]
    fn digests_match_only_when_every_byte_is_equal() {
        let digest = TokenDigest::of(b"a token");
        assert!(digest.matches(&TokenDigest::of(b"a token")));
        assert!(!digest.matches(&TokenDigest::of(b"another token")));
        for position in 0..32 {
            for flip in [0x01, 0x80] {
                let mut other = digest;
                other.0[position] ^= flip;
                assert!(
                    !digest.matches(&other),
                    "byte {position} differs by {flip:#x}"
                );
                assert!(!other.matches(&digest));
            }
        }
    }

    #[test]
    fn the_position_is_the_last_match_among_all_candidates() {
        let [a, b] = [TokenDigest::of(b"a"), TokenDigest::of(b"b")];
        assert_eq!(a.position_in(&[b, a, b]), Some(1));
        assert_eq!(a.position_in(&[a, b, a]), Some(2));
        assert_eq!(a.position_in(&[b, b]), None);
        assert_eq!(a.position_in(&[]), None);
    }
}
