//! [`TokenRequestError`]: the RFC 6749 §5.2 error answers of the token endpoint.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};

/// Why the token endpoint refused a request, answered as RFC 6749 §5.2 asks: a JSON object
/// with `error` and `error_description`, `Cache-Control: no-store`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenRequestError {
    /// Not a `POST` (`405`, `Allow: POST`).
    #[error("the token endpoint takes POST")]
    MethodNotAllowed,
    /// The request is malformed: an unsupported content type, a body that does not parse,
    /// a missing or repeated parameter, or more than one client authentication method
    /// (`400`, `invalid_request`).
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
    /// The body is over the endpoint's limit (`413`, `invalid_request`).
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// Unknown client, no client authentication, or a wrong secret (`401`, `invalid_client`,
    /// with a `WWW-Authenticate: Basic` challenge).
    #[error("client authentication failed")]
    InvalidClient,
    /// Too many wrong secrets for this client id lately (`429`, `invalid_client`, with
    /// `Retry-After`); the secret was not checked.
    #[error("too many failed client authentications")]
    TooManyFailures {
        /// When the client may try again.
        retry_after: Duration,
    },
    /// A `grant_type` other than `client_credentials` (`400`, `unsupported_grant_type`).
    #[error("only the client_credentials grant is supported")]
    UnsupportedGrantType,
    /// A scope the client may not have (`400`, `invalid_scope`).
    #[error("a requested scope is not granted to this client")]
    InvalidScope,
    /// The token could not be signed (`500`, `server_error`).
    #[error("the token could not be issued")]
    ServerError,
}

impl TokenRequestError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::InvalidClient => StatusCode::UNAUTHORIZED,
            Self::TooManyFailures { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            Self::InvalidRequest(_) | Self::UnsupportedGrantType | Self::InvalidScope => {
                StatusCode::BAD_REQUEST
            }
        }
    }

    /// The RFC 6749 §5.2 `error` code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MethodNotAllowed | Self::InvalidRequest(_) | Self::PayloadTooLarge => {
                "invalid_request"
            }
            Self::InvalidClient | Self::TooManyFailures { .. } => "invalid_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::ServerError => "server_error",
        }
    }

    /// A short, stable name for logs and the `outcome` label of
    /// `prepared_token_requests_total`, e.g. `invalid_client` or `too_many_failures`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::MethodNotAllowed => "method_not_allowed",
            Self::InvalidRequest(_) => "invalid_request",
            Self::PayloadTooLarge => "payload_too_large",
            Self::InvalidClient => "invalid_client",
            Self::TooManyFailures { .. } => "too_many_failures",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::ServerError => "server_error",
        }
    }

    /// The answer: status, RFC 6749 headers and the JSON error object.
    pub fn to_response(&self) -> Response<Bytes> {
        let body = serde_json::json!({
            "error": self.code(),
            "error_description": self.to_string(),
        });
        let mut response = crate::delivery::json_response(self.status(), body.to_string());
        let headers = response.headers_mut();
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        match self {
            Self::MethodNotAllowed => {
                headers.insert(header::ALLOW, HeaderValue::from_static("POST"));
            }
            Self::InvalidClient => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"Basic realm="prepared-webhooks""#),
                );
            }
            Self::TooManyFailures { retry_after } => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(retry_after.as_secs().max(1)),
                );
            }
            _ => {}
        }
        response
    }
}
