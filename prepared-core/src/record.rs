//! The delivery log: a record of every delivery, written by the pipeline.
//!
//! Prepared asks receivers to keep their webhook payloads for debugging and to alert on
//! processing failures. With a [`DeliveryLog`], "did we get the caller location for incident X
//! at 14:02, and what happened to it?" has an answer, and an event that failed every attempt
//! can be run again once the bug is fixed ([`Webhooks::replay`](crate::Webhooks::replay)).
//!
//! ```
//! use prepared_core::auth::{BearerToken, StaticBearer};
//! use prepared_core::record::{DeliveryLog, MemoryDeliveryLog, RecordFilter, RecordStatus};
//! use prepared_core::Webhooks;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let log = MemoryDeliveryLog::new(10_000);
//! let webhooks = Webhooks::builder()
//!     .authenticator(StaticBearer::new([BearerToken::new("s3cret-token")]))
//!     .delivery_log(log.clone())
//!     .build()?;
//! // ... deliveries arrive ...
//! let failed = log.find(&RecordFilter::new().status(RecordStatus::DeadLettered)).await?;
//! assert!(failed.is_empty());
//! # drop(webhooks); Ok(()) }
//! ```
//!
//! What is recorded, per event (its [`DedupKey`](crate::DedupKey) is the record's key): the
//! kind, the incident id, the tenant and the credential's name, when it was first and last
//! received, how many times it was delivered (a redelivery raises the count; it is not stored
//! twice), and its [`RecordStatus`] as it changes: `received`, `processed`, `failed` (with the
//! attempts and the callback's last error), `dead_lettered`. A payload that does not decode is
//! recorded as `invalid`, with the decode error, under a key of its own.
//!
//! The payload is kept as a [`SealedPayload`]: encrypted with AES-256-GCM when the receiver
//! has a [`RecordKeys`] (the key id is kept with it, so keys can rotate), in clear otherwise
//! (the receiver warns at start-up). The columns in clear are only the kind, the ids, the
//! timestamps, the tenant, the credential's name and the outcome.
//!
//! Two logs: [`MemoryDeliveryLog`] (the newest N records, no server: the default) and
//! `PostgresDeliveryLog` (feature `postgres`). When a record is written is the
//! [`RecordPolicy`](crate::delivery::RecordPolicy): before the `200` (the default) or beside it.

mod entry;
mod filter;
mod log;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
mod sealed;

pub use entry::{Backlog, DeliveryRecord, NewRecord, Outcome, RecordStatus};
pub use filter::RecordFilter;
pub use log::{DeliveryLog, LogError, LogFuture};
pub use memory::MemoryDeliveryLog;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use postgres::{PostgresConnectError, PostgresDeliveryLog};
pub(crate) use sealed::open as sealed_open;
pub use sealed::{KeyError, OpenError, RecordKey, RecordKeys, SealedPayload};
