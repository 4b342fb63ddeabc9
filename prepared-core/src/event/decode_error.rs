//! [`DecodeError`]: why a body is not a Prepared event, safe to log and to answer with.

use http::StatusCode;

use super::EventKind;

/// Why a webhook body could not be decoded into an [`Event`](super::Event).
///
/// Every variant is a client error answered with `400 Bad Request` (see
/// [`status`](Self::status)). The messages name fields and positions but **never quote the
/// payload**: they can go to logs and to the response body without leaking a caller's data.
/// Unknown event types and unknown enum values are *not* errors: they decode into
/// [`Event::Unknown`](super::Event::Unknown) and `Other` variants.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The body is not well-formed JSON (or not UTF-8, or has trailing data).
    #[error("the body is not valid JSON (line {line}, column {column})")]
    Syntax {
        /// The 1-based line where parsing stopped.
        line: usize,
        /// The 1-based column where parsing stopped.
        column: usize,
    },
    /// The body is JSON but not an object.
    #[error("the body is not a JSON object")]
    NotAnObject,
    /// The object has neither an `event_type` nor a `type` field naming the event.
    #[error("the body has neither an `event_type` nor a `type` field")]
    MissingDiscriminator,
    /// `event_type` or `type` is there but is not a string.
    #[error("the `{field}` field is not a string")]
    InvalidDiscriminator {
        /// `event_type` or `type`.
        field: &'static str,
    },
    /// A field the event requires is absent.
    #[error("{event} event: required field `{field}` is missing")]
    MissingField {
        /// The event being decoded.
        event: EventKind,
        /// The missing field's name.
        field: String,
    },
    /// A field has the wrong type or an invalid value (e.g. a latitude of 400, a malformed
    /// UUID or date-time).
    #[error("{event} event: field `{field}` has an invalid type or value")]
    InvalidField {
        /// The event being decoded.
        event: EventKind,
        /// The field's path, e.g. `lat`.
        field: String,
    },
    /// A field appears twice in the object.
    #[error("{event} event: field `{field}` appears more than once")]
    DuplicateField {
        /// The event being decoded.
        event: EventKind,
        /// The repeated field's name.
        field: String,
    },
}

impl DecodeError {
    /// The HTTP status to answer with: always `400 Bad Request`, since retrying the same
    /// body cannot succeed.
    pub fn status(&self) -> StatusCode {
        StatusCode::BAD_REQUEST
    }

    /// A body that is not UTF-8 (RFC 8259 §8.1), with where its first invalid byte is.
    pub(super) fn not_utf8(body: &[u8], valid_up_to: usize) -> Self {
        let valid = &body[..valid_up_to.min(body.len())];
        let line_start = valid
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |at| at + 1);
        Self::Syntax {
            line: 1 + valid.iter().filter(|b| **b == b'\n').count(),
            column: 1 + valid.len() - line_start,
        }
    }

    /// A body `serde_json` refused as JSON, with where it stopped.
    pub(super) fn syntax(error: &serde_json::Error) -> Self {
        Self::Syntax {
            line: error.line(),
            column: error.column(),
        }
    }
}
