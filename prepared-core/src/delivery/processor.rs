//! [`Processor`]: runs one event's callback with retries, then completes, releases or
//! dead-letters its claim. Shared by both acknowledgement modes and both queues.

use std::sync::Arc;

use tokio::sync::watch;

use super::callbacks::{CallbackError, Callbacks, call};
use super::hooks::{DeadLetter, DeadLetterReason, Hook};
use super::queue::{Job, QueueState};
use super::recorder::Recorder;
use super::settle::{Settle, Settler, settle};
use super::{RetryPolicy, stats::Counters};
use crate::dedup::DedupStore;
use crate::record::{Outcome, RecordStatus};

/// How [`Processor::process`] ended.
pub(crate) enum Finished {
    /// The callback succeeded (or no callback is registered) and the claim is completed.
    Completed,
    /// Every attempt failed: the event went to the dead-letter hook and its claim was
    /// released.
    DeadLettered,
    /// The queue is shutting down past its deadline: the job is given back, its claim not
    /// settled. The in-memory lanes dead-letter it; the durable queue leaves it pending for
    /// another replica.
    Abandoned {
        job: Box<Job>,
        attempts: u32,
        last_error: Option<CallbackError>,
    },
}

pub(crate) struct Processor {
    pub(crate) dedup: Arc<dyn DedupStore>,
    pub(crate) callbacks: Callbacks,
    pub(crate) retry: RetryPolicy,
    pub(crate) dead_letter: Option<Hook<DeadLetter>>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) recorder: Option<Arc<Recorder>>,
}

impl Processor {
    /// Runs the callback once (after-processing mode). Success completes the claim; failure
    /// releases it so that Prepared's retry is processed.
    pub(crate) async fn run_once(&self, job: Job) -> Result<(), CallbackError> {
        let Some(callback) = self.callbacks.for_kind(job.event.kind()) else {
            self.counters.unhandled(job.tenant());
            self.settle(&job, Settle::Complete).await;
            self.record(&job, RecordStatus::Processed, 0, None);
            return Ok(());
        };
        match call(callback, job.event.clone(), job.delivery.clone()).await {
            Ok(()) => {
                self.counters.processed(job.tenant());
                self.settle(&job, Settle::Complete).await;
                self.record(&job, RecordStatus::Processed, 1, None);
                Ok(())
            }
            Err(error) => {
                self.counters.callback_failures(job.tenant());
                tracing::warn!(event = %job.key(), error = %error, "callback failed; the claim is released for Prepared's retry");
                self.settle(&job, Settle::Release).await;
                self.record(&job, RecordStatus::Failed, 1, Some(&error));
                Err(error)
            }
        }
    }

    /// Processes a queued event to its end (immediate mode): the callback with retries, then
    /// the claim completed, or the event dead-lettered when every attempt failed. When the
    /// queue is told to abandon its work, the job is given back before its next attempt (an
    /// attempt under way is awaited).
    ///
    /// `settler` completes or releases the claim: the processor itself (its dedup store), or
    /// the durable queue.
    pub(crate) async fn process(
        &self,
        job: Job,
        state: &mut watch::Receiver<QueueState>,
        settler: &dyn Settler,
    ) -> Finished {
        let Some(callback) = self.callbacks.for_kind(job.event.kind()) else {
            self.counters.unhandled(job.tenant());
            settler.settle(&job, Settle::Complete).await;
            self.record(&job, RecordStatus::Processed, 0, None);
            return Finished::Completed;
        };
        let mut attempts = 0;
        let mut last_error = None;
        while attempts < self.retry.max_attempts {
            if *state.borrow() == QueueState::Abandon {
                return Finished::Abandoned {
                    job: Box::new(job),
                    attempts,
                    last_error,
                };
            }
            attempts += 1;
            let delivery = job.delivery.at_attempt(attempts);
            match call(callback, job.event.clone(), delivery).await {
                Ok(()) => {
                    self.counters.processed(job.tenant());
                    settler.settle(&job, Settle::Complete).await;
                    self.record(&job, RecordStatus::Processed, 1, None);
                    return Finished::Completed;
                }
                Err(error) => {
                    self.counters.callback_failures(job.tenant());
                    self.record(&job, RecordStatus::Failed, 1, Some(&error));
                    tracing::warn!(event = %job.key(), attempt = attempts, error = %error, "callback failed");
                    last_error = Some(error);
                }
            }
            if attempts < self.retry.max_attempts {
                tokio::select! {
                    () = tokio::time::sleep(self.retry.backoff(attempts)) => {}
                    _ = state.wait_for(|state| *state == QueueState::Abandon) => {}
                }
            }
        }
        self.dead_letter(
            job,
            attempts,
            DeadLetterReason::RetriesExhausted,
            last_error,
            settler,
        )
        .await;
        Finished::DeadLettered
    }

    /// Hands an event that will not be processed to the dead-letter hook and releases its
    /// claim, so that a redelivery, if Prepared makes one, is processed.
    pub(crate) async fn dead_letter(
        &self,
        job: Job,
        attempts: u32,
        reason: DeadLetterReason,
        last_error: Option<CallbackError>,
        settler: &dyn Settler,
    ) {
        self.counters.dead_lettered(job.tenant());
        tracing::error!(event = %job.key(), attempts, ?reason, "event dead-lettered");
        settler.settle(&job, Settle::Release).await;
        // On record once its claim is released, so that a replay can claim it.
        self.record(&job, RecordStatus::DeadLettered, 0, None);
        if let Some(hook) = &self.dead_letter {
            hook(DeadLetter {
                event: job.event,
                raw: job.delivery.raw().clone(),
                delivery: job.delivery,
                attempts,
                reason,
                last_error,
            })
            .await;
        }
    }

    /// Writes what became of the job to the delivery log, if there is one: `attempts` more
    /// attempts, and the callback's error.
    fn record(
        &self,
        job: &Job,
        status: RecordStatus,
        attempts: u32,
        error: Option<&CallbackError>,
    ) {
        if let Some(recorder) = &self.recorder {
            let error = error.map(ToString::to_string);
            recorder.outcome(job.key().as_str(), Outcome::new(status, attempts, error));
        }
    }

    /// Completes or releases the job's claim (retried in the background if the store fails).
    pub(crate) async fn settle(&self, job: &Job, how: Settle) {
        settle(&self.dedup, how, job.key(), job.token).await;
    }
}

/// The processor settles in its dedup store.
impl Settler for Processor {
    fn settle<'a>(&'a self, job: &'a Job, how: Settle) -> futures_util::future::BoxFuture<'a, ()> {
        Box::pin(Processor::settle(self, job, how))
    }
}
