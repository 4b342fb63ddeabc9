//! The README's code, verbatim, so that it compiles as shown: each function holds one of its
//! Rust blocks (`tests/it/readme.rs` checks that every block is here, line for line), with
//! stand-ins for the application's own modules (`dispatch_map`, `cad`, `dispatch`).
//!
//! `cargo run --example readme -- axum` (or `actix`) serves that quick start on port 3000,
//! with `PREPARED_WEBHOOK_TOKEN` set; `-- testing` runs the test-kit block; `-- delivery-log`
//! runs the delivery-log block (with `PREPARED_DATABASE_URL`, `PREPARED_RECORD_KEY`,
//! `PREPARED_WEBHOOK_TOKEN` and `PREPARED_ADMIN_TOKEN`).

use std::error::Error;

type Result<T = ()> = std::result::Result<T, Box<dyn Error>>;

#[rustfmt::skip] // kept as the README shows it
async fn axum_quick_start() -> Result {
    use axum::{Router, routing::get};
    use prepared_core::{Webhooks, auth::{BearerToken, StaticBearer}, event::CallerLocation};
    use prepared_tower::PreparedWebhooksLayer;

    let webhooks = Webhooks::builder()
        .authenticator(StaticBearer::new([BearerToken::new(std::env::var("PREPARED_WEBHOOK_TOKEN")?)]))
        .on_caller_location(|location: CallerLocation| async move {
            dispatch_map::update(location.incident_id, location.lat, location.lng).await
        })
        .build()?;
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .layer(PreparedWebhooksLayer::new(webhooks, "/webhooks/prepared"));
    axum::serve(tokio::net::TcpListener::bind("0.0.0.0:3000").await?, app).await?;
    Ok(())
}

#[rustfmt::skip] // kept as the README shows it
async fn actix_quick_start() -> Result {
    use actix_web::{App, HttpServer};
    use prepared_core::{Webhooks, auth::{BearerToken, StaticBearer}, event::NoteCreated};

    let webhooks = Webhooks::builder()
        .authenticator(StaticBearer::new([BearerToken::new(std::env::var("PREPARED_WEBHOOK_TOKEN")?)]))
        .on_note_created(|note: NoteCreated| async move { cad::attach_note(note).await })
        .build()?;
    HttpServer::new(move || {
        App::new().route("/webhooks/prepared", prepared_actix::webhook_route(webhooks.clone()))
    })
    .bind("0.0.0.0:3000")?.run().await?;
    Ok(())
}

#[rustfmt::skip] // kept as the README shows it
fn several_dispatch_centers() -> Result<prepared_core::Webhooks> {
    use prepared_core::{Webhooks, auth::{BearerToken, StaticBearer}, delivery::Delivery, event::CallerLocation};

    let webhooks = Webhooks::builder()
        .authenticator(StaticBearer::new([
            BearerToken::new(std::env::var("KING_COUNTY_TOKEN")?).label("ecc-king-county"),
            BearerToken::new(std::env::var("PIERCE_COUNTY_TOKEN")?).label("ecc-pierce-county"),
        ]))
        // With OAuth: .tenant_for_client_id("prepared-ecc-0042", "ecc-king-county")
        .on_caller_location(|location: CallerLocation, delivery: Delivery| async move {
            let ecc = delivery.tenant().unwrap_or("unassigned"); // never another ECC's
            dispatch::route(ecc, location).await
        })
        .build()?;
    Ok(webhooks)
}

#[rustfmt::skip] // kept as the README shows it
async fn testing_your_receiver() -> Result {
    use prepared_core::{AckMode, Webhooks, auth::JwtValidator, event::CallerLocation};
    use prepared_core::testing::{JwksServer, Sample, TestIssuer};

    let issuer = TestIssuer::rs256();
    let jwks = JwksServer::start(&[&issuer]).await?;
    let webhooks = Webhooks::builder()
        .authenticator(JwtValidator::jwks(jwks.url())
            .issuer(TestIssuer::ISSUER).audience(TestIssuer::AUDIENCE).build()?)
        .ack_mode(AckMode::AfterProcessing) // answered once the callback ran
        .on_caller_location(|location: CallerLocation| async move {
            dispatch_map::update(location.incident_id, location.lat, location.lng).await
        })
        .build()?;

    let token = issuer.token().client_id("ecc-north").sign();
    let response = webhooks.handle(Sample::caller_location().request().bearer(&token).build()).await;
    assert_eq!(response.status(), 200);
    Ok(())
}

/// Stand-ins for the application's own code.
mod dispatch_map {
    pub async fn update(incident: uuid::Uuid, lat: f64, lng: f64) -> Result<(), std::io::Error> {
        let _ = (incident, lat, lng);
        Ok(())
    }
}

mod cad {
    pub async fn attach_note(
        note: prepared_core::event::NoteCreated,
    ) -> Result<(), std::io::Error> {
        let _ = note;
        Ok(())
    }
}

mod dispatch {
    pub async fn route(
        ecc: &str,
        location: prepared_core::event::CallerLocation,
    ) -> Result<(), std::io::Error> {
        let _ = (ecc, location);
        Ok(())
    }
}

#[rustfmt::skip] // kept as the README shows it
fn prometheus_metrics(app: axum::Router) -> Result<axum::Router> {
    use axum::routing::get;

    let handle = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()?;
    let app = app.route("/metrics", get(move || std::future::ready(handle.render())));
    Ok(app)
}

#[rustfmt::skip] // kept as the README shows it
async fn delivery_log(
    authenticator: impl prepared_core::auth::Authenticator,
    database_url: String,
    record_key: String,
    admin_token: String,
) -> Result {
    use prepared_core::Webhooks;
    use prepared_core::auth::{BearerToken, StaticBearer};
    use prepared_core::record::{DeliveryLog, PostgresDeliveryLog, RecordFilter, RecordKeys, RecordStatus};

    let log = PostgresDeliveryLog::connect(&database_url).await?; // feature `postgres`
    let webhooks = Webhooks::builder()
        .authenticator(authenticator)
        .delivery_log(log.clone())
        .record_keys(RecordKeys::from_base64_list(&record_key)?)          // AES-256-GCM at rest
        .replay_authenticator(StaticBearer::new([BearerToken::new(admin_token)]))
        .build()?;
    let dead = log.find(&RecordFilter::new().tenant("ecc-a").status(RecordStatus::DeadLettered)).await?;
    let report = webhooks.requeue_dead_letters().await?; // once the bug is fixed
    println!("{} dead letters, {report:?}", dead.len());
    Ok(())
}

#[actix_web::main]
async fn main() -> Result {
    match std::env::args().nth(1).as_deref() {
        Some("axum") => axum_quick_start().await,
        Some("actix") => actix_quick_start().await,
        Some("several-dispatch-centers") => several_dispatch_centers().map(drop),
        Some("metrics") => prometheus_metrics(axum::Router::new()).map(drop),
        Some("testing") => testing_your_receiver().await,
        Some("delivery-log") => {
            let var = |name: &str| std::env::var(name).map_err(|_| format!("set {name}"));
            let webhook_token =
                prepared_core::auth::BearerToken::new(var("PREPARED_WEBHOOK_TOKEN")?);
            let authenticator = prepared_core::auth::StaticBearer::new([webhook_token]);
            let (url, key) = (var("PREPARED_DATABASE_URL")?, var("PREPARED_RECORD_KEY")?);
            delivery_log(authenticator, url, key, var("PREPARED_ADMIN_TOKEN")?).await
        }
        _ => {
            eprintln!(
                "usage: cargo run --example readme -- axum|actix|several-dispatch-centers|metrics|testing|delivery-log"
            );
            Ok(())
        }
    }
}
