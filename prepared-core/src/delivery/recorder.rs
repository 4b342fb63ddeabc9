//! [`Recorder`]: the pipeline's side of the delivery log. It seals payloads, writes a record
//! for every delivery under the [`RecordPolicy`], writes outcomes in order behind it, and
//! keeps the log's retention and backlog gauges in the background.

use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

use super::context::Delivery;
use super::failures::Chain;
use super::stats::Counters;
use crate::readiness::Dependency;
use crate::record::{
    DeliveryLog, LogError, LogFuture, NewRecord, Outcome, RecordKeys, RecordStatus, SealedPayload,
};
use crate::{DecodeError, Event};

/// When the delivery log's record of a delivery is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecordPolicy {
    /// The record is committed before the answer: when the log cannot be written, the
    /// delivery is answered `503` with `Retry-After` (and not claimed), so nothing is
    /// acknowledged unrecorded. Costs one round trip to the log per delivery.
    #[default]
    BeforeAck,
    /// The record is written in the background, in order, without delaying the answer;
    /// failures are counted and logged, and an outage loses the records written during it.
    BestEffort,
}

/// How many writes may wait for the background writer before new ones are dropped (counted).
const WRITE_QUEUE: usize = 10_000;
/// How often a background write is tried before it is dropped (counted and logged).
const WRITE_TRIES: u32 = 5;
/// The longest a delivery waits for its record under [`RecordPolicy::BeforeAck`], whatever
/// the log's own timeouts.
const INSERT_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the retention is applied and the backlog gauges refreshed.
const MAINTENANCE_EVERY: Duration = Duration::from_secs(60);
/// How many records one purge statement deletes at most.
const PURGE_BATCH: u32 = 1_000;
/// The default retention: 30 days.
pub(crate) const DEFAULT_RETENTION: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// A write for the background writer.
enum Write {
    Insert(NewRecord),
    Update(String, Outcome),
    /// Answered once every write before it is done.
    Flush(oneshot::Sender<()>),
}

pub(crate) struct Recorder {
    log: Arc<dyn DeliveryLog>,
    keys: Option<RecordKeys>,
    policy: RecordPolicy,
    writes: mpsc::Sender<Write>,
    counters: Arc<Counters>,
}

impl Recorder {
    /// Starts the background writer and the retention task on `runtime`.
    pub(crate) fn start(
        log: Arc<dyn DeliveryLog>,
        keys: Option<RecordKeys>,
        policy: RecordPolicy,
        retention: Duration,
        counters: Arc<Counters>,
        runtime: &tokio::runtime::Handle,
    ) -> Arc<Self> {
        let (writes, queue) = mpsc::channel(WRITE_QUEUE);
        runtime.spawn(write_in_order(
            queue,
            Arc::clone(&log),
            Arc::clone(&counters),
        ));
        let recorder = Arc::new(Self {
            log,
            keys,
            policy,
            writes,
            counters,
        });
        runtime.spawn(maintain(Arc::downgrade(&recorder), retention));
        recorder
    }

    pub(crate) fn log(&self) -> &Arc<dyn DeliveryLog> {
        &self.log
    }

    pub(crate) fn keys(&self) -> Option<&RecordKeys> {
        self.keys.as_ref()
    }

    /// Records a delivery that decoded. Under [`RecordPolicy::BeforeAck`] the error is the
    /// caller's to answer (`503`); under `BestEffort` the write is queued.
    pub(crate) async fn received(
        &self,
        event: &Event,
        delivery: &Delivery,
    ) -> Result<(), LogError> {
        let key = delivery.dedup_key().as_str();
        let record = NewRecord {
            key: key.to_owned(),
            kind: Some(event.type_name().to_owned()),
            incident_id: event.incident_id(),
            tenant: delivery.tenant().map(str::to_owned),
            principal: delivery.principal().name(),
            received_at: delivery.received_at(),
            status: RecordStatus::Received,
            error: None,
            payload: self.seal(key, delivery.raw())?,
        };
        self.write_now_or_queue(record).await
    }

    /// Records a payload that did not decode, under a key of its own.
    pub(crate) async fn invalid(
        &self,
        raw: &Bytes,
        error: &DecodeError,
        principal: String,
        tenant: Option<&str>,
        received_at: OffsetDateTime,
    ) {
        let key = format!("invalid:{}", uuid::Uuid::new_v4());
        let Ok(payload) = self.seal(&key, raw) else {
            return;
        };
        let record = NewRecord {
            payload,
            key,
            kind: None,
            incident_id: None,
            tenant: tenant.map(str::to_owned),
            principal,
            received_at,
            status: RecordStatus::Invalid,
            error: Some(error.to_string()),
        };
        // The answer is `400` either way; a failure is counted and logged.
        let _ = self.write_now_or_queue(record).await;
    }

    /// Records what became of an event, behind its record, without waiting.
    pub(crate) fn outcome(&self, key: &str, outcome: Outcome) {
        self.queue(Write::Update(key.to_owned(), outcome));
    }

    /// Waits until the writes queued so far are done, or `deadline` passed.
    pub(crate) async fn flush(&self, deadline: Duration) {
        let (done, flushed) = oneshot::channel();
        if self.writes.send(Write::Flush(done)).await.is_ok() {
            let _ = tokio::time::timeout(deadline, flushed).await;
        }
    }

    async fn write_now_or_queue(&self, record: NewRecord) -> Result<(), LogError> {
        if self.policy == RecordPolicy::BestEffort {
            self.queue(Write::Insert(record));
            return Ok(());
        }
        let inserted = tokio::time::timeout(INSERT_TIMEOUT, self.log.insert(&record)).await;
        let inserted =
            inserted.unwrap_or_else(|_| Err(LogError::Unreachable("no answer within 5 s".into())));
        match inserted {
            Ok(()) => {
                self.counters.record_written(record.status.as_str());
                Ok(())
            }
            Err(error) => {
                self.counters.record_write_failed("insert");
                let failures = &self.counters.failures;
                failures.record(Dependency::DeliveryLog, error.kind(), &Chain(&error));
                Err(error)
            }
        }
    }

    fn queue(&self, write: Write) {
        let kind = match &write {
            Write::Insert(_) => "insert",
            _ => "update",
        };
        if self.writes.try_send(write).is_err() {
            self.counters.record_write_failed(kind);
            let failures = &self.counters.failures;
            let full = "the delivery log's background writer is full";
            failures.record(Dependency::DeliveryLog, "writer_full", &full);
        }
    }

    /// Seals a payload with the current key, or keeps it in clear without one. aws-lc
    /// refuses to seal only when its own state is broken; the delivery is then not recorded
    /// (and, before the answer, refused with `503`).
    fn seal(&self, key: &str, raw: &Bytes) -> Result<SealedPayload, LogError> {
        let Some(keys) = &self.keys else {
            // A copy of its own: the body may be a slice of a larger buffer of the server's,
            // which a kept record would keep alive (10 000 records held ~65 MB that way).
            return Ok(SealedPayload::clear(Bytes::copy_from_slice(raw)));
        };
        keys.seal(key, raw).map_err(|error| {
            self.counters.record_write_failed("insert");
            let error = LogError::Backend(Box::new(error));
            let failures = &self.counters.failures;
            failures.record(Dependency::DeliveryLog, "encryption", &Chain(&error));
            error
        })
    }
}

/// The background writer: every queued write in order, each tried a few times.
async fn write_in_order(
    mut queue: mpsc::Receiver<Write>,
    log: Arc<dyn DeliveryLog>,
    counters: Arc<Counters>,
) {
    while let Some(write) = queue.recv().await {
        match write {
            Write::Insert(record) => {
                let written = tried(|| log.insert(&record)).await;
                count(&counters, "insert", record.status, written);
            }
            Write::Update(key, outcome) => {
                let written = tried(|| log.update(&key, &outcome)).await;
                count(&counters, "update", outcome.status, written);
            }
            Write::Flush(done) => {
                let _ = done.send(());
            }
        }
    }
}

/// Runs a write up to [`WRITE_TRIES`] times, with a backoff from 100 ms; the last error if
/// every try failed.
async fn tried<'a>(write: impl Fn() -> LogFuture<'a, ()>) -> Result<(), LogError> {
    let mut backoff = Duration::from_millis(100);
    let mut tries = 1;
    loop {
        match write().await {
            Err(_) if tries < WRITE_TRIES => {
                tokio::time::sleep(backoff).await;
                backoff *= 2;
                tries += 1;
            }
            written => return written,
        }
    }
}

/// Counts a background write, and logs one that was given up.
fn count(
    counters: &Counters,
    write: &'static str,
    status: RecordStatus,
    written: Result<(), LogError>,
) {
    match written {
        Ok(()) => counters.record_written(status.as_str()),
        Err(error) => {
            counters.record_write_failed(write);
            let failures = &counters.failures;
            failures.record(Dependency::DeliveryLog, error.kind(), &Chain(&error));
        }
    }
}

/// Applies the retention (in batches) and refreshes the backlog gauges, every
/// [`MAINTENANCE_EVERY`], for as long as the recorder lives.
async fn maintain(recorder: Weak<Recorder>, retention: Duration) {
    let mut ticks = tokio::time::interval(MAINTENANCE_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(recorder) = recorder.upgrade() else {
            return;
        };
        let log = recorder.log();
        let cutoff = OffsetDateTime::now_utc() - retention;
        loop {
            match log.purge(cutoff, PURGE_BATCH).await {
                Ok(purged) if purged == u64::from(PURGE_BATCH) => continue,
                Ok(purged) => {
                    if purged > 0 {
                        tracing::debug!(purged, "delivery log: records past the retention purged");
                    }
                    break;
                }
                Err(error) => {
                    tracing::warn!(error = %Chain(&error), "delivery log: could not purge old records");
                    break;
                }
            }
        }
        #[cfg(feature = "metrics")]
        if let Ok(backlog) = log.backlog().await {
            #[allow(clippy::cast_precision_loss)]
            metrics::gauge!("prepared_webhooks_dead_letters_waiting")
                .set(backlog.dead_letters as f64);
            let age = backlog.oldest_unprocessed.map_or(0.0, |oldest| {
                (OffsetDateTime::now_utc() - oldest)
                    .as_seconds_f64()
                    .max(0.0)
            });
            metrics::gauge!("prepared_webhooks_oldest_unprocessed_seconds").set(age);
        }
    }
}
