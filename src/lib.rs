//! Support shared by the example receivers (`examples/axum_receiver.rs`,
//! `examples/actix_receiver.rs`) and the end-to-end tests: the receivers' configuration from
//! environment variables, and the callback that prints each event on stdout.
//!
//! The receivers' behaviour is a contract (README.md, "Example receivers"):
//! - `PREPARED_BIND` (default `127.0.0.1:3000`): where to listen;
//! - `PREPARED_AUTH`: `bearer` (default), `jwt`, `introspection` or `token_endpoint`, or
//!   several of them comma-separated (tried in that order), with the variables of
//!   [`ReceiverAuth`];
//! - `PREPARED_ACK_MODE`: `immediate` (default) or `after_processing`;
//! - `PREPARED_REDIS_URL`: dedup in Redis (several replicas) instead of in memory;
//!   `PREPARED_REDIS_CLUSTER_NODES` (`host:port,...`): dedup in a Redis Cluster instead;
//! - `PREPARED_DATABASE_URL`: the delivery log in PostgreSQL (written before the `200`)
//!   instead of in memory; `PREPARED_RECORD_KEY` (base64, 32 bytes; comma-separated, the
//!   current key first, to rotate) encrypts the recorded payloads;
//! - `GET /health` (liveness), `GET /ready` (readiness) and `GET /metrics` (Prometheus);
//! - `POST /admin/replay` replays recorded events, with `Authorization: Bearer
//!   $PREPARED_ADMIN_TOKEN` (`404` without that variable);
//! - each event handed to a callback is printed on stdout as one line of JSON in Prepared's
//!   wire shape, and nothing else goes to stdout; logs go to stderr (`RUST_LOG`).
#![forbid(unsafe_code)]

mod config;
mod metrics;
mod receiver_auth;

use std::io::Write;

use prepared_core::delivery::Delivery;
use prepared_core::{Event, Timestamp};

pub use config::{ConfigError, ReceiverConfig};
pub use metrics::{
    CALLBACK_DURATION_BUCKETS, METRICS_PATH, PROMETHEUS_CONTENT_TYPE, install_prometheus,
};
pub use receiver_auth::ReceiverAuth;

/// The documented example payloads (`prepared-core/fixtures`), one of each event, with their
/// event names.
pub const EXAMPLE_PAYLOADS: [(&str, &str); 5] = [
    (
        "note_created",
        include_str!("../prepared-core/fixtures/note_created.json"),
    ),
    (
        "location_updated",
        include_str!("../prepared-core/fixtures/location_updated.json"),
    ),
    (
        "incident_metadata",
        include_str!("../prepared-core/fixtures/incident_metadata.json"),
    ),
    (
        "caller_location",
        include_str!("../prepared-core/fixtures/caller_location.json"),
    ),
    (
        "media",
        include_str!("../prepared-core/fixtures/media.json"),
    ),
];

/// The path the example receivers serve the webhook on.
pub const WEBHOOK_PATH: &str = "/webhooks/prepared";

/// The path the example receivers serve replay requests on (with `PREPARED_ADMIN_TOKEN`).
pub const REPLAY_PATH: &str = "/admin/replay";

/// The path the example receivers serve the token endpoint on (when `PREPARED_AUTH` names `token_endpoint`).
pub const TOKEN_PATH: &str = "/oauth/token";

/// Prints the event on stdout as one line of JSON in Prepared's wire shape.
pub async fn print_event(event: Event) -> Result<(), std::io::Error> {
    let mut line = serde_json::to_vec(&event)?;
    line.push(b'\n');
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&line)?;
    stdout.flush()
}

/// What the example receivers print on stdout for each event (`PREPARED_STDOUT`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StdoutFormat {
    /// `event` (the default): the event in Prepared's wire shape.
    #[default]
    Event,
    /// `delivery`: the event with who sent it and when (see [`delivery_line`]).
    Delivery,
}

/// Prints the event and its delivery on stdout as one line of JSON (see [`delivery_line`]).
pub async fn print_delivery(event: Event, delivery: Delivery) -> Result<(), std::io::Error> {
    let line = delivery_line(&event, &delivery)?;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&line)?;
    stdout.flush()
}

/// One line of JSON: `{"tenant": ..., "principal": ..., "received_at": ..., "attempt": ...,
/// "dedup_key": ..., "event": <the event in wire shape>}`, `received_at` in Prepared's
/// timestamp form, `tenant` `null` for a credential without one. Never the token.
pub fn delivery_line(event: &Event, delivery: &Delivery) -> Result<Vec<u8>, std::io::Error> {
    let received_at = Timestamp::try_from(delivery.received_at())
        .map(|at| at.to_string())
        .ok();
    let mut line = serde_json::to_vec(&serde_json::json!({
        "tenant": delivery.tenant(),
        "principal": delivery.principal().name(),
        "received_at": received_at,
        "attempt": delivery.attempt(),
        "dedup_key": delivery.dedup_key().as_str(),
        "event": event,
    }))?;
    line.push(b'\n');
    Ok(line)
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`); colored only on a terminal.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}
