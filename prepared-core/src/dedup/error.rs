//! [`DedupError`]: a dedup store could not answer, so the delivery must be retried later.

use std::borrow::Cow;
use std::time::Duration;

use http::StatusCode;

pub use crate::BoxError;

/// A dedup store could not say whether an event is new.
///
/// Every variant means the same thing for the delivery: it can be neither processed (it
/// might be a duplicate) nor acknowledged (it might be new), so it is answered
/// [`503 Service Unavailable`](Self::status) with a [`Retry-After`](Self::retry_after) and
/// Prepared delivers it again later. The error never carries payload data: at most the
/// backend's own error (an I/O error, a Redis error reply).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DedupError {
    /// The store could not be reached, did not answer in time, or answered with an error.
    #[error("the dedup store is unavailable: {reason}")]
    Unavailable {
        /// What happened, e.g. `timed out after 1s`; no payload data.
        reason: Cow<'static, str>,
        /// The backend's error, when there is one.
        #[source]
        source: Option<BoxError>,
    },
    /// The memory store is full and none of its keys can be dropped: every one is a live
    /// in-flight claim. Taking the claim anyway could let a duplicate through later, so the
    /// delivery is refused instead.
    #[error("the dedup store is full: {capacity} keys are claims in flight")]
    Full {
        /// The store's capacity.
        capacity: usize,
    },
    /// The Redis given to a single-server client is a Redis Cluster node (`INFO cluster`
    /// says `cluster_enabled:1`), which would answer `MOVED` for most keys: connect with
    /// `RedisDedupStore::connect_cluster` instead. Found at start-up, by `connect`.
    #[error("the Redis is a Redis Cluster node: connect with `RedisDedupStore::connect_cluster`")]
    ClusterNode,
}

impl DedupError {
    /// The `Retry-After` suggested to Prepared: 5 seconds.
    pub const RETRY_AFTER: Duration = Duration::from_secs(5);

    /// An [`Unavailable`](Self::Unavailable) error, for store implementations.
    pub fn unavailable(reason: impl Into<Cow<'static, str>>, source: Option<BoxError>) -> Self {
        Self::Unavailable {
            reason: reason.into(),
            source,
        }
    }

    /// A short, stable name of the failure for logs and metric labels: `unavailable`,
    /// `full` or `cluster_node`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unavailable { .. } => "unavailable",
            Self::Full { .. } => "full",
            Self::ClusterNode => "cluster_node",
        }
    }

    /// The HTTP status to answer the delivery with: always `503 Service Unavailable`.
    pub fn status(&self) -> StatusCode {
        StatusCode::SERVICE_UNAVAILABLE
    }

    /// When Prepared should deliver the event again: [`RETRY_AFTER`](Self::RETRY_AFTER).
    /// (Prepared applies its own exponential backoff; this is a hint.)
    pub fn retry_after(&self) -> Duration {
        Self::RETRY_AFTER
    }
}
