//! The in-memory queue of [`AckMode::Immediate`](super::AckMode::Immediate): bounded lanes,
//! one worker each.
//!
//! An event goes to the lane chosen by its incident id, so the events of one incident are
//! processed one after the other in arrival order, while different incidents are processed in
//! parallel, one lane per worker. A retried event holds its lane, which is what keeps the
//! incident's order. The queue's capacity is split evenly between lanes; a full lane answers
//! `503` (and the claim is released), so nothing is lost.

use std::hash::{BuildHasher, Hash};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, mpsc, watch};
use tokio::task::JoinHandle;

use futures_util::future::BoxFuture;

use super::processor::{Finished, Job, Processor};
use super::queue::EventQueue;
use super::{DeadLetterReason, ShutdownReport, Unavailable};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LaneState {
    Running,
    /// Take nothing new, finish what is queued.
    Draining,
    /// The deadline passed: dead-letter what is left.
    Abandon,
}

pub(crate) struct Lanes {
    senders: Vec<mpsc::Sender<Job>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    state: watch::Sender<LaneState>,
    processor: Arc<Processor>,
    hasher: std::collections::hash_map::RandomState,
}

impl Lanes {
    pub(crate) fn start(
        processor: Arc<Processor>,
        lanes: usize,
        capacity: usize,
        runtime: &tokio::runtime::Handle,
    ) -> Self {
        let lanes = lanes.max(1);
        let per_lane = capacity.div_ceil(lanes).max(1);
        let (state, _) = watch::channel(LaneState::Running);
        let mut senders = Vec::with_capacity(lanes);
        let mut workers = Vec::with_capacity(lanes);
        for _ in 0..lanes {
            let (sender, receiver) = mpsc::channel(per_lane);
            senders.push(sender);
            workers.push(runtime.spawn(run_lane(
                receiver,
                Arc::clone(&processor),
                state.subscribe(),
            )));
        }
        Self {
            senders,
            workers: Mutex::new(workers),
            state,
            processor,
            hasher: std::collections::hash_map::RandomState::new(),
        }
    }

    /// Queues a job on its incident's lane, or gives it back with the reason it cannot be.
    fn try_enqueue(&self, job: Job) -> Result<(), (Box<Job>, Unavailable)> {
        let lane = match job.event.incident_id() {
            Some(incident) => self.lane_of(incident),
            None => self.lane_of(&job.key),
        };
        // The depth is counted before sending so the worker's decrement never comes first.
        self.processor.counters.queued();
        match self.senders[lane].try_send(job) {
            Ok(()) => Ok(()),
            Err(error) => {
                self.processor.counters.dequeued();
                match error {
                    mpsc::error::TrySendError::Full(job) => {
                        Err((Box::new(job), Unavailable::QueueFull))
                    }
                    mpsc::error::TrySendError::Closed(job) => {
                        Err((Box::new(job), Unavailable::ShuttingDown))
                    }
                }
            }
        }
    }

    fn lane_of(&self, key: impl Hash) -> usize {
        let hash = self.hasher.hash_one(key);
        // Lanes are few: the remainder of a 64-bit hash fits in usize.
        usize::try_from(hash % self.senders.len() as u64).unwrap_or(0)
    }

    /// Drains the lanes within `deadline`, then dead-letters what is left.
    async fn drain(&self, deadline: Duration) -> ShutdownReport {
        let queued_at_start = self.processor.counters.snapshot().queue_depth;
        let dead_lettered_before = self.processor.counters.snapshot().dead_lettered;
        self.state.send_replace(LaneState::Draining);
        let mut workers = std::mem::take(&mut *self.workers.lock().await);
        let drained = tokio::time::timeout(deadline, join_all(&mut workers))
            .await
            .is_ok();
        if !drained {
            self.state.send_replace(LaneState::Abandon);
            // Dead-lettering is quick; a callback that hangs is not waited for beyond this.
            if tokio::time::timeout(ABANDON_GRACE, join_all(&mut workers))
                .await
                .is_err()
            {
                for worker in &workers {
                    worker.abort();
                }
            }
        }
        let stats = self.processor.counters.snapshot();
        ShutdownReport {
            queued_at_start,
            drained_in_time: drained,
            dead_lettered: stats.dead_lettered - dead_lettered_before,
            left_unprocessed: stats.queue_depth,
        }
    }
}

const ABANDON_GRACE: Duration = Duration::from_secs(1);

async fn join_all(workers: &mut Vec<JoinHandle<()>>) {
    while let Some(worker) = workers.last_mut() {
        // A worker that panicked outside a callback is gone either way.
        let _ = worker.await;
        workers.pop();
    }
}

async fn run_lane(
    mut receiver: mpsc::Receiver<Job>,
    processor: Arc<Processor>,
    mut state: watch::Receiver<LaneState>,
) {
    let mut closed = false;
    loop {
        tokio::select! {
            biased;
            changed = state.changed(), if !closed => {
                if changed.is_err() || *state.borrow() != LaneState::Running {
                    receiver.close();
                    closed = true;
                }
            }
            job = receiver.recv() => {
                let Some(job) = job else { break };
                processor.counters.dequeued();
                if *state.borrow() == LaneState::Abandon {
                    processor.dead_letter(job, 0, DeadLetterReason::Shutdown, None).await;
                } else if let Finished::Abandoned { job, attempts, last_error } =
                    processor.run_with_retries(job, &mut state).await
                {
                    processor.dead_letter(*job, attempts, DeadLetterReason::Shutdown, last_error).await;
                }
            }
        }
    }
}

impl EventQueue for Lanes {
    fn enqueue(&self, job: Job) -> BoxFuture<'_, Result<(), (Box<Job>, Unavailable)>> {
        Box::pin(std::future::ready(self.try_enqueue(job)))
    }

    fn shutdown(&self, deadline: Duration) -> BoxFuture<'_, ShutdownReport> {
        Box::pin(self.drain(deadline))
    }
}
