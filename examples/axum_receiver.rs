//! An existing-looking axum app that starts receiving Prepared webhooks with one layer.
//!
//! `cargo run --release --example axum_receiver`; configuration by environment variables
//! (README.md, "Example receivers"). Every event is printed on stdout as one JSON line.

use axum::Router;
use axum::http::header;
use axum::routing::get;
use prepared_tower::{
    PreparedWebhooksLayer, ReadinessService, ReplayService, TokenEndpointService,
};
use prepared_webhooks::{
    METRICS_PATH, PROMETHEUS_CONTENT_TYPE, REPLAY_PATH, ReceiverConfig, TOKEN_PATH, WEBHOOK_PATH,
    init_tracing, install_prometheus,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_tracing();
    let metrics = install_prometheus()?;
    let config = ReceiverConfig::from_env()?;
    let webhooks = config.webhooks_builder().await?.build()?;

    let mut app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route_service("/ready", ReadinessService::new(webhooks.clone()))
        .route_service(REPLAY_PATH, ReplayService::new(webhooks.clone()))
        .route(
            METRICS_PATH,
            get(move || {
                let text = metrics.render();
                async move { ([(header::CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE)], text) }
            }),
        );
    if let Some(endpoint) = config.token_endpoint() {
        app = app.route_service(TOKEN_PATH, TokenEndpointService::new(endpoint));
    }
    let app = app.layer(PreparedWebhooksLayer::new(webhooks.clone(), WEBHOOK_PATH));

    let listener = tokio::net::TcpListener::bind(config.bind).await?;
    config.announce("axum");
    // The peer address reaches the token endpoint's throttle (per client id and address).
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    let report = webhooks.shutdown(std::time::Duration::from_secs(10)).await;
    tracing::info!(?report, "stopped");
    Ok(())
}
