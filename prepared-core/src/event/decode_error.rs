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

    /// Maps a syntax error (the first pass reads the whole body and fails only on those).
    pub(super) fn syntax(error: &serde_json::Error) -> Self {
        Self::Syntax {
            line: error.line(),
            column: error.column(),
        }
    }

    /// Maps an error of the second pass, decoding `body` as `event`. Runs only on failure:
    /// the body is decoded again with path tracking to name the field at fault.
    pub(super) fn from_schema<T>(event: EventKind, body: &[u8], error: &serde_json::Error) -> Self
    where
        T: serde::de::DeserializeOwned,
    {
        if !matches!(error.classify(), serde_json::error::Category::Data) {
            return Self::syntax(error);
        }
        let mut deserializer = serde_json::Deserializer::from_slice(body);
        let path = match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
            Err(tracked) => tracked.path().to_string(),
            Ok(_) => String::new(),
        };
        let message = error.to_string();
        if let Some(field) = quoted_field(&message, "missing field `") {
            return Self::MissingField {
                event,
                field: join_path(&path, field),
            };
        }
        if let Some(field) = quoted_field(&message, "duplicate field `") {
            return Self::DuplicateField {
                event,
                field: join_path(&path, field),
            };
        }
        Self::InvalidField {
            event,
            field: safe_path(&path),
        }
    }
}

impl DecodeError {
    /// Maps an error reading an unknown event's common fields: only a repeated field can
    /// make that fail.
    pub(super) fn from_unknown(error: &serde_json::Error) -> Self {
        let message = error.to_string();
        match quoted_field(&message, "duplicate field `") {
            Some(field) => Self::DuplicateField {
                event: EventKind::Unknown,
                field: field.to_owned(),
            },
            None => Self::syntax(error),
        }
    }
}

/// The name in serde's "missing field `name`" and "duplicate field `name`" messages. Those
/// names come from our own structs, never from the payload.
fn quoted_field<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    let rest = message.strip_prefix(prefix)?;
    rest.split('`').next()
}

fn join_path(path: &str, field: &str) -> String {
    match safe_path(path).as_str() {
        "." | "" => field.to_owned(),
        parent => format!("{parent}.{field}"),
    }
}

/// A field path made of identifier characters only, so that it cannot smuggle payload content
/// (all our fields are identifiers; free-form maps never fail to decode).
fn safe_path(path: &str) -> String {
    let is_safe = path.len() <= 64
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'[' | b']'));
    if is_safe {
        path.to_owned()
    } else {
        "?".to_owned()
    }
}
