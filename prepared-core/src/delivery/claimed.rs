//! [`ClaimedEvent`]: an event handed to the application's own handler, with its dedup claim.

use std::sync::Arc;

use bytes::Bytes;
use http::{Response, StatusCode};

use super::context::Delivery;
use super::queue::Job;
use super::recorder::Recorder;
use super::settle::{Settle, settle, settle_later};
use super::{Accepted, Rejection};
use crate::dedup::{ClaimToken, DedupStore};
use crate::record::{Outcome, RecordStatus};
use crate::{DedupKey, Event};

/// A decoded event whose dedup claim this delivery holds: the application processes it, then
/// calls [`complete`](Self::complete) (redeliveries become duplicates) or
/// [`release`](Self::release) (the next delivery is processed again). Dropping it without
/// either releases the claim, so a handler that fails or panics never loses the event.
///
/// The extractors of the adapters give this to handlers and complete it when the handler's
/// response is a success.
#[derive(Debug)]
pub struct ClaimedEvent {
    event: Event,
    delivery: Delivery,
    guard: ClaimGuard,
}

impl ClaimedEvent {
    pub(crate) fn new(event: Event, delivery: Delivery, guard: ClaimGuard) -> Self {
        Self {
            event,
            delivery,
            guard,
        }
    }

    /// The event.
    pub fn event(&self) -> &Event {
        &self.event
    }

    /// What the receiver knows about the delivery: who sent it (principal, tenant), when,
    /// its dedup key and payload.
    pub fn delivery(&self) -> &Delivery {
        &self.delivery
    }

    /// The payload exactly as received.
    pub fn raw(&self) -> &Bytes {
        self.delivery.raw()
    }

    /// Takes the event and the claim apart.
    pub fn into_parts(self) -> (Event, ClaimGuard) {
        (self.event, self.guard)
    }

    /// Marks the event done: redeliveries are answered as duplicates.
    pub async fn complete(self) {
        self.guard.complete().await;
    }

    /// Gives the claim up so that the next delivery is processed.
    pub async fn release(self) {
        self.guard.release().await;
    }

    /// Hands the event and its claim over to the pipeline, which completes or releases the
    /// claim itself.
    pub(crate) fn into_job(self) -> Job {
        let Self {
            event,
            delivery,
            mut guard,
        } = self;
        let (_, token) = guard.disarm();
        Job {
            event,
            delivery,
            token,
        }
    }
}

/// A held dedup claim. [`complete`](Self::complete) or [`release`](Self::release) it;
/// dropping it releases it in the background.
pub struct ClaimGuard {
    claim: Option<(Arc<dyn DedupStore>, DedupKey, ClaimToken)>,
    recorder: Option<Arc<Recorder>>,
}

impl std::fmt::Debug for ClaimGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let key = self.claim.as_ref().map(|(_, key, _)| key);
        f.debug_struct("ClaimGuard")
            .field("key", &key)
            .finish_non_exhaustive()
    }
}

impl ClaimGuard {
    pub(crate) fn new(
        store: Arc<dyn DedupStore>,
        key: DedupKey,
        token: ClaimToken,
        recorder: Option<Arc<Recorder>>,
    ) -> Self {
        Self {
            claim: Some((store, key, token)),
            recorder,
        }
    }

    /// Writes the handler's outcome to the delivery log, if there is one.
    fn record(&self, key: &DedupKey, status: RecordStatus) {
        if let Some(recorder) = &self.recorder {
            recorder.outcome(key.as_str(), Outcome::new(status, 1, None));
        }
    }

    /// The dedup key of the claimed event.
    pub fn key(&self) -> Option<&DedupKey> {
        self.claim.as_ref().map(|(_, key, _)| key)
    }

    /// Marks the event done: redeliveries are answered as duplicates. When the store cannot
    /// be reached, retried in the background.
    pub async fn complete(mut self) {
        if let Some((store, key, token)) = self.claim.take() {
            self.record(&key, RecordStatus::Processed);
            settle(&store, Settle::Complete, &key, token).await;
        }
    }

    /// Gives the claim up: the next delivery of the event is processed. When the store
    /// cannot be reached, retried in the background.
    pub async fn release(mut self) {
        if let Some((store, key, token)) = self.claim.take() {
            self.record(&key, RecordStatus::Failed);
            settle(&store, Settle::Release, &key, token).await;
        }
    }

    /// Takes the claim out of the guard, which then does nothing when dropped.
    fn disarm(&mut self) -> (DedupKey, ClaimToken) {
        match self.claim.take() {
            Some((_, key, token)) => (key, token),
            None => unreachable!("a guard is disarmed once, before anything else takes its claim"),
        }
    }
}

impl Drop for ClaimGuard {
    fn drop(&mut self) {
        if let Some((store, key, token)) = self.claim.take() {
            self.record(&key, RecordStatus::Failed);
            settle_later(store, Settle::Release, key, token);
        }
    }
}

/// Why [`Webhooks::extract`](super::Webhooks::extract) gave no event to the handler: the
/// answer to send instead.
#[derive(Debug)]
#[non_exhaustive]
pub enum NotClaimed {
    /// The event was already processed: answered `200` so that Prepared stops retrying.
    Duplicate,
    /// The delivery was refused (`4xx`, or `503` with `Retry-After`).
    Rejected(Rejection),
}

impl NotClaimed {
    /// The status to answer with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Duplicate => StatusCode::OK,
            Self::Rejected(rejection) => rejection.status(),
        }
    }

    /// The response to send.
    pub fn to_response(&self) -> Response<Bytes> {
        match self {
            Self::Duplicate => Accepted::Duplicate.to_response(),
            Self::Rejected(rejection) => rejection.to_response(),
        }
    }
}

impl std::fmt::Display for NotClaimed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Duplicate => f.write_str("duplicate delivery"),
            Self::Rejected(rejection) => rejection.fmt(f),
        }
    }
}
