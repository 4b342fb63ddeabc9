//! [`Accepted`]: the `200` answers, and [`ShutdownReport`].

use bytes::Bytes;
use http::{Response, StatusCode};

use super::rejection::json_response;

/// A delivery Prepared can stop retrying: every variant is answered `200 OK`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Accepted {
    /// The event is queued; its callback runs after the answer
    /// ([`AckMode::Immediate`](super::AckMode::Immediate)).
    Queued,
    /// The callback ran and succeeded before the answer
    /// ([`AckMode::AfterProcessing`](super::AckMode::AfterProcessing)).
    Processed,
    /// No callback is registered for the event's kind; it is acknowledged and counted.
    Unhandled,
    /// The event was processed before: this delivery is a duplicate.
    Duplicate,
}

impl Accepted {
    /// A short name for tracing and the response body.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Processed => "processed",
            Self::Unhandled => "unhandled",
            Self::Duplicate => "duplicate",
        }
    }

    /// `200 OK` with `{"status":"<as_str>"}`.
    pub fn to_response(self) -> Response<Bytes> {
        let body: &'static [u8] = match self {
            Self::Queued => br#"{"status":"queued"}"#,
            Self::Processed => br#"{"status":"processed"}"#,
            Self::Unhandled => br#"{"status":"unhandled"}"#,
            Self::Duplicate => br#"{"status":"duplicate"}"#,
        };
        json_response(StatusCode::OK, Bytes::from_static(body))
    }
}

/// What [`Webhooks::shutdown`](super::Webhooks::shutdown) did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Events waiting in the queue when the shutdown began.
    pub queued_at_start: u64,
    /// Whether every queued event was processed before the deadline.
    pub drained_in_time: bool,
    /// Events handed to the dead-letter hook during the shutdown (their claims released).
    pub dead_lettered: u64,
    /// Events still queued when the workers were stopped (a callback that hung past the
    /// deadline); their claims expire after the dedup store's claim TTL.
    pub left_unprocessed: u64,
}

#[cfg(test)]
mod tests {
    use super::Accepted;

    #[test]
    fn every_answer_body_is_the_json_of_its_name() {
        for accepted in [
            Accepted::Queued,
            Accepted::Processed,
            Accepted::Unhandled,
            Accepted::Duplicate,
        ] {
            let response = accepted.to_response();
            let body: serde_json::Value = serde_json::from_slice(response.body()).expect("JSON");
            assert_eq!(body, serde_json::json!({ "status": accepted.as_str() }));
            assert_eq!(response.status(), 200);
        }
    }
}
