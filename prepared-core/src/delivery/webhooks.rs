//! [`Webhooks`]: the receiver, built once, shared by every request.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::FutureExt;
use http::request::Parts;
use http::{Method, Request, Response, header};
use tracing::Instrument;

use super::accepted::{Accepted, ShutdownReport};
use super::body::{is_json, read_limited};
use super::callbacks::{BoxError, Callbacks, typed};
use super::claimed::{ClaimGuard, ClaimedEvent, NotClaimed};
use super::hooks::{DeadLetter, Hook, InvalidPayload};
use super::lanes::Lanes;
use super::processor::{Job, Processor};
use super::queue::{Enqueued, EventQueue};
use super::settle::{Settle, settle};
use super::{Rejection, RetryPolicy, Stats, Unavailable};
use crate::auth::{Authenticator, Principal};
use crate::dedup::{Claim, DedupStore, MemoryDedupStore};
use crate::event::{
    CallerLocation, IncidentMetadata, LocationUpdated, Media, NoteCreated, UnknownEvent,
};
use crate::{Event, EventKind};

/// When Prepared gets its `200`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AckMode {
    /// After authentication, decoding and the dedup claim, the event is queued and the
    /// request answered `200` at once, as Prepared asks; callbacks run on workers, with
    /// retries and a dead-letter hook. A full queue answers `503` with `Retry-After`.
    ///
    /// When nothing of the event's incident is queued or running, the delivery polls the
    /// callback once before answering, and a callback that finishes in that poll is done (and
    /// its claim completed) before the `200`, without a hand-off to a worker. Keep long
    /// synchronous work out of callbacks: it delays that delivery's answer.
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
/// The adapters (`prepared-tower`, `prepared-actix`) call [`handle`](Self::handle), or the
/// finer steps [`check_head`](Self::check_head), [`read_body`](Self::read_body) and
/// [`receive`](Self::receive). Per delivery, in order: the method (`405`), authentication
/// on the head before any body byte is read (`401`/`403`/`503`), the content type and
/// encoding (`415`), the body under a size limit and a timeout (`413`, `408`), decoding
/// (`400`), then the dedup claim and the
/// [`AckMode`] (`200`, or `503` with `Retry-After`, or `500`).
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
///         Ok::<_, std::convert::Infallible>(())
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
    inner: Arc<Inner>,
}

struct Inner {
    authenticator: Box<dyn Authenticator>,
    processor: Arc<Processor>,
    invalid_payload: Option<Hook<InvalidPayload>>,
    queue: Option<Box<dyn EventQueue>>,
    ack_mode: AckMode,
    body_limit: usize,
    body_timeout: Duration,
    retry_after: Duration,
    accepting: AtomicBool,
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

    /// Handles one delivery from start to end and returns the response to send.
    ///
    /// Runs in a `prepared_webhook` tracing span with the event's kind, dedup key and
    /// incident id, the outcome, the status and the latency; never the payload.
    ///
    /// The future owns what it needs (a clone of the receiver, the request's head and body),
    /// so it can be boxed or spawned as it is. It is kept small, about 1 KB (the adapters box
    /// it, and a small box comes from the allocator's per-thread cache): it holds the
    /// request's head and body but not the request they came from, and the rare steps' own
    /// futures are boxed.
    pub fn handle<B>(&self, request: Request<B>) -> impl Future<Output = Response<Bytes>> + use<B>
    where
        B: http_body::Body,
        B::Error: Into<BoxError>,
    {
        let this = self.clone();
        let started = Instant::now();
        let span = tracing::info_span!(
            "prepared_webhook",
            kind = tracing::field::Empty,
            event = tracing::field::Empty,
            incident = tracing::field::Empty,
            outcome = tracing::field::Empty,
            status = tracing::field::Empty,
            latency_us = tracing::field::Empty,
        );
        let (head, body) = request.into_parts();
        async move {
            let result = async {
                this.check_head(&head).await?;
                let body = this.read_body(body).await?;
                this.receive(body).await
            }
            .await;
            let response = this.respond(&result);
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

    /// Turns a step's result into the response to send, recording the outcome in the current
    /// span and the counters.
    pub fn respond(&self, result: &Result<Accepted, Rejection>) -> Response<Bytes> {
        match result {
            Ok(accepted) => {
                self.record_accepted(*accepted);
                accepted.to_response()
            }
            Err(rejection) => {
                self.record_rejection(rejection);
                rejection.to_response()
            }
        }
    }

    /// Records an acknowledged delivery in the current span. For adapters that build their
    /// own responses; [`respond`](Self::respond) does it.
    pub fn record_accepted(&self, accepted: Accepted) {
        tracing::Span::current().record("outcome", accepted.as_str());
    }

    /// Records a refused delivery in the current span and the counters. For adapters that
    /// build their own responses; [`respond`](Self::respond) does it.
    pub fn record_rejection(&self, rejection: &Rejection) {
        let reason = rejection.reason();
        tracing::Span::current().record("outcome", reason.as_str());
        self.inner.processor.counters.rejected(&reason);
    }

    /// The checks on the request head, before any body byte is read: the method, the
    /// credentials, the content type, and a declared `Content-Length` over the limit.
    pub async fn check_head(&self, head: &Parts) -> Result<Principal, Rejection> {
        if head.method != Method::POST {
            return Err(Rejection::MethodNotAllowed);
        }
        let principal = self.inner.authenticator.authenticate(head).await?;
        let content_type = head
            .headers
            .get(header::CONTENT_TYPE)
            .map(|value| value.as_bytes());
        if !content_type.is_some_and(is_json) {
            return Err(Rejection::UnsupportedMediaType);
        }
        // Prepared sends plain JSON; an encoded body (gzip, ...) is not read as JSON.
        let encoded = head
            .headers
            .get_all(header::CONTENT_ENCODING)
            .iter()
            .any(|value| {
                !value
                    .as_bytes()
                    .trim_ascii()
                    .eq_ignore_ascii_case(b"identity")
            });
        if encoded {
            return Err(Rejection::UnsupportedMediaType);
        }
        let declared = head
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        if declared.is_some_and(|length| length > self.inner.body_limit as u64) {
            return Err(Rejection::PayloadTooLarge {
                limit: self.inner.body_limit,
            });
        }
        Ok(principal)
    }

    /// Reads the body, stopping as soon as it exceeds the limit (`413`) without buffering the
    /// rest, or when it does not arrive within the body timeout (`408`).
    pub async fn read_body<B>(&self, body: B) -> Result<Bytes, Rejection>
    where
        B: http_body::Body,
        B::Error: Into<BoxError>,
    {
        let mut read = std::pin::pin!(read_limited(body, self.inner.body_limit));
        // A body of a few hundred bytes has usually arrived with the head: read at once, it
        // needs no timer (setting one up reads the clock and the runtime's handle, and
        // registers and removes a timer entry under the driver's lock: ~850 instructions).
        if let Poll::Ready(read) = futures_util::poll!(read.as_mut()) {
            return read;
        }
        // actix-web polls the handler once before it hands over the body it already read,
        // then at once again: one yield (cheaper than a timer) finds it there.
        tokio::task::yield_now().await;
        if let Poll::Ready(read) = futures_util::poll!(read.as_mut()) {
            return read;
        }
        let timeout = self.inner.body_timeout;
        match tokio::time::timeout(timeout, read).await {
            Ok(read) => read,
            Err(_) => Err(Rejection::BodyTimeout { timeout }),
        }
    }

    /// The body size limit in bytes.
    pub fn body_limit(&self) -> usize {
        self.inner.body_limit
    }

    /// Decodes an authenticated body, claims the event in the dedup store and hands it to the
    /// pipeline according to the [`AckMode`].
    pub async fn receive(&self, body: Bytes) -> Result<Accepted, Rejection> {
        let (event, guard) = match self.claim(body.clone()).await? {
            Some(claimed) => claimed.into_parts(),
            None => return Ok(Accepted::Duplicate),
        };
        let (key, token) = guard.disarm();
        let job = Job {
            event,
            raw: body,
            key,
            token,
        };
        match self.inner.ack_mode {
            // `run_once` holds the callback's future: boxed, as the other rare paths, so that
            // the future of every delivery (which the adapters box) stays small.
            AckMode::AfterProcessing => Box::pin(self.inner.processor.run_once(job))
                .await
                .map(|()| Accepted::Processed)
                .map_err(|_| Rejection::ProcessingFailed),
            AckMode::Immediate => self.enqueue(job).await,
        }
    }

    async fn enqueue(&self, job: Job) -> Result<Accepted, Rejection> {
        let processor = &self.inner.processor;
        if processor.callbacks.for_kind(job.event.kind()).is_none() {
            // Nothing to run later: acknowledge and count it now.
            return Box::pin(processor.run_once(job))
                .await
                .map(|()| Accepted::Unhandled)
                .map_err(|_| Rejection::ProcessingFailed);
        }
        let queued = match &self.inner.queue {
            Some(queue) => match queue.enqueue(job) {
                Enqueued::Now(answer) => answer,
                Enqueued::Later(answer) => answer.await,
            },
            None => Err((Box::new(job), Unavailable::ShuttingDown)),
        };
        match queued {
            Ok(accepted) => Ok(accepted),
            Err((job, reason)) => {
                Box::pin(settle(
                    &processor.dedup,
                    Settle::Release,
                    &job.key,
                    job.token,
                ))
                .await;
                Err(self.unavailable(reason))
            }
        }
    }

    /// Decodes an authenticated body and claims its event: `Ok(None)` for a duplicate, or the
    /// event with a guard that completes or releases the claim. For adapters that hand the
    /// event to the application's own handler (the extractors) instead of the callbacks.
    pub async fn claim(&self, body: Bytes) -> Result<Option<ClaimedEvent>, Rejection> {
        if !self.inner.accepting.load(Ordering::Acquire) {
            return Err(self.unavailable(Unavailable::ShuttingDown));
        }
        let event = match Event::decode(&body) {
            Ok(event) => event,
            Err(error) => {
                self.invalid_payload(body, &error);
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
        let counters = &self.inner.processor.counters;
        counters.received(event.kind());
        match self.inner.processor.dedup.claim(&key).await? {
            Claim::Claimed(token) => Ok(Some(ClaimedEvent::new(
                event,
                body,
                ClaimGuard::new(Arc::clone(&self.inner.processor.dedup), key, token),
            ))),
            Claim::Done => {
                counters.duplicates();
                Ok(None)
            }
            _ => Err(self.unavailable(Unavailable::InFlight)),
        }
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
        let result = async {
            self.check_head(head).await?;
            let body = self.read_body(body).await?;
            self.claim(body).await
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

    fn invalid_payload(&self, raw: Bytes, error: &crate::DecodeError) {
        tracing::warn!(%error, "invalid payload");
        if let Some(hook) = &self.inner.invalid_payload {
            // The hook runs beside the answer, never delaying the 400.
            let future = hook(InvalidPayload {
                raw,
                error: error.clone(),
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

    /// The counters since the receiver was built.
    pub fn stats(&self) -> Stats {
        self.inner.processor.counters.snapshot()
    }

    /// Stops taking deliveries (they are answered `503`, so Prepared retries them elsewhere
    /// or later), processes what is queued within `deadline`, then dead-letters what is left
    /// and releases its claims. Returns what happened.
    pub async fn shutdown(&self, deadline: Duration) -> ShutdownReport {
        self.inner.accepting.store(false, Ordering::Release);
        match &self.inner.queue {
            Some(queue) => queue.shutdown(deadline).await,
            None => ShutdownReport {
                drained_in_time: true,
                ..ShutdownReport::default()
            },
        }
    }
}

/// Builds a [`Webhooks`]. Only the authenticator is required.
#[must_use]
pub struct WebhooksBuilder {
    authenticator: Option<Box<dyn Authenticator>>,
    dedup: Option<Arc<dyn DedupStore>>,
    callbacks: Callbacks,
    dead_letter: Option<Hook<DeadLetter>>,
    invalid_payload: Option<Hook<InvalidPayload>>,
    ack_mode: AckMode,
    body_limit: usize,
    body_timeout: Duration,
    workers: usize,
    queue_capacity: usize,
    retry: RetryPolicy,
    retry_after: Duration,
    #[cfg(feature = "redis")]
    durable_queue: Option<super::RedisStreamQueue>,
}

impl Default for WebhooksBuilder {
    fn default() -> Self {
        Self {
            authenticator: None,
            dedup: None,
            callbacks: Callbacks::default(),
            dead_letter: None,
            invalid_payload: None,
            ack_mode: AckMode::default(),
            body_limit: DEFAULT_BODY_LIMIT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            workers: 16,
            queue_capacity: 4096,
            retry: RetryPolicy::default(),
            retry_after: Duration::from_secs(5),
            #[cfg(feature = "redis")]
            durable_queue: None,
        }
    }
}

/// Why a [`Webhooks`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// No authenticator was given: a receiver never accepts unauthenticated deliveries.
    #[error("no authenticator: call `authenticator(...)`")]
    MissingAuthenticator,
    /// `build` was called outside a Tokio runtime, which the workers need.
    #[error("no Tokio runtime: build the receiver inside one")]
    NoRuntime,
}

macro_rules! typed_callback {
    ($(#[$doc:meta])* $method:ident, $ty:ty, $variant:ident) => {
        $(#[$doc])*
        pub fn $method<F, Fut, E>(mut self, callback: F) -> Self
        where
            F: Fn($ty) -> Fut + Send + Sync + 'static,
            Fut: Future<Output = Result<(), E>> + Send + 'static,
            E: Into<BoxError> + 'static,
        {
            let project: fn(Event) -> Option<$ty> = |event| match event {
                Event::$variant(inner) => Some(inner),
                _ => None,
            };
            self.callbacks.set(EventKind::$variant, typed(project, callback));
            self
        }
    };
}

impl WebhooksBuilder {
    /// How deliveries are authenticated (required).
    pub fn authenticator(mut self, authenticator: impl Authenticator) -> Self {
        self.authenticator = Some(Box::new(authenticator));
        self
    }

    /// Where claims are kept. Default: a [`MemoryDedupStore`] with its default settings,
    /// right for one replica; use a Redis store for several.
    pub fn dedup_store(mut self, store: impl DedupStore) -> Self {
        self.dedup = Some(Arc::new(store));
        self
    }

    /// When Prepared gets its `200` (default [`AckMode::Immediate`]).
    pub fn ack_mode(mut self, mode: AckMode) -> Self {
        self.ack_mode = mode;
        self
    }

    /// The body size limit in bytes (default [`DEFAULT_BODY_LIMIT`], 1 MiB).
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// How long the body may take to arrive, from the end of the head (default
    /// [`DEFAULT_BODY_TIMEOUT`], 10 s); past it, `408`. Prepared's events are a few hundred
    /// bytes, so only a stalled or hostile sender takes that long.
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// How many events are processed at once, one per lane (default 16).
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers.max(1);
        self
    }

    /// How many events may wait for a worker, over all lanes (default 4096).
    pub fn queue_capacity(mut self, events: usize) -> Self {
        self.queue_capacity = events.max(1);
        self
    }

    /// How failed callbacks are retried in [`AckMode::Immediate`].
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Keeps immediate-mode events in Redis Streams instead of memory, so that an event
    /// acknowledged by a replica that then crashes is processed by another (see
    /// [`RedisStreamQueue`](super::RedisStreamQueue)). Pair it with a Redis dedup store.
    #[cfg(feature = "redis")]
    pub fn durable_queue(mut self, queue: super::RedisStreamQueue) -> Self {
        self.durable_queue = Some(queue);
        self
    }

    /// The `Retry-After` of `503` answers (default 5 s).
    pub fn retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = retry_after;
        self
    }

    typed_callback!(
        /// Runs for every `note_created` event.
        on_note_created, NoteCreated, NoteCreated
    );
    typed_callback!(
        /// Runs for every `location_updated` event.
        on_location_updated, LocationUpdated, LocationUpdated
    );
    typed_callback!(
        /// Runs for every `incident_metadata` event.
        on_incident_metadata, IncidentMetadata, IncidentMetadata
    );
    typed_callback!(
        /// Runs for every `caller_location` event.
        on_caller_location, CallerLocation, CallerLocation
    );
    typed_callback!(
        /// Runs for every `media` event.
        on_media, Media, Media
    );
    typed_callback!(
        /// Runs for every event this version does not know.
        on_unknown, UnknownEvent, Unknown
    );

    /// The catch-all: runs for every event whose kind has no callback of its own.
    pub fn on_event<F, Fut, E>(mut self, callback: F) -> Self
    where
        F: Fn(Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<BoxError> + 'static,
    {
        self.callbacks.set_fallback(typed(Some, callback));
        self
    }

    /// Runs for every acknowledged event whose callback never succeeded (see [`DeadLetter`]).
    pub fn on_dead_letter<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(DeadLetter) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.dead_letter = Some(Arc::new(move |letter| hook(letter).boxed()));
        self
    }

    /// Runs for every authenticated body that is not a valid event (see [`InvalidPayload`]).
    pub fn on_invalid_payload<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(InvalidPayload) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.invalid_payload = Some(Arc::new(move |payload| hook(payload).boxed()));
        self
    }

    /// Builds the receiver and, in [`AckMode::Immediate`], starts its workers on the current
    /// Tokio runtime.
    pub fn build(self) -> Result<Webhooks, BuildError> {
        let authenticator = self.authenticator.ok_or(BuildError::MissingAuthenticator)?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| BuildError::NoRuntime)?;
        let dedup = self
            .dedup
            .unwrap_or_else(|| Arc::new(MemoryDedupStore::default()));
        let processor = Arc::new(Processor {
            dedup,
            callbacks: self.callbacks,
            retry: self.retry,
            dead_letter: self.dead_letter,
            counters: super::stats::Counters::default(),
        });
        let queue: Option<Box<dyn EventQueue>> = match self.ack_mode {
            AckMode::AfterProcessing => None,
            #[cfg(feature = "redis")]
            AckMode::Immediate if self.durable_queue.is_some() => {
                self.durable_queue.map(|streams| {
                    let queue = super::redis_queue::RedisLanes::start(
                        streams,
                        Arc::clone(&processor),
                        &runtime,
                    );
                    Box::new(queue) as Box<dyn EventQueue>
                })
            }
            AckMode::Immediate => Some(Box::new(Lanes::start(
                Arc::clone(&processor),
                self.workers,
                self.queue_capacity,
                &runtime,
            ))),
        };
        Ok(Webhooks {
            inner: Arc::new(Inner {
                authenticator,
                processor,
                invalid_payload: self.invalid_payload,
                queue,
                ack_mode: self.ack_mode,
                body_limit: self.body_limit,
                body_timeout: self.body_timeout,
                retry_after: self.retry_after,
                accepting: AtomicBool::new(true),
            }),
        })
    }
}
