//! Readiness: whether this replica can take deliveries now, dependency by dependency.
//!
//! [`Webhooks::readiness`](crate::Webhooks::readiness) answers a [`Readiness`] report; the
//! adapters serve it (`prepared_tower::ReadinessService`, `prepared_actix::readiness_route`)
//! as `200` when every check passes and `503` otherwise, with the report as JSON:
//!
//! ```json
//! {"ready": false, "checks": {"dedup_store": "unreachable", "queue": "ok", "receiver": "ok"},
//!  "queue": {"depth": 0, "capacity": 4096}}
//! ```
//!
//! A load balancer or Kubernetes (`readinessProbe`) then stops sending Prepared's traffic to
//! a replica that would answer every delivery `503`; `GET /health` stays a liveness check.
//! The report names checks and their status only: never an address, a URL's credentials or
//! a secret.
//!
//! | check | when present | not `ok` when |
//! |---|---|---|
//! | `dedup_store` | always | a round trip to the store ([`DedupStore::ping`](crate::dedup::DedupStore::ping): `PING` for Redis, nothing to check for the memory store) fails (`unreachable`, or `full` for a store that says so) |
//! | `durable_queue` | with a `RedisStreamQueue` | Redis does not answer a `PING` (`unreachable`) |
//! | `authorization_server` | with a JWKS or an introspection endpoint | the JWKS was not fetched within its maximum key age and cannot be fetched now, or the introspection endpoint did not answer lately and does not answer now (`unreachable`) |
//! | `delivery_log` | with a delivery log | a round trip to the log ([`DeliveryLog::ping`](crate::record::DeliveryLog::ping): `SELECT 1` for PostgreSQL, nothing to check in memory) fails (`unreachable`) |
//! | `queue` | in-memory queue (`AckMode::Immediate`) | 90 % of its capacity or more is taken (`full`) |
//! | `receiver` | always | `Webhooks::shutdown` was called (`shutting_down`) |
//!
//! The round trips (dedup store, durable queue, authorization server, delivery log) are cached: a passing
//! result for 1 s, a failing one for 250 ms, so that probes from many load balancers cost
//! the dependencies at most a few requests a second, and a replica turns ready again within
//! a second of its dependency's return. Concurrent probes share one round trip.

use std::collections::BTreeMap;

use bytes::Bytes;
use http::{Response, StatusCode};
use serde::Serialize;

/// A dependency of the receiver that can fail: the `dependency` label of
/// `prepared_webhooks_dependency_failures_total`, and the name of its readiness check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Dependency {
    /// The dedup store (memory, Redis or your own).
    DedupStore,
    /// The durable queue (Redis Streams).
    DurableQueue,
    /// The authorization server: its JWKS or its introspection endpoint.
    AuthorizationServer,
    /// The delivery log (e.g. PostgreSQL).
    DeliveryLog,
}

impl Dependency {
    /// Every dependency.
    pub const ALL: [Self; 4] = [
        Self::DedupStore,
        Self::DurableQueue,
        Self::AuthorizationServer,
        Self::DeliveryLog,
    ];

    /// Its name in reports, logs and metric labels, e.g. `dedup_store`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::DedupStore => "dedup_store",
            Self::DurableQueue => "durable_queue",
            Self::AuthorizationServer => "authorization_server",
            Self::DeliveryLog => "delivery_log",
        }
    }
}

impl std::fmt::Display for Dependency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of one readiness check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CheckStatus {
    /// The check passed.
    Ok,
    /// The dependency did not answer, answered too late or answered an error.
    Unreachable,
    /// The dependency or the queue has no room for new events.
    Full,
    /// The receiver is shutting down.
    ShuttingDown,
}

impl CheckStatus {
    /// Whether the check passed.
    pub fn is_ok(self) -> bool {
        self == Self::Ok
    }

    /// The worse of two outcomes (any failure is worse than [`Ok`](Self::Ok)).
    pub(crate) fn worst(self, other: Self) -> Self {
        if self.is_ok() { other } else { self }
    }
}

/// How full the in-memory queue is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct QueueFill {
    /// Events waiting for a worker.
    pub depth: u64,
    /// How many may wait.
    pub capacity: u64,
}

impl QueueFill {
    /// The status of the `queue` check: [`Full`](CheckStatus::Full) at 90 % or more.
    pub fn status(self) -> CheckStatus {
        if self.depth.saturating_mul(10) >= self.capacity.saturating_mul(9) {
            CheckStatus::Full
        } else {
            CheckStatus::Ok
        }
    }
}

/// Whether the receiver can take deliveries now, and each check's outcome; serialized as
/// `{"ready": ..., "checks": {"<check>": "<status>", ...}, "queue": {...}}`.
///
/// ```
/// use prepared_core::Webhooks;
/// use prepared_core::auth::{BearerToken, StaticBearer};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let webhooks = Webhooks::builder()
///     .authenticator(StaticBearer::new([BearerToken::new("s3cret-token")]))
///     .build()?;
/// let report = webhooks.readiness().await;
/// assert!(report.ready);
/// assert_eq!(report.to_response().status(), 200);
///
/// webhooks.shutdown(std::time::Duration::from_secs(1)).await;
/// let report = webhooks.readiness().await;
/// assert!(!report.ready);
/// assert_eq!(report.check("receiver"), Some(prepared_core::readiness::CheckStatus::ShuttingDown));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Readiness {
    /// Whether every check passed.
    pub ready: bool,
    /// Each check's outcome, by name (see the [module docs](self)).
    pub checks: BTreeMap<&'static str, CheckStatus>,
    /// How full the in-memory queue is, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<QueueFill>,
}

impl Default for Readiness {
    fn default() -> Self {
        Self {
            ready: true,
            checks: BTreeMap::new(),
            queue: None,
        }
    }
}

impl Readiness {
    /// Records a check's outcome; a failed check makes the report not ready.
    pub fn insert(&mut self, check: &'static str, status: CheckStatus) {
        self.ready &= status.is_ok();
        self.checks.insert(check, status);
    }

    /// A check's outcome, if the report has that check.
    pub fn check(&self, check: &str) -> Option<CheckStatus> {
        self.checks.get(check).copied()
    }

    /// `200 OK` when ready, `503 Service Unavailable` otherwise.
    pub fn status(&self) -> StatusCode {
        if self.ready {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        }
    }

    /// The response to a readiness probe: [`status`](Self::status), the report as JSON,
    /// `Cache-Control: no-store`.
    pub fn to_response(&self) -> Response<Bytes> {
        let body = serde_json::to_vec(self).unwrap_or_else(|_| br#"{"ready": false}"#.to_vec());
        crate::delivery::json_response(self.status(), body)
    }
}
