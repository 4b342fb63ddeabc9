//! [`DedupConfig`]: how long claims and done keys live, and how many keys the memory store
//! keeps.

use std::time::Duration;

/// How long a dedup store keeps what it knows about an event.
///
/// | setting | default | meaning |
/// |---|---|---|
/// | [`claim_ttl`](Self::claim_ttl) | 5 minutes | how long an in-flight claim lives if nobody completes or releases it |
/// | [`retention`](Self::retention) | 72 hours | how long a done key answers redeliveries as duplicates |
/// | [`capacity`](Self::capacity) | 1 000 000 keys | the bound of [`MemoryDedupStore`](super::MemoryDedupStore) (Redis ignores it) |
///
/// **Claim TTL.** A claim that is neither completed nor released (the worker crashed, or was
/// cut off from the store) blocks redeliveries of its event until it expires; redeliveries in
/// that window are answered `503` and retried by Prepared. Five minutes is far above the time
/// a callback should take, and short next to Prepared's backoff, so a crash delays an event
/// by minutes, never loses it. Keep it above the longest processing time *including callback
/// retries*: a claim that expires while its callback still runs lets a redelivery run the
/// callback a second time.
///
/// **Retention.** Prepared documents that it retries failed deliveries with exponential
/// backoff, but not for how long. A duplicate that arrives after its key was dropped is
/// processed again, so the retention must outlast Prepared's retry horizon. We keep done keys
/// for 72 hours, the longest horizon common webhook senders use (three days of exponential
/// retries); lower it only if Prepared confirms a shorter horizon.
///
/// **Capacity.** One key costs the memory store about 86 bytes in a full store of the
/// default million keys, between about 56 and 98 at other sizes (see
/// [`MemoryDedupStore`](super::MemoryDedupStore)), so the default bound of one million keys
/// takes about 86 MB, and holds 72 hours of a sustained 3.8 events per second.
///
/// ```
/// use std::time::Duration;
/// use prepared_core::dedup::DedupConfig;
///
/// let config = DedupConfig::builder()
///     .claim_ttl(Duration::from_secs(60))
///     .retention(Duration::from_secs(7 * 24 * 3600))
///     .capacity(200_000)
///     .build();
/// assert_eq!(config.claim_ttl(), Duration::from_secs(60));
/// assert_eq!(DedupConfig::default().retention(), Duration::from_secs(72 * 3600));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DedupConfig {
    claim_ttl: Duration,
    retention: Duration,
    capacity: usize,
}

impl DedupConfig {
    /// The default claim TTL: 5 minutes.
    pub const DEFAULT_CLAIM_TTL: Duration = Duration::from_secs(5 * 60);
    /// The default retention of done keys: 72 hours.
    pub const DEFAULT_RETENTION: Duration = Duration::from_secs(72 * 3600);
    /// The default capacity of the memory store: one million keys.
    pub const DEFAULT_CAPACITY: usize = 1_000_000;
    /// The shortest TTL or retention: 1 ms (Redis expiries are whole milliseconds).
    pub const MIN_DURATION: Duration = Duration::from_millis(1);

    /// A builder, starting from the defaults.
    pub fn builder() -> DedupConfigBuilder {
        DedupConfigBuilder {
            config: Self::default(),
        }
    }

    /// How long an in-flight claim lives if it is neither completed nor released.
    pub fn claim_ttl(&self) -> Duration {
        self.claim_ttl
    }

    /// How long a done key is kept, answering redeliveries as duplicates.
    pub fn retention(&self) -> Duration {
        self.retention
    }

    /// The most keys (in flight and done) the memory store keeps.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

impl Default for DedupConfig {
    fn default() -> Self {
        Self {
            claim_ttl: Self::DEFAULT_CLAIM_TTL,
            retention: Self::DEFAULT_RETENTION,
            capacity: Self::DEFAULT_CAPACITY,
        }
    }
}

/// Builds a [`DedupConfig`]; every setting starts at its default.
#[derive(Clone, Debug)]
#[must_use]
pub struct DedupConfigBuilder {
    config: DedupConfig,
}

impl DedupConfigBuilder {
    /// How long an in-flight claim lives (default 5 minutes; at least 1 ms).
    pub fn claim_ttl(mut self, claim_ttl: Duration) -> Self {
        self.config.claim_ttl = claim_ttl.max(DedupConfig::MIN_DURATION);
        self
    }

    /// How long a done key is kept (default 72 hours; at least 1 ms).
    pub fn retention(mut self, retention: Duration) -> Self {
        self.config.retention = retention.max(DedupConfig::MIN_DURATION);
        self
    }

    /// The most keys the memory store keeps (default one million; at least 1).
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.config.capacity = capacity.max(1);
        self
    }

    /// The configuration.
    pub fn build(self) -> DedupConfig {
        self.config
    }
}
