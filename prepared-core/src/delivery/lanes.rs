//! The in-memory queue of [`AckMode::Immediate`](super::AckMode::Immediate): bounded lanes,
//! one worker each, and a delivery that finds its lane idle runs its event at once.
//!
//! An event goes to the lane chosen by its incident id, so the events of one incident are
//! processed one after the other in arrival order, while different incidents are processed in
//! parallel, one lane per worker. A retried event holds its lane, which is what keeps the
//! incident's order. The queue's capacity is split evenly between lanes; a full lane answers
//! `503` (and the claim is released), so nothing is lost.
//!
//! # Running at once
//! Whoever processes one of a lane's events holds the lane's *turn*: its worker, or a
//! delivery. A delivery whose lane has nothing queued and nobody processing takes the turn
//! and polls its event's processing (the callback, then the claim's completion) once, before
//! answering: a callback that finishes in that first poll is done before the `200`, with no
//! hand-off to another task (the common case, and the cheap one: a hand-off wakes a task,
//! often on another thread). Otherwise the processing continues on a task of its own, which
//! keeps the turn until the event is done, and the delivery is answered at once. Events that
//! arrive while the turn is held wait in the lane's channel, and the worker takes the turn
//! for each of them, so the order is the order of arrival either way.

use std::future::Future;
use std::hash::{BuildHasher, Hash};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::sync::{Mutex, OwnedMutexGuard, mpsc, watch};
use tokio::task::JoinHandle;

use futures_util::future::BoxFuture;

use super::callbacks::Attempt;
use super::processor::{Job, Processor};
use super::queue::{Enqueued, EventQueue};
use super::{Accepted, ShutdownReport, Unavailable};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LaneState {
    Running,
    /// Take nothing new, finish what is queued.
    Draining,
    /// The deadline passed: dead-letter what is left.
    Abandon,
}

pub(crate) struct Lanes {
    lanes: Vec<Lane>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    state: watch::Sender<LaneState>,
    processor: Arc<Processor>,
    /// The most events one lane's `backlog` may count: its share of the queue's capacity.
    per_lane: usize,
    /// Where processing that did not finish in its first poll continues.
    runtime: tokio::runtime::Handle,
    hasher: std::collections::hash_map::RandomState,
}

/// One lane: its channel to the worker, and what the worker and the deliveries share.
struct Lane {
    sender: mpsc::Sender<Job>,
    /// Held by whoever processes one of this lane's events.
    turn: Arc<Mutex<()>>,
    /// Events sent to the worker and not yet processed to their end.
    backlog: Arc<AtomicUsize>,
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
        let mut all = Vec::with_capacity(lanes);
        let mut workers = Vec::with_capacity(lanes);
        for _ in 0..lanes {
            let (sender, receiver) = mpsc::channel(per_lane);
            let lane = Lane {
                sender,
                turn: Arc::new(Mutex::new(())),
                backlog: Arc::new(AtomicUsize::new(0)),
            };
            workers.push(runtime.spawn(run_lane(
                receiver,
                Arc::clone(&lane.turn),
                Arc::clone(&lane.backlog),
                Arc::clone(&processor),
                state.subscribe(),
            )));
            all.push(lane);
        }
        Self {
            lanes: all,
            workers: Mutex::new(workers),
            state,
            processor,
            per_lane,
            runtime: runtime.clone(),
            hasher: std::collections::hash_map::RandomState::new(),
        }
    }

    /// Runs a job at once if its lane is idle, else queues it on its lane; or gives it back
    /// with the reason it can be neither.
    fn submit(&self, job: Job) -> Result<Accepted, (Box<Job>, Unavailable)> {
        let lane = &self.lanes[match job.event.incident_id() {
            Some(incident) => self.lane_of(incident),
            None => self.lane_of(&job.key),
        }];
        if *self.state.borrow() != LaneState::Running {
            return Err((Box::new(job), Unavailable::ShuttingDown));
        }
        // Idle: nobody holds the turn, and no event waits for it (a queued event's worker may
        // not have taken the turn yet).
        if let Ok(turn) = Arc::clone(&lane.turn).try_lock_owned()
            && lane.backlog.load(Ordering::Acquire) == 0
        {
            return Ok(self.run_now(turn, job));
        }
        self.send(lane, job)
    }

    /// Processes a job holding its lane's turn: the callback polled once here, the rest on a
    /// task of its own.
    ///
    /// Only the callback's future (boxed already) and, after a success, the claim's
    /// completion are set up here: when both finish in their first poll, which is the common
    /// case, no future of the retry loop is built, boxed or moved. The first polls use a
    /// no-op waker: what does not finish in them goes to a task, whose own first poll
    /// registers its waker, so no wake-up is lost.
    fn run_now(&self, turn: OwnedMutexGuard<()>, job: Job) -> Accepted {
        let mut cx = Context::from_waker(Waker::noop());
        let processor = &self.processor;
        let Some(callback) = processor.callbacks.for_kind(job.event.kind()) else {
            // Not reached: events without a callback are answered before the lanes.
            return self.continue_later(turn, job, None);
        };
        let mut attempt = Attempt::start(callback, job.event.clone());
        match Pin::new(&mut attempt).poll(&mut cx) {
            Poll::Ready(Ok(())) => {
                if processor.succeeded_now(&job) {
                    return Accepted::Processed;
                }
                // A dedup store that answers later (Redis): the completion, again, on a task
                // that keeps the turn until it is done.
                let processor = Arc::clone(processor);
                drop(self.runtime.spawn(async move {
                    processor.complete(&job).await;
                    drop(turn);
                }));
                Accepted::Queued
            }
            // The retries (after a failure) or the rest of the callback: the attempt goes on.
            Poll::Ready(Err(error)) => {
                self.continue_later(turn, job, Some(Attempt::finished(Err(error))))
            }
            Poll::Pending => self.continue_later(turn, job, Some(attempt)),
        }
    }

    /// Hands a job whose first attempt is under way (or done, or not started) to a task of
    /// its own, which keeps the lane's turn until the job is processed.
    fn continue_later(
        &self,
        turn: OwnedMutexGuard<()>,
        job: Job,
        first: Option<Attempt>,
    ) -> Accepted {
        let processor = Arc::clone(&self.processor);
        let mut state = self.state.subscribe();
        drop(self.runtime.spawn(async move {
            processor.process_from(job, first, &mut state).await;
            drop(turn);
        }));
        Accepted::Queued
    }

    fn send(&self, lane: &Lane, job: Job) -> Result<Accepted, (Box<Job>, Unavailable)> {
        // Counted before sending so that the worker's decrements never come first. The
        // event the worker holds while it waits for the turn counts too, so a lane never
        // takes more than its capacity.
        if lane.backlog.fetch_add(1, Ordering::AcqRel) >= self.per_lane {
            lane.backlog.fetch_sub(1, Ordering::AcqRel);
            return Err((Box::new(job), Unavailable::QueueFull));
        }
        self.processor.counters.queued();
        match lane.sender.try_send(job) {
            Ok(()) => Ok(Accepted::Queued),
            Err(error) => {
                lane.backlog.fetch_sub(1, Ordering::AcqRel);
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
        usize::try_from(hash % self.lanes.len() as u64).unwrap_or(0)
    }

    /// Waits until the workers have stopped and no event is being processed.
    async fn settled(&self, workers: &mut Vec<JoinHandle<()>>) {
        join_all(workers).await;
        for lane in &self.lanes {
            drop(lane.turn.lock().await);
        }
    }

    /// Drains the lanes within `deadline`, then dead-letters what is left.
    async fn drain(&self, deadline: Duration) -> ShutdownReport {
        let queued_at_start = self.processor.counters.snapshot().queue_depth;
        let dead_lettered_before = self.processor.counters.snapshot().dead_lettered;
        self.state.send_replace(LaneState::Draining);
        let mut workers = std::mem::take(&mut *self.workers.lock().await);
        let drained = tokio::time::timeout(deadline, self.settled(&mut workers))
            .await
            .is_ok();
        if !drained {
            self.state.send_replace(LaneState::Abandon);
            // Dead-lettering is quick; a callback that hangs is not waited for beyond this.
            if tokio::time::timeout(ABANDON_GRACE, self.settled(&mut workers))
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
    turn: Arc<Mutex<()>>,
    backlog: Arc<AtomicUsize>,
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
                let _turn = turn.lock().await;
                processor.process(job, &mut state).await;
                backlog.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }
}

impl EventQueue for Lanes {
    fn enqueue(&self, job: Job) -> Enqueued<'_> {
        Enqueued::Now(self.submit(job))
    }

    fn shutdown(&self, deadline: Duration) -> BoxFuture<'_, ShutdownReport> {
        Box::pin(self.drain(deadline))
    }
}
