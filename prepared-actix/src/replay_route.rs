//! [`replay_route`]: replay requests from an operator, as an actix route.

use actix_web::{HttpRequest, Route, web};
use prepared_core::Webhooks;

use crate::bridge;

/// A route that answers replay requests ([`Webhooks::handle_replay`]), behind the receiver's
/// [replay authenticator](prepared_core::delivery::WebhooksBuilder::replay_authenticator):
///
/// ```no_run
/// use actix_web::App;
/// use prepared_core::Webhooks;
///
/// # fn app(webhooks: Webhooks) {
/// App::new()
///     .route("/admin/replay", prepared_actix::replay_route(webhooks.clone()))
///     .route("/webhooks/prepared", prepared_actix::webhook_route(webhooks));
/// # }
/// ```
pub fn replay_route(webhooks: Webhooks) -> Route {
    web::route().to(move |request: HttpRequest, payload: web::Payload| {
        let head = bridge::head(&request);
        let body = bridge::body(payload.into_inner());
        let answer = webhooks.handle_replay(http::Request::from_parts(head, body));
        async move { bridge::response(answer.await) }
    })
}
