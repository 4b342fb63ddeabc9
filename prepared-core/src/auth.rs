//! Authentication of deliveries, on the request head only, before any body byte is read.
//!
//! Prepared authenticates each call with `Authorization: Bearer <token>`, in one of two ways
//! chosen per partner, and every way here implements [`Authenticator`], which sees the
//! method, URI and headers of a request and nothing else:
//!
//! | Prepared sends | authenticator | answers `503` + `Retry-After` when |
//! |---|---|---|
//! | a long-lived token the partner issued | [`StaticBearer`] | never |
//! | an OAuth access token that is a JWT | [`JwtValidator`] (HS256 secret or a JWKS URL) | the JWKS cannot be fetched |
//! | an opaque OAuth access token | [`Introspector`] (RFC 7662) | the authorization server cannot be asked |
//!
//! [`AnyOf`] accepts a delivery when one of several authenticators does (e.g. static tokens
//! during a migration to OAuth), and answers with the most telling refusal otherwise (`503`
//! when one could not decide).
//!
//! A partner without an authorization server of its own mounts a [`TokenEndpoint`] (an
//! RFC 6749 client-credentials grant) beside the webhook; its
//! [`validator`](TokenEndpoint::validator) accepts exactly the tokens it issues.
//!
//! ```
//! use prepared_core::auth::{Authenticator, BearerToken, StaticBearer};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! // Two tokens are active during a rotation; both are accepted.
//! let auth = StaticBearer::new([BearerToken::new("old-token"), BearerToken::new("new-token")]);
//! let (head, ()) = http::Request::post("/webhooks/prepared")
//!     .header("authorization", "Bearer new-token")
//!     .body(())
//!     .unwrap()
//!     .into_parts();
//! assert!(auth.authenticate(&head).await.is_ok());
//! # }
//! ```
//!
//! Failures are typed ([`AuthError`]): a refused credential is `401` with an RFC 6750
//! `WWW-Authenticate: Bearer` challenge (`403` with `error="insufficient_scope"` for a valid
//! token without a required scope), and an authorization server that cannot be reached is
//! `503` with `Retry-After`, never `401` and never `200`, so Prepared retries. Why a
//! credential was refused ([`AuthError::reason`]) reaches tracing and metrics, never the
//! response body. Secrets ([`BearerToken`], [`ClientSecret`], [`JwtSecret`]) never show in
//! `Debug`, and caches are keyed by a SHA-256 digest of a token, never by the token.

use std::future::Future;
use std::pin::Pin;

use crate::readiness::CheckStatus;

mod any_of;
mod bearer;
#[cfg(feature = "oauth")]
mod config_error;
mod digest;
mod error;
#[cfg(feature = "oauth")]
mod http_client;
#[cfg(feature = "oauth")]
mod introspection;
#[cfg(feature = "oauth")]
mod jwks;
#[cfg(feature = "oauth")]
mod jwt;
mod principal;
mod scopes;
mod secret;
#[cfg(feature = "oauth")]
mod token_endpoint;

pub use any_of::AnyOf;
pub use bearer::{StaticBearer, bearer_token};
#[cfg(feature = "oauth")]
pub use config_error::ConfigError;
pub use error::AuthError;
#[cfg(feature = "oauth")]
pub use introspection::{Introspector, IntrospectorBuilder};
#[cfg(feature = "oauth")]
pub use jsonwebtoken::Algorithm;
#[cfg(feature = "oauth")]
pub use jwt::{DEFAULT_LEEWAY, JwtValidator, JwtValidatorBuilder};
pub use principal::{Principal, TokenInfo};
pub use scopes::Scopes;
pub use secret::BearerToken;
#[cfg(feature = "oauth")]
pub use secret::{ClientSecret, JwtSecret};
#[cfg(feature = "oauth")]
pub use token_endpoint::{
    ClientCredentials, PeerAddr, TokenEndpoint, TokenEndpointBuilder, TokenRequest,
    TokenRequestError,
};

/// The future an [`Authenticator`] returns.
pub type AuthFuture<'a> = Pin<Box<dyn Future<Output = Result<Principal, AuthError>> + Send + 'a>>;

/// The future of [`Authenticator::authorization_server`].
pub type ServerCheckFuture<'a> = Pin<Box<dyn Future<Output = Option<CheckStatus>> + Send + 'a>>;

/// Decides whether a request comes from Prepared, from its head alone.
pub trait Authenticator: Send + Sync + 'static {
    /// Looks at the request head only; never at the body.
    fn authenticate<'a>(&'a self, head: &'a http::request::Parts) -> AuthFuture<'a>;

    /// Whether the authorization server this authenticator relies on can be used now, for
    /// the readiness check ([`Webhooks::readiness`](crate::Webhooks::readiness)); `None`
    /// when it relies on none (the default, e.g. [`StaticBearer`]). A [`JwtValidator`] on a
    /// JWKS answers whether its keys were fetched within their maximum age (fetching them
    /// if not); an [`Introspector`] whether the endpoint answered lately (asking it about a
    /// random token if not).
    fn authorization_server(&self) -> ServerCheckFuture<'_> {
        Box::pin(std::future::ready(None))
    }
}

/// A boxed authenticator, e.g. one chosen at start-up from the configuration.
impl<A: Authenticator + ?Sized> Authenticator for Box<A> {
    fn authenticate<'a>(&'a self, head: &'a http::request::Parts) -> AuthFuture<'a> {
        (**self).authenticate(head)
    }

    fn authorization_server(&self) -> ServerCheckFuture<'_> {
        (**self).authorization_server()
    }
}

/// A shared authenticator, e.g. one introspection cache for several receivers.
impl<A: Authenticator + ?Sized> Authenticator for std::sync::Arc<A> {
    fn authenticate<'a>(&'a self, head: &'a http::request::Parts) -> AuthFuture<'a> {
        (**self).authenticate(head)
    }

    fn authorization_server(&self) -> ServerCheckFuture<'_> {
        (**self).authorization_server()
    }
}
