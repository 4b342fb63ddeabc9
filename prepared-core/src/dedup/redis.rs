//! [`RedisDedupStore`]: the dedup store in Redis, shared by several replicas.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::{ErrorKind, FromRedisValue, RedisError, Script, ScriptInvocation, ServerErrorKind};

use super::{Claim, ClaimToken, DedupConfig, DedupError, DedupFuture, DedupStore};
use crate::DedupKey;

mod connection;
pub(crate) mod scripts;

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
/// The connection is a [`ConnectionManager`] (a cluster's: a `ClusterConnection`), which
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
        RedisDedupStoreBuilder {
            config: DedupConfig::default(),
            prefix: Self::DEFAULT_PREFIX.to_owned(),
            timeout: Self::DEFAULT_TIMEOUT,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
        }
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
}

/// Builds a [`RedisDedupStore`].
#[derive(Clone, Debug)]
#[must_use]
pub struct RedisDedupStoreBuilder {
    config: DedupConfig,
    prefix: String,
    timeout: Duration,
    connect_timeout: Duration,
}

impl RedisDedupStoreBuilder {
    /// The claim TTL and retention (default [`DedupConfig::default`]; the capacity does not
    /// apply to Redis).
    pub fn config(mut self, config: DedupConfig) -> Self {
        self.config = config;
        self
    }

    /// The prefix of every key (default `prepared:dedup:`). Give each application its own
    /// when several share a Redis.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long one operation may take, reconnecting included (default 1 s); after that it
    /// fails with [`DedupError::Unavailable`]. It also bounds each connection attempt and
    /// each answer of the connection manager.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How long [`connect`](Self::connect) waits for the first connection (default 5 s).
    pub fn connect_timeout(mut self, connect_timeout: Duration) -> Self {
        self.connect_timeout = connect_timeout.max(Duration::from_millis(1));
        self
    }

    /// Connects to the Redis at `url`, and fails with [`DedupError::Unavailable`] if it
    /// cannot be reached within the connect timeout, and with [`DedupError::ClusterNode`]
    /// if it is a Redis Cluster node (use [`connect_cluster`](Self::connect_cluster)), so
    /// that a misconfiguration shows at start-up.
    pub async fn connect(self, url: &str) -> Result<RedisDedupStore, DedupError> {
        let client = client(url)?;
        let config = self.manager_config();
        let connect = ConnectionManager::new_with_config(client.clone(), config);
        let connection = match tokio::time::timeout(self.connect_timeout, connect).await {
            Ok(Ok(connection)) => connection,
            Ok(Err(error)) => {
                return Err(DedupError::unavailable(
                    "could not connect to redis",
                    Some(Box::new(error)),
                ));
            }
            Err(_) => {
                return Err(DedupError::unavailable(
                    format!(
                        "could not connect to redis within {:?}",
                        self.connect_timeout
                    ),
                    None,
                ));
            }
        };
        let mut probe = connection.clone();
        match tokio::time::timeout(
            self.connect_timeout,
            connection::is_cluster_node(&mut probe),
        )
        .await
        {
            Ok(Ok(false)) => {}
            Ok(Ok(true)) => return Err(DedupError::ClusterNode),
            // A server that refuses INFO (an ACL, a managed Redis) answers the rest.
            Ok(Err(error)) if error.code().is_some() => {
                tracing::debug!(%error, "redis refused INFO cluster; assuming a single server");
            }
            Ok(Err(error)) => {
                return Err(DedupError::unavailable(
                    "could not ask redis whether it is a cluster node",
                    Some(Box::new(error)),
                ));
            }
            Err(_) => {
                return Err(DedupError::unavailable(
                    "redis did not answer INFO cluster in time",
                    None,
                ));
            }
        }
        Ok(self.with_client(Connection::Single(connection), Some(Opener::Single(client))))
    }

    /// Connects to the Redis Cluster that `nodes` belong to (a few of its nodes, each
    /// `host:port` or a `redis://` URL; the others are found from them), and fails with
    /// [`DedupError::Unavailable`] if none can be reached within the connect timeout.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), prepared_core::dedup::DedupError> {
    /// use prepared_core::dedup::RedisDedupStore;
    ///
    /// let store = RedisDedupStore::builder()
    ///     .connect_cluster(["10.0.0.1:6379", "10.0.0.2:6379", "10.0.0.3:6379"])
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect_cluster<I, N>(self, nodes: I) -> Result<RedisDedupStore, DedupError>
    where
        I: IntoIterator<Item = N>,
        N: AsRef<str>,
    {
        let nodes: Vec<String> = nodes
            .into_iter()
            .map(|node| node_url(node.as_ref()))
            .collect();
        if nodes.is_empty() {
            return Err(DedupError::unavailable("no Redis Cluster node given", None));
        }
        // The error names what is wrong with a node, never the node (it may carry a password).
        let client = ClusterClient::builder(nodes)
            .connection_timeout(self.timeout)
            .response_timeout(self.timeout)
            .retries(3)
            .build()
            .map_err(|error| {
                DedupError::unavailable("invalid Redis Cluster node", Some(Box::new(error)))
            })?;
        let connection =
            match tokio::time::timeout(self.connect_timeout, client.get_async_connection()).await {
                Ok(Ok(connection)) => connection,
                Ok(Err(error)) => {
                    return Err(DedupError::unavailable(
                        "could not connect to the Redis Cluster",
                        Some(Box::new(error)),
                    ));
                }
                Err(_) => {
                    return Err(DedupError::unavailable(
                        format!(
                            "could not connect to the Redis Cluster within {:?}",
                            self.connect_timeout
                        ),
                        None,
                    ));
                }
            };
        Ok(self.with_client(
            Connection::Cluster(connection),
            Some(Opener::Cluster(Box::new(client))),
        ))
    }

    /// A store that connects to the Redis at `url` on its first operation: it starts while
    /// Redis is down, and its operations fail with [`DedupError::Unavailable`] until Redis
    /// answers. Must be called within a Tokio runtime. Fails only when `url` is not a
    /// Redis URL, or when there is no runtime.
    pub fn connect_lazy(self, url: &str) -> Result<RedisDedupStore, DedupError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(DedupError::unavailable(
                "a redis dedup store must be created within a Tokio runtime",
                None,
            ));
        }
        let client = client(url)?;
        let connection =
            ConnectionManager::new_lazy_with_config(client.clone(), self.manager_config())
                .map_err(|error| {
                    DedupError::unavailable(
                        "could not set up the redis connection",
                        Some(Box::new(error)),
                    )
                })?;
        Ok(self.with_client(Connection::Single(connection), Some(Opener::Single(client))))
    }

    /// A store on a connection manager of your own (shared with other uses, or configured
    /// otherwise). Its own timeouts and reconnection settings apply, under the store's
    /// [timeout](Self::timeout).
    pub fn with_connection_manager(self, connection: ConnectionManager) -> RedisDedupStore {
        self.with_client(Connection::Single(connection), None)
    }

    fn with_client(self, connection: Connection, opener: Option<Opener>) -> RedisDedupStore {
        RedisDedupStore {
            connection,
            opener,
            prefix: self.prefix.into(),
            timeout: self.timeout,
            claim_ttl_ms: millis(self.config.claim_ttl()),
            retention_ms: millis(self.config.retention()),
            config: self.config,
            scripts: Arc::new(Scripts::new()),
        }
    }

    /// Reconnection: a few quick attempts (the operation's timeout bounds the wait anyway),
    /// each bounded by the timeout, as is each answer.
    fn manager_config(&self) -> ConnectionManagerConfig {
        ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(3)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_secs(1))
    }
}

/// A cluster node as a URL: `host:port` becomes `redis://host:port`.
fn node_url(node: &str) -> String {
    let node = node.trim();
    if node.contains("://") {
        node.to_owned()
    } else {
        format!("redis://{node}")
    }
}

fn client(url: &str) -> Result<redis::Client, DedupError> {
    // The error names what is wrong with the URL, never the URL (it may carry a password).
    redis::Client::open(url)
        .map_err(|error| DedupError::unavailable("invalid redis URL", Some(Box::new(error))))
}

/// Whole milliseconds, at least 1 (Redis `PX` takes a positive integer).
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}
