//! [`token_route`]: the OAuth client-credentials token endpoint as an actix route.

use actix_web::{HttpRequest, HttpResponse, Route, web};
use prepared_core::auth::TokenEndpoint;

use crate::bridge;

/// A route that answers token requests of the client-credentials grant (RFC 6749 §4.4) with
/// the [`TokenEndpoint`] in `app_data`; give the webhook the endpoint's
/// [`validator`](TokenEndpoint::validator):
///
/// ```no_run
/// use actix_web::App;
/// use prepared_core::Webhooks;
/// use prepared_core::auth::TokenEndpoint;
///
/// # fn app(endpoint: TokenEndpoint) -> Result<(), Box<dyn std::error::Error>> {
/// let webhooks = Webhooks::builder().authenticator(endpoint.validator()).build()?;
/// App::new()
///     .app_data(endpoint)
///     .app_data(webhooks)
///     .route("/oauth/token", prepared_actix::token_route())
///     .route("/webhooks/prepared", prepared_actix::webhook_route());
/// # Ok(()) }
/// ```
pub fn token_route() -> Route {
    web::route().to(handle)
}

async fn handle(request: HttpRequest, payload: web::Payload) -> HttpResponse {
    let Some(endpoint) = request.app_data::<TokenEndpoint>().cloned() else {
        return HttpResponse::InternalServerError()
            .body("no prepared_core::auth::TokenEndpoint in app_data");
    };
    let head = bridge::head(&request);
    let body = bridge::body(payload.into_inner());
    bridge::response(endpoint.handle(http::Request::from_parts(head, body)).await)
}
