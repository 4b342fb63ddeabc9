//! [`RecordFilter`]: which records to find or replay.

use time::OffsetDateTime;
use uuid::Uuid;

use super::{DeliveryRecord, RecordStatus};

/// Which records to find: every condition given must hold. The default matches every record
/// (up to [`limit`](Self::limit), 1 000 by default).
///
/// ```
/// use prepared_core::record::{RecordFilter, RecordStatus};
///
/// let filter = RecordFilter::new()
///     .tenant("ecc-king-county")
///     .kind("caller_location")
///     .status(RecordStatus::DeadLettered);
/// # let _ = filter;
/// ```
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct RecordFilter {
    /// The incident the events belong to.
    pub incident_id: Option<Uuid>,
    /// The tenant (e.g. the dispatch center).
    pub tenant: Option<String>,
    /// The event kind (its `type`, e.g. `caller_location`).
    pub kind: Option<String>,
    /// The status.
    pub status: Option<RecordStatus>,
    /// First received at or after this time.
    #[serde(with = "time::serde::rfc3339::option")]
    pub since: Option<OffsetDateTime>,
    /// First received before this time.
    #[serde(with = "time::serde::rfc3339::option")]
    pub until: Option<OffsetDateTime>,
    /// At most this many records, the oldest first.
    pub limit: u32,
}

impl Default for RecordFilter {
    fn default() -> Self {
        Self {
            incident_id: None,
            tenant: None,
            kind: None,
            status: None,
            since: None,
            until: None,
            limit: Self::DEFAULT_LIMIT,
        }
    }
}

impl RecordFilter {
    /// How many records a filter returns unless told otherwise.
    pub const DEFAULT_LIMIT: u32 = 1_000;

    /// A filter that matches every record.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only the events of this incident.
    #[must_use]
    pub fn incident(mut self, incident_id: Uuid) -> Self {
        self.incident_id = Some(incident_id);
        self
    }

    /// Only the deliveries of this tenant.
    #[must_use]
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// Only events of this kind (`type`).
    #[must_use]
    pub fn kind(mut self, kind: impl Into<String>) -> Self {
        self.kind = Some(kind.into());
        self
    }

    /// Only records with this status.
    #[must_use]
    pub fn status(mut self, status: RecordStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Only records first received at or after `since`.
    #[must_use]
    pub fn since(mut self, since: OffsetDateTime) -> Self {
        self.since = Some(since);
        self
    }

    /// Only records first received before `until`.
    #[must_use]
    pub fn until(mut self, until: OffsetDateTime) -> Self {
        self.until = Some(until);
        self
    }

    /// At most `limit` records.
    #[must_use]
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }

    /// Whether a record matches (the limit aside), for logs that filter in memory.
    pub fn matches(&self, record: &DeliveryRecord) -> bool {
        self.incident_id
            .is_none_or(|id| record.incident_id == Some(id))
            && self
                .tenant
                .as_deref()
                .is_none_or(|tenant| record.tenant.as_deref() == Some(tenant))
            && self
                .kind
                .as_deref()
                .is_none_or(|kind| record.kind.as_deref() == Some(kind))
            && self.status.is_none_or(|status| record.status == status)
            && self.since.is_none_or(|since| record.received_at >= since)
            && self.until.is_none_or(|until| record.received_at < until)
    }
}
