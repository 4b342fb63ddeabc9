//! Authentication of deliveries, on the request head only, before any body byte is read.
//!
//! Prepared authenticates each call with `Authorization: Bearer <token>`; the token is one the
//! partner issued ([`StaticBearer`]). Every authenticator implements [`Authenticator`], which
//! sees the method, URI and headers of a request and nothing else.
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

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use http::{HeaderValue, StatusCode, header};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The future an [`Authenticator`] returns.
pub type AuthFuture<'a> = Pin<Box<dyn Future<Output = Result<Principal, AuthError>> + Send + 'a>>;

/// Decides whether a request comes from Prepared, from its head alone.
pub trait Authenticator: Send + Sync + 'static {
    /// Looks at the request head only; never at the body.
    fn authenticate<'a>(&'a self, head: &'a http::request::Parts) -> AuthFuture<'a>;
}

/// Who a request was authenticated as.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Principal {
    /// A static Bearer token: the index of the matching token in the configured list.
    StaticToken {
        /// Which configured token matched.
        index: usize,
    },
}

/// Why a request was not authenticated. The response says only `401` and the RFC 6750
/// challenge; [`reason`](Self::reason) is for tracing and metrics.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No `Authorization: Bearer` credentials.
    #[error("no bearer credentials")]
    Missing,
    /// Credentials were given and refused.
    #[error("invalid credentials: {reason}")]
    Invalid {
        /// Why, e.g. `unknown_token` or `malformed_header`.
        reason: &'static str,
    },
}

impl AuthError {
    /// `401 Unauthorized`.
    pub fn status(&self) -> StatusCode {
        StatusCode::UNAUTHORIZED
    }

    /// The RFC 6750 challenge: `Bearer realm="prepared-webhooks"`, with
    /// `error="invalid_token"` when a token was given.
    pub fn www_authenticate(&self) -> Option<HeaderValue> {
        Some(HeaderValue::from_static(match self {
            Self::Missing => r#"Bearer realm="prepared-webhooks""#,
            Self::Invalid { .. } => r#"Bearer realm="prepared-webhooks", error="invalid_token""#,
        }))
    }

    /// Authentication failures are not retried later by the receiver's choice: `None`.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        None
    }

    /// A short name for tracing and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Invalid { reason } => reason,
        }
    }
}

/// A secret Bearer token. `Debug` never shows it and there is no `Display`.
#[derive(Clone)]
pub struct BearerToken(String);

impl BearerToken {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken([redacted])")
    }
}

/// The token of an `Authorization: Bearer <token>` header: the scheme is matched
/// case-insensitively, then one or more spaces, then a token68 (RFC 6750 §2.1). `Err` names
/// why the header is malformed; `Ok(None)` means there is no such header.
pub fn bearer_token(headers: &http::HeaderMap) -> Result<Option<&[u8]>, &'static str> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err("duplicate_header");
    }
    let value = value.as_bytes();
    let Some((scheme, rest)) = value.split_at_checked(6) else {
        return Err("malformed_header");
    };
    if !scheme.eq_ignore_ascii_case(b"bearer") || !rest.starts_with(b" ") {
        return Err("not_bearer");
    }
    let token = rest.trim_ascii_start();
    let is_token68 = |b: &u8| b.is_ascii_alphanumeric() || b"-._~+/".contains(b);
    let padding = token.iter().rev().take_while(|b| **b == b'=').count();
    if token.is_empty() || !token[..token.len() - padding].iter().all(is_token68) {
        return Err("malformed_header");
    }
    Ok(Some(token))
}

/// Static Bearer tokens the partner issued to Prepared; several may be active at once, for a
/// rotation without downtime.
///
/// The presented token is compared with every configured one through their SHA-256 digests,
/// in constant time and without an early exit, so the timing reveals neither the tokens'
/// content nor their length.
#[derive(Clone)]
pub struct StaticBearer {
    digests: Vec<[u8; 32]>,
}

impl StaticBearer {
    /// Accepts any of `tokens`.
    pub fn new(tokens: impl IntoIterator<Item = BearerToken>) -> Self {
        Self {
            digests: tokens
                .into_iter()
                .map(|token| digest(token.0.as_bytes()))
                .collect(),
        }
    }

    /// Checks the head's credentials.
    pub fn check(&self, head: &http::request::Parts) -> Result<Principal, AuthError> {
        let token = match bearer_token(&head.headers) {
            Ok(Some(token)) => token,
            Ok(None) => return Err(AuthError::Missing),
            Err(reason) => return Err(AuthError::Invalid { reason }),
        };
        let presented = digest(token);
        let mut matched = None;
        for (index, candidate) in self.digests.iter().enumerate() {
            if bool::from(candidate.ct_eq(&presented)) {
                matched = Some(index);
            }
        }
        matched
            .map(|index| Principal::StaticToken { index })
            .ok_or(AuthError::Invalid {
                reason: "unknown_token",
            })
    }
}

fn digest(token: &[u8]) -> [u8; 32] {
    Sha256::digest(token).into()
}

impl fmt::Debug for StaticBearer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticBearer")
            .field("tokens", &self.digests.len())
            .finish()
    }
}

impl Authenticator for StaticBearer {
    fn authenticate<'a>(&'a self, head: &'a http::request::Parts) -> AuthFuture<'a> {
        let result = self.check(head);
        Box::pin(std::future::ready(result))
    }
}
