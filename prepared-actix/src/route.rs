//! [`webhook_route`]: the callback pipeline as an actix route.

use actix_web::{HttpRequest, HttpResponse, Route, web};

use crate::bridge;

/// A route that answers every request as a Prepared delivery with the callback pipeline of
/// the [`Webhooks`](prepared_core::Webhooks) in `app_data`. It matches every method, so that
/// a non-`POST` gets `405` with `Allow: POST`:
///
/// ```no_run
/// # use actix_web::App;
/// # fn app(webhooks: prepared_core::Webhooks) {
/// App::new()
///     .app_data(webhooks)
///     .route("/webhooks/prepared", prepared_actix::webhook_route());
/// # }
/// ```
pub fn webhook_route() -> Route {
    web::route().to(handle)
}

async fn handle(request: HttpRequest, payload: web::Payload) -> HttpResponse {
    let Some(webhooks) = bridge::webhooks(&request) else {
        return HttpResponse::InternalServerError().body("no prepared_core::Webhooks in app_data");
    };
    let head = bridge::head(&request);
    let body = bridge::body(payload.into_inner());
    let request = http::Request::from_parts(head, body);
    // Boxed on its own: actix boxes this handler's future with its extractors', and with the
    // delivery's future inside that box would be past the allocator's per-thread cache
    // (1 032 bytes), taking its slow path on every request.
    let response = Box::pin(webhooks.handle(request)).await;
    bridge::response(response)
}
