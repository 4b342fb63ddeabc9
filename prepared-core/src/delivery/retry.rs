//! [`RetryPolicy`]: how often and how patiently a failed callback is run again.

use std::time::Duration;

/// How a failed callback is retried in [`AckMode::Immediate`](super::AckMode::Immediate):
/// up to `max_attempts` runs in all, waiting `initial_backoff`, then twice as long each time,
/// capped at `max_backoff`. Then the event goes to the dead-letter hook.
///
/// The default, 5 attempts from 100 ms to at most 5 s, spends about 1.5 s on an event
/// that keeps failing. A retried event holds up the events queued behind it on its lane,
/// which is what keeps one incident's events in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Runs in all, the first included (at least 1).
    pub max_attempts: u32,
    /// The wait after the first failure.
    pub initial_backoff: Duration,
    /// The longest wait.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// A policy with these numbers.
    pub fn new(max_attempts: u32, initial_backoff: Duration, max_backoff: Duration) -> Self {
        Self {
            max_attempts: max_attempts.max(1),
            initial_backoff,
            max_backoff,
        }
    }

    /// No retries: one attempt, then the dead-letter hook.
    pub fn none() -> Self {
        Self::new(1, Duration::ZERO, Duration::ZERO)
    }

    /// The wait after failed attempt number `attempt` (1-based).
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}
