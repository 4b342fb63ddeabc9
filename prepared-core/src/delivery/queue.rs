//! [`EventQueue`]: where immediate-mode events wait for a worker. Two implementations: the
//! in-memory lanes (the default) and the durable Redis Streams queue (feature `redis`).

use std::time::Duration;

use futures_util::future::BoxFuture;

use super::processor::Job;
use super::{Accepted, ShutdownReport, Unavailable};

/// A queue of claimed events and the workers that run their callbacks.
///
/// Both implementations keep the pipeline's guarantees: an event is queued before the `200`
/// (or refused with a reason, and the caller releases its claim), the events of one incident
/// are processed in arrival order, each event's claim is completed after its callback
/// succeeded or released when it is dead-lettered.
pub(crate) trait EventQueue: Send + Sync + 'static {
    /// Queues a claimed event (or processes it at once, if the queue can do that without
    /// making the delivery wait: [`Accepted::Processed`]), or gives it back with the reason it
    /// cannot be queued now.
    fn enqueue(&self, job: Job) -> Enqueued<'_>;

    /// Stops taking events and processes what is queued within `deadline`.
    fn shutdown(&self, deadline: Duration) -> BoxFuture<'_, ShutdownReport>;
}

/// What [`EventQueue::enqueue`] answers: at once (the in-memory lanes), or after some I/O.
pub(crate) enum Enqueued<'a> {
    /// The in-memory lanes answer at once.
    Now(Result<Accepted, (Box<Job>, Unavailable)>),
    /// The durable queue (feature `redis`) answers once Redis has the event.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    Later(BoxFuture<'a, Result<Accepted, (Box<Job>, Unavailable)>>),
}
