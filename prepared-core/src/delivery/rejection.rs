//! [`Rejection`]: every way a delivery is refused, with the status Prepared must see.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};

use crate::DecodeError;
use crate::auth::AuthError;
use crate::dedup::DedupError;

/// Why a delivery was not acknowledged, and how to answer it.
///
/// The status tells Prepared what to do: `503` (with `Retry-After`) and `500` make it retry
/// later; the `4xx` statuses say the request itself is wrong. The response body is a short
/// JSON object with a safe message: it never quotes the payload nor says why a credential was
/// refused ([`reason`](Self::reason) carries that to tracing and metrics instead).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The method is not `POST` (405, with `Allow: POST`).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Authentication failed (401; 403 for a token without a required scope), or the
    /// credentials could not be checked now (503, with `Retry-After`).
    #[error("authentication failed: {0}")]
    Auth(#[source] AuthError),
    /// The content type is not JSON, or the body has a content encoding (415).
    #[error("the content type is not application/json, or the body is encoded")]
    UnsupportedMediaType,
    /// The body is larger than the limit (413).
    #[error("the body is larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The body could not be read to its end (400).
    #[error("the body could not be read")]
    BodyRead,
    /// The body did not arrive in time (408); a stalled or very slow sender does not hold
    /// the receiver.
    #[error("the body did not arrive within {timeout:?}")]
    BodyTimeout {
        /// The time allowed.
        timeout: Duration,
    },
    /// The body is not a valid Prepared event (400).
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The receiver cannot take the event now (503, with `Retry-After`); Prepared retries.
    #[error("the receiver cannot take the event now: {reason}")]
    Unavailable {
        /// Why.
        reason: Unavailable,
        /// When to try again.
        retry_after: Duration,
    },
    /// The callback failed in [`AckMode::AfterProcessing`](super::AckMode::AfterProcessing)
    /// (500); the claim was released so that Prepared's retry is processed.
    #[error("processing the event failed")]
    ProcessingFailed,
}

/// Why the receiver cannot take an event now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Unavailable {
    /// The processing queue is full.
    QueueFull,
    /// The dedup store cannot be reached.
    DedupStore,
    /// The durable queue cannot be reached.
    Queue,
    /// Another delivery of the same event is being processed; once it is done, a retry is
    /// answered as a duplicate, and if it failed, the retry processes the event.
    InFlight,
    /// The receiver is shutting down.
    ShuttingDown,
    /// The delivery log cannot record the delivery (under
    /// [`RecordPolicy::BeforeAck`](super::RecordPolicy::BeforeAck)).
    DeliveryLog,
}

impl Unavailable {
    /// A short name for tracing and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::QueueFull => "queue_full",
            Self::DedupStore => "dedup_store_unavailable",
            Self::Queue => "queue_unavailable",
            Self::InFlight => "in_flight",
            Self::ShuttingDown => "shutting_down",
            Self::DeliveryLog => "delivery_log_unavailable",
        }
    }
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<DedupError> for Rejection {
    fn from(error: DedupError) -> Self {
        Self::Unavailable {
            reason: Unavailable::DedupStore,
            retry_after: error.retry_after(),
        }
    }
}

impl From<AuthError> for Rejection {
    fn from(error: AuthError) -> Self {
        Self::Auth(error)
    }
}

impl Rejection {
    /// The HTTP status to answer with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Auth(error) => error.status(),
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BodyRead => StatusCode::BAD_REQUEST,
            Self::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Self::Decode(error) => error.status(),
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::ProcessingFailed => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short, stable name for tracing and metrics (`rejected{reason=...}`), e.g.
    /// `auth:expired` or `queue_full`. Never shown to the sender.
    pub fn reason(&self) -> String {
        match self {
            Self::MethodNotAllowed => "method_not_allowed".to_owned(),
            Self::Auth(error) => format!("auth:{}", error.reason()),
            Self::UnsupportedMediaType => "unsupported_media_type".to_owned(),
            Self::PayloadTooLarge { .. } => "payload_too_large".to_owned(),
            Self::BodyRead => "body_read".to_owned(),
            Self::BodyTimeout { .. } => "body_timeout".to_owned(),
            Self::Decode(_) => "invalid_payload".to_owned(),
            Self::Unavailable { reason, .. } => reason.as_str().to_owned(),
            Self::ProcessingFailed => "processing_failed".to_owned(),
        }
    }

    /// When Prepared should try again, for the `503` answers.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Unavailable { retry_after, .. } => Some(*retry_after),
            Self::Auth(error) => error.retry_after(),
            _ => None,
        }
    }

    /// The response to send: status, the headers the status calls for (`Allow`,
    /// `WWW-Authenticate`, `Retry-After`) and a small JSON body with a safe message.
    pub fn to_response(&self) -> Response<Bytes> {
        let (code, message) = match self {
            Self::MethodNotAllowed => ("method_not_allowed", "use POST".to_owned()),
            Self::Auth(error) if error.retry_after().is_some() => (
                "authorization_server_unavailable",
                "try again later".to_owned(),
            ),
            Self::Auth(error) if error.status() == StatusCode::FORBIDDEN => (
                "insufficient_scope",
                "the token lacks a required scope".to_owned(),
            ),
            Self::Auth(_) => ("unauthorized", "invalid or missing credentials".to_owned()),
            Self::UnsupportedMediaType => (
                "unsupported_media_type",
                "send application/json, without a content encoding".to_owned(),
            ),
            Self::PayloadTooLarge { limit } => {
                ("payload_too_large", format!("the limit is {limit} bytes"))
            }
            Self::BodyRead => ("bad_request", "the body could not be read".to_owned()),
            Self::BodyTimeout { .. } => (
                "request_timeout",
                "the body did not arrive in time".to_owned(),
            ),
            Self::Decode(error) => ("invalid_payload", error.to_string()),
            Self::Unavailable { .. } => ("unavailable", "try again later".to_owned()),
            Self::ProcessingFailed => ("processing_failed", "try again later".to_owned()),
        };
        let body = serde_json::json!({ "error": code, "message": message });
        let mut response = json_response(self.status(), body.to_string());
        let headers = response.headers_mut();
        match self {
            Self::MethodNotAllowed => {
                headers.insert(header::ALLOW, HeaderValue::from_static("POST"));
            }
            Self::Auth(error) => {
                if let Some(challenge) = error.www_authenticate() {
                    headers.insert(header::WWW_AUTHENTICATE, challenge);
                }
            }
            _ => {}
        }
        if let Some(retry_after) = self.retry_after() {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after_seconds(retry_after)),
            );
        }
        response
    }
}

/// `Retry-After` in whole seconds, at least 1.
fn retry_after_seconds(retry_after: Duration) -> u64 {
    retry_after.as_secs().max(1)
}

/// A response with a JSON `body` and `Cache-Control: no-store`.
pub(crate) fn json_response(status: StatusCode, body: impl Into<Bytes>) -> Response<Bytes> {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
