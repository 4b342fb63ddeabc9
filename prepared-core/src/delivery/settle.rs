//! Settling a claim: completing or releasing it, and retrying in the background when the
//! dedup store cannot be reached.
//!
//! A claim that cannot be completed stays held until its TTL and then expires; a redelivery
//! after that would run the callback again. A claim that cannot be released blocks
//! redeliveries (`503`) until its TTL. So a failed settlement is retried, in the background
//! (never holding a worker or a response), with a backoff from 100 ms to 5 s, for up to
//! [`SETTLE_WINDOW`]: a store outage shorter than that loses and doubles nothing. Both
//! operations are safe to repeat (see [`ClaimToken`]).

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;

use super::queue::Job;
use crate::DedupKey;
use crate::dedup::{ClaimToken, DedupError, DedupFuture, DedupStore};

/// How long a failed settlement is retried: the default claim TTL (5 minutes).
pub(crate) const SETTLE_WINDOW: Duration = crate::dedup::DedupConfig::DEFAULT_CLAIM_TTL;

/// What to do with a claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Settle {
    /// The callback succeeded: mark the event done.
    Complete,
    /// The event will not be processed now: let a redelivery process it.
    Release,
}

impl Settle {
    /// The store's operation.
    fn apply<'a>(
        self,
        store: &'a dyn DedupStore,
        key: &'a DedupKey,
        token: &'a ClaimToken,
    ) -> DedupFuture<'a, ()> {
        match self {
            Self::Complete => store.complete(key, token),
            Self::Release => store.release(key, token),
        }
    }
}

/// Who settles the claim of a job a worker finished: the dedup store (the in-memory lanes and
/// [`AckMode::AfterProcessing`](super::AckMode::AfterProcessing)), or the durable queue, which
/// completes a claim and acknowledges its stream entry in one round trip. Either way a failed
/// settlement is retried in the background.
pub(crate) trait Settler: Send + Sync {
    /// Completes or releases the job's claim.
    fn settle<'a>(&'a self, job: &'a Job, how: Settle) -> BoxFuture<'a, ()>;
}

/// Completes or releases a claim; when the store fails, retries in the background.
pub(crate) async fn settle(
    store: &Arc<dyn DedupStore>,
    how: Settle,
    key: &DedupKey,
    token: ClaimToken,
) {
    if let Err(error) = how.apply(store.as_ref(), key, &token).await {
        failed(store, how, key, token, &error);
    }
}

/// Logs a settlement the store refused and retries it in the background.
fn failed(
    store: &Arc<dyn DedupStore>,
    how: Settle,
    key: &DedupKey,
    token: ClaimToken,
    error: &DedupError,
) {
    tracing::warn!(event = %key, ?how, %error, "could not settle the claim; retrying in the background");
    settle_later(Arc::clone(store), how, key.clone(), token);
}

/// Retries a settlement in the background (also usable where nothing can be awaited).
pub(crate) fn settle_later(
    store: Arc<dyn DedupStore>,
    how: Settle,
    key: DedupKey,
    token: ClaimToken,
) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::error!(event = %key, ?how, "no runtime to settle the claim on; it will expire");
        return;
    };
    runtime.spawn(async move {
        let started = tokio::time::Instant::now();
        let mut backoff = Duration::from_millis(100);
        loop {
            match how.apply(store.as_ref(), &key, &token).await {
                Ok(()) => {
                    tracing::info!(event = %key, ?how, "claim settled after a retry");
                    return;
                }
                Err(error) if started.elapsed() >= SETTLE_WINDOW => {
                    tracing::error!(event = %key, ?how, %error, "gave up settling the claim; it will expire");
                    return;
                }
                Err(_) => {
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    });
}
