//! An existing-looking actix-web app that starts receiving Prepared webhooks with one route.
//!
//! `cargo run --release --example actix_receiver`; configuration by environment variables
//! (README.md, "Example receivers"). Every event is printed on stdout as one JSON line.

use actix_web::{App, HttpResponse, HttpServer, web};
use prepared_actix::{readiness_route, replay_route, token_route, webhook_route};
use prepared_webhooks::{
    METRICS_PATH, PROMETHEUS_CONTENT_TYPE, REPLAY_PATH, ReceiverConfig, TOKEN_PATH, WEBHOOK_PATH,
    init_tracing, install_prometheus,
};

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_tracing();
    let metrics = install_prometheus()?;
    let config = ReceiverConfig::from_env()?;
    let webhooks = config.webhooks_builder().await?.build()?;
    let token_endpoint = config.token_endpoint();

    let app_webhooks = webhooks.clone();
    let server = HttpServer::new(move || {
        let mut app = App::new()
            .route(WEBHOOK_PATH, webhook_route(app_webhooks.clone()))
            .route(
                "/health",
                web::get().to(|| async { HttpResponse::Ok().body("ok") }),
            )
            .route("/ready", readiness_route(app_webhooks.clone()))
            .route(REPLAY_PATH, replay_route(app_webhooks.clone()))
            .route(METRICS_PATH, {
                let metrics = metrics.clone();
                web::get().to(move || {
                    let text = metrics.render();
                    async move {
                        HttpResponse::Ok()
                            .content_type(PROMETHEUS_CONTENT_TYPE)
                            .body(text)
                    }
                })
            });
        if let Some(endpoint) = &token_endpoint {
            app = app.route(TOKEN_PATH, token_route(endpoint.clone()));
        }
        app
    })
    .bind(config.bind)?;
    config.announce("actix-web");
    server.run().await?;
    let report = webhooks.shutdown(std::time::Duration::from_secs(10)).await;
    tracing::info!(?report, "stopped");
    Ok(())
}
