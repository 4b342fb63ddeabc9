//! The records: [`NewRecord`] as the pipeline writes it, [`DeliveryRecord`] as it is read
//! back, [`RecordStatus`] and [`Outcome`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::SealedPayload;

/// Where a recorded event stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RecordStatus {
    /// Delivered and acknowledged (or about to be); not processed yet.
    Received,
    /// Its callback succeeded (or no callback is registered for its kind).
    Processed,
    /// Its callback failed and will be retried.
    Failed,
    /// Every attempt failed; it waits for a fix and a replay.
    DeadLettered,
    /// The payload did not decode: answered `400`, kept with the decode error.
    Invalid,
}

impl RecordStatus {
    /// Every status.
    pub const ALL: [Self; 5] = [
        Self::Received,
        Self::Processed,
        Self::Failed,
        Self::DeadLettered,
        Self::Invalid,
    ];

    /// Its name in records, filters and metric labels, e.g. `dead_lettered`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Processed => "processed",
            Self::Failed => "failed",
            Self::DeadLettered => "dead_lettered",
            Self::Invalid => "invalid",
        }
    }
}

impl fmt::Display for RecordStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status name that is none of [`RecordStatus::ALL`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown record status `{0}`")]
pub struct UnknownStatus(pub String);

impl FromStr for RecordStatus {
    type Err = UnknownStatus;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == name)
            .ok_or_else(|| UnknownStatus(name.to_owned()))
    }
}

/// A delivery as the pipeline records it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct NewRecord {
    /// The record's key: the event's dedup key, or `invalid:<uuid>` for a payload that did
    /// not decode.
    pub key: String,
    /// The event's kind (its `type`), `None` for an invalid payload.
    pub kind: Option<String>,
    /// The incident the event belongs to, when it names one.
    pub incident_id: Option<Uuid>,
    /// The tenant the credential maps to (e.g. the dispatch center).
    pub tenant: Option<String>,
    /// The credential's name ([`Principal::name`](crate::auth::Principal::name)).
    pub principal: String,
    /// When the delivery was received.
    pub received_at: OffsetDateTime,
    /// [`RecordStatus::Received`], or [`RecordStatus::Invalid`].
    pub status: RecordStatus,
    /// For an invalid payload, the decode error (which never quotes the payload).
    pub error: Option<String>,
    /// The payload as received, sealed.
    pub payload: SealedPayload,
}

impl NewRecord {
    /// A delivery received now-or-then, with no kind or tenant yet: for logs' own tests and
    /// tools that import records. The pipeline fills every field it knows.
    pub fn received(
        key: impl Into<String>,
        principal: impl Into<String>,
        received_at: OffsetDateTime,
        payload: SealedPayload,
    ) -> Self {
        Self {
            key: key.into(),
            kind: None,
            incident_id: None,
            tenant: None,
            principal: principal.into(),
            received_at,
            status: RecordStatus::Received,
            error: None,
            payload,
        }
    }
}

/// What became of a recorded event.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Outcome {
    /// Its new status.
    pub status: RecordStatus,
    /// Attempts made since the last outcome, added to the record's count.
    pub attempts: u32,
    /// The callback's last error, if it failed.
    pub error: Option<String>,
}

impl Outcome {
    /// An outcome with this status after `attempts` attempts.
    pub fn new(status: RecordStatus, attempts: u32, error: Option<String>) -> Self {
        Self {
            status,
            attempts,
            error,
        }
    }
}

/// A recorded delivery as a log reads it back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DeliveryRecord {
    /// The record's key (the event's dedup key).
    pub dedup_key: String,
    /// The event's kind, `None` for an invalid payload.
    pub kind: Option<String>,
    /// The incident the event belongs to.
    pub incident_id: Option<Uuid>,
    /// The tenant the credential maps to.
    pub tenant: Option<String>,
    /// The credential's name.
    pub principal: String,
    /// When it was first received.
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// When it was last received.
    #[serde(with = "time::serde::rfc3339")]
    pub last_received_at: OffsetDateTime,
    /// How many times it was delivered.
    pub deliveries: u32,
    /// Where it stands.
    pub status: RecordStatus,
    /// How many times its callback ran, replays included.
    pub attempts: u32,
    /// The callback's last error, or the decode error of an invalid payload.
    pub last_error: Option<String>,
    /// When its status last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// The payload, sealed; only [`DeliveryLog::get`](super::DeliveryLog::get) reads it.
    #[serde(skip)]
    pub payload: Option<SealedPayload>,
}

impl DeliveryRecord {
    /// A new record from what the pipeline writes: one delivery, no attempt yet.
    pub fn from_new(record: &NewRecord) -> Self {
        Self {
            dedup_key: record.key.clone(),
            kind: record.kind.clone(),
            incident_id: record.incident_id,
            tenant: record.tenant.clone(),
            principal: record.principal.clone(),
            received_at: record.received_at,
            last_received_at: record.received_at,
            deliveries: 1,
            status: record.status,
            attempts: 0,
            last_error: record.error.clone(),
            updated_at: record.received_at,
            payload: Some(record.payload.clone()),
        }
    }

    /// Applies a redelivery (see [`DeliveryLog::insert`](super::DeliveryLog::insert)).
    pub fn redelivered(&mut self, at: OffsetDateTime) {
        self.deliveries = self.deliveries.saturating_add(1);
        self.last_received_at = at;
        if self.status == RecordStatus::DeadLettered {
            self.status = RecordStatus::Received;
            self.updated_at = at;
        }
    }

    /// Applies an outcome (see [`DeliveryLog::update`](super::DeliveryLog::update)).
    pub fn apply(&mut self, outcome: &Outcome, at: OffsetDateTime) {
        self.status = outcome.status;
        self.attempts = self.attempts.saturating_add(outcome.attempts);
        if outcome.error.is_some() {
            self.last_error.clone_from(&outcome.error);
        }
        self.updated_at = at;
    }
}

/// What waits for attention in a log: for the metrics and alerts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Backlog {
    /// Records dead-lettered and not replayed since.
    pub dead_letters: u64,
    /// When the oldest record still `received` or `failed` was first received.
    pub oldest_unprocessed: Option<OffsetDateTime>,
}

impl Backlog {
    /// A backlog of `dead_letters` with the oldest unprocessed record received at
    /// `oldest_unprocessed`.
    pub fn new(dead_letters: u64, oldest_unprocessed: Option<OffsetDateTime>) -> Self {
        Self {
            dead_letters,
            oldest_unprocessed,
        }
    }
}
