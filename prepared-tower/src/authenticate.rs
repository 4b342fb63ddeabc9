//! [`AuthenticateLayer`]: Prepared's credentials checked on the request head, and the
//! [`Principal`] handed downstream in the request's extensions.

use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use http::{Request, Response};
use prepared_core::Webhooks;
use prepared_core::auth::Principal;
use tower_layer::Layer;
use tower_service::Service;

use crate::ResponseBody;

/// Authenticates every request with a [`Webhooks`]' authenticator and puts the
/// [`Principal`] in its extensions.
///
/// ```no_run
/// use axum::{Extension, Router, routing::post};
/// use prepared_core::{Webhooks, auth::Principal};
/// use prepared_tower::AuthenticateLayer;
///
/// async fn receive(Extension(principal): Extension<Principal>, body: String) -> &'static str {
///     // The body is the application's to read; the credentials are checked already.
///     let _ = (principal.name(), body);
///     "ok"
/// }
///
/// # fn app(webhooks: Webhooks) -> Router {
/// Router::new()
///     .route("/webhooks/prepared/raw", post(receive))
///     .layer(AuthenticateLayer::new(webhooks))
/// # }
/// ```
///
/// A refused request is answered by the layer, as the pipeline answers it (`401` with a
/// `WWW-Authenticate` challenge, `403` for a missing scope, `503` with `Retry-After` when
/// the authorization server cannot be asked); the inner service never sees it.
#[derive(Clone, Debug)]
pub struct AuthenticateLayer {
    webhooks: Webhooks,
}

impl AuthenticateLayer {
    /// Checks requests with `webhooks`' authenticator.
    pub fn new(webhooks: Webhooks) -> Self {
        Self { webhooks }
    }
}

impl<S> Layer<S> for AuthenticateLayer {
    type Service = Authenticate<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authenticate {
            inner,
            webhooks: self.webhooks.clone(),
        }
    }
}

/// The service [`AuthenticateLayer`] builds.
#[derive(Clone, Debug)]
pub struct Authenticate<S> {
    inner: S,
    webhooks: Webhooks,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Authenticate<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    ReqBody: Send + 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // The clone that was driven to readiness serves this request (tower's usual swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let webhooks = self.webhooks.clone();
        Box::pin(async move {
            let (mut head, body) = request.into_parts();
            match webhooks.authenticate(&head).await {
                Ok(principal) => {
                    head.extensions.insert::<Principal>(principal);
                    let response = inner.call(Request::from_parts(head, body)).await?;
                    Ok(response.map(ResponseBody::inner))
                }
                Err(rejection) => Ok(rejection.to_response().map(ResponseBody::webhook)),
            }
        })
    }
}
