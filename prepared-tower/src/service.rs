//! [`PreparedWebhooks`]: the service the layer builds, and its [`ResponseFuture`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::{Request, Response};
use pin_project_lite::pin_project;
use prepared_core::Webhooks;
use prepared_core::delivery::BoxError;
use tower_service::Service;

use crate::ResponseBody;

/// Answers deliveries on the layer's path with the [`Webhooks`] pipeline; passes every other
/// request to `S`.
#[derive(Clone, Debug)]
pub struct PreparedWebhooks<S> {
    inner: S,
    webhooks: Webhooks,
    path: Arc<str>,
}

impl<S> PreparedWebhooks<S> {
    pub(crate) fn new(inner: S, webhooks: Webhooks, path: Arc<str>) -> Self {
        Self {
            inner,
            webhooks,
            path,
        }
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for PreparedWebhooks<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ReqBody: http_body::Body + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<BoxError>,
    ResBody: http_body::Body<Data = Bytes>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        if request.uri().path() == &*self.path {
            ResponseFuture {
                kind: Kind::Webhook {
                    future: Box::pin(self.webhooks.handle(request)),
                },
            }
        } else {
            ResponseFuture {
                kind: Kind::Inner {
                    future: self.inner.call(request),
                },
            }
        }
    }
}

pin_project! {
    /// The response future of [`PreparedWebhooks`].
    pub struct ResponseFuture<F> {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F> {
        Webhook { future: BoxFuture<'static, Response<Bytes>> },
        Inner { #[pin] future: F },
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<ResponseBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Webhook { future } => future
                .as_mut()
                .poll(cx)
                .map(|response| Ok(response.map(ResponseBody::webhook))),
            KindProj::Inner { future } => future
                .poll(cx)
                .map(|result| result.map(|response| response.map(ResponseBody::inner))),
        }
    }
}
