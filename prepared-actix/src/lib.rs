//! Receive [Prepared]'s Partner API webhooks in actix-web.
//!
//! Mount the callback pipeline of a [`Webhooks`](prepared_core::Webhooks) with
//! [`webhook_route`], or put the `Webhooks` in `app_data` (it is cheap to clone) and take a
//! [`PreparedEvent`] in a handler of your own:
//!
//! ```no_run
//! use actix_web::{App, HttpResponse, HttpServer, web};
//! use prepared_actix::{PreparedEvent, webhook_route};
//! use prepared_core::auth::{BearerToken, StaticBearer};
//! use prepared_core::event::CallerLocation;
//! use prepared_core::Webhooks;
//!
//! #[actix_web::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let webhooks = Webhooks::builder()
//!         .authenticator(StaticBearer::new([BearerToken::new(std::env::var("PREPARED_WEBHOOK_TOKEN")?)]))
//!         .on_caller_location(|location: CallerLocation| async move {
//!             println!("incident {} has a new caller location", location.incident_id);
//!             Ok::<_, std::convert::Infallible>(())
//!         })
//!         .build()?;
//!     HttpServer::new(move || {
//!         App::new()
//!             .route("/webhooks/prepared", webhook_route(webhooks.clone()))
//!             .route("/health", web::get().to(HttpResponse::Ok))
//!     })
//!     .bind("127.0.0.1:3000")?
//!     .run()
//!     .await?;
//!     Ok(())
//! }
//! ```
//!
//! Both run the pipeline of `prepared-core` with the same statuses as `prepared-tower`:
//! `200` acknowledged (also a duplicate), `400` invalid payload, `401` bad credentials, `403`
//! a token without a required scope, `405` not `POST`, `408` body too slow, `413` body over
//! the limit, `415` not JSON, `500` callback failed (after-processing mode), `503` with
//! `Retry-After` when the event cannot be taken now (also when the authorization server
//! cannot be asked).
//! Credentials are checked on the request head, before the payload is read.
//!
//! [`readiness_route`] answers a readiness probe (`GET /ready`): `200`, or `503` when a
//! dependency of the receiver fails.
//!
//! [`replay_route`] runs recorded events through the callbacks again (`POST /admin/replay`),
//! behind an operator's credential of its own.
//!
//! [`token_route`] (feature `oauth`, on by default) serves the OAuth client-credentials token
//! endpoint of `prepared-core`, for partners without an authorization server of their own.
//!
//! [Prepared]: https://www.prepared911.com
#![forbid(unsafe_code)]

mod bridge;
mod extractor;
mod readiness_route;
mod replay_route;
mod route;
#[cfg(feature = "oauth")]
mod token_route;

pub use extractor::{PreparedEvent, PreparedEventError};
pub use readiness_route::readiness_route;
pub use replay_route::replay_route;
pub use route::webhook_route;
#[cfg(feature = "oauth")]
pub use token_route::token_route;
