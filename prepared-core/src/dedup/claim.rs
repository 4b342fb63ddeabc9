//! [`Claim`]: what a dedup store answers when a delivery claims its event, and the
//! [`ClaimToken`] that fences the claim.

use std::fmt;

/// The answer to [`DedupStore::claim`](super::DedupStore::claim).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Claim {
    /// The event is new (or its last claim was released or expired): this delivery holds the
    /// claim and processes the event, then [completes](super::DedupStore::complete) or
    /// [releases](super::DedupStore::release) it with the token.
    Claimed(ClaimToken),
    /// The event was processed already: the delivery is a duplicate, acknowledge it.
    Done,
    /// Another delivery of the event holds a live claim: answer `503` so that Prepared retries;
    /// once that claim is completed the retry is a duplicate, and if it is released or expires
    /// the retry processes the event.
    InFlight,
}

impl Claim {
    /// The token, when the event was claimed.
    pub fn token(&self) -> Option<&ClaimToken> {
        match self {
            Self::Claimed(token) => Some(token),
            Self::Done | Self::InFlight => None,
        }
    }

    /// Whether the event was claimed.
    pub fn is_claimed(&self) -> bool {
        matches!(self, Self::Claimed(_))
    }
}

/// The fencing token of one claim.
///
/// Every claim of a key gets a different token, and [`complete`](super::DedupStore::complete)
/// and [`release`](super::DedupStore::release) name the claim they act on by it. So a worker
/// whose claim expired and was taken over by another delivery cannot release or complete that
/// other delivery's claim:
///
/// - `release` acts only while the key is held under this token; otherwise it does nothing.
/// - `complete` marks the key done when it is held under this token, **or held by no one**
///   (the claim expired and nobody took it over, or the taker released it): the callback did
///   succeed, so recording that prevents a further run. When another live claim holds the key,
///   `complete` does nothing and that claim's holder decides; when the key is done already it
///   does nothing either.
///
/// The value is opaque; [`new`](Self::new) and [`get`](Self::get) exist for implementations of
/// [`DedupStore`](super::DedupStore).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClaimToken(u128);

impl ClaimToken {
    /// A token with this value. Stores must never hand out the same value twice for one key.
    pub const fn new(value: u128) -> Self {
        Self(value)
    }

    /// The token's value.
    pub const fn get(self) -> u128 {
        self.0
    }
}

impl fmt::Debug for ClaimToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClaimToken({:032x})", self.0)
    }
}

impl fmt::Display for ClaimToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}
