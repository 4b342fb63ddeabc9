//! Rows of `prepared_deliveries` read back as [`DeliveryRecord`]s.

use bytes::Bytes;
use time::OffsetDateTime;
use tokio_postgres::Row;
use tokio_postgres::types::FromSql;
use uuid::Uuid;

use crate::record::{DeliveryRecord, LogError, RecordStatus, SealedPayload};

/// The columns of a record without its payload, as `find` selects them.
pub(super) const COLUMNS: &str = "dedup_key, kind, incident_id, tenant, principal, received_at, \
     last_received_at, deliveries, status, attempts, last_error, updated_at";

/// The columns of a record with its payload, as `get` selects them.
pub(super) const COLUMNS_WITH_PAYLOAD: &str = "dedup_key, kind, incident_id, tenant, principal, \
     received_at, last_received_at, deliveries, status, attempts, last_error, updated_at, \
     payload, key_id";

/// A record from a row of [`COLUMNS`], or of [`COLUMNS_WITH_PAYLOAD`] when `with_payload`.
pub(super) fn record(row: &Row, with_payload: bool) -> Result<DeliveryRecord, LogError> {
    let status: String = column(row, "status")?;
    let status = status
        .parse::<RecordStatus>()
        .map_err(|error| LogError::Malformed(error.to_string()))?;
    let payload = if with_payload {
        let bytes: Vec<u8> = column(row, "payload")?;
        let key_id: Option<String> = column(row, "key_id")?;
        Some(SealedPayload::from_stored(key_id, Bytes::from(bytes)))
    } else {
        None
    };
    Ok(DeliveryRecord {
        dedup_key: column(row, "dedup_key")?,
        kind: column(row, "kind")?,
        incident_id: column::<Option<Uuid>>(row, "incident_id")?,
        tenant: column(row, "tenant")?,
        principal: column(row, "principal")?,
        received_at: column::<OffsetDateTime>(row, "received_at")?,
        last_received_at: column::<OffsetDateTime>(row, "last_received_at")?,
        deliveries: count(row, "deliveries")?,
        status,
        attempts: count(row, "attempts")?,
        last_error: column(row, "last_error")?,
        updated_at: column::<OffsetDateTime>(row, "updated_at")?,
        payload,
    })
}

/// A column's value; a missing column or one of another type is a malformed record.
pub(super) fn column<'a, T: FromSql<'a>>(row: &'a Row, name: &str) -> Result<T, LogError> {
    row.try_get(name)
        .map_err(|error| LogError::Malformed(format!("column `{name}`: {error}")))
}

/// A count stored as an `integer`; a negative one is a malformed record.
fn count(row: &Row, name: &str) -> Result<u32, LogError> {
    let value: i32 = column(row, name)?;
    u32::try_from(value).map_err(|_| LogError::Malformed(format!("`{name}` is negative: {value}")))
}
