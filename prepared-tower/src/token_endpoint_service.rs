//! [`TokenEndpointService`]: the OAuth client-credentials token endpoint as a service.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::{Request, Response};
use http_body_util::Full;
use prepared_core::BoxError;
use prepared_core::auth::{PeerAddr, TokenEndpoint};
use tower_service::Service;

/// Answers every request it gets as a token request of the client-credentials grant
/// (RFC 6749 §4.4) with a [`TokenEndpoint`]; mount it next to the webhook, and give the
/// webhook the endpoint's [`validator`](TokenEndpoint::validator). Hand it the peer address
/// (in axum, serve with `into_make_service_with_connect_info::<SocketAddr>()`), so that wrong
/// secrets are throttled per address ([`PeerAddr`]):
///
/// ```no_run
/// use prepared_core::Webhooks;
/// use prepared_core::auth::{ClientCredentials, ClientSecret, JwtSecret, TokenEndpoint};
/// use prepared_tower::{PreparedWebhooksLayer, TokenEndpointService};
///
/// # fn app() -> Result<axum::Router, Box<dyn std::error::Error>> {
/// let endpoint = TokenEndpoint::builder(
///     JwtSecret::new(std::env::var("JWT_SECRET")?),
///     "https://cad.example.com",
///     "https://cad.example.com/webhooks/prepared",
/// )
/// .client(ClientCredentials::new("prepared", ClientSecret::new(std::env::var("PREPARED_CLIENT_SECRET")?)))
/// .build()?;
/// let webhooks = Webhooks::builder().authenticator(endpoint.validator()).build()?;
/// Ok(axum::Router::new()
///     .route_service("/oauth/token", TokenEndpointService::new(endpoint))
///     .layer(PreparedWebhooksLayer::new(webhooks, "/webhooks/prepared")))
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct TokenEndpointService {
    endpoint: TokenEndpoint,
}

impl TokenEndpointService {
    /// Serves `endpoint`.
    pub fn new(endpoint: TokenEndpoint) -> Self {
        Self { endpoint }
    }
}

impl<B> Service<Request<B>> for TokenEndpointService
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

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        if let Some(peer) = peer_addr(request.extensions()) {
            request.extensions_mut().insert(peer);
        }
        let endpoint = self.endpoint.clone();
        Box::pin(async move { Ok(endpoint.handle(request).await.map(Full::new)) })
    }
}

/// The TCP peer, for the throttle on wrong secrets: a [`PeerAddr`] already there, axum's
/// `ConnectInfo<SocketAddr>` (serve with `into_make_service_with_connect_info::<SocketAddr>()`)
/// or a plain `SocketAddr` extension (hyper). Without one, the throttle counts a client id's
/// failures from every address together.
fn peer_addr(extensions: &http::Extensions) -> Option<PeerAddr> {
    if let Some(peer) = extensions.get::<PeerAddr>() {
        return Some(*peer);
    }
    #[cfg(feature = "axum")]
    if let Some(axum::extract::ConnectInfo(peer)) =
        extensions.get::<axum::extract::ConnectInfo<SocketAddr>>()
    {
        return Some(PeerAddr(*peer));
    }
    extensions.get::<SocketAddr>().copied().map(PeerAddr)
}
