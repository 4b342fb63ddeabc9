//! What the application gets when an event cannot be handled: dead letters and invalid payloads.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::BoxFuture;

use time::OffsetDateTime;

use super::{CallbackError, Delivery};
use crate::auth::Principal;
use crate::redact::RedactedLen;
use crate::{DecodeError, Event};

/// A hook the application registers; it gets the value and returns when it has dealt with it.
pub(crate) type Hook<T> = Arc<dyn Fn(T) -> BoxFuture<'static, ()> + Send + Sync>;

/// An acknowledged event whose callback never succeeded: the application must keep it (a
/// table, a file, an alert), because Prepared will not send it again.
///
/// `Debug` shows the event (itself redacted) and the size of the raw payload.
#[non_exhaustive]
pub struct DeadLetter {
    /// The event.
    pub event: Event,
    /// The payload exactly as received (also in [`delivery`](Self::delivery)).
    pub raw: Bytes,
    /// What the receiver knows about the delivery: who sent it, when, the dedup key.
    pub delivery: Delivery,
    /// How many times the callback ran.
    pub attempts: u32,
    /// Why the event is dead-lettered.
    pub reason: DeadLetterReason,
    /// The last callback error, if the callback ran.
    pub last_error: Option<CallbackError>,
}

/// Why an event was dead-lettered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeadLetterReason {
    /// Every attempt the retry policy allows failed.
    RetriesExhausted,
    /// The receiver shut down before the event could be processed.
    Shutdown,
}

impl fmt::Debug for DeadLetter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeadLetter")
            .field("event", &self.event)
            .field("delivery", &self.delivery)
            .field("attempts", &self.attempts)
            .field("reason", &self.reason)
            .field("last_error", &self.last_error)
            .finish()
    }
}

/// An authenticated payload that is not a valid Prepared event. It was answered with `400`,
/// which Prepared does not retry, so this hook is the only place it is not silently lost.
///
/// `Debug` shows the error and the size of the payload.
#[non_exhaustive]
pub struct InvalidPayload {
    /// The payload exactly as received.
    pub raw: Bytes,
    /// Why it was refused.
    pub error: DecodeError,
    /// Which credential authenticated the delivery.
    pub principal: Principal,
    /// The tenant of that credential (see [`Delivery::tenant`]).
    pub tenant: Option<Arc<str>>,
    /// When the receiver got the delivery.
    pub received_at: OffsetDateTime,
}

impl fmt::Debug for InvalidPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InvalidPayload")
            .field("raw", &RedactedLen(self.raw.len()))
            .field("error", &self.error)
            .field("principal", &self.principal)
            .field("tenant", &self.tenant)
            .field("received_at", &self.received_at)
            .finish()
    }
}
