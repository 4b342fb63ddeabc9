//! [`Webhooks::replay`]: recorded events through the callbacks again, and
//! [`Webhooks::requeue_dead_letters`].
//!
//! A replay reads the records from the delivery log, oldest first, opens and decodes each
//! payload, and runs the event's callback as a worker would (with the
//! [`RetryPolicy`](super::RetryPolicy) and the dead-letter hook), one event after the other,
//! so the events of an incident run in the order they were first received. With the durable
//! queue, the events are claimed and appended to their lanes instead, in the same order, and
//! its workers run them. By default each event is claimed in
//! the dedup store first, so only what is not done runs (dead letters, events whose
//! processing was lost); [`Replay::force`] also runs events already processed, without
//! touching their claim. Each run goes into the record as further attempts.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::context::Delivery;
use super::processor::Finished;
use super::queue::{Job, QueueState};
use super::settle::{Settle, Settler};
use super::{Unavailable, Webhooks};
use crate::auth::Principal;
use crate::dedup::{Claim, ClaimToken, DedupError};
use crate::record::{DeliveryRecord, LogError, RecordFilter, RecordStatus, sealed_open};
use crate::{DedupKey, Event};

/// Which recorded events to replay, and whether to run those already processed.
///
/// ```
/// use prepared_core::delivery::Replay;
/// use prepared_core::record::RecordFilter;
///
/// let one = Replay::keys(["caller_location:550e8400-e29b-41d4-a716-446655440004"]);
/// let a_tenant = Replay::matching(RecordFilter::new().tenant("ecc-king-county")).force();
/// # let _ = (one, a_tenant);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Replay {
    /// The records named by their keys (dedup keys), or those a filter matches.
    #[serde(flatten)]
    pub selection: Selection,
    /// Also run events already processed (their claim is left as it is).
    #[serde(default)]
    pub force: bool,
}

/// The records a [`Replay`] reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Selection {
    /// These keys.
    Keys(Vec<String>),
    /// The records a filter matches.
    Filter(RecordFilter),
}

impl Replay {
    /// The records with these keys.
    pub fn keys<K: Into<String>>(keys: impl IntoIterator<Item = K>) -> Self {
        let keys = keys.into_iter().map(Into::into).collect();
        Self {
            selection: Selection::Keys(keys),
            force: false,
        }
    }

    /// The records `filter` matches.
    pub fn matching(filter: RecordFilter) -> Self {
        Self {
            selection: Selection::Filter(filter),
            force: false,
        }
    }

    /// Every dead-lettered record.
    pub fn dead_letters() -> Self {
        let filter = RecordFilter::new()
            .status(RecordStatus::DeadLettered)
            .limit(u32::MAX);
        Self::matching(filter)
    }

    /// Also runs the events already processed.
    #[must_use]
    pub fn force(mut self) -> Self {
        self.force = true;
        self
    }
}

/// What a replay did, record by record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ReplayReport {
    /// Events handed to the durable queue, whose workers run them (with a
    /// `RedisStreamQueue`; without one, replayed events run before the replay returns).
    pub queued: u64,
    /// Events whose callback ran and succeeded (or that have no callback).
    pub processed: u64,
    /// Events whose every attempt failed again: dead-lettered again.
    pub dead_lettered: u64,
    /// Events already processed, not run (without `force`).
    pub skipped_done: u64,
    /// Events another delivery is processing now, not run.
    pub skipped_in_flight: u64,
    /// Keys with no record.
    pub not_found: u64,
    /// Records that cannot be replayed: invalid payloads, or payloads that do not open (a
    /// key not given) or no longer decode.
    pub unreadable: u64,
}

/// Why a replay stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// The receiver has no delivery log.
    #[error("the receiver has no delivery log")]
    NoDeliveryLog,
    /// The delivery log failed.
    #[error("the delivery log failed")]
    Log(#[from] LogError),
    /// The dedup store failed.
    #[error("the dedup store failed")]
    Dedup(#[from] DedupError),
    /// The durable queue could not take an event.
    #[error("the durable queue could not take an event: {0}")]
    Unavailable(Unavailable),
}

/// A forced replay holds no claim: settling leaves the store as it is.
struct Unclaimed;

impl Settler for Unclaimed {
    fn settle<'a>(&'a self, _job: &'a Job, _how: Settle) -> BoxFuture<'a, ()> {
        Box::pin(std::future::ready(()))
    }
}

impl Webhooks {
    /// Runs recorded events through the callbacks again (oldest first, claimed in the dedup
    /// store unless [`Replay::force`]d; with the durable queue, queued to its lanes), one
    /// after the other, and reports what happened. Returns once every selected event ran.
    pub async fn replay(&self, replay: &Replay) -> Result<ReplayReport, ReplayError> {
        let processor = &self.inner.processor;
        let recorder = processor
            .recorder
            .as_ref()
            .ok_or(ReplayError::NoDeliveryLog)?;
        let log = recorder.log();
        let mut report = ReplayReport::default();
        let listed = match &replay.selection {
            Selection::Keys(keys) => keys.clone(),
            Selection::Filter(filter) => log
                .find(filter)
                .await?
                .into_iter()
                .map(|record| record.dedup_key)
                .collect(),
        };
        let mut records = Vec::with_capacity(listed.len());
        for key in &listed {
            match log.get(key).await? {
                Some(record) => records.push(record),
                None => report.not_found += 1,
            }
        }
        records.sort_by_key(|record| record.received_at);
        // Replays run until they end: nothing tells them to abandon.
        let (_running, mut state) = watch::channel(QueueState::Running);
        for record in records {
            let Some((event, delivery)) = self.reopen(&record) else {
                report.unreadable += 1;
                continue;
            };
            let handled = processor.callbacks.for_kind(event.kind()).is_some();
            let durable = self.inner.queue.as_ref();
            let claim = match durable
                .and_then(|queue| queue.claim_and_enqueue(&event, &delivery, handled))
            {
                Some(admitted) => match admitted.await.map_err(ReplayError::Unavailable)? {
                    Claim::Claimed(_) => {
                        report.queued += 1;
                        continue;
                    }
                    other => other,
                },
                None => processor.dedup.claim(delivery.dedup_key()).await?,
            };
            let finished = match claim {
                Claim::Claimed(token) => {
                    let job = Job {
                        event,
                        delivery,
                        token,
                    };
                    processor.process(job, &mut state, &**processor).await
                }
                Claim::Done if replay.force => {
                    let token = ClaimToken::new(0);
                    let job = Job {
                        event,
                        delivery,
                        token,
                    };
                    processor.process(job, &mut state, &Unclaimed).await
                }
                Claim::Done => {
                    report.skipped_done += 1;
                    continue;
                }
                _ => {
                    report.skipped_in_flight += 1;
                    continue;
                }
            };
            match finished {
                Finished::Completed => report.processed += 1,
                Finished::DeadLettered | Finished::Abandoned { .. } => report.dead_lettered += 1,
            }
        }
        tracing::info!(?report, "replay done");
        Ok(report)
    }

    /// Replays every dead-lettered event, e.g. once the bug that failed them is fixed.
    pub async fn requeue_dead_letters(&self) -> Result<ReplayReport, ReplayError> {
        self.replay(&Replay::dead_letters()).await
    }

    /// The event and the delivery of a record, from its payload; `None` when it cannot be
    /// replayed.
    fn reopen(&self, record: &DeliveryRecord) -> Option<(Event, Delivery)> {
        let recorder = self.inner.processor.recorder.as_ref()?;
        if record.status == RecordStatus::Invalid {
            return None;
        }
        let payload = record.payload.as_ref()?;
        let raw = match sealed_open(recorder.keys(), &record.dedup_key, payload) {
            Ok(raw) => raw,
            Err(error) => {
                tracing::warn!(record = %record.dedup_key, %error, "cannot replay: the payload does not open");
                return None;
            }
        };
        let event = Event::decode(&raw).ok()?;
        let key: DedupKey = event.dedup_key();
        if key.as_str() != record.dedup_key {
            tracing::warn!(record = %record.dedup_key, "cannot replay: the payload is another event's");
            return None;
        }
        let principal = Principal::Recorded {
            name: Arc::from(record.principal.as_str()),
        };
        let tenant = record.tenant.as_deref().map(Arc::from);
        let delivery = Delivery::new(principal, tenant, record.received_at, key, raw);
        Some((event, delivery))
    }
}
