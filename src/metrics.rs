//! `GET /metrics`: the receivers' metrics in the Prometheus text format, rendered by
//! `metrics-exporter-prometheus` from the example receivers' own route (no listener of its
//! own). In an application of your own, the same two lines:
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let handle = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()?;
//! let app: axum::Router = axum::Router::new()
//!     .route("/metrics", axum::routing::get(move || std::future::ready(handle.render())));
//! # Ok(()) }
//! ```

use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};

/// The path the example receivers serve their metrics on.
pub const METRICS_PATH: &str = "/metrics";

/// The content type of the Prometheus text format.
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The buckets of `prepared_webhooks_callback_duration_seconds`, in seconds: from 1 ms to
/// 30 s, so it renders as a Prometheus histogram that sums across replicas (without buckets
/// the exporter renders a summary).
pub const CALLBACK_DURATION_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0,
];

/// Installs the Prometheus recorder as the process's `metrics` recorder (once per process:
/// a second call fails) and answers the handle whose [`render`](PrometheusHandle::render)
/// is the body of `GET /metrics`.
pub fn install_prometheus() -> Result<PrometheusHandle, BuildError> {
    PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("prepared_webhooks_callback_duration_seconds".to_owned()),
            &CALLBACK_DURATION_BUCKETS,
        )?
        .install_recorder()
}
