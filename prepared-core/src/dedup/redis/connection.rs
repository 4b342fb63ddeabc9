//! [`Connection`]: the store's connection, to one Redis server or to a Redis Cluster, and
//! how another one is opened for the durable queue's reads.

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, RedisResult, Value};

/// One Redis server, or a Redis Cluster. Either reconnects after a dropped connection; the
/// cluster one also routes each command to the node serving its key's slot and follows
/// `MOVED` and `ASK` redirections.
#[derive(Clone)]
pub(crate) enum Connection {
    /// One server (through a [`ConnectionManager`]).
    Single(ConnectionManager),
    /// A cluster (through a [`ClusterConnection`]).
    Cluster(ClusterConnection),
}

impl Connection {
    /// Whether this is a Redis Cluster, whose multi-key commands must stay in one slot.
    pub(crate) fn is_cluster(&self) -> bool {
        matches!(self, Self::Cluster(_))
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(connection) => connection.req_packed_command(cmd),
            Self::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(connection) => connection.req_packed_commands(pipeline, offset, count),
            Self::Cluster(connection) => connection.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(connection) => connection.get_db(),
            Self::Cluster(connection) => connection.get_db(),
        }
    }
}

/// What a store's connection was opened with, to open another one like it.
#[derive(Clone)]
pub(crate) enum Opener {
    /// One server.
    Single(redis::Client),
    /// A cluster.
    Cluster(Box<ClusterClient>),
}

impl Opener {
    /// A new connection, each attempt and answer bounded by `timeout` (an answer of a
    /// blocking read may take longer: none is set for it).
    pub(crate) async fn open(&self, timeout: Duration) -> RedisResult<Connection> {
        match self {
            Self::Single(client) => {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_number_of_retries(3)
                    .set_min_delay(Duration::from_millis(50))
                    .set_max_delay(Duration::from_secs(1));
                let manager = ConnectionManager::new_with_config(client.clone(), config).await?;
                Ok(Connection::Single(manager))
            }
            Self::Cluster(client) => Ok(Connection::Cluster(client.get_async_connection().await?)),
        }
    }
}

/// Whether the server behind `connection` is a Redis Cluster node (`INFO cluster` says
/// `cluster_enabled:1`): a single-server client would get `MOVED` for most keys.
pub(crate) async fn is_cluster_node(connection: &mut ConnectionManager) -> RedisResult<bool> {
    let info: String = redis::cmd("INFO")
        .arg("cluster")
        .query_async(connection)
        .await?;
    Ok(info.lines().any(|line| line.trim() == "cluster_enabled:1"))
}
