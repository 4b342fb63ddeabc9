//! [`DedupStore`]: the claim protocol every dedup store implements.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::{Claim, ClaimToken, DedupError};
use crate::DedupKey;

/// The future returned by the methods of [`DedupStore`].
pub type DedupFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, DedupError>> + Send + 'a>>;

/// Where the pipeline records which events it has claimed and processed.
///
/// Not a plain set: a delivery first [claims](Self::claim) its event's key, processes the
/// event, then [completes](Self::complete) the claim (redeliveries are duplicates from then
/// on) or [releases](Self::release) it (processing failed: the next delivery processes the
/// event again). A claim that is neither completed nor released expires after the store's
/// claim TTL, so a crashed worker never blocks an event for good. See [`ClaimToken`] for what
/// `complete` and `release` do with a claim that expired.
///
/// Every method answers [`DedupError`] when the store cannot decide; the delivery is then
/// neither processed nor acknowledged, but answered `503` so that Prepared retries it.
///
/// The methods return boxed futures so that the trait is object safe
/// (`Arc<dyn DedupStore>`).
pub trait DedupStore: Send + Sync + 'static {
    /// Atomically claims `key` for processing.
    ///
    /// Of any number of concurrent claims of one key, at most one is
    /// [`Claimed`](Claim::Claimed) until that claim is released or expires.
    fn claim<'a>(&'a self, key: &'a DedupKey) -> DedupFuture<'a, Claim>;

    /// Marks a claimed key as done: redeliveries are duplicates for the retention period.
    fn complete<'a>(&'a self, key: &'a DedupKey, token: &'a ClaimToken) -> DedupFuture<'a, ()>;

    /// Gives a claimed key up (processing failed): the next delivery is processed again.
    fn release<'a>(&'a self, key: &'a DedupKey, token: &'a ClaimToken) -> DedupFuture<'a, ()>;

    /// A cheap round trip to the store, for the readiness check
    /// ([`Webhooks::readiness`](crate::Webhooks::readiness)): `Ok` when the store answers
    /// now. It must not touch any event's key. The default answers `Ok` at once, which is
    /// right for a store in process; a store over the network sends a `PING` or the like
    /// under its operation timeout.
    fn ping(&self) -> DedupFuture<'_, ()> {
        Box::pin(std::future::ready(Ok(())))
    }
}

impl<T: DedupStore + ?Sized> DedupStore for Arc<T> {
    fn claim<'a>(&'a self, key: &'a DedupKey) -> DedupFuture<'a, Claim> {
        (**self).claim(key)
    }

    fn complete<'a>(&'a self, key: &'a DedupKey, token: &'a ClaimToken) -> DedupFuture<'a, ()> {
        (**self).complete(key, token)
    }

    fn release<'a>(&'a self, key: &'a DedupKey, token: &'a ClaimToken) -> DedupFuture<'a, ()> {
        (**self).release(key, token)
    }

    fn ping(&self) -> DedupFuture<'_, ()> {
        (**self).ping()
    }
}
