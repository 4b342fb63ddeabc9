//! [`AuthError`]: why a request was not authenticated, and how to answer it.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderValue, StatusCode};

/// The realm of the RFC 6750 challenges.
const REALM: &str = "prepared-webhooks";

/// Why a request was not authenticated.
///
/// The response says only the status and the RFC 6750 challenge;
/// [`reason`](Self::reason) says why, for tracing and metrics.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No `Authorization: Bearer` credentials (`401`).
    #[error("no bearer credentials")]
    Missing,
    /// Credentials were given and refused (`401`, `error="invalid_token"`).
    #[error("invalid credentials: {reason}")]
    Invalid {
        /// Why, e.g. `unknown_token`, `expired` or `malformed_header`.
        reason: &'static str,
    },
    /// A valid token without a scope the receiver requires (`403`,
    /// `error="insufficient_scope"`).
    #[error("the token lacks a required scope")]
    InsufficientScope {
        /// The scopes the receiver requires, space-delimited (they go in the challenge).
        required: Arc<str>,
    },
    /// The credentials could not be checked now: the authorization server or its keys
    /// cannot be reached, or it answered with an error or something unusable (`503` with
    /// `Retry-After`; Prepared retries).
    #[error("the credentials cannot be checked now: {reason}")]
    Unavailable {
        /// Why, e.g. `jwks_unavailable` or `introspection_timeout`.
        reason: &'static str,
        /// When to try again.
        retry_after: Duration,
    },
}

impl AuthError {
    pub(crate) fn invalid(reason: &'static str) -> Self {
        Self::Invalid { reason }
    }

    /// `401`, `403` for a missing scope, or `503` when the credentials cannot be checked now.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Missing | Self::Invalid { .. } => StatusCode::UNAUTHORIZED,
            Self::InsufficientScope { .. } => StatusCode::FORBIDDEN,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The RFC 6750 challenge: `Bearer realm="prepared-webhooks"`, with
    /// `error="invalid_token"` when a token was given, or `error="insufficient_scope"` and the
    /// required `scope`. `None` for [`Unavailable`](Self::Unavailable).
    pub fn www_authenticate(&self) -> Option<HeaderValue> {
        match self {
            Self::Missing => Some(HeaderValue::from_static(
                r#"Bearer realm="prepared-webhooks""#,
            )),
            Self::Invalid { .. } => Some(HeaderValue::from_static(
                r#"Bearer realm="prepared-webhooks", error="invalid_token""#,
            )),
            Self::InsufficientScope { required } => HeaderValue::from_str(&format!(
                r#"Bearer realm="{REALM}", error="insufficient_scope", scope="{required}""#
            ))
            .ok(),
            Self::Unavailable { .. } => None,
        }
    }

    /// When Prepared should try again: only for [`Unavailable`](Self::Unavailable).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Unavailable { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// A short name for tracing and metrics, e.g. `missing`, `expired`,
    /// `insufficient_scope` or `introspection_unavailable`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Invalid { reason } | Self::Unavailable { reason, .. } => reason,
            Self::InsufficientScope { .. } => "insufficient_scope",
        }
    }
}
