//! Receive [Prepared]'s Partner API webhooks in axum, hyper or any tower stack with one
//! layer.
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use prepared_core::auth::{BearerToken, StaticBearer};
//! use prepared_core::event::CallerLocation;
//! use prepared_core::Webhooks;
//! use prepared_tower::PreparedWebhooksLayer;
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let webhooks = Webhooks::builder()
//!     .authenticator(StaticBearer::new([BearerToken::new(std::env::var("PREPARED_WEBHOOK_TOKEN")?)]))
//!     .on_caller_location(|location: CallerLocation| async move {
//!         println!("incident {} has a new caller location", location.incident_id);
//!         Ok::<_, std::convert::Infallible>(())
//!     })
//!     .build()?;
//!
//! let app = Router::new()
//!     .route("/health", get(|| async { "ok" }))
//!     .layer(PreparedWebhooksLayer::new(webhooks, "/webhooks/prepared"));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
//!
//! The layer answers requests to its path (any method: non-`POST` get `405`) with the
//! [`Webhooks`](prepared_core::Webhooks) pipeline of `prepared-core` and passes every other
//! request to the inner service untouched. [`WebhookService`] is the same pipeline as a plain
//! service, for `Router::route_service`. With the `axum` feature, [`extract::PreparedEvent`]
//! hands a verified, decoded and deduplicated event to a handler of your own instead.
//! [`AuthenticateLayer`] checks only the credentials and hands the
//! [`Principal`](prepared_core::auth::Principal) to the inner service in the request's
//! extensions. [`TokenEndpointService`] (feature `oauth`, on by default) serves the OAuth
//! client-credentials token endpoint of `prepared-core` for partners without an
//! authorization server of their own. [`ReadinessService`] answers a readiness probe
//! (`GET /ready`): `200`, or `503` when a dependency of the receiver fails.
//! [`ReplayService`] runs recorded events through the callbacks again (`POST /admin/replay`),
//! behind an operator's credential of its own.
//!
//! The statuses: `200` acknowledged (also a duplicate), `400` invalid payload, `401` bad
//! credentials, `403` a token without a required scope, `405` not `POST`, `408` body too
//! slow, `413` body over the limit, `415` not JSON, `500` callback failed (after-processing
//! mode), `503` with `Retry-After` when the event cannot be taken now (also when the
//! authorization server cannot be asked).
//!
//! [Prepared]: https://www.prepared911.com
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod authenticate;
#[cfg(feature = "axum")]
pub mod extract;
mod layer;
mod readiness_service;
mod replay_service;
mod response_body;
mod service;
#[cfg(feature = "oauth")]
mod token_endpoint_service;
mod webhook_service;

pub use authenticate::{Authenticate, AuthenticateLayer};
pub use layer::PreparedWebhooksLayer;
pub use readiness_service::ReadinessService;
pub use replay_service::ReplayService;
pub use response_body::ResponseBody;
pub use service::{PreparedWebhooks, ResponseFuture};
#[cfg(feature = "oauth")]
pub use token_endpoint_service::TokenEndpointService;
pub use webhook_service::WebhookService;
