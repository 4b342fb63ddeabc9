//! [`RedisStreamQueue`]: the durable queue on Redis Streams.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::streams::{
    StreamAutoClaimOptions, StreamAutoClaimReply, StreamId, StreamReadOptions, StreamReadReply,
};
use tokio::sync::{Mutex, mpsc, watch};
use tokio::task::JoinHandle;

use futures_util::future::BoxFuture;

mod entry;
mod ping;

use entry::{SenderRecord, job_of};

use super::processor::{Finished, Processor};
use super::queue::{EventQueue, Job, QueueState, Refused};
use super::{Accepted, ShutdownReport, Unavailable};
use crate::dedup::Claim;
use crate::{DedupKey, Event};

/// The durable queue of [`AckMode::Immediate`](super::AckMode::Immediate),
/// on Redis Streams, for deployments that must not lose an acknowledged event when a replica
/// crashes.
///
/// - An event is appended (`XADD`) to its lane's stream **before** the `200`; if Redis cannot
///   take it, the delivery is answered `503` and its claim released.
/// - Lanes are streams `<prefix><n>`, chosen by the incident id, so one incident's events stay
///   in one stream in arrival order. Every replica reads every lane through one consumer
///   group (`XREADGROUP`, on a connection of its own because it blocks), and runs each lane's
///   entries one after the other.
/// - `XACK` follows the callback's success (or its dead-lettering). An entry left pending by a
///   replica that died is taken over (`XAUTOCLAIM`) once it has been idle for
///   `reclaim_idle`, and processed, unless the dedup store says it is already done.
///
/// Limits: two replicas may read entries of one lane at the same time, so the events of one
/// incident keep their order within a replica, not across replicas. A replica that stalls
/// longer than `reclaim_idle` (default: the dedup claim TTL, 5 minutes) in one callback may
/// see its entry taken over and run a second time; keep callbacks well under it.
#[derive(Clone)]
pub struct RedisStreamQueue {
    connection: ConnectionManager,
    reader: ConnectionManager,
    prefix: String,
    group: String,
    consumer: String,
    lanes: usize,
    reclaim_idle: Duration,
}

impl std::fmt::Debug for RedisStreamQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStreamQueue")
            .field("prefix", &self.prefix)
            .field("group", &self.group)
            .field("consumer", &self.consumer)
            .field("lanes", &self.lanes)
            .field("reclaim_idle", &self.reclaim_idle)
            .finish_non_exhaustive()
    }
}

/// Redis could not be reached to set the queue up.
#[derive(Debug, thiserror::Error)]
#[error("the Redis stream queue could not connect")]
pub struct QueueConnectError(#[source] redis::RedisError);

impl RedisStreamQueue {
    /// Connects to the Redis at `url` with the defaults: prefix `prepared:queue:`, group
    /// `prepared-webhooks`, 16 lanes, a random consumer name, `reclaim_idle` 5 minutes.
    pub async fn connect(url: &str) -> Result<Self, QueueConnectError> {
        let client = redis::Client::open(url).map_err(QueueConnectError)?;
        let connection = ConnectionManager::new(client.clone())
            .await
            .map_err(QueueConnectError)?;
        let reader = ConnectionManager::new(client)
            .await
            .map_err(QueueConnectError)?;
        Ok(Self {
            connection,
            reader,
            prefix: "prepared:queue:".to_owned(),
            group: "prepared-webhooks".to_owned(),
            consumer: format!("consumer-{}", uuid::Uuid::new_v4().simple()),
            lanes: 16,
            reclaim_idle: Duration::from_secs(300),
        })
    }

    /// The stream key prefix (default `prepared:queue:`); every replica must use the same.
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

    fn stream(&self, lane: usize) -> String {
        format!("{}{lane}", self.prefix)
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
}

/// The running queue: the reader task, one worker per lane.
pub(crate) struct RedisLanes {
    queue: RedisStreamQueue,
    state: watch::Sender<QueueState>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// An entry read from a stream, with whether it was taken over from another consumer.
struct Entry {
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
        tasks.push(runtime.spawn(read(queue.clone(), senders, state.subscribe())));
        Self {
            queue,
            state,
            tasks: Mutex::new(tasks),
        }
    }

    /// Appends the job to its lane's stream; `Err` when Redis cannot take it.
    async fn append(&self, job: &Job) -> Result<(), Unavailable> {
        if *self.state.borrow() != QueueState::Running {
            return Err(Unavailable::ShuttingDown);
        }
        let stream = self.queue.stream(self.queue.lane_of(&job.event, job.key()));
        let sender = SenderRecord::of(&job.delivery);
        let Ok(sender) = serde_json::to_string(&sender) else {
            return Err(Unavailable::Queue);
        };
        let mut connection = self.queue.connection.clone();
        let added: Result<String, redis::RedisError> = redis::cmd("XADD")
            .arg(stream)
            .arg("*")
            .arg("raw")
            .arg(job.delivery.raw().as_ref())
            .arg("key")
            .arg(job.key().as_str())
            .arg("token")
            .arg(job.token.get().to_string())
            .arg("sender")
            .arg(sender)
            .query_async(&mut connection)
            .await;
        added.map(|_| ()).map_err(|error| {
            // Logged at `warn` by the pipeline, under its rate limit (delivery/failures.rs).
            tracing::debug!(%error, "could not append the event to the Redis stream");
            Unavailable::Queue
        })
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

/// Reads new entries of every lane with one blocking `XREADGROUP`, and takes over idle
/// entries of dead consumers, handing each to its lane's worker.
async fn read(
    queue: RedisStreamQueue,
    lanes: Vec<mpsc::Sender<Entry>>,
    state: watch::Receiver<QueueState>,
) {
    while *state.borrow() == QueueState::Running {
        match create_groups(&queue).await {
            Ok(()) => break,
            Err(error) => {
                tracing::warn!(%error, "could not create the Redis consumer groups; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
    let streams: Vec<String> = (0..queue.lanes).map(|lane| queue.stream(lane)).collect();
    let ids = vec![">"; streams.len()];
    let options = StreamReadOptions::default()
        .group(&queue.group, &queue.consumer)
        .count(16)
        .block(500);
    let mut reader = queue.reader.clone();
    let mut last_reclaim = tokio::time::Instant::now();
    while *state.borrow() == QueueState::Running {
        if last_reclaim.elapsed() >= queue.reclaim_idle.min(Duration::from_secs(30)) / 2 {
            last_reclaim = tokio::time::Instant::now();
            reclaim(&queue, &lanes).await;
        }
        let reply: Result<Option<StreamReadReply>, redis::RedisError> = redis::cmd("XREADGROUP")
            .arg(&options)
            .arg("STREAMS")
            .arg(&streams)
            .arg(&ids)
            .query_async(&mut reader)
            .await;
        match reply {
            Ok(Some(reply)) => {
                for key in reply.keys {
                    let Some(lane) = streams.iter().position(|stream| *stream == key.key) else {
                        continue;
                    };
                    for entry in key.ids {
                        let entry = Entry {
                            stream: key.key.clone(),
                            entry,
                            reclaimed: false,
                        };
                        if lanes[lane].send(entry).await.is_err() {
                            return;
                        }
                    }
                }
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(%error, "could not read the Redis streams; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// Creates the consumer group of every lane, from the start of its stream, so that entries
/// appended before the group existed are read too.
async fn create_groups(queue: &RedisStreamQueue) -> Result<(), redis::RedisError> {
    let mut connection = queue.connection.clone();
    for lane in 0..queue.lanes {
        let created: Result<(), redis::RedisError> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(queue.stream(lane))
            .arg(&queue.group)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut connection)
            .await;
        match created {
            Err(error) if error.code() != Some("BUSYGROUP") => return Err(error),
            _ => {}
        }
    }
    Ok(())
}

async fn reclaim(queue: &RedisStreamQueue, lanes: &[mpsc::Sender<Entry>]) {
    let mut connection = queue.connection.clone();
    let idle = u64::try_from(queue.reclaim_idle.as_millis()).unwrap_or(u64::MAX);
    for (lane, sender) in lanes.iter().enumerate() {
        let stream = queue.stream(lane);
        let reply: Result<StreamAutoClaimReply, redis::RedisError> = redis::cmd("XAUTOCLAIM")
            .arg(&stream)
            .arg(&queue.group)
            .arg(&queue.consumer)
            .arg(idle)
            .arg("0-0")
            .arg(StreamAutoClaimOptions::default().count(16))
            .query_async(&mut connection)
            .await;
        match reply {
            Ok(reply) => {
                for entry in reply.claimed {
                    tracing::info!(stream = %stream, id = %entry.id, "taking over an entry a consumer left pending");
                    if sender
                        .send(Entry {
                            stream: stream.clone(),
                            entry,
                            reclaimed: true,
                        })
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "could not take over pending entries"),
        }
    }
}

/// Processes one lane's entries one after the other, acknowledging each when it is done.
async fn run_lane(
    mut entries: mpsc::Receiver<Entry>,
    queue: RedisStreamQueue,
    processor: Arc<Processor>,
    mut state: watch::Receiver<QueueState>,
) {
    let mut connection = queue.connection.clone();
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
            match processor.dedup.claim(job.key()).await {
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
        match processor.process(job, &mut state).await {
            Finished::Completed | Finished::DeadLettered => {
                acknowledge(&mut connection, &queue, &entry).await
            }
            // Left pending: another replica takes it over.
            Finished::Abandoned { .. } => return,
        }
    }
}

async fn acknowledge(connection: &mut ConnectionManager, queue: &RedisStreamQueue, entry: &Entry) {
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
    fn enqueue(&self, job: Job) -> BoxFuture<'_, Result<Accepted, Refused>> {
        Box::pin(async move {
            match self.append(&job).await {
                Ok(()) => Ok(Accepted::Queued),
                Err(reason) => Err((Box::new(job), reason)),
            }
        })
    }

    fn shutdown(&self, deadline: Duration) -> BoxFuture<'_, ShutdownReport> {
        Box::pin(self.stop(deadline))
    }

    fn ping(&self) -> Option<BoxFuture<'_, crate::readiness::CheckStatus>> {
        Some(Box::pin(self.queue.ping()))
    }
}
