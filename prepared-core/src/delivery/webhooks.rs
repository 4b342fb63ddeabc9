//! [`Webhooks`]: the receiver, built once, shared by every request.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::request::Parts;
use http::{Request, Response};
use tracing::Instrument;

use super::accepted::{Accepted, ShutdownReport};
use super::builder::WebhooksBuilder;
use super::callbacks::BoxError;
use super::claimed::{ClaimGuard, ClaimedEvent, NotClaimed};
use super::context::{Delivery, Tenants};
use super::failures::Chain;
use super::head::Sender;
use super::hooks::{Hook, InvalidPayload};
use super::processor::Processor;
use super::queue::EventQueue;
use super::settle::Settle;
use super::{Rejection, Stats, Unavailable};
use crate::Event;
use crate::auth::Authenticator;
use crate::dedup::Claim;
use crate::readiness::Dependency;

/// When Prepared gets its `200`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AckMode {
    /// After authentication, decoding and the dedup claim, the event is queued and the
    /// request answered `200` at once, as Prepared asks; callbacks run on workers, with
    /// retries and a dead-letter hook. A full queue answers `503` with `Retry-After`.
    #[default]
    Immediate,
    /// The callback runs before the answer: success answers `200`, failure `500` (the claim
    /// is released and Prepared retries). No queue and no internal retries; choose it when a
    /// callback is quick and the event must be stored before it is acknowledged.
    AfterProcessing,
}

/// The default limit on a delivery's body: 1 MiB (Prepared's events are a few hundred bytes).
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// The default time a delivery's body may take to arrive: 10 s.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// The Prepared webhook receiver: authentication, decoding, dedup and delivery to the
/// application's typed callbacks, with no web framework attached. Cheap to clone (one `Arc`).
///
/// The adapters (`prepared-tower`, `prepared-actix`) call [`handle`](Self::handle) to run
/// the callback pipeline, or [`extract`](Self::extract) to hand the event to a handler of
/// the application's own. Per delivery, in order: the method (`405`), authentication on the
/// head before any body byte is read (`401`/`403`/`503`), the content type and encoding
/// (`415`), the body under a size limit and a timeout (`413`, `408`), decoding (`400`), then
/// the dedup claim and the [`AckMode`] (`200`, or `503` with `Retry-After`, or `500`).
///
/// ```
/// use prepared_core::auth::{BearerToken, StaticBearer};
/// use prepared_core::delivery::Webhooks;
/// use prepared_core::event::CallerLocation;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let webhooks = Webhooks::builder()
///     .authenticator(StaticBearer::new([BearerToken::new("s3cret-token")]))
///     .on_caller_location(|location: CallerLocation| async move {
///         // Store it, plot it, forward it...
///         let _ = (location.lat, location.lng);
///     })
///     .build()?;
///
/// let request = http::Request::post("/webhooks/prepared")
///     .header("authorization", "Bearer s3cret-token")
///     .header("content-type", "application/json")
///     .body(http_body_util::Full::new(bytes::Bytes::from_static(br#"{"type": "caller_location",
///         "id": "550e8400-e29b-41d4-a716-446655440004", "incident_id": "550e8400-e29b-41d4-a716-446655440000",
///         "lat": 37.7749, "lng": -122.4194}"#)))?;
/// let response = webhooks.handle(request).await;
/// assert_eq!(response.status(), 200);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Webhooks {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) authenticator: Box<dyn Authenticator>,
    pub(super) replay_authenticator: Option<Box<dyn Authenticator>>,
    pub(super) processor: Arc<Processor>,
    pub(super) invalid_payload: Option<Hook<InvalidPayload>>,
    pub(super) queue: Option<Box<dyn EventQueue>>,
    pub(super) ack_mode: AckMode,
    pub(super) body_limit: usize,
    pub(super) body_timeout: Duration,
    pub(super) retry_after: Duration,
    pub(super) tenants: Tenants,
    pub(super) accepting: AtomicBool,
    pub(super) probes: super::readiness::ProbeCache,
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhooks")
            .field("ack_mode", &self.inner.ack_mode)
            .field("body_limit", &self.inner.body_limit)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Webhooks {
    /// Starts building a receiver.
    pub fn builder() -> WebhooksBuilder {
        WebhooksBuilder::default()
    }

    pub(super) fn from_inner(inner: Inner) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Handles one delivery from start to end and returns the response to send.
    ///
    /// Runs in a `prepared_webhook` tracing span with the tenant, the event's kind, dedup
    /// key and incident id, the outcome, the status and the latency; never the payload. The future
    /// owns what it needs (a clone of the receiver and the request), so it can be boxed or
    /// spawned as it is.
    pub fn handle<B>(&self, request: Request<B>) -> impl Future<Output = Response<Bytes>> + use<B>
    where
        B: http_body::Body,
        B::Error: Into<BoxError>,
    {
        let this = self.clone();
        let span = delivery_span();
        async move {
            let started = Instant::now();
            let (head, body) = request.into_parts();
            let result = async {
                let sender = this.sender(&head).await?;
                let body = this.read_body(body).await?;
                this.receive(body, sender).await
            }
            .await;
            let response = match &result {
                Ok(accepted) => this.record_accepted(*accepted).to_response(),
                Err(rejection) => this.record_rejection(rejection).to_response(),
            };
            let span = tracing::Span::current();
            span.record("status", response.status().as_u16());
            span.record(
                "latency_us",
                u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            );
            tracing::info!("delivery answered");
            response
        }
        .instrument(span)
    }

    /// Every step but the callback, for the extractors that hand the event to the
    /// application's own handler: the head checks, the body under the limit, decoding and the
    /// dedup claim, with the outcome recorded. [`NotClaimed`] is the answer to send instead of
    /// running the handler.
    pub async fn extract<B>(&self, head: &Parts, body: B) -> Result<ClaimedEvent, NotClaimed>
    where
        B: http_body::Body,
        B::Error: Into<BoxError>,
    {
        async {
            let result = async {
                let sender = self.sender(head).await?;
                let body = self.read_body(body).await?;
                self.claim(body, sender).await
            }
            .await;
            match result {
                Ok(Some(claimed)) => Ok(claimed),
                Ok(None) => {
                    self.record_accepted(Accepted::Duplicate);
                    Err(NotClaimed::Duplicate)
                }
                Err(rejection) => {
                    self.record_rejection(&rejection);
                    Err(NotClaimed::Rejected(rejection))
                }
            }
        }
        .instrument(delivery_span())
        .await
    }

    /// Records an acknowledged delivery in the current span.
    fn record_accepted(&self, accepted: Accepted) -> Accepted {
        tracing::Span::current().record("outcome", accepted.as_str());
        accepted
    }

    /// Records a refused delivery in the current span and the counters.
    fn record_rejection<'r>(&self, rejection: &'r Rejection) -> &'r Rejection {
        let reason = rejection.reason();
        tracing::Span::current().record("outcome", reason.as_str());
        self.inner.processor.counters.rejected(&reason);
        rejection
    }

    /// Decodes an authenticated body, claims the event in the dedup store and hands it to the
    /// pipeline according to the [`AckMode`]. A queue that keeps its own claims (the durable
    /// queue) claims and queues the event in one step.
    async fn receive(&self, body: Bytes, sender: Sender) -> Result<Accepted, Rejection> {
        let (event, delivery) = self.decode(body, sender).await?;
        let processor = &self.inner.processor;
        let callback = processor.callbacks.for_kind(event.kind());
        if let (AckMode::Immediate, Some(queue)) = (self.inner.ack_mode, &self.inner.queue)
            && let Some(admitted) = queue.claim_and_enqueue(&event, &delivery, callback.is_some())
        {
            return match admitted.await {
                Ok(Claim::Claimed(_)) if callback.is_none() => {
                    processor.counters.unhandled(delivery.tenant());
                    Ok(Accepted::Unhandled)
                }
                Ok(Claim::Claimed(_)) => Ok(Accepted::Queued),
                Ok(Claim::Done) => Ok(self.duplicate(&delivery)),
                Ok(_) => Err(self.unavailable(Unavailable::InFlight)),
                Err(reason) => {
                    if reason == Unavailable::Queue {
                        let failures = &processor.counters.failures;
                        failures.record(Dependency::DurableQueue, "unavailable", &reason);
                    }
                    Err(self.unavailable(reason))
                }
            };
        }
        let Some(claimed) = self.claim_decoded(event, delivery).await? else {
            return Ok(Accepted::Duplicate);
        };
        let job = claimed.into_job();
        match (self.inner.ack_mode, &self.inner.queue) {
            (AckMode::AfterProcessing, _) => match processor.run_once(job).await {
                Ok(()) if callback.is_none() => Ok(Accepted::Unhandled),
                Ok(()) => Ok(Accepted::Processed),
                Err(_) => Err(Rejection::ProcessingFailed),
            },
            // Nothing to run later: acknowledged and counted now.
            (AckMode::Immediate, _) if callback.is_none() => {
                processor.run_once(job).await.ok();
                Ok(Accepted::Unhandled)
            }
            (AckMode::Immediate, Some(queue)) => match queue.enqueue(job).await {
                Ok(accepted) => Ok(accepted),
                Err((job, reason)) => {
                    if reason == Unavailable::Queue {
                        let failures = &processor.counters.failures;
                        failures.record(Dependency::DurableQueue, "unavailable", &reason);
                    }
                    processor.settle(&job, Settle::Release).await;
                    Err(self.unavailable(reason))
                }
            },
            (AckMode::Immediate, None) => {
                processor.settle(&job, Settle::Release).await;
                Err(self.unavailable(Unavailable::ShuttingDown))
            }
        }
    }

    /// Decodes an authenticated body and claims its event: `Ok(None)` for a duplicate, or the
    /// event with a guard that completes or releases the claim.
    async fn claim(&self, body: Bytes, sender: Sender) -> Result<Option<ClaimedEvent>, Rejection> {
        let (event, delivery) = self.decode(body, sender).await?;
        self.claim_decoded(event, delivery).await
    }

    /// Decodes an authenticated body (the invalid-payload hook and the delivery log see what
    /// does not decode), records the event in the span, the counters and the delivery log,
    /// and tells who sent it.
    async fn decode(&self, body: Bytes, sender: Sender) -> Result<(Event, Delivery), Rejection> {
        if !self.inner.accepting.load(Ordering::Acquire) {
            return Err(self.unavailable(Unavailable::ShuttingDown));
        }
        let event = match Event::decode(&body) {
            Ok(event) => event,
            Err(error) => {
                if let Some(recorder) = &self.inner.processor.recorder {
                    let principal = sender.principal.name();
                    let tenant = sender.tenant.as_deref();
                    recorder
                        .invalid(&body, &error, principal, tenant, sender.received_at)
                        .await;
                }
                self.invalid_payload(body, &error, sender);
                return Err(Rejection::Decode(error));
            }
        };
        let key = event.dedup_key();
        let span = tracing::Span::current();
        span.record("kind", event.type_name());
        span.record("event", key.as_str());
        if let Some(incident) = event.incident_id() {
            span.record("incident", tracing::field::display(incident));
        }
        let tenant = sender.tenant.as_deref();
        self.inner.processor.counters.received(event.kind(), tenant);
        let delivery = Delivery::new(
            sender.principal,
            sender.tenant,
            sender.received_at,
            key,
            body,
        );
        if let Some(recorder) = &self.inner.processor.recorder
            && recorder.received(&event, &delivery).await.is_err()
        {
            return Err(self.unavailable(Unavailable::DeliveryLog));
        }
        Ok((event, delivery))
    }

    /// Claims a decoded event in the dedup store.
    async fn claim_decoded(
        &self,
        event: Event,
        delivery: Delivery,
    ) -> Result<Option<ClaimedEvent>, Rejection> {
        let processor = &self.inner.processor;
        let key = delivery.dedup_key();
        let claim = processor.dedup.claim(key).await.map_err(|error| {
            let failures = &processor.counters.failures;
            failures.record(Dependency::DedupStore, error.kind(), &Chain(&error));
            Rejection::from(error)
        })?;
        match claim {
            Claim::Claimed(token) => {
                let store = Arc::clone(&processor.dedup);
                let recorder = processor.recorder.clone();
                let guard = ClaimGuard::new(store, key.clone(), token, recorder);
                Ok(Some(ClaimedEvent::new(event, delivery, guard)))
            }
            Claim::Done => {
                self.duplicate(&delivery);
                Ok(None)
            }
            _ => Err(self.unavailable(Unavailable::InFlight)),
        }
    }

    /// Counts a duplicate delivery.
    fn duplicate(&self, delivery: &Delivery) -> Accepted {
        self.inner.processor.counters.duplicates(delivery.tenant());
        Accepted::Duplicate
    }

    fn invalid_payload(&self, raw: Bytes, error: &crate::DecodeError, sender: Sender) {
        tracing::warn!(%error, "invalid payload");
        if let Some(hook) = &self.inner.invalid_payload {
            // The hook runs beside the answer, never delaying the 400.
            let future = hook(InvalidPayload {
                raw,
                error: error.clone(),
                principal: sender.principal,
                tenant: sender.tenant,
                received_at: sender.received_at,
            });
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => drop(runtime.spawn(future)),
                Err(_) => tracing::warn!("no runtime to run the invalid-payload hook on"),
            }
        }
    }

    fn unavailable(&self, reason: Unavailable) -> Rejection {
        Rejection::Unavailable {
            reason,
            retry_after: self.inner.retry_after,
        }
    }

    /// Whether the receiver takes deliveries: `false` once [`shutdown`](Self::shutdown)
    /// was called.
    pub fn is_accepting(&self) -> bool {
        self.inner.accepting.load(Ordering::Acquire)
    }

    /// The counters since the receiver was built.
    pub fn stats(&self) -> Stats {
        self.inner.processor.counters.snapshot()
    }

    /// Stops taking deliveries (they are answered `503`, so Prepared retries them elsewhere
    /// or later), processes what is queued within `deadline`, then dead-letters what is left
    /// and releases its claims. Returns what happened.
    pub async fn shutdown(&self, deadline: Duration) -> ShutdownReport {
        self.inner.accepting.store(false, Ordering::Release);
        let started = Instant::now();
        let report = match &self.inner.queue {
            Some(queue) => queue.shutdown(deadline).await,
            None => ShutdownReport {
                drained_in_time: true,
                ..ShutdownReport::default()
            },
        };
        // The outcomes of what was drained go to the delivery log before the process exits.
        if let Some(recorder) = &self.inner.processor.recorder {
            let left = deadline.saturating_sub(started.elapsed());
            recorder.flush(left.max(Duration::from_secs(1))).await;
        }
        report
    }
}

/// The `prepared_webhook` span of one delivery; its fields are filled in as they are known.
fn delivery_span() -> tracing::Span {
    tracing::info_span!(
        "prepared_webhook",
        tenant = tracing::field::Empty,
        kind = tracing::field::Empty,
        event = tracing::field::Empty,
        incident = tracing::field::Empty,
        outcome = tracing::field::Empty,
        status = tracing::field::Empty,
        latency_us = tracing::field::Empty,
    )
}
