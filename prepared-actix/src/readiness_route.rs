//! [`readiness_route`]: the receiver's readiness check as an actix route.

use actix_web::{HttpResponse, Route, web};
use prepared_core::Webhooks;

use crate::bridge;

/// A `GET` route that answers the receiver's [readiness](Webhooks::readiness): `200` when it
/// can take deliveries, `503` when a dependency fails or it is shutting down, with the
/// report as JSON (`{"ready": false, "checks": {"dedup_store": "unreachable", ...}}`).
///
/// ```no_run
/// use actix_web::{App, HttpResponse, web};
/// use prepared_core::Webhooks;
///
/// # fn app(webhooks: Webhooks) {
/// App::new()
///     .route("/webhooks/prepared", prepared_actix::webhook_route(webhooks.clone()))
///     .route("/health", web::get().to(HttpResponse::Ok))
///     .route("/ready", prepared_actix::readiness_route(webhooks));
/// # }
/// ```
pub fn readiness_route(webhooks: Webhooks) -> Route {
    web::get().to(move || respond(webhooks.clone()))
}

async fn respond(webhooks: Webhooks) -> HttpResponse {
    bridge::response(webhooks.readiness().await.to_response())
}
