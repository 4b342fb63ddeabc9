//! [`WebhooksBuilder`]: how a [`Webhooks`] is configured and started.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use futures_util::FutureExt;

use super::callbacks::{Callbacks, EventCallback, typed};
use super::context::Tenants;
use super::hooks::{DeadLetter, Hook, InvalidPayload};
use super::lanes::Lanes;
use super::processor::Processor;
use super::queue::EventQueue;
use super::recorder::{DEFAULT_RETENTION, RecordPolicy, Recorder};
use super::webhooks::{AckMode, DEFAULT_BODY_LIMIT, DEFAULT_BODY_TIMEOUT, Inner, Webhooks};
use super::{RetryPolicy, stats::Counters};
use crate::auth::Authenticator;
use crate::dedup::{DedupStore, MemoryDedupStore};
use crate::event::{
    CallerLocation, IncidentMetadata, LocationUpdated, Media, NoteCreated, UnknownEvent,
};
use crate::record::{DeliveryLog, MemoryDeliveryLog, RecordKeys};
use crate::{Event, EventKind};

/// Builds a [`Webhooks`]. Only the authenticator is required.
#[must_use]
pub struct WebhooksBuilder {
    authenticator: Option<Box<dyn Authenticator>>,
    replay_authenticator: Option<Box<dyn Authenticator>>,
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
    tenants: Tenants,
    #[cfg(feature = "redis")]
    durable_queue: Option<super::RedisStreamQueue>,
    /// `None` until `delivery_log` or `without_delivery_log` is called: the memory log.
    delivery_log: Option<Option<Arc<dyn DeliveryLog>>>,
    record_keys: Option<RecordKeys>,
    record_policy: RecordPolicy,
    record_retention: Duration,
}

impl Default for WebhooksBuilder {
    fn default() -> Self {
        Self {
            authenticator: None,
            replay_authenticator: None,
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
            tenants: Tenants::default(),
            #[cfg(feature = "redis")]
            durable_queue: None,
            delivery_log: None,
            record_keys: None,
            record_policy: RecordPolicy::default(),
            record_retention: DEFAULT_RETENTION,
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
    /// Both a dedup store and a durable queue were given: the durable queue claims events
    /// in its own store (the one it was connected with), so drop `dedup_store(...)`.
    #[cfg(feature = "redis")]
    #[error(
        "a dedup store and a durable queue: the durable queue claims events in its own store, drop `dedup_store(...)`"
    )]
    DedupStoreBesideDurableQueue,
    /// The durable queue's prefix or its store's holds `{` or `}`: the queue tags its keys
    /// with their lane (`{n}`) so that a lane's stream and its claims share a Redis Cluster
    /// slot, and a brace in a prefix would take the tag's place.
    #[cfg(feature = "redis")]
    #[error("the durable queue's and its dedup store's prefixes must not hold `{{` or `}}`")]
    BraceInDurableQueuePrefix,
}

macro_rules! typed_callback {
    ($(#[$doc:meta])* $method:ident, $ty:ty, $variant:ident) => {
        $(#[$doc])*
        ///
        /// The callback takes the event, or the event and its
        /// [`Delivery`](crate::delivery::Delivery) (see [`EventCallback`]); its future returns
        /// `()` or a `Result` (see [`CallbackOutput`](crate::delivery::CallbackOutput)).
        pub fn $method<Args>(mut self, callback: impl EventCallback<$ty, Args>) -> Self {
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
    /// [`RedisStreamQueue`](super::RedisStreamQueue)). The queue's Redis dedup store becomes
    /// the receiver's: the queue claims and queues each event in one round trip, so do not
    /// also give [`dedup_store`](Self::dedup_store) (`build` refuses it).
    #[cfg(feature = "redis")]
    pub fn durable_queue(mut self, queue: super::RedisStreamQueue) -> Self {
        self.durable_queue = Some(queue);
        self
    }

    /// Names the tenant (e.g. the dispatch center) whose deliveries come with OAuth tokens
    /// issued to `client_id`: [`Delivery::tenant`](crate::delivery::Delivery::tenant) answers `tenant` for them. Without an
    /// entry, a client id is its own tenant; a static token's tenant is its
    /// [label](crate::auth::BearerToken::label).
    ///
    /// ```
    /// # use prepared_core::{Webhooks, auth::{JwtSecret, JwtValidator}};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let webhooks = Webhooks::builder()
    ///     .authenticator(JwtValidator::hs256(JwtSecret::new("a-signing-secret-of-32-bytes-or-more")).any_audience().build()?)
    ///     .tenant_for_client_id("prepared-ecc-0042", "ecc-king-county")
    ///     .tenant_for_client_id("prepared-ecc-0043", "ecc-pierce-county")
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn tenant_for_client_id(
        mut self,
        client_id: impl Into<String>,
        tenant: impl Into<Arc<str>>,
    ) -> Self {
        self.tenants.insert(client_id.into(), tenant.into());
        self
    }

    /// Who may ask for a replay over HTTP ([`Webhooks::handle_replay`]): an operator's
    /// credential, e.g. `StaticBearer::new([BearerToken::new(admin_token)])`, never
    /// Prepared's. Without one, replay requests are answered `404`.
    pub fn replay_authenticator(mut self, authenticator: impl Authenticator) -> Self {
        self.replay_authenticator = Some(Box::new(authenticator));
        self
    }

    /// Where every delivery is recorded (see [`crate::record`]): e.g. a
    /// `PostgresDeliveryLog` (feature `postgres`). The default is a [`MemoryDeliveryLog`] of
    /// the newest 10 000 records. Without [`record_keys`](Self::record_keys) the payloads
    /// are stored in clear, and the receiver warns at start-up.
    pub fn delivery_log(mut self, log: impl DeliveryLog) -> Self {
        self.delivery_log = Some(Some(Arc::new(log)));
        self
    }

    /// No delivery log: nothing is recorded, and [`Webhooks::replay`] has nothing to replay.
    pub fn without_delivery_log(mut self) -> Self {
        self.delivery_log = Some(None);
        self
    }

    /// Encrypts recorded payloads with AES-256-GCM: the first key seals, every key opens
    /// (see [`RecordKeys`]).
    pub fn record_keys(mut self, keys: RecordKeys) -> Self {
        self.record_keys = Some(keys);
        self
    }

    /// When a delivery's record is written: before the answer (the default) or beside it.
    pub fn record_policy(mut self, policy: RecordPolicy) -> Self {
        self.record_policy = policy;
        self
    }

    /// How long records are kept after their last delivery: 30 days by default. Older ones
    /// are purged in the background, a batch of 1 000 at a time, every minute.
    pub fn record_retention(mut self, retention: Duration) -> Self {
        self.record_retention = retention;
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

    /// The catch-all: runs for every event whose kind has no callback of its own. Takes the
    /// [`Event`], or the event and its [`Delivery`](crate::delivery::Delivery).
    pub fn on_event<Args>(mut self, callback: impl EventCallback<Event, Args>) -> Self {
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
        #[cfg(feature = "redis")]
        let dedup = match (&self.durable_queue, self.dedup) {
            (Some(_), Some(_)) => return Err(BuildError::DedupStoreBesideDurableQueue),
            (Some(queue), None) if queue.prefix_holds_a_brace() => {
                return Err(BuildError::BraceInDurableQueuePrefix);
            }
            (Some(queue), None) => Some(Arc::new(queue.store().clone()) as Arc<dyn DedupStore>),
            (None, dedup) => dedup,
        };
        #[cfg(not(feature = "redis"))]
        let dedup = self.dedup;
        let dedup = dedup.unwrap_or_else(|| Arc::new(MemoryDedupStore::default()));
        let counters = Arc::new(Counters::default());
        // The memory log unless the application gave one or asked for none.
        let log = match self.delivery_log {
            None => Some(Arc::new(MemoryDeliveryLog::default()) as Arc<dyn DeliveryLog>),
            Some(given) => {
                if given.is_some() && self.record_keys.is_none() {
                    tracing::warn!(
                        "the delivery log has no record key: payloads (caller phone numbers, locations) are stored in clear"
                    );
                }
                given
            }
        };
        let recorder = log.map(|log| {
            let counters = Arc::clone(&counters);
            let (keys, policy, retention) =
                (self.record_keys, self.record_policy, self.record_retention);
            Recorder::start(log, keys, policy, retention, counters, &runtime)
        });
        let processor = Arc::new(Processor {
            dedup,
            callbacks: self.callbacks,
            retry: self.retry,
            dead_letter: self.dead_letter,
            counters,
            recorder,
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
        Ok(Webhooks::from_inner(Inner {
            authenticator,
            replay_authenticator: self.replay_authenticator,
            processor,
            invalid_payload: self.invalid_payload,
            queue,
            ack_mode: self.ack_mode,
            body_limit: self.body_limit,
            body_timeout: self.body_timeout,
            retry_after: self.retry_after,
            tenants: self.tenants,
            accepting: AtomicBool::new(true),
            probes: Default::default(),
        }))
    }
}
