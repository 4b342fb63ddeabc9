//! [`ReadinessService`]: the receiver's readiness check as a service.

use std::convert::Infallible;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::{Request, Response};
use http_body_util::Full;
use prepared_core::Webhooks;
use tower_service::Service;

/// Answers every request with the receiver's [readiness](Webhooks::readiness): `200` when
/// it can take deliveries, `503` when a dependency fails or it is shutting down, with the
/// report as JSON (`{"ready": false, "checks": {"dedup_store": "unreachable", ...}}`).
/// Mount it on `GET /ready` beside a liveness `GET /health`:
///
/// ```no_run
/// use axum::{Router, routing::get};
/// use prepared_core::Webhooks;
/// use prepared_tower::{PreparedWebhooksLayer, ReadinessService};
///
/// # fn app(webhooks: Webhooks) -> Router {
/// Router::new()
///     .route("/health", get(|| async { "ok" }))
///     .route_service("/ready", ReadinessService::new(webhooks.clone()))
///     .layer(PreparedWebhooksLayer::new(webhooks, "/webhooks/prepared"))
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct ReadinessService {
    webhooks: Webhooks,
}

impl ReadinessService {
    /// Serves the readiness of `webhooks`.
    pub fn new(webhooks: Webhooks) -> Self {
        Self { webhooks }
    }
}

impl<B> Service<Request<B>> for ReadinessService {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _request: Request<B>) -> Self::Future {
        let webhooks = self.webhooks.clone();
        Box::pin(async move { Ok(webhooks.readiness().await.to_response().map(Full::new)) })
    }
}
