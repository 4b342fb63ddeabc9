//! The log's SQL: one statement per operation, every value a bind parameter.

use tokio_postgres::types::ToSql;

use super::rows::{COLUMNS, COLUMNS_WITH_PAYLOAD};
use crate::record::RecordFilter;

/// A new record, or a redelivery of one on record: as
/// [`DeliveryRecord::redelivered`](crate::record::DeliveryRecord::redelivered), the count
/// raised by one (saturating), the last reception set, and a dead-lettered record received
/// again; nothing else is overwritten, and the payload is kept as first stored.
///
/// `$1` key, `$2` kind, `$3` incident id, `$4` tenant, `$5` principal, `$6` received at,
/// `$7` status, `$8` error, `$9` payload, `$10` key id.
pub(super) const INSERT: &str = "\
INSERT INTO prepared_deliveries AS known
    (dedup_key, kind, incident_id, tenant, principal, received_at, last_received_at,
     deliveries, status, attempts, last_error, updated_at, payload, key_id)
VALUES ($1, $2, $3, $4, $5, $6, $6, 1, $7, 0, $8, $6, $9, $10)
ON CONFLICT (dedup_key) DO UPDATE SET
    deliveries = LEAST(known.deliveries::bigint + 1, 2147483647)::integer,
    last_received_at = EXCLUDED.received_at,
    status = CASE WHEN known.status = 'dead_lettered' THEN 'received' ELSE known.status END,
    updated_at = CASE WHEN known.status = 'dead_lettered'
                      THEN EXCLUDED.received_at ELSE known.updated_at END";

/// An outcome, as [`DeliveryRecord::apply`](crate::record::DeliveryRecord::apply): the status
/// set, the attempts added (saturating), the last error replaced only by another one, and the
/// update time set to the server's clock.
///
/// `$1` key, `$2` status, `$3` attempts, `$4` error.
pub(super) const UPDATE: &str = "\
UPDATE prepared_deliveries SET
    status = $2,
    attempts = LEAST(attempts::bigint + $3, 2147483647)::integer,
    last_error = COALESCE($4, last_error),
    updated_at = now()
WHERE dedup_key = $1";

/// One record with its payload. `$1` key.
pub(super) fn get() -> String {
    format!("SELECT {COLUMNS_WITH_PAYLOAD} FROM prepared_deliveries WHERE dedup_key = $1")
}

/// Up to `$2` records last received before `$1`, the oldest first.
pub(super) const PURGE: &str = "\
DELETE FROM prepared_deliveries WHERE dedup_key IN (
    SELECT dedup_key FROM prepared_deliveries
    WHERE last_received_at < $1
    ORDER BY last_received_at
    LIMIT $2
)";

/// The dead letters' count and the first reception of the oldest record not processed yet.
pub(super) const BACKLOG: &str = "\
SELECT
    (SELECT count(*) FROM prepared_deliveries WHERE status = 'dead_lettered') AS dead_letters,
    (SELECT min(received_at) FROM prepared_deliveries WHERE status IN ('received', 'failed'))
        AS oldest_unprocessed";

/// A bind parameter of a query built at run time.
pub(super) type Param = Box<dyn ToSql + Send + Sync>;

/// The query of `find`: a condition per condition of the filter, each value a parameter,
/// ordered by first reception (then key, so that the order is stable), limited.
pub(super) fn find(filter: &RecordFilter) -> (String, Vec<Param>) {
    let mut conditions: Vec<String> = Vec::new();
    let mut params: Vec<Param> = Vec::new();
    let mut condition = |test: &str, value: Param| {
        params.push(value);
        conditions.push(format!("{test} ${}", params.len()));
    };
    if let Some(incident_id) = filter.incident_id {
        condition("incident_id =", Box::new(incident_id));
    }
    if let Some(tenant) = &filter.tenant {
        condition("tenant =", Box::new(tenant.clone()));
    }
    if let Some(kind) = &filter.kind {
        condition("kind =", Box::new(kind.clone()));
    }
    if let Some(status) = filter.status {
        condition("status =", Box::new(status.as_str()));
    }
    if let Some(since) = filter.since {
        condition("received_at >=", Box::new(since));
    }
    if let Some(until) = filter.until {
        condition("received_at <", Box::new(until));
    }

    let mut sql = format!("SELECT {COLUMNS} FROM prepared_deliveries");
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    params.push(Box::new(i64::from(filter.limit)));
    sql.push_str(&format!(
        " ORDER BY received_at, dedup_key LIMIT ${}",
        params.len()
    ));
    (sql, params)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RecordStatus;

    #[test]
    fn find_binds_every_value_and_names_only_the_conditions_given() {
        let (sql, params) = find(&RecordFilter::new());
        assert_eq!(
            sql,
            format!(
                "SELECT {COLUMNS} FROM prepared_deliveries ORDER BY received_at, dedup_key LIMIT $1"
            )
        );
        assert_eq!(params.len(), 1);

        let filter = RecordFilter::new()
            .tenant("x' OR '1'='1")
            .status(RecordStatus::Failed)
            .limit(5);
        let (sql, params) = find(&filter);
        assert!(sql.ends_with(
            " WHERE tenant = $1 AND status = $2 ORDER BY received_at, dedup_key LIMIT $3"
        ));
        assert!(!sql.contains("'1'"), "the value is bound, not in the SQL");
        assert_eq!(params.len(), 3);
    }
}
