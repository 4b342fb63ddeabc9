//! [`ReplayService`]: replay requests from an operator, as a service.

use std::convert::Infallible;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::{Request, Response};
use http_body_util::Full;
use prepared_core::{BoxError, Webhooks};
use tower_service::Service;

/// Answers every request it gets as a replay request ([`Webhooks::handle_replay`]): mount it
/// on a route of its own, behind the receiver's
/// [replay authenticator](prepared_core::delivery::WebhooksBuilder::replay_authenticator):
///
/// ```no_run
/// use prepared_core::Webhooks;
/// use prepared_core::auth::{BearerToken, StaticBearer};
/// use prepared_tower::{PreparedWebhooksLayer, ReplayService};
///
/// # fn app() -> Result<axum::Router, Box<dyn std::error::Error>> {
/// let webhooks = Webhooks::builder()
///     .authenticator(StaticBearer::new([BearerToken::new(std::env::var("PREPARED_WEBHOOK_TOKEN")?)]))
///     .replay_authenticator(StaticBearer::new([BearerToken::new(std::env::var("PREPARED_ADMIN_TOKEN")?)]))
///     .build()?;
/// Ok(axum::Router::new()
///     .route_service("/admin/replay", ReplayService::new(webhooks.clone()))
///     .layer(PreparedWebhooksLayer::new(webhooks, "/webhooks/prepared")))
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct ReplayService {
    webhooks: Webhooks,
}

impl ReplayService {
    /// Serves the replay requests of `webhooks`.
    pub fn new(webhooks: Webhooks) -> Self {
        Self { webhooks }
    }
}

impl<B> Service<Request<B>> for ReplayService
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let answer = self.webhooks.handle_replay(request);
        Box::pin(async move { Ok(answer.await.map(Full::new)) })
    }
}
