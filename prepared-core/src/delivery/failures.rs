//! Visible dependency failures: every `503` a dependency causes is counted, by dependency,
//! and logged at `warn`, at most once per dependency per [`LOG_WINDOW`].
//!
//! An outage turns every delivery into a `503`: one line per request would bury the log
//! (and cost as much as the requests), one line per outage would hide how long it lasts. So
//! the first failure of a dependency in each window of one second is logged, with how many
//! failures the window before it left unlogged (`suppressed`); the counter counts them all.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::readiness::Dependency;

/// At most one `warn` line per dependency in this window.
pub(crate) const LOG_WINDOW: Duration = Duration::from_secs(1);

/// Deliveries answered `503` because a dependency failed, by dependency, since the
/// receiver was built (see [`Stats::dependency_failures`](super::Stats::dependency_failures)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DependencyFailures {
    /// The dedup store could not answer a claim (unreachable, timed out, error reply, or the
    /// memory store full of claims in flight).
    pub dedup_store: u64,
    /// The durable queue could not take an event.
    pub durable_queue: u64,
    /// The authorization server (JWKS, introspection) could not be asked.
    pub authorization_server: u64,
    /// The delivery log could not record a delivery or its outcome.
    pub delivery_log: u64,
}

impl DependencyFailures {
    /// The count of one dependency.
    pub fn get(&self, dependency: Dependency) -> u64 {
        match dependency {
            Dependency::DedupStore => self.dedup_store,
            Dependency::DurableQueue => self.durable_queue,
            Dependency::AuthorizationServer => self.authorization_server,
            Dependency::DeliveryLog => self.delivery_log,
        }
    }
}

/// The counts and the log's rate limit of one dependency.
#[derive(Default)]
struct Tally {
    failures: AtomicU64,
    /// Milliseconds since the log's epoch at which the next line may be written.
    next_line_at: AtomicU64,
    /// Failures not logged since the last line.
    suppressed: AtomicU64,
}

/// Counts dependency failures and logs them under the rate limit.
pub(crate) struct FailureLog {
    epoch: Instant,
    tallies: [Tally; Dependency::ALL.len()],
}

impl Default for FailureLog {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            tallies: Default::default(),
        }
    }
}

fn slot(dependency: Dependency) -> usize {
    Dependency::ALL
        .iter()
        .position(|known| *known == dependency)
        .unwrap_or(0)
}

impl FailureLog {
    /// Records that `dependency` failed a delivery (answered `503`): counted, and logged at
    /// `warn` unless a line for it was written within the window. `kind` is a short, stable
    /// name (a metric label); `error` must hold no secret and no payload data.
    pub(crate) fn record(
        &self,
        dependency: Dependency,
        kind: &'static str,
        error: &dyn fmt::Display,
    ) {
        let tally = &self.tallies[slot(dependency)];
        tally.failures.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        metrics::counter!(
            "prepared_webhooks_dependency_failures_total",
            "dependency" => dependency.as_str(),
            "kind" => kind
        )
        .increment(1);
        let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        let next = tally.next_line_at.load(Ordering::Relaxed);
        let window = u64::try_from(LOG_WINDOW.as_millis()).unwrap_or(u64::MAX);
        let mine = now >= next
            && tally
                .next_line_at
                .compare_exchange(
                    next,
                    now.saturating_add(window),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok();
        if mine {
            let suppressed = tally.suppressed.swap(0, Ordering::Relaxed);
            tracing::warn!(
                dependency = dependency.as_str(),
                kind,
                suppressed,
                %error,
                "a dependency failed: deliveries are answered 503 (Prepared retries them)"
            );
        } else {
            tally.suppressed.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn snapshot(&self) -> DependencyFailures {
        let get = |dependency| {
            self.tallies[slot(dependency)]
                .failures
                .load(Ordering::Relaxed)
        };
        DependencyFailures {
            dedup_store: get(Dependency::DedupStore),
            durable_queue: get(Dependency::DurableQueue),
            authorization_server: get(Dependency::AuthorizationServer),
            delivery_log: get(Dependency::DeliveryLog),
        }
    }
}

/// An error and its sources, `: `-separated, for the log line.
pub(crate) struct Chain<'a>(pub(crate) &'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(error) = source {
            write!(f, ": {error}")?;
            source = error.source();
        }
        Ok(())
    }
}
