//! [`RedisDedupStoreBuilder`]: how a [`RedisDedupStore`] connects, to one Redis server or to
//! a Redis Cluster.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;

use super::connection::{self, Connection, Opener};
use super::scripts::Scripts;
use super::{DedupConfig, DedupError, RedisDedupStore};

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
    /// The defaults of [`RedisDedupStore::builder`].
    pub(super) fn new() -> Self {
        Self {
            config: DedupConfig::default(),
            prefix: RedisDedupStore::DEFAULT_PREFIX.to_owned(),
            timeout: RedisDedupStore::DEFAULT_TIMEOUT,
            connect_timeout: RedisDedupStore::DEFAULT_CONNECT_TIMEOUT,
        }
    }

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
