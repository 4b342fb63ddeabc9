//! A test kit for your own tests (feature `testing`): sample events of every kind with fresh
//! ids, delivery requests with the right headers, access tokens signed with HS256 or RS256 by
//! a generated key, and a JWKS endpoint on loopback, so you can test your callbacks and your
//! wiring without Prepared.
//!
//! ```
//! use prepared_core::auth::{BearerToken, StaticBearer};
//! use prepared_core::event::CallerLocation;
//! use prepared_core::testing::Sample;
//! use prepared_core::{AckMode, Webhooks};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (seen, mut locations) = tokio::sync::mpsc::unbounded_channel();
//! let webhooks = Webhooks::builder()
//!     .authenticator(StaticBearer::new([BearerToken::new("token-for-tests")]))
//!     // In a test, answering after the callback ran makes the order plain.
//!     .ack_mode(AckMode::AfterProcessing)
//!     .on_caller_location(move |location: CallerLocation| {
//!         let seen = seen.clone();
//!         async move { let _ = seen.send(location.incident_id); }
//!     })
//!     .build()?;
//!
//! let sample = Sample::caller_location();
//! let response = webhooks.handle(sample.request().bearer("token-for-tests").build()).await;
//! assert_eq!(response.status(), 200);
//! assert_eq!(locations.recv().await, Some(sample.incident_id()));
//!
//! // The same event again is a duplicate: acknowledged, not processed twice.
//! let again = webhooks.handle(sample.request().bearer("token-for-tests").build()).await;
//! assert_eq!(again.status(), 200);
//! assert_eq!(webhooks.stats().duplicates, 1);
//! assert!(locations.try_recv().is_err());
//! # Ok(())
//! # }
//! ```
//!
//! Add it to your dev-dependencies only:
//!
//! ```toml
//! [dev-dependencies]
//! prepared-core = { version = "0.1", features = ["testing"] }
//! ```

mod issuer;
mod jwks_server;
mod request;
mod sample;

pub use issuer::{TestIssuer, TokenBuilder};
pub use jwks_server::JwksServer;
pub use request::WebhookRequest;
pub use sample::Sample;
