//! [`Lanes`]: the in-memory queue of [`AckMode::Immediate`](super::AckMode::Immediate),
//! bounded lanes with one worker each.
//!
//! An event goes to the lane chosen by its incident id, so the events of one incident are
//! processed one after the other in arrival order, while different incidents are processed in
//! parallel, one lane per worker. A retried event holds its lane, which is what keeps the
//! incident's order. The queue's capacity is split evenly between lanes; a full lane answers
//! `503` (and the claim is released), so nothing is lost.

use std::hash::{BuildHasher, Hash};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::{Mutex, mpsc, watch};
use tokio::task::JoinHandle;

use super::hooks::DeadLetterReason;
use super::processor::{Finished, Processor};
use super::queue::{EventQueue, Job, QueueState, Refused};
use super::{Accepted, ShutdownReport, Unavailable};
use crate::readiness::QueueFill;

/// How long abandoned events may take to be dead-lettered once the deadline has passed; a
/// callback that hangs is not waited for beyond it.
const ABANDON_GRACE: Duration = Duration::from_secs(1);

pub(crate) struct Lanes {
    senders: Vec<mpsc::Sender<Job>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    state: watch::Sender<QueueState>,
    processor: Arc<Processor>,
    hasher: std::collections::hash_map::RandomState,
}

impl Lanes {
    /// Starts `lanes` workers on `runtime`, each fed by a channel of its share of `capacity`.
    pub(crate) fn start(
        processor: Arc<Processor>,
        lanes: usize,
        capacity: usize,
        runtime: &tokio::runtime::Handle,
    ) -> Self {
        let lanes = lanes.max(1);
        let per_lane = capacity.div_ceil(lanes).max(1);
        let (state, _) = watch::channel(QueueState::Running);
        let (senders, workers) = (0..lanes)
            .map(|_| {
                let (sender, receiver) = mpsc::channel(per_lane);
                let worker = run_lane(receiver, Arc::clone(&processor), state.subscribe());
                (sender, runtime.spawn(worker))
            })
            .unzip();
        #[cfg(feature = "metrics")]
        #[allow(clippy::cast_precision_loss)]
        metrics::gauge!("prepared_webhooks_queue_capacity").set((per_lane * lanes) as f64);
        Self {
            senders,
            workers: Mutex::new(workers),
            state,
            processor,
            hasher: std::collections::hash_map::RandomState::new(),
        }
    }

    /// Queues a job on its incident's lane, or gives it back with the reason it cannot be.
    fn submit(&self, job: Job) -> Result<Accepted, Refused> {
        if *self.state.borrow() != QueueState::Running {
            return Err((Box::new(job), Unavailable::ShuttingDown));
        }
        let lane = match job.event.incident_id() {
            Some(incident) => self.lane_of(incident),
            None => self.lane_of(job.key()),
        };
        // Counted before sending, so that the worker's decrement never comes first.
        let counters = &self.processor.counters;
        counters.queued();
        let refused = match self.senders[lane].try_send(job) {
            Ok(()) => return Ok(Accepted::Queued),
            Err(mpsc::error::TrySendError::Full(job)) => (job, Unavailable::QueueFull),
            Err(mpsc::error::TrySendError::Closed(job)) => (job, Unavailable::ShuttingDown),
        };
        counters.dequeued();
        Err((Box::new(refused.0), refused.1))
    }

    fn lane_of(&self, key: impl Hash) -> usize {
        let lanes = self.senders.len() as u64;
        // The remainder is below the number of lanes, so it fits in usize.
        usize::try_from(self.hasher.hash_one(key) % lanes).unwrap_or(0)
    }

    /// Drains the lanes within `deadline`, then dead-letters what is left.
    async fn drain(&self, deadline: Duration) -> ShutdownReport {
        let before = self.processor.counters.snapshot();
        self.state.send_replace(QueueState::Draining);
        let mut workers = std::mem::take(&mut *self.workers.lock().await);
        let drained = tokio::time::timeout(deadline, join_all(&mut workers))
            .await
            .is_ok();
        if !drained {
            self.state.send_replace(QueueState::Abandon);
            if tokio::time::timeout(ABANDON_GRACE, join_all(&mut workers))
                .await
                .is_err()
            {
                for worker in &workers {
                    worker.abort();
                }
            }
        }
        let after = self.processor.counters.snapshot();
        ShutdownReport {
            queued_at_start: before.queue_depth,
            drained_in_time: drained,
            dead_lettered: after.dead_lettered - before.dead_lettered,
            left_unprocessed: after.queue_depth,
        }
    }
}

async fn join_all(workers: &mut Vec<JoinHandle<()>>) {
    while let Some(worker) = workers.last_mut() {
        // A worker that panicked outside a callback is gone either way.
        let _ = worker.await;
        workers.pop();
    }
}

/// One lane's worker: processes its events in order until the lane is closed and empty.
async fn run_lane(
    mut receiver: mpsc::Receiver<Job>,
    processor: Arc<Processor>,
    mut state: watch::Receiver<QueueState>,
) {
    let mut closed = false;
    loop {
        tokio::select! {
            biased;
            changed = state.changed(), if !closed => {
                // Draining: take nothing new, but process what is in the channel.
                if changed.is_err() || *state.borrow() != QueueState::Running {
                    receiver.close();
                    closed = true;
                }
            }
            job = receiver.recv() => {
                let Some(job) = job else { break };
                processor.counters.dequeued();
                if let Finished::Abandoned { job, attempts, last_error } =
                    processor.process(job, &mut state, &*processor).await
                {
                    processor
                        .dead_letter(*job, attempts, DeadLetterReason::Shutdown, last_error, &*processor)
                        .await;
                }
            }
        }
    }
}

impl EventQueue for Lanes {
    fn enqueue(&self, job: Job) -> BoxFuture<'_, Result<Accepted, Refused>> {
        Box::pin(std::future::ready(self.submit(job)))
    }

    fn shutdown(&self, deadline: Duration) -> BoxFuture<'_, ShutdownReport> {
        Box::pin(self.drain(deadline))
    }

    /// From the channels themselves: what is taken of each lane's room.
    fn fill(&self) -> Option<QueueFill> {
        let (depth, capacity) = self.senders.iter().fold((0, 0), |(depth, capacity), lane| {
            let room = lane.max_capacity();
            (
                depth + room.saturating_sub(lane.capacity()),
                capacity + room,
            )
        });
        Some(QueueFill {
            depth: depth as u64,
            capacity: capacity as u64,
        })
    }
}
