//! [`Stats`]: counters of what the receiver did, also sent to the `metrics` facade.

use std::sync::atomic::{AtomicU64, Ordering};

use super::failures::{DependencyFailures, FailureLog};
use crate::EventKind;

/// A snapshot of the receiver's counters since it was built.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Deliveries whose body decoded into an event.
    pub received: u64,
    /// Deliveries answered with an error status.
    pub rejected: u64,
    /// Deliveries of an event already processed (answered `200`).
    pub duplicates: u64,
    /// Events whose callback succeeded.
    pub processed: u64,
    /// Events acknowledged without a callback registered for their kind.
    pub unhandled: u64,
    /// Failed callback runs (errors and panics), retries included.
    pub callback_failures: u64,
    /// Events handed to the dead-letter hook.
    pub dead_lettered: u64,
    /// Events waiting in the queue now.
    pub queue_depth: u64,
    /// Deliveries answered `503` because a dependency failed, by dependency.
    pub dependency_failures: DependencyFailures,
    /// Records written to the delivery log (deliveries and outcomes).
    pub records_written: u64,
    /// Records the delivery log could not write.
    pub record_write_failures: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    received: AtomicU64,
    rejected: AtomicU64,
    duplicates: AtomicU64,
    processed: AtomicU64,
    unhandled: AtomicU64,
    callback_failures: AtomicU64,
    dead_lettered: AtomicU64,
    queue_depth: AtomicU64,
    records_written: AtomicU64,
    record_write_failures: AtomicU64,
    pub(crate) failures: FailureLog,
}

/// The `tenant` label of a metric: the delivery's tenant, `none` without one. Its values are
/// configured labels and OAuth client ids, never free text from a request.
#[cfg(feature = "metrics")]
fn tenant_label(tenant: Option<&str>) -> String {
    tenant.unwrap_or("none").to_owned()
}

macro_rules! counter {
    ($field:ident, $metric:literal) => {
        pub(crate) fn $field(&self, tenant: Option<&str>) {
            self.$field.fetch_add(1, Ordering::Relaxed);
            #[cfg(feature = "metrics")]
            metrics::counter!($metric, "tenant" => tenant_label(tenant)).increment(1);
            #[cfg(not(feature = "metrics"))]
            let _ = tenant;
        }
    };
}

impl Counters {
    counter!(duplicates, "prepared_webhooks_duplicates_total");
    counter!(processed, "prepared_webhooks_processed_total");
    counter!(unhandled, "prepared_webhooks_unhandled_total");
    counter!(
        callback_failures,
        "prepared_webhooks_callback_failures_total"
    );
    counter!(dead_lettered, "prepared_webhooks_dead_lettered_total");

    pub(crate) fn received(&self, kind: EventKind, tenant: Option<&str>) {
        self.received.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        metrics::counter!(
            "prepared_webhooks_received_total",
            "kind" => kind.as_str(),
            "tenant" => tenant_label(tenant)
        )
        .increment(1);
        #[cfg(not(feature = "metrics"))]
        let _ = (kind, tenant);
    }

    pub(crate) fn rejected(&self, reason: &str) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        metrics::counter!("prepared_webhooks_rejected_total", "reason" => reason.to_owned())
            .increment(1);
        #[cfg(not(feature = "metrics"))]
        let _ = reason;
    }

    /// A record written to the delivery log, by the status it wrote.
    pub(crate) fn record_written(&self, status: &'static str) {
        self.records_written.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        metrics::counter!("prepared_webhooks_records_written_total", "status" => status)
            .increment(1);
        #[cfg(not(feature = "metrics"))]
        let _ = status;
    }

    /// A record the delivery log could not write (`write`: `insert` or `update`).
    pub(crate) fn record_write_failed(&self, write: &'static str) {
        self.record_write_failures.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        metrics::counter!("prepared_webhooks_record_write_failures_total", "write" => write)
            .increment(1);
        #[cfg(not(feature = "metrics"))]
        let _ = write;
    }

    pub(crate) fn queued(&self) {
        let depth = self.queue_depth.fetch_add(1, Ordering::Relaxed) + 1;
        self.depth_gauge(depth);
    }

    pub(crate) fn dequeued(&self) {
        let depth = self
            .queue_depth
            .fetch_sub(1, Ordering::Relaxed)
            .saturating_sub(1);
        self.depth_gauge(depth);
    }

    #[allow(clippy::cast_precision_loss)]
    fn depth_gauge(&self, depth: u64) {
        #[cfg(feature = "metrics")]
        metrics::gauge!("prepared_webhooks_queue_depth").set(depth as f64);
        #[cfg(not(feature = "metrics"))]
        let _ = depth;
    }

    pub(crate) fn snapshot(&self) -> Stats {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        Stats {
            received: get(&self.received),
            rejected: get(&self.rejected),
            duplicates: get(&self.duplicates),
            processed: get(&self.processed),
            unhandled: get(&self.unhandled),
            callback_failures: get(&self.callback_failures),
            dead_lettered: get(&self.dead_lettered),
            queue_depth: get(&self.queue_depth),
            dependency_failures: self.failures.snapshot(),
            records_written: get(&self.records_written),
            record_write_failures: get(&self.record_write_failures),
        }
    }
}
