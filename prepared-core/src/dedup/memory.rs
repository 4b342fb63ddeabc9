//! [`MemoryDedupStore`]: the embedded dedup store, bounded in memory, for one replica.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::{Claim, ClaimToken, DedupConfig, DedupError, DedupFuture, DedupStore};
use crate::DedupKey;

mod key_hash;
mod shard;

use key_hash::{KeyHash, KeyHasher};
use shard::{ClaimOutcome, CompleteOutcome, Full, Limits, Shard};

/// Shards are at least this large, so that a small capacity is not spread over many shards.
const MIN_PER_SHARD: usize = 1024;
/// At most this many shards (locks).
const MAX_SHARDS: usize = 64;

/// The dedup store of one process: claims and done keys in memory, bounded by
/// [`DedupConfig::capacity`]. It is the default of the pipeline; several replicas behind a
/// load balancer need a shared store instead (`RedisDedupStore`, feature `redis`).
///
/// ```
/// use prepared_core::dedup::{Claim, DedupConfig, DedupStore, MemoryDedupStore};
/// use prepared_core::Event;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = MemoryDedupStore::new(DedupConfig::builder().capacity(10_000).build());
/// let event = Event::decode(br#"{"type": "media", "id": "550e8400-e29b-41d4-a716-446655440009",
///     "incident_id": "550e8400-e29b-41d4-a716-446655440000", "created_at": "2024-01-15 10:30:00 UTC"}"#)?;
/// let key = event.dedup_key();
///
/// let Claim::Claimed(token) = store.claim(&key).await? else { unreachable!("a new key") };
/// assert_eq!(store.claim(&key).await?, Claim::InFlight); // a concurrent redelivery
/// store.complete(&key, &token).await?;
/// assert_eq!(store.claim(&key).await?, Claim::Done); // a later redelivery
/// # Ok(())
/// # }
/// ```
///
/// # Layout and cost
/// The store is split into up to 64 shards, chosen by the key's hash, each under its own
/// lock; the capacity is split evenly over them. A shard keeps its keys in a
/// `hashbrown::HashMap`, from the key's hash to what the store knows of it (claimed at a
/// stamp, which is also the claim's token, or done since a stamp: 16 bytes), and in a
/// `VecDeque` of the hashes in the order they came in, which says which key to drop first
/// when the shard is full. A claim, completion or release is one hash of the key, one clock
/// read and a map lookup (and insertion) under one shard's lock; nothing waits, so the futures of the
/// [`DedupStore`] methods finish in their first poll. A release also removes the key from
/// the order, looking for it from the newest end.
///
/// A full store of the default million keys takes about 86 bytes a key on the heap
/// ([`allocated_bytes`](Self::allocated_bytes), measured by `benches/dedup.rs`): the map's
/// entries (32 bytes and a control byte each), in a table about half full at that size, and
/// the order's 16 bytes. Both grow by doubling, so at other sizes a key costs between about
/// 56 and 98 bytes.
///
/// A key is kept as a 128-bit keyed hash of its text (SipHash-1-3 with its 128-bit output,
/// from the `siphasher` crate), not as the text: 16 bytes whatever the key's length and no
/// allocation per key, where the text (about 50 bytes) in a `String` of its own would
/// roughly double the cost of a key. Two different keys share a 128-bit hash with
/// probability 2⁻¹²⁸; at a million keys, the chance that any new event is mistaken for a
/// duplicate is about 10⁻²⁷. The hash keys are random per store, so nobody can craft
/// colliding event ids.
///
/// # Expiry and capacity
/// Expired keys are treated as absent at once, and dropped when their shard runs out of room;
/// a released key leaves its shard at once. When a shard is full, a new key takes the place
/// of the oldest: the expired keys at the front of the order are dropped, or else, when the
/// oldest key is *done*, it is dropped before the end of its retention (an expired key
/// further back waits for its turn). So, when the store is overloaded, the oldest events lose their dedup protection first (logged once as a warning,
/// and counted by `prepared_dedup_evicted_total` with the `metrics` feature). A key claimed
/// again after it expired keeps its place in the order. Live in-flight claims are never
/// dropped (one met at the front moves to the back, as the newest): a shard full of them
/// refuses new claims with [`DedupError::Full`] (`503`, Prepared retries) rather than risk
/// processing an event twice.
///
/// The store reads the clock through [`tokio::time::Instant`], so tests can move it with
/// tokio's paused time.
pub struct MemoryDedupStore {
    shards: Box<[Mutex<Shard>]>,
    mask: usize,
    hasher: KeyHasher,
    limits: Limits,
    config: DedupConfig,
    epoch: Instant,
    warned_eviction: AtomicBool,
}

impl MemoryDedupStore {
    /// A store with these lifetimes and this capacity.
    pub fn new(config: DedupConfig) -> Self {
        let capacity = config.capacity();
        let shards = (capacity / MIN_PER_SHARD).clamp(1, MAX_SHARDS);
        // The largest power of two not above `shards`.
        let shards = 1usize << shards.ilog2();
        Self {
            shards: (0..shards).map(|_| Mutex::default()).collect(),
            mask: shards - 1,
            hasher: KeyHasher::new(),
            limits: Limits {
                claim_ttl: nanos(config.claim_ttl()),
                retention: nanos(config.retention()),
                per_shard: (capacity / shards).max(1),
            },
            config,
            epoch: Instant::now(),
            warned_eviction: AtomicBool::new(false),
        }
    }

    /// The store's configuration.
    pub fn config(&self) -> &DedupConfig {
        &self.config
    }

    /// How many keys the store holds, in flight and done, counting expired keys that were not
    /// dropped yet. Never more than the capacity.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|shard| lock(shard).len()).sum()
    }

    /// How many bytes the store's maps and arrival queues take on the heap, e.g. for a gauge.
    /// Divided by [`len`](Self::len), it gives the cost of one key (see "Layout and cost").
    pub fn allocated_bytes(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| lock(shard).allocated_bytes())
            .sum::<usize>()
            + size_of_val::<[Mutex<Shard>]>(&self.shards)
    }

    /// Whether the store holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The shard of `key`, locked, with the time now.
    fn shard(&self, key: KeyHash) -> (MutexGuard<'_, Shard>, u64) {
        let now = nanos(Instant::now().saturating_duration_since(self.epoch));
        (lock(&self.shards[key.shard(self.mask)]), now)
    }

    /// Reports the done keys `shard` dropped early.
    fn report_evicted(&self, mut shard: MutexGuard<'_, Shard>) {
        let evicted = shard.take_evicted_early();
        drop(shard);
        if evicted == 0 {
            return;
        }
        #[cfg(feature = "metrics")]
        metrics::counter!("prepared_dedup_evicted_total").increment(evicted as u64);
        if !self.warned_eviction.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                capacity = self.config.capacity(),
                "the dedup store is full: dropping the oldest done keys before the end of their \
                 retention (raise the capacity); this is logged once"
            );
        }
        tracing::debug!(evicted, "dropped done keys early");
    }

    fn full(&self) -> DedupError {
        tracing::warn!(
            capacity = self.config.capacity(),
            "the dedup store is full of claims in flight; refusing a new claim"
        );
        DedupError::Full {
            capacity: self.config.capacity(),
        }
    }
}

/// Locks a shard. Nothing panics while a shard is locked; if something did, the shard would
/// still answer soundly (a key missing from its arrival queue is only never dropped early).
fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    shard.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Default for MemoryDedupStore {
    /// A store with [`DedupConfig::default`]: 5-minute claims, 72-hour retention, one million
    /// keys.
    fn default() -> Self {
        Self::new(DedupConfig::default())
    }
}

impl fmt::Debug for MemoryDedupStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryDedupStore")
            .field("config", &self.config)
            .field("shards", &self.shards.len())
            .field("len", &self.len())
            .finish()
    }
}

impl DedupStore for MemoryDedupStore {
    fn claim<'a>(&'a self, key: &'a DedupKey) -> DedupFuture<'a, Claim> {
        Box::pin(async move {
            let hash = self.hasher.hash(key);
            let (mut shard, now) = self.shard(hash);
            let outcome = shard.claim(hash, now, &self.limits);
            self.report_evicted(shard);
            match outcome {
                Ok(ClaimOutcome::Claimed(stamp)) => {
                    Ok(Claim::Claimed(ClaimToken::new(u128::from(stamp))))
                }
                Ok(ClaimOutcome::Done) => Ok(Claim::Done),
                Ok(ClaimOutcome::InFlight) => Ok(Claim::InFlight),
                Err(Full) => Err(self.full()),
            }
        })
    }

    /// Fails only when the key is not in the store any more (its claim expired and was
    /// dropped) and its shard is full of claims.
    fn complete<'a>(&'a self, key: &'a DedupKey, token: &'a ClaimToken) -> DedupFuture<'a, ()> {
        Box::pin(async move {
            let hash = self.hasher.hash(key);
            let (mut shard, now) = self.shard(hash);
            let outcome = shard.complete(hash, token.get(), now, &self.limits);
            self.report_evicted(shard);
            match outcome {
                Ok(CompleteOutcome::Done | CompleteOutcome::AlreadyDone) => Ok(()),
                Ok(CompleteOutcome::HeldByOther) => {
                    tracing::warn!(
                        event = %key,
                        "the claim expired and another delivery took the event over; \
                         it was not marked done by the expired claim"
                    );
                    Ok(())
                }
                Err(Full) => Err(self.full()),
            }
        })
    }

    /// Never fails.
    fn release<'a>(&'a self, key: &'a DedupKey, token: &'a ClaimToken) -> DedupFuture<'a, ()> {
        Box::pin(async move {
            let hash = self.hasher.hash(key);
            let (mut shard, _) = self.shard(hash);
            if !shard.release(hash, token.get()) {
                tracing::debug!(event = %key, "release of a claim the store no longer holds");
            }
            Ok(())
        })
    }
}

/// A duration in nanoseconds, saturating (585 years).
fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}
