//! [`RedisStreamQueue`]: the durable queue on Redis Streams.

use std::sync::Arc;
use std::time::Duration;

use redis::streams::StreamId;
use tokio::sync::{Mutex, mpsc, watch};
use tokio::task::JoinHandle;

use futures_util::future::BoxFuture;

mod entry;
mod ping;
mod read;
mod scripts;
mod settle;

use entry::{SenderRecord, job_of};
use scripts::QueueScripts;
use settle::EntrySettler;

use super::processor::{Finished, Processor};
use super::queue::{EventQueue, Job, QueueState, Refused};
use super::{Accepted, Delivery, ShutdownReport, Unavailable};
use crate::dedup::redis::Connection;
use crate::dedup::redis::scripts as store_scripts;
use crate::dedup::{Claim, ClaimToken, DedupError, RedisDedupStore};
use crate::{DedupKey, Event};

/// The durable queue of [`AckMode::Immediate`](super::AckMode::Immediate),
/// on Redis Streams, for deployments that must not lose an acknowledged event when a replica
/// crashes. It lives in the Redis of a [`RedisDedupStore`], whose claims it takes itself.
///
/// ```no_run
/// use prepared_core::dedup::RedisDedupStore;
/// use prepared_core::delivery::RedisStreamQueue;
/// use prepared_core::Webhooks;
/// # use prepared_core::auth::{BearerToken, StaticBearer};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisDedupStore::connect("redis://127.0.0.1:6379/").await?;
/// let queue = RedisStreamQueue::connect(&store).await?.lanes(16);
/// let webhooks = Webhooks::builder()
///     .authenticator(StaticBearer::new([BearerToken::new("s3cret-token")]))
///     .durable_queue(queue) // claims in `store`, so no `dedup_store(..)`
///     .on_event(|event: prepared_core::Event| async move { let _ = event; })
///     .build()?;
/// # Ok(()) }
/// ```
///
/// - **One round trip before the `200`.** A new event is claimed and appended (`XADD`) to
///   its lane's stream by one Lua script; a duplicate or an event in flight appends nothing.
///   If Redis cannot take it, the delivery is answered `503` and nothing is left behind. A
///   crash between a claim and its entry cannot happen: both are written by one script.
/// - Lanes are streams chosen by the incident id, so one incident's events stay in one stream
///   in arrival order. Every replica reads every lane through one consumer group
///   (`XREADGROUP`, batched, on a connection of its own because it blocks), and runs each
///   lane's entries one after the other.
/// - **One round trip after the callback.** Its success completes the claim and acknowledges
///   the entry (`XACK`) in one script (retried in the background for up to 5 minutes when
///   Redis fails). A dead-lettered event's claim is released, the dead-letter hook runs, then
///   the entry is acknowledged. An entry left pending by a replica that died is taken over
///   (`XAUTOCLAIM`) once it has been idle for `reclaim_idle`, and processed, unless its claim
///   says it is already done.
///
/// # Layout and hash tags
/// With the store's prefix `prepared:dedup:` and the queue's prefix `prepared:queue:`, lane 3
/// is the stream `prepared:queue:{3}`, and the claim of an event in that lane is
/// `prepared:dedup:{3}:caller_location:550e8400-…` (the values are the store's: see
/// [`RedisDedupStore`]). The braces are a Redis Cluster hash tag: a lane's stream and its
/// events' claims hash to one slot, so that the scripts touching both also run on a cluster.
/// So neither prefix may hold braces itself ([`Webhooks`](super::Webhooks)' `build` refuses
/// them). An event's claim lives under its lane's tag, not where [`RedisDedupStore`]'s own
/// operations put it, so the same events must not also be received without the queue (by
/// [`Webhooks::extract`](super::Webhooks::extract) or another receiver on the plain store).
///
/// # Redis Cluster
/// On a store from [`connect_cluster`](crate::dedup::RedisDedupStoreBuilder::connect_cluster)
/// the queue runs on the cluster: each script touches one slot (its lane's), and the lanes
/// spread over the nodes. One command cannot read streams of several slots, so there each
/// lane is read with its own `XREADGROUP`, sent together and without blocking (a blocking
/// read would hold up the node's shared connection), with a 50 ms pause when all lanes are
/// empty: up to 50 ms more before a callback runs, never before the `200`.
///
/// # Limits
/// Two replicas may read entries of one lane at the same time, so the events of one incident
/// keep their order within a replica, not across replicas. A replica that stalls longer than
/// `reclaim_idle` (default: the dedup claim TTL, 5 minutes) in one callback may see its entry
/// taken over and run a second time; keep callbacks well under it.
#[derive(Clone)]
pub struct RedisStreamQueue {
    store: RedisDedupStore,
    reader: Connection,
    scripts: Arc<QueueScripts>,
    prefix: String,
    group: String,
    consumer: String,
    lanes: usize,
    reclaim_idle: Duration,
}

impl std::fmt::Debug for RedisStreamQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStreamQueue")
            .field("store", &self.store)
            .field("prefix", &self.prefix)
            .field("group", &self.group)
            .field("consumer", &self.consumer)
            .field("lanes", &self.lanes)
            .field("reclaim_idle", &self.reclaim_idle)
            .finish_non_exhaustive()
    }
}

/// The durable queue could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueueConnectError {
    /// Redis could not be reached for the queue's reading connection.
    #[error("the Redis stream queue could not connect")]
    Redis(#[source] redis::RedisError),
    /// The store runs on a connection manager of the caller's own
    /// ([`RedisDedupStoreBuilder::with_connection_manager`](crate::dedup::RedisDedupStoreBuilder::with_connection_manager)),
    /// from which the queue cannot open its reading connection: build the store with
    /// `connect` or `connect_lazy`.
    #[error(
        "the Redis stream queue needs a store built with `connect` or `connect_lazy`, not on a connection manager"
    )]
    NoClient,
}

impl RedisStreamQueue {
    /// The durable queue in the Redis of `store`, with the defaults: prefix
    /// `prepared:queue:`, group `prepared-webhooks`, 16 lanes, a random consumer name,
    /// `reclaim_idle` 5 minutes. Opens the connection for the blocking reads (the store's
    /// own carries the rest), and fails if Redis cannot be reached.
    pub async fn connect(store: &RedisDedupStore) -> Result<Self, QueueConnectError> {
        let reader = store
            .reader()
            .await
            .ok_or(QueueConnectError::NoClient)?
            .map_err(QueueConnectError::Redis)?;
        Ok(Self {
            store: store.clone(),
            reader,
            scripts: Arc::new(QueueScripts::new()),
            prefix: "prepared:queue:".to_owned(),
            group: "prepared-webhooks".to_owned(),
            consumer: format!("consumer-{}", uuid::Uuid::new_v4().simple()),
            lanes: 16,
            reclaim_idle: Duration::from_secs(300),
        })
    }

    /// The stream key prefix (default `prepared:queue:`), without braces; every replica
    /// must use the same.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The consumer group (default `prepared-webhooks`); every replica must use the same.
    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.group = group.into();
        self
    }

    /// This replica's consumer name (default: random); unique per replica.
    pub fn consumer(mut self, consumer: impl Into<String>) -> Self {
        self.consumer = consumer.into();
        self
    }

    /// The number of lanes (default 16); every replica must use the same.
    pub fn lanes(mut self, lanes: usize) -> Self {
        self.lanes = lanes.max(1);
        self
    }

    /// How long an entry stays pending with a consumer before another takes it over
    /// (default 5 minutes). Keep it at or above the dedup store's claim TTL.
    pub fn reclaim_idle(mut self, idle: Duration) -> Self {
        self.reclaim_idle = idle;
        self
    }

    /// The dedup store the queue claims its events in.
    pub fn store(&self) -> &RedisDedupStore {
        &self.store
    }

    /// Whether the store's or the queue's prefix holds a brace, which would take the place
    /// of the lane's hash tag (see "Layout and hash tags").
    pub(crate) fn prefix_holds_a_brace(&self) -> bool {
        [self.store.prefix(), self.prefix.as_str()]
            .iter()
            .any(|prefix| prefix.contains(['{', '}']))
    }

    /// Lane `lane`'s stream: `<prefix>{<lane>}`.
    fn stream(&self, lane: usize) -> String {
        format!("{}{{{lane}}}", self.prefix)
    }

    /// The claim of `key` in lane `lane`, in the slot of the lane's stream.
    fn claim_key(&self, lane: usize, key: &DedupKey) -> String {
        self.store.tagged_key(&lane.to_string(), key)
    }

    /// A lane every replica computes alike, from the incident id (or the dedup key).
    fn lane_of(&self, event: &Event, key: &DedupKey) -> usize {
        let hash = match event.incident_id() {
            Some(incident) => incident.as_u128(),
            None => key
                .as_str()
                .bytes()
                .fold(0u128, |h, b| h.wrapping_mul(31).wrapping_add(u128::from(b))),
        };
        usize::try_from(hash % self.lanes as u128).unwrap_or(0)
    }

    /// Claims `key` again in lane `lane` under a new token (an entry taken over from a
    /// consumer that died), with the store's claim script.
    async fn claim_again(&self, lane: usize, key: &DedupKey) -> Result<Claim, DedupError> {
        let token = ClaimToken::new(uuid::Uuid::new_v4().as_u128());
        let mut invocation = self.store.scripts().claim.prepare_invoke();
        invocation
            .key(self.claim_key(lane, key))
            .arg(token.to_string())
            .arg(self.store.claim_ttl_ms());
        claim_of(self.store.invoke("claim", &invocation).await?, token)
    }
}

/// A claim script's answer as a [`Claim`].
fn claim_of(answer: i64, token: ClaimToken) -> Result<Claim, DedupError> {
    match answer {
        store_scripts::CLAIMED => Ok(Claim::Claimed(token)),
        store_scripts::DONE => Ok(Claim::Done),
        store_scripts::IN_FLIGHT => Ok(Claim::InFlight),
        _ => Err(DedupError::unavailable(
            "redis claim gave an unexpected answer",
            None,
        )),
    }
}

/// The running queue: the reader task, one worker per lane.
pub(crate) struct RedisLanes {
    queue: RedisStreamQueue,
    state: watch::Sender<QueueState>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// An entry read from a stream, with whether it was taken over from another consumer.
struct Entry {
    lane: usize,
    stream: String,
    entry: StreamId,
    reclaimed: bool,
}

impl RedisLanes {
    pub(crate) fn start(
        queue: RedisStreamQueue,
        processor: Arc<Processor>,
        runtime: &tokio::runtime::Handle,
    ) -> Self {
        let (state, _) = watch::channel(QueueState::Running);
        let mut tasks = Vec::new();
        let mut senders = Vec::new();
        for _ in 0..queue.lanes {
            let (sender, receiver) = mpsc::channel::<Entry>(16);
            senders.push(sender);
            tasks.push(runtime.spawn(run_lane(
                receiver,
                queue.clone(),
                Arc::clone(&processor),
                state.subscribe(),
            )));
        }
        tasks.push(runtime.spawn(read::read(queue.clone(), senders, state.subscribe())));
        Self {
            queue,
            state,
            tasks: Mutex::new(tasks),
        }
    }

    /// Claims the event and appends it to its lane's stream in one script (one round trip),
    /// or marks it done at once when no callback runs for it (`handled` false). `Err` when
    /// Redis cannot take it: nothing was written, or, when the answer was lost, the event
    /// was claimed and appended and will be processed (its redeliveries find the claim in
    /// flight, then done), so the claim is never released here.
    async fn claim_and_append(
        &self,
        event: &Event,
        delivery: &Delivery,
        handled: bool,
    ) -> Result<Claim, Unavailable> {
        if *self.state.borrow() != QueueState::Running {
            return Err(Unavailable::ShuttingDown);
        }
        let queue = &self.queue;
        let key = delivery.dedup_key();
        let lane = queue.lane_of(event, key);
        let Ok(sender) = serde_json::to_string(&SenderRecord::of(delivery)) else {
            return Err(Unavailable::Queue);
        };
        let token = ClaimToken::new(uuid::Uuid::new_v4().as_u128());
        let store = &queue.store;
        let mut invocation = queue.scripts.claim_and_append.prepare_invoke();
        invocation
            .key(queue.claim_key(lane, key))
            .key(queue.stream(lane))
            .arg(token.to_string())
            .arg(store.claim_ttl_ms())
            .arg(store.retention_ms())
            .arg(if handled { "queue" } else { "done" })
            .arg(delivery.raw().as_ref())
            .arg(key.as_str())
            .arg(sender);
        let answer = store.invoke("claim and append", &invocation).await;
        match answer.and_then(|answer| claim_of(answer, token)) {
            Ok(claim) => Ok(claim),
            Err(error) => {
                // Logged at `warn` by the pipeline, under its rate limit (delivery/failures.rs).
                tracing::debug!(%error, "could not claim and append the event in Redis");
                Err(Unavailable::Queue)
            }
        }
    }

    /// Stops reading; lets each lane finish its entry within `deadline`. What is left stays
    /// pending in Redis for another replica to take over.
    async fn stop(&self, deadline: Duration) -> ShutdownReport {
        self.state.send_replace(QueueState::Draining);
        let mut tasks = std::mem::take(&mut *self.tasks.lock().await);
        let drained = tokio::time::timeout(deadline, async {
            for task in &mut tasks {
                let _ = task.await;
            }
        })
        .await
        .is_ok();
        if !drained {
            self.state.send_replace(QueueState::Abandon);
            for task in &tasks {
                task.abort();
            }
        }
        ShutdownReport {
            drained_in_time: drained,
            ..ShutdownReport::default()
        }
    }
}

/// Processes one lane's entries one after the other: each success completes its claim and
/// acknowledges its entry in one script; a dead-lettered entry is acknowledged after the hook.
async fn run_lane(
    mut entries: mpsc::Receiver<Entry>,
    queue: RedisStreamQueue,
    processor: Arc<Processor>,
    mut state: watch::Receiver<QueueState>,
) {
    let mut connection = queue.store.connection().clone();
    loop {
        let entry = tokio::select! {
            entry = entries.recv() => entry,
            _ = state.wait_for(|state| *state != QueueState::Running) => None,
        };
        let Some(entry) = entry else { return };
        let Some(job) = job_of(&entry.entry) else {
            tracing::error!(stream = %entry.stream, id = %entry.entry.id, "an entry that is not an event; acknowledging it");
            acknowledge(&mut connection, &queue, &entry).await;
            continue;
        };
        let job = if entry.reclaimed {
            // The consumer that had it died: process it only if nobody finished it since.
            match queue.claim_again(entry.lane, job.key()).await {
                Ok(Claim::Claimed(token)) => Job { token, ..job },
                Ok(Claim::Done) => {
                    acknowledge(&mut connection, &queue, &entry).await;
                    continue;
                }
                _ => continue, // held or unreachable: stays pending, taken over later
            }
        } else {
            job
        };
        let settler = EntrySettler::new(&queue, &entry);
        match processor.process(job, &mut state, &settler).await {
            Finished::Completed => {}
            Finished::DeadLettered => acknowledge(&mut connection, &queue, &entry).await,
            // Left pending: another replica takes it over.
            Finished::Abandoned { .. } => return,
        }
    }
}

async fn acknowledge(connection: &mut Connection, queue: &RedisStreamQueue, entry: &Entry) {
    let acked: Result<i64, redis::RedisError> = redis::cmd("XACK")
        .arg(&entry.stream)
        .arg(&queue.group)
        .arg(&entry.entry.id)
        .query_async(connection)
        .await;
    if let Err(error) = acked {
        tracing::warn!(%error, id = %entry.entry.id, "could not acknowledge the entry; it will be taken over and found done");
    }
}

impl EventQueue for RedisLanes {
    /// Never used: the durable queue claims its events itself
    /// ([`claim_and_enqueue`](EventQueue::claim_and_enqueue)), in keys of its own layout, so
    /// a job claimed elsewhere is refused (and its claim released by the caller).
    fn enqueue(&self, job: Job) -> BoxFuture<'_, Result<Accepted, Refused>> {
        Box::pin(std::future::ready(Err((Box::new(job), Unavailable::Queue))))
    }

    fn claim_and_enqueue<'a>(
        &'a self,
        event: &'a Event,
        delivery: &'a Delivery,
        handled: bool,
    ) -> Option<BoxFuture<'a, Result<Claim, Unavailable>>> {
        Some(Box::pin(self.claim_and_append(event, delivery, handled)))
    }

    fn shutdown(&self, deadline: Duration) -> BoxFuture<'_, ShutdownReport> {
        Box::pin(self.stop(deadline))
    }

    fn ping(&self) -> Option<BoxFuture<'_, crate::readiness::CheckStatus>> {
        Some(Box::pin(self.queue.ping()))
    }
}
