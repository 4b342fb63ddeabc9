//! The framework-agnostic core of `prepared-webhooks`: everything needed to receive the
//! webhooks of [Prepared]'s Partner API correctly, with no web framework attached.
//!
//! Start with [`Event::decode`]: one call turns the raw body of a delivery into a typed
//! [`Event`].
//!
//! ```
//! use prepared_core::{Event, EventKind};
//!
//! let body = br#"{
//!     "type": "caller_location",
//!     "id": "550e8400-e29b-41d4-a716-446655440004",
//!     "incident_id": "550e8400-e29b-41d4-a716-446655440000",
//!     "lat": 37.7749, "lng": -122.4194,
//!     "created_at": "2024-01-15 10:30:15 UTC", "source": "ani_ali"
//! }"#;
//!
//! let event = Event::decode(body)?;
//! assert_eq!(event.kind(), EventKind::CallerLocation);
//! assert_eq!(event.dedup_key().as_str(), "caller_location:550e8400-e29b-41d4-a716-446655440004");
//! if let Event::CallerLocation(location) = &event {
//!     // Coordinates are plain `f64` fields; `Debug` redacts them.
//!     assert_eq!(location.lat, 37.7749);
//!     assert!(!format!("{location:?}").contains("37.77"));
//! }
//! # Ok::<(), prepared_core::DecodeError>(())
//! ```
//!
//! The modules:
//! - [`event`]: the typed event model, decoding and dedup keys.
//! - [`auth`]: authentication of deliveries on the request head.
//! - [`dedup`]: the claim protocol and its stores.
//! - [`delivery`]: [`Webhooks`], the pipeline from request to typed callbacks.
//! - [`readiness`]: whether a replica can take deliveries now, for a readiness probe.
//! - [`record`]: the delivery log, a record of every delivery and its outcome, for queries
//!   and replay.
//! - `testing` (feature `testing`): sample events, requests and tokens for your own tests.
//!
//! The framework adapters are separate crates: `prepared-tower` (axum, hyper, any tower
//! stack) and `prepared-actix` (actix-web).
//!
//! [Prepared]: https://www.prepared911.com
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod auth;
pub mod dedup;
pub mod delivery;
pub mod event;
pub mod readiness;
pub mod record;
mod redact;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

pub use delivery::{AckMode, Webhooks};

/// A boxed error: what callbacks return and what wraps a store's or a client's own error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
pub use event::{DecodeError, DedupKey, Event, EventKind, Scope, Timestamp};
