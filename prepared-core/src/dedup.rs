//! Dedup: the claim protocol that makes each event's callback run once although Prepared
//! delivers some events more than once.
//!
//! Prepared retries a delivery it did not see acknowledged, with exponential backoff, so the
//! same event can arrive again, minutes or hours later, or while its first delivery is still
//! being processed. Each event has a [`DedupKey`](crate::DedupKey); a [`DedupStore`] keeps,
//! per key, either a *claim* (a delivery is processing the event) or a *done* mark:
//!
//! ```
//! use std::sync::Arc;
//! use prepared_core::dedup::{Claim, DedupStore, MemoryDedupStore};
//! use prepared_core::Event;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store: Arc<dyn DedupStore> = Arc::new(MemoryDedupStore::default());
//! let event = Event::decode(br#"{"event_type": "note_created",
//!     "id": "550e8400-e29b-41d4-a716-446655440001",
//!     "incident_id": "550e8400-e29b-41d4-a716-446655440000"}"#)?;
//! let key = event.dedup_key();
//!
//! match store.claim(&key).await? {
//!     Claim::Claimed(token) => {
//!         // Process the event; then record it as done, or give the claim up on failure
//!         // (`store.release(&key, &token)`) so that Prepared's next delivery processes it.
//!         store.complete(&key, &token).await?;
//!     }
//!     Claim::Done => { /* a duplicate: acknowledge it */ }
//!     Claim::InFlight => { /* another delivery is processing it: answer 503 */ }
//!     _ => { /* later variants: answer 503 */ }
//! }
//! assert_eq!(store.claim(&key).await?, Claim::Done);
//! # Ok(())
//! # }
//! ```
//!
//! | step | the store answers | the pipeline |
//! |---|---|---|
//! | [`claim`](DedupStore::claim) a new key | [`Claim::Claimed`] with a [`ClaimToken`] | processes the event |
//! | `claim` a key being processed | [`Claim::InFlight`] | answers `503`, Prepared retries |
//! | `claim` a done key | [`Claim::Done`] | acknowledges the duplicate (`200`) |
//! | [`complete`](DedupStore::complete) after success | the key is done for the [retention](DedupConfig::retention) | |
//! | [`release`](DedupStore::release) after failure | the key is free | the next delivery processes the event |
//! | the store cannot answer | [`DedupError`] | answers `503`: never processed twice, never dropped |
//!
//! A claim that is neither completed nor released (a worker crashed) expires after the
//! [claim TTL](DedupConfig::claim_ttl); the [`ClaimToken`] makes sure that a worker whose
//! claim expired cannot release the claim another delivery took over. Defaults: claims live
//! 5 minutes, done keys 72 hours (see [`DedupConfig`] for why).
//!
//! The stores:
//! - [`MemoryDedupStore`]: in memory, bounded (one million keys by default, about 86
//!   bytes each), for a single replica. The default.
//! - `RedisDedupStore` (feature `redis`): in Redis, shared by several replicas behind a load
//!   balancer; one round trip per operation. One server (`connect(url)`) or a Redis Cluster
//!   (`connect_cluster(nodes)`).
//! - any type of your own that implements [`DedupStore`].

mod claim;
mod config;
mod error;
mod memory;
#[cfg(feature = "redis")]
pub(crate) mod redis;
mod store;

#[cfg(feature = "redis")]
pub use self::redis::{RedisDedupStore, RedisDedupStoreBuilder};
pub use claim::{Claim, ClaimToken};
pub use config::{DedupConfig, DedupConfigBuilder};
pub use error::{BoxError, DedupError};
pub use memory::MemoryDedupStore;
pub use store::{DedupFuture, DedupStore};
