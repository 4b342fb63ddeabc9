//! [`Processor`]: runs one event's callback with retries, then completes, releases or
//! dead-letters its claim. Shared by both acknowledgement modes.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::watch;

use super::callbacks::{Attempt, CallbackError, Callbacks};
use super::hooks::{DeadLetter, DeadLetterReason, Hook};
use super::lanes::LaneState;
use super::settle::{Settle, settle, settle_now};
use super::{RetryPolicy, stats::Counters};
use crate::dedup::{ClaimToken, DedupStore};
use crate::{DedupKey, Event};

/// A claimed event on its way to its callback.
pub(crate) struct Job {
    pub(crate) event: Event,
    pub(crate) raw: Bytes,
    pub(crate) key: DedupKey,
    pub(crate) token: ClaimToken,
}

/// How [`Processor::run_with_retries`] ended.
pub(crate) enum Finished {
    /// The callback succeeded (or no callback is registered) and the claim is completed.
    Completed,
    /// Every attempt failed; the event went to the dead-letter hook and its claim was released.
    DeadLettered,
    /// The queue is shutting down past its deadline: the job is given back.
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
    pub(crate) counters: Counters,
}

impl Processor {
    /// Runs the callback once (after-processing mode). Success completes the claim; failure
    /// releases it so that Prepared's retry is processed.
    pub(crate) async fn run_once(&self, job: Job) -> Result<(), CallbackError> {
        let Some(callback) = self.callbacks.for_kind(job.event.kind()) else {
            self.counters.unhandled();
            self.complete(&job).await;
            return Ok(());
        };
        match Attempt::start(callback, job.event.clone()).await {
            Ok(()) => {
                self.succeeded(&job).await;
                Ok(())
            }
            Err(error) => {
                self.counters.callback_failures();
                tracing::warn!(event = %job.key, error = %error, "callback failed; the claim is released for Prepared's retry");
                self.release(&job).await;
                Err(error)
            }
        }
    }

    /// Processes an immediate-mode event to its end: the callback with retries, then the
    /// claim completed, or the event dead-lettered (also when the shutdown abandons it).
    /// Whether the callback succeeded.
    pub(crate) async fn process(&self, job: Job, state: &mut watch::Receiver<LaneState>) -> bool {
        if *state.borrow() == LaneState::Abandon {
            self.dead_letter(job, 0, DeadLetterReason::Shutdown, None)
                .await;
            return false;
        }
        self.process_from(job, None, state).await
    }

    /// [`process`](Self::process), where the first attempt of the callback was started
    /// already (by a delivery that polled it once): it is awaited, and counts as the first.
    pub(crate) async fn process_from(
        &self,
        job: Job,
        first: Option<Attempt>,
        state: &mut watch::Receiver<LaneState>,
    ) -> bool {
        match self.run_with_retries(job, first, state).await {
            Finished::Completed => true,
            Finished::DeadLettered => false,
            Finished::Abandoned {
                job,
                attempts,
                last_error,
            } => {
                self.dead_letter(*job, attempts, DeadLetterReason::Shutdown, last_error)
                    .await;
                false
            }
        }
    }

    /// Runs the callback with retries (immediate mode): completes the claim on success,
    /// dead-letters the event when every attempt failed. Gives the job back, untouched but for
    /// its attempts, when the queue is told to abandon its work.
    pub(crate) async fn run_with_retries(
        &self,
        job: Job,
        mut first: Option<Attempt>,
        state: &mut watch::Receiver<LaneState>,
    ) -> Finished {
        let Some(callback) = self.callbacks.for_kind(job.event.kind()) else {
            self.counters.unhandled();
            self.complete(&job).await;
            return Finished::Completed;
        };
        let mut attempts = 0;
        let mut last_error = None;
        while attempts < self.retry.max_attempts {
            // An attempt under way is awaited, even when the queue is abandoning its work.
            let attempt = match first.take() {
                Some(attempt) => attempt,
                None if *state.borrow() == LaneState::Abandon => {
                    return Finished::Abandoned {
                        job: Box::new(job),
                        attempts,
                        last_error,
                    };
                }
                None => Attempt::start(callback, job.event.clone()),
            };
            attempts += 1;
            match attempt.await {
                Ok(()) => {
                    self.succeeded(&job).await;
                    return Finished::Completed;
                }
                Err(error) => {
                    self.counters.callback_failures();
                    tracing::warn!(event = %job.key, attempt = attempts, error = %error, "callback failed");
                    last_error = Some(error);
                }
            }
            if attempts < self.retry.max_attempts {
                let backoff = tokio::time::sleep(self.retry.backoff(attempts));
                tokio::select! {
                    () = backoff => {}
                    _ = state.wait_for(|state| *state == LaneState::Abandon) => {}
                }
            }
        }
        self.dead_letter(
            job,
            attempts,
            DeadLetterReason::RetriesExhausted,
            last_error,
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
    ) {
        self.counters.dead_lettered();
        tracing::error!(event = %job.key, attempts, ?reason, "event dead-lettered");
        self.release(&job).await;
        if let Some(hook) = &self.dead_letter {
            hook(DeadLetter {
                event: job.event,
                raw: job.raw,
                attempts,
                reason,
                last_error,
            })
            .await;
        }
    }

    /// Counts a callback's success and completes the claim.
    pub(crate) async fn succeeded(&self, job: &Job) {
        self.counters.processed();
        self.complete(job).await;
    }

    /// [`succeeded`](Self::succeeded) without waiting: `false` when the store did not
    /// answer at once, and the claim is still to be completed (with [`complete`](Self::complete)).
    pub(crate) fn succeeded_now(&self, job: &Job) -> bool {
        self.counters.processed();
        settle_now(&self.dedup, Settle::Complete, &job.key, job.token)
    }

    pub(crate) async fn complete(&self, job: &Job) {
        settle(&self.dedup, Settle::Complete, &job.key, job.token).await;
    }

    async fn release(&self, job: &Job) {
        settle(&self.dedup, Settle::Release, &job.key, job.token).await;
    }
}
