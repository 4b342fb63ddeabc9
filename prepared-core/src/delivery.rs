//! The delivery pipeline: from an authenticated request to the application's typed
//! callbacks, without losing or doubling an event.
//!
//! Prepared retries every delivery that is not answered `200`, so the same event can arrive
//! several times, and it asks for a fast `200` with processing afterwards. [`Webhooks`] holds
//! the two together:
//!
//! - **Dedup by claim.** Each event is *claimed* in a [`DedupStore`](crate::dedup::DedupStore)
//!   under its [`DedupKey`](crate::DedupKey) before anything else happens. A delivery of an
//!   event already done is answered `200` (a duplicate: Prepared must stop retrying) and not
//!   processed; one whose claim is held by a delivery in progress is answered `503` with
//!   `Retry-After`, so that if that delivery fails, the retry processes the event. A claim is
//!   *completed* when the callback succeeds and *released* when it fails, is dead-lettered,
//!   cannot be queued, or its handler drops it.
//! - **[`AckMode::Immediate`]** (the default): the event is queued and answered `200` at
//!   once. Workers run the callbacks, one worker per lane, each fed by a bounded channel; an
//!   event's lane is chosen by its incident id, so the events of one incident are processed
//!   in arrival order, different incidents in parallel. A failed callback (an error or a
//!   panic, which is caught) is retried per the [`RetryPolicy`], then handed to the
//!   dead-letter hook with its raw payload. A full lane answers `503` with `Retry-After` and
//!   releases the claim.
//! - **[`AckMode::AfterProcessing`]**: the callback runs before the answer; `200` on
//!   success, `500` on failure with the claim released.
//! - **Shutdown**: [`Webhooks::shutdown`] stops taking deliveries, drains the queue within a
//!   deadline and reports what was left.
//!
//! Each delivery runs in a `prepared_webhook` tracing span (tenant, kind, dedup key, incident id,
//! outcome, status, latency; never the payload), and [`Stats`] counts what happened; with the
//! `metrics` feature the same counters go to the `metrics` facade
//! (`prepared_webhooks_received_total{kind, tenant}`,
//! `prepared_webhooks_rejected_total{reason}`, and with a `tenant` label
//! `..._duplicates_total`, `..._processed_total`, `..._unhandled_total`,
//! `..._callback_failures_total`, `..._dead_lettered_total`;
//! `prepared_webhooks_dependency_failures_total{dependency, kind}`; the histogram
//! `prepared_webhooks_callback_duration_seconds{kind}`; the gauges
//! `prepared_webhooks_queue_depth` and `prepared_webhooks_queue_capacity`; README's
//! "Metrics" lists them all). A `503` caused by a dependency is also logged at `warn`, at
//! most once per second per dependency.
//!
//! Each callback can take the event's [`Delivery`] beside the event: who sent it (the
//! [`Principal`](crate::auth::Principal) and its tenant, e.g. the dispatch center), when, which
//! attempt this is, the dedup key and the raw payload.

mod accepted;
mod body;
mod builder;
mod callbacks;
mod claimed;
mod context;
mod failures;
mod head;
mod hooks;
mod lanes;
mod processor;
mod queue;
mod readiness;
mod recorder;
#[cfg(feature = "redis")]
mod redis_queue;
mod rejection;
mod replay;
mod replay_request;
mod retry;
mod settle;
mod stats;
mod webhooks;

pub use accepted::{Accepted, ShutdownReport};
#[cfg(feature = "oauth")]
pub(crate) use body::read_limited;
pub use builder::{BuildError, WebhooksBuilder};
pub use callbacks::{BoxError, CallbackError, CallbackOutput, EventCallback};
pub use claimed::{ClaimGuard, ClaimedEvent, NotClaimed};
pub use context::Delivery;
pub use failures::DependencyFailures;
pub use hooks::{DeadLetter, DeadLetterReason, InvalidPayload};
pub use recorder::RecordPolicy;
#[cfg(feature = "redis")]
pub use redis_queue::{QueueConnectError, RedisStreamQueue};
pub(crate) use rejection::json_response;
pub use rejection::{Rejection, Unavailable};
pub use replay::{Replay, ReplayError, ReplayReport, Selection};
pub use retry::RetryPolicy;
pub use stats::Stats;
pub use webhooks::{AckMode, DEFAULT_BODY_LIMIT, DEFAULT_BODY_TIMEOUT, Webhooks};
