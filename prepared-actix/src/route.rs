//! [`webhook_route`]: the callback pipeline as an actix route.

use actix_web::{HttpRequest, HttpResponse, Route, web};
use prepared_core::Webhooks;

use crate::bridge;

/// A route that answers every request as a Prepared delivery with the callback pipeline of
/// `webhooks`. It matches every method, so that a non-`POST` gets `405` with `Allow: POST`:
///
/// ```no_run
/// # use actix_web::App;
/// # fn app(webhooks: prepared_core::Webhooks) {
/// App::new().route("/webhooks/prepared", prepared_actix::webhook_route(webhooks));
/// # }
/// ```
pub fn webhook_route(webhooks: Webhooks) -> Route {
    web::route().to(move |request: HttpRequest, payload: web::Payload| {
        handle(webhooks.clone(), request, payload)
    })
}

async fn handle(webhooks: Webhooks, request: HttpRequest, payload: web::Payload) -> HttpResponse {
    let head = bridge::head(&request);
    let body = bridge::body(payload.into_inner());
    let response = webhooks.handle(http::Request::from_parts(head, body)).await;
    bridge::response(response)
}
