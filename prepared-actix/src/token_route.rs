//! [`token_route`]: the OAuth client-credentials token endpoint as an actix route.

use actix_web::{HttpRequest, HttpResponse, Route, web};
use prepared_core::auth::{PeerAddr, TokenEndpoint};

use crate::bridge;

/// A route that answers token requests of the client-credentials grant (RFC 6749 §4.4) with
/// `endpoint`; give the webhook the endpoint's [`validator`](TokenEndpoint::validator):
///
/// ```no_run
/// use actix_web::App;
/// use prepared_core::Webhooks;
/// use prepared_core::auth::TokenEndpoint;
///
/// # fn app(endpoint: TokenEndpoint) -> Result<(), Box<dyn std::error::Error>> {
/// let webhooks = Webhooks::builder().authenticator(endpoint.validator()).build()?;
/// App::new()
///     .route("/oauth/token", prepared_actix::token_route(endpoint))
///     .route("/webhooks/prepared", prepared_actix::webhook_route(webhooks));
/// # Ok(()) }
/// ```
pub fn token_route(endpoint: TokenEndpoint) -> Route {
    web::route().to(move |request: HttpRequest, payload: web::Payload| {
        handle(endpoint.clone(), request, payload)
    })
}

async fn handle(
    endpoint: TokenEndpoint,
    request: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let mut head = bridge::head(&request);
    // For the throttle on wrong secrets, counted per client id and address.
    if let Some(peer) = request.peer_addr() {
        head.extensions.insert(PeerAddr(peer));
    }
    let body = bridge::body(payload.into_inner());
    bridge::response(endpoint.handle(http::Request::from_parts(head, body)).await)
}
