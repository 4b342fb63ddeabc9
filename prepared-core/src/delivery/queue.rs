//! [`EventQueue`]: where immediate-mode events wait for a worker, and the [`Job`] they wait
//! as. Two implementations: the in-memory lanes (the default) and the durable Redis Streams
//! queue (feature `redis`).

use std::time::Duration;

use futures_util::future::BoxFuture;

use super::{Accepted, Delivery, ShutdownReport, Unavailable};
use crate::dedup::{Claim, ClaimToken};
use crate::readiness::{CheckStatus, QueueFill};
use crate::{DedupKey, Event};

/// A claimed event on its way to its callback, with its delivery and its claim's token.
pub(crate) struct Job {
    pub(crate) event: Event,
    pub(crate) delivery: Delivery,
    pub(crate) token: ClaimToken,
}

impl Job {
    pub(crate) fn key(&self) -> &DedupKey {
        self.delivery.dedup_key()
    }

    pub(crate) fn tenant(&self) -> Option<&str> {
        self.delivery.tenant()
    }
}

/// Where a queue is in its life; its workers watch it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum QueueState {
    Running,
    /// Take nothing new, finish what is queued.
    Draining,
    /// The shutdown deadline passed: dead-letter what is left.
    Abandon,
}

/// A job the queue could not take, with the reason; the caller releases its claim.
pub(crate) type Refused = (Box<Job>, Unavailable);

/// A queue of claimed events and the workers that run their callbacks.
///
/// Both implementations keep the pipeline's guarantees: an event is queued before the `200`
/// (or refused with a reason, and the caller releases its claim), the events of one incident
/// are processed in arrival order, and each event's claim is completed after its callback
/// succeeded or released when it is dead-lettered.
pub(crate) trait EventQueue: Send + Sync + 'static {
    /// Queues a claimed event, or gives it back with the reason it cannot be queued now.
    fn enqueue(&self, job: Job) -> BoxFuture<'_, Result<Accepted, Refused>>;

    /// Claims a decoded event and queues it in one step, for a queue that keeps the claims
    /// itself (the durable queue: one round trip to Redis). `handled` is false when no
    /// callback runs for the event: it is then marked done, not queued. `None` (the
    /// default): the caller claims the event in the dedup store, then
    /// [`enqueue`](Self::enqueue)s it.
    fn claim_and_enqueue<'a>(
        &'a self,
        _event: &'a Event,
        _delivery: &'a Delivery,
        _handled: bool,
    ) -> Option<BoxFuture<'a, Result<Claim, Unavailable>>> {
        None
    }

    /// Stops taking events and processes what is queued within `deadline`.
    fn shutdown(&self, deadline: Duration) -> BoxFuture<'_, ShutdownReport>;

    /// How full the queue is, for a queue in memory (readiness).
    fn fill(&self) -> Option<QueueFill> {
        None
    }

    /// A round trip to the queue's backend, for a queue outside the process (readiness).
    fn ping(&self) -> Option<BoxFuture<'_, CheckStatus>> {
        None
    }
}
