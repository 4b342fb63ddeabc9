//! The throttle on wrong client secrets: counted per client id *and* client address, so
//! that a stranger who knows the client id locks out only their own address, never
//! Prepared's.
//!
//! The counts live in a `moka` cache bounded in entries (default 10,000 addresses × client
//! ids, about 100 bytes each) whose entries expire one window after their last failure; when
//! full, the entries least likely to be used again are dropped first, so a flood of
//! addresses costs bounded memory (each new address then gets its own few tries, which
//! against a 256-bit secret is no help to a guesser).

use std::net::IpAddr;
use std::time::{Duration, Instant};

use moka::sync::Cache;

/// Whose failures are counted together: one client id from one address (`None` when the
/// adapter handed no address over: then all of the client id's failures count together).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct FailureKey {
    pub(super) client: usize,
    pub(super) address: Option<IpAddr>,
}

/// The wrong secrets of one key within its window.
#[derive(Clone, Copy, Debug)]
struct Failures {
    since: Instant,
    count: u32,
}

pub(super) struct Throttle {
    failures: Cache<FailureKey, Failures>,
    max_failures: u32,
    window: Duration,
}

impl Throttle {
    pub(super) fn new(max_failures: u32, window: Duration, capacity: u64) -> Self {
        Self {
            failures: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(window.max(Duration::from_millis(1)))
                .build(),
            max_failures,
            window,
        }
    }

    /// `Err(retry_after)` when `key` had too many failures within the window: its request
    /// is refused without checking the secret.
    pub(super) fn check(&self, key: FailureKey) -> Result<(), Duration> {
        match self.failures.get(&key) {
            Some(failures)
                if failures.count >= self.max_failures
                    && failures.since.elapsed() < self.window =>
            {
                Err(self.window.saturating_sub(failures.since.elapsed()))
            }
            _ => Ok(()),
        }
    }

    /// Counts a wrong secret; answers the key's count within its window.
    pub(super) fn failed(&self, key: FailureKey) -> u32 {
        let window = self.window;
        let entry = self.failures.entry(key).and_upsert_with(|current| {
            match current.map(|entry| entry.into_value()) {
                Some(failures) if failures.since.elapsed() < window => Failures {
                    count: failures.count.saturating_add(1),
                    ..failures
                },
                _ => Failures {
                    since: Instant::now(),
                    count: 1,
                },
            }
        });
        entry.into_value().count
    }

    /// The right secret: the key's failures are forgotten.
    pub(super) fn succeeded(&self, key: FailureKey) {
        self.failures.invalidate(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counts_stay_within_their_bound_under_a_flood_of_addresses() {
        let throttle = Throttle::new(5, Duration::from_secs(60), 100);
        for n in 0..10_000u32 {
            let address = IpAddr::from(n.to_be_bytes());
            throttle.failed(FailureKey {
                client: 0,
                address: Some(address),
            });
        }
        throttle.failures.run_pending_tasks();
        assert!(throttle.failures.entry_count() <= 100);
    }
}
