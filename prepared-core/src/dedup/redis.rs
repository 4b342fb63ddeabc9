//! [`RedisDedupStore`]: the dedup store in Redis, shared by several replicas.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::{ErrorKind, FromRedisValue, RedisError, Script, ScriptInvocation, ServerErrorKind};

use super::{Claim, ClaimToken, DedupConfig, DedupError, DedupFuture, DedupStore};
use crate::DedupKey;

mod builder;
mod connection;
mod ping;
pub(crate) mod scripts;

pub use builder::RedisDedupStoreBuilder;

pub(crate) use connection::Connection;
use connection::Opener;

use scripts::Scripts;

/// The dedup store in Redis, for several replicas behind a load balancer: a redelivery that
/// reaches another replica still finds the claim. Feature `redis`.
///
/// ```no_run
/// use std::time::Duration;
/// use prepared_core::dedup::{DedupConfig, RedisDedupStore};
///
/// # async fn run() -> Result<(), prepared_core::dedup::DedupError> {
/// // Defaults: prefix `prepared:dedup:`, 1 s per operation, 5-minute claims, 72-hour retention.
/// let store = RedisDedupStore::connect("redis://127.0.0.1:6379/").await?;
///
/// let store = RedisDedupStore::builder()
///     .prefix("myapp:dedup:")
///     .timeout(Duration::from_millis(500))
///     .config(DedupConfig::builder().retention(Duration::from_secs(7 * 24 * 3600)).build())
///     .connect("redis://127.0.0.1:6379/")
///     .await?;
/// # Ok(())
/// # }
/// ```
///
/// # Layout
/// One Redis string per event: `<prefix><dedup key>`, e.g.
/// `prepared:dedup:caller_location:550e8400-…`, holding `inflight:<token>` with an expiry of
/// the [claim TTL](DedupConfig::claim_ttl) while a delivery processes the event, then `done`
/// with an expiry of the [retention](DedupConfig::retention). The token is 128 random bits.
/// Each operation is one small Lua script (`EVALSHA`, one round trip), so it is atomic:
/// `claim` sets the claim only if the key is free; `complete` and `release` check the token
/// (see [`ClaimToken`] for what they do with an expired claim). A value the store did not
/// write is treated as a claim in flight and left alone.
///
/// # Redis Cluster
/// [`connect_cluster`](RedisDedupStoreBuilder::connect_cluster) takes some nodes of a
/// cluster (`host:port`), finds the others, and sends each script to the node serving its
/// key's slot, following `MOVED` and `ASK` when slots move. Each operation touches one key,
/// so the keys need no hash tag and spread over the whole cluster. (The durable queue's
/// scripts touch a claim and a stream: it tags both with their lane, see
/// [`RedisStreamQueue`](crate::delivery::RedisStreamQueue).) A cluster node given to
/// [`connect`](RedisDedupStoreBuilder::connect) fails at start-up with
/// [`DedupError::ClusterNode`] (it asks `INFO cluster`), rather than with `MOVED` for most
/// keys later; a lazy store cannot ask, and its operations say `MOVED` in their error.
///
/// ```no_run
/// # async fn run() -> Result<(), prepared_core::dedup::DedupError> {
/// use prepared_core::dedup::RedisDedupStore;
///
/// let store = RedisDedupStore::connect_cluster(["10.0.0.1:6379", "10.0.0.2:6379"]).await?;
/// # Ok(()) }
/// ```
///
/// # Failures
/// The connection is a [`ConnectionManager`](redis::aio::ConnectionManager) (a cluster's: a
/// `ClusterConnection`), which
/// reconnects after the connection drops.
/// Every operation runs under a [timeout](RedisDedupStoreBuilder::timeout) (default 1 s) and
/// any failure, a timeout, a refused or dropped connection, an error reply, is
/// [`DedupError::Unavailable`], which the pipeline answers `503` so that Prepared retries:
/// an event is never processed twice, and never acknowledged without being processed.
/// Every operation is idempotent (a claim is retried under the same token), so an operation
/// whose connection dropped is retried once on the new connection, within the same timeout.
/// When a claim's answer is lost entirely (the script may have run), the store releases that
/// claim in the background as soon as Redis answers again, so the redeliveries are processed
/// then rather than after the claim TTL.
///
/// # Operating Redis for it
/// - Use `maxmemory-policy noeviction` (a full Redis then fails writes: `503`, retried). An
///   evicting policy may drop a live claim, and `volatile-ttl` drops claims first.
/// - Redis replicates asynchronously: a failover can lose the newest claims and done marks,
///   and an event delivered again right then can be processed twice.
/// - [`DedupConfig::capacity`] does not apply: Redis holds as many keys as its memory allows,
///   each about 100 bytes.
#[derive(Clone)]
pub struct RedisDedupStore {
    connection: Connection,
    /// What the connection was opened with, for the durable queue's reading connection;
    /// `None` on a connection manager of the caller's own.
    opener: Option<Opener>,
    prefix: Arc<str>,
    timeout: Duration,
    claim_ttl_ms: u64,
    retention_ms: u64,
    config: DedupConfig,
    scripts: Arc<Scripts>,
}

impl RedisDedupStore {
    /// The default key prefix: `prepared:dedup:`.
    pub const DEFAULT_PREFIX: &'static str = "prepared:dedup:";
    /// The default timeout of one operation: 1 second.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);
    /// The default time [`RedisDedupStoreBuilder::connect`] waits for the first connection:
    /// 5 seconds.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

    /// Connects to the Redis at `url` (e.g. `redis://127.0.0.1:6379/`, `rediss://` for TLS
    /// if the `redis` crate is built with it) with the default settings; fails with
    /// [`DedupError::Unavailable`] if it cannot be reached.
    pub async fn connect(url: &str) -> Result<Self, DedupError> {
        Self::builder().connect(url).await
    }

    /// Connects to a Redis Cluster through some of its nodes (`host:port` or `redis://`
    /// URLs) with the default settings; see [`RedisDedupStoreBuilder::connect_cluster`].
    pub async fn connect_cluster<I, N>(nodes: I) -> Result<Self, DedupError>
    where
        I: IntoIterator<Item = N>,
        N: AsRef<str>,
    {
        Self::builder().connect_cluster(nodes).await
    }

    /// A builder, to set the prefix, timeouts and lifetimes.
    pub fn builder() -> RedisDedupStoreBuilder {
        RedisDedupStoreBuilder::new()
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The store's configuration (its capacity does not apply to Redis).
    pub fn config(&self) -> &DedupConfig {
        &self.config
    }

    /// The timeout of one operation.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    fn redis_key(&self, key: &DedupKey) -> String {
        let mut redis_key = String::with_capacity(self.prefix.len() + key.as_str().len());
        redis_key.push_str(&self.prefix);
        redis_key.push_str(key.as_str());
        redis_key
    }

    /// Runs one script under the timeout, retrying once on a new connection when the
    /// connection dropped (every script is idempotent).
    async fn run<T: FromRedisValue>(
        &self,
        operation: &'static str,
        script: &Script,
        key: &str,
        token: &str,
        millis: Option<u64>,
    ) -> Result<T, DedupError> {
        let mut invocation = script.key(key);
        invocation.arg(token);
        if let Some(millis) = millis {
            invocation.arg(millis);
        }
        self.invoke(operation, &invocation).await
    }

    /// Runs a prepared script invocation under the timeout, retrying once on a new
    /// connection when the connection dropped; the scripts given here must be idempotent.
    /// The durable queue runs its own scripts through this, on the store's connection.
    pub(crate) async fn invoke<T: FromRedisValue>(
        &self,
        operation: &'static str,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<T, DedupError> {
        let mut connection = self.connection.clone();
        let attempts = async {
            match invocation.invoke_async::<T>(&mut connection).await {
                Err(error) if reconnects(&error) => {
                    tracing::debug!(%error, operation, "redis connection lost; retrying once");
                    invocation.invoke_async::<T>(&mut connection).await
                }
                result => result,
            }
        };
        match tokio::time::timeout(self.timeout, attempts).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) if error.kind() == ErrorKind::Server(ServerErrorKind::Moved) => {
                Err(DedupError::unavailable(
                    format!(
                        "redis {operation} failed: a Redis Cluster node answered MOVED; \
                         connect with `RedisDedupStore::connect_cluster`"
                    ),
                    Some(Box::new(error)),
                ))
            }
            Ok(Err(error)) => Err(DedupError::unavailable(
                format!("redis {operation} failed"),
                Some(Box::new(error)),
            )),
            Err(_) => Err(DedupError::unavailable(
                format!("redis {operation} timed out after {:?}", self.timeout),
                None,
            )),
        }
    }

    /// The store's connection, for the durable queue's commands.
    pub(crate) fn connection(&self) -> &Connection {
        &self.connection
    }

    /// A second connection to the same Redis, for the durable queue's blocking reads;
    /// `None` when the store runs on a connection manager of the caller's own.
    pub(crate) async fn reader(&self) -> Option<Result<Connection, RedisError>> {
        Some(self.opener.as_ref()?.open(self.timeout).await)
    }

    /// The key of `key` in the slot of hash tag `tag`: `<prefix>{<tag>}:<key>`, e.g.
    /// `prepared:dedup:{3}:caller_location:550e8400-…` (the durable queue keeps a claim in
    /// the slot of its lane's stream, so that one script can touch both).
    pub(crate) fn tagged_key(&self, tag: &str, key: &DedupKey) -> String {
        let mut redis_key =
            String::with_capacity(self.prefix.len() + tag.len() + 3 + key.as_str().len());
        redis_key.push_str(&self.prefix);
        redis_key.push('{');
        redis_key.push_str(tag);
        redis_key.push_str("}:");
        redis_key.push_str(key.as_str());
        redis_key
    }

    /// The claim TTL in whole milliseconds.
    pub(crate) fn claim_ttl_ms(&self) -> u64 {
        self.claim_ttl_ms
    }

    /// The retention in whole milliseconds.
    pub(crate) fn retention_ms(&self) -> u64 {
        self.retention_ms
    }

    /// The claim and release scripts, which the durable queue also runs on its own keys.
    pub(crate) fn scripts(&self) -> &Scripts {
        &self.scripts
    }

    async fn claim_key(&self, key: &DedupKey) -> Result<Claim, DedupError> {
        let token = ClaimToken::new(uuid::Uuid::new_v4().as_u128());
        let claimed = self
            .run(
                "claim",
                &self.scripts.claim,
                &self.redis_key(key),
                &token.to_string(),
                Some(self.claim_ttl_ms),
            )
            .await;
        let answer: i64 = match claimed {
            Ok(answer) => answer,
            Err(error) => {
                self.release_lost_claim(key.clone(), token);
                return Err(error);
            }
        };
        match answer {
            scripts::CLAIMED => Ok(Claim::Claimed(token)),
            scripts::DONE => Ok(Claim::Done),
            scripts::IN_FLIGHT => Ok(Claim::InFlight),
            _ => Err(DedupError::unavailable(
                "redis claim gave an unexpected answer",
                None,
            )),
        }
    }

    /// A claim whose answer was lost may still have been taken under `token`, which only
    /// this store knows: release it in the background (retrying with a backoff for up to the
    /// claim TTL), so that the redeliveries are not refused until the claim expires. The
    /// release acts only on a claim held under this very token.
    fn release_lost_claim(&self, key: DedupKey, token: ClaimToken) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let store = self.clone();
        runtime.spawn(async move {
            let started = tokio::time::Instant::now();
            let mut backoff = Duration::from_millis(50);
            while store.release_key(&key, &token).await.is_err() {
                if started.elapsed() >= store.config.claim_ttl() {
                    return;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        });
    }

    async fn complete_key(&self, key: &DedupKey, token: &ClaimToken) -> Result<(), DedupError> {
        let answer: i64 = self
            .run(
                "complete",
                &self.scripts.complete,
                &self.redis_key(key),
                &token.to_string(),
                Some(self.retention_ms),
            )
            .await?;
        if answer == scripts::HELD_BY_OTHER {
            tracing::warn!(
                event = %key,
                "the claim expired and another delivery took the event over; \
                 it was not marked done by the expired claim"
            );
        }
        Ok(())
    }

    async fn release_key(&self, key: &DedupKey, token: &ClaimToken) -> Result<(), DedupError> {
        let released: i64 = self
            .run(
                "release",
                &self.scripts.release,
                &self.redis_key(key),
                &token.to_string(),
                None,
            )
            .await?;
        if released == 0 {
            tracing::debug!(event = %key, "release of a claim the store no longer holds");
        }
        Ok(())
    }
}

/// Whether the connection manager replaces its connection after this error, so that trying
/// again can succeed.
fn reconnects(error: &RedisError) -> bool {
    error.is_unrecoverable_error() || error.is_io_error()
}

impl fmt::Debug for RedisDedupStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the connection: its address may carry a password.
        f.debug_struct("RedisDedupStore")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl DedupStore for RedisDedupStore {
    fn claim<'a>(&'a self, key: &'a DedupKey) -> DedupFuture<'a, Claim> {
        Box::pin(self.claim_key(key))
    }

    fn complete<'a>(&'a self, key: &'a DedupKey, token: &'a ClaimToken) -> DedupFuture<'a, ()> {
        Box::pin(self.complete_key(key, token))
    }

    fn release<'a>(&'a self, key: &'a DedupKey, token: &'a ClaimToken) -> DedupFuture<'a, ()> {
        Box::pin(self.release_key(key, token))
    }

    fn ping(&self) -> DedupFuture<'_, ()> {
        Box::pin(self.ping_redis())
    }
}
