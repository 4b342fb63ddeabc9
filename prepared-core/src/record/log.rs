//! [`DeliveryLog`]: what every delivery log implements.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use time::OffsetDateTime;

use super::{Backlog, DeliveryRecord, NewRecord, Outcome, RecordFilter};
use crate::BoxError;

/// The future a [`DeliveryLog`] operation returns.
pub type LogFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, LogError>> + Send + 'a>>;

/// A delivery log: where the pipeline records every delivery and its outcome.
///
/// Implement it to keep the records somewhere of your own; the crate has
/// [`MemoryDeliveryLog`](super::MemoryDeliveryLog) and, with the `postgres` feature,
/// `PostgresDeliveryLog`. Records are keyed by [`NewRecord::key`] (the event's dedup key).
pub trait DeliveryLog: Send + Sync + 'static {
    /// Records a delivery. For a key not on record, a new record with one delivery; for a key
    /// on record, its delivery count raised by one and its last reception time set (nothing
    /// else is stored twice), and a `dead_lettered` record becomes `received` again: the
    /// redelivery gives it another chance.
    fn insert<'a>(&'a self, record: &'a NewRecord) -> LogFuture<'a, ()>;

    /// Records what became of a delivered event: its new status, further attempts (added to
    /// the ones on record) and the callback's last error. A key not on record is ignored.
    fn update<'a>(&'a self, key: &'a str, outcome: &'a Outcome) -> LogFuture<'a, ()>;

    /// The records that match `filter`, oldest first (by first reception), without their
    /// payloads.
    fn find<'a>(&'a self, filter: &'a RecordFilter) -> LogFuture<'a, Vec<DeliveryRecord>>;

    /// One record with its payload.
    fn get<'a>(&'a self, key: &'a str) -> LogFuture<'a, Option<DeliveryRecord>>;

    /// Deletes up to `limit` records last received before `before`, oldest first; answers how
    /// many went. The receiver calls it in a loop, in the background, for its retention.
    fn purge(&self, before: OffsetDateTime, limit: u32) -> LogFuture<'_, u64>;

    /// What waits for attention: dead letters, and the oldest record not yet processed.
    fn backlog(&self) -> LogFuture<'_, Backlog>;

    /// A cheap round trip, for readiness. The default answers at once (a log in memory).
    fn ping(&self) -> LogFuture<'_, ()> {
        Box::pin(std::future::ready(Ok(())))
    }
}

impl<T: DeliveryLog + ?Sized> DeliveryLog for Arc<T> {
    fn insert<'a>(&'a self, record: &'a NewRecord) -> LogFuture<'a, ()> {
        (**self).insert(record)
    }

    fn update<'a>(&'a self, key: &'a str, outcome: &'a Outcome) -> LogFuture<'a, ()> {
        (**self).update(key, outcome)
    }

    fn find<'a>(&'a self, filter: &'a RecordFilter) -> LogFuture<'a, Vec<DeliveryRecord>> {
        (**self).find(filter)
    }

    fn get<'a>(&'a self, key: &'a str) -> LogFuture<'a, Option<DeliveryRecord>> {
        (**self).get(key)
    }

    fn purge(&self, before: OffsetDateTime, limit: u32) -> LogFuture<'_, u64> {
        (**self).purge(before, limit)
    }

    fn backlog(&self) -> LogFuture<'_, Backlog> {
        (**self).backlog()
    }

    fn ping(&self) -> LogFuture<'_, ()> {
        (**self).ping()
    }
}

/// A delivery log that could not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// The log's backend could not be reached or did not answer in time.
    #[error("the delivery log is unreachable")]
    Unreachable(#[source] BoxError),
    /// The backend answered with an error.
    #[error("the delivery log refused the operation")]
    Backend(#[source] BoxError),
    /// A stored record could not be read back (e.g. an unknown status).
    #[error("a stored record is malformed: {0}")]
    Malformed(String),
}

impl LogError {
    /// A short name for logs and metric labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unreachable(_) => "unreachable",
            Self::Backend(_) => "backend",
            Self::Malformed(_) => "malformed",
        }
    }
}
