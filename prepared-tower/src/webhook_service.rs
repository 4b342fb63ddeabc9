//! [`WebhookService`]: the pipeline as a plain service, for `route_service`.

use std::convert::Infallible;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::{Request, Response};
use http_body_util::Full;
use prepared_core::Webhooks;
use prepared_core::delivery::BoxError;
use tower_service::Service;

/// Answers every request it gets as a Prepared delivery. Mount it where the router decides
/// the path:
///
/// ```no_run
/// # use prepared_core::{Webhooks, auth::{BearerToken, StaticBearer}};
/// # fn app(webhooks: Webhooks) -> axum::Router {
/// axum::Router::new().route_service("/webhooks/prepared", prepared_tower::WebhookService::new(webhooks))
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct WebhookService {
    webhooks: Webhooks,
}

impl WebhookService {
    /// Serves `webhooks`.
    pub fn new(webhooks: Webhooks) -> Self {
        Self { webhooks }
    }
}

impl<B> Service<Request<B>> for WebhookService
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
        let handled = self.webhooks.handle(request);
        Box::pin(async move { Ok(handled.await.map(Full::new)) })
    }
}
