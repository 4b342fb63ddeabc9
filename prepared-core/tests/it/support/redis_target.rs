//! The Redis a test runs against: the single server of `REDIS_URL`, or the Redis Cluster of
//! `REDIS_CLUSTER_NODES` (`host:port,...`; `scripts/test.sh` starts a three-node one), and
//! [`on_both_targets!`], which runs one test body against each. Tests of either kind are
//! `#[ignore]`d with the reason; `scripts/test.sh` runs them when `REDIS_URL` is set.
#![allow(dead_code, unreachable_pub)]

use prepared_core::dedup::{RedisDedupStore, RedisDedupStoreBuilder};
use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};

/// Where a test's Redis is.
#[derive(Clone, Debug)]
pub enum Target {
    /// One server, by URL.
    Single(String),
    /// A cluster, by some of its nodes (`host:port`).
    Cluster(Vec<String>),
}

impl Target {
    /// `REDIS_URL`; panics when it is not set (the test is then run by mistake).
    pub fn single() -> Self {
        let url = std::env::var("REDIS_URL")
            .ok()
            .filter(|url| !url.is_empty());
        Self::Single(url.expect("REDIS_URL is not set: this test needs a Redis"))
    }

    /// `REDIS_CLUSTER_NODES`; panics when it is not set.
    pub fn cluster() -> Self {
        let nodes = std::env::var("REDIS_CLUSTER_NODES")
            .ok()
            .filter(|nodes| !nodes.is_empty())
            .expect("REDIS_CLUSTER_NODES is not set: this test needs a Redis Cluster (scripts/test.sh starts one)");
        Self::Cluster(
            nodes
                .split(',')
                .map(|node| node.trim().to_owned())
                .collect(),
        )
    }

    /// A store built by `builder`, connected to this target.
    pub async fn store(&self, builder: RedisDedupStoreBuilder) -> RedisDedupStore {
        match self {
            Self::Single(url) => builder.connect(url).await,
            Self::Cluster(nodes) => builder.connect_cluster(nodes).await,
        }
        .expect("connects to the test's Redis")
    }

    /// A connection of the test's own, to look at the keys.
    pub async fn raw(&self) -> Raw {
        match self {
            Self::Single(url) => Raw::Single(
                redis::Client::open(url.as_str())
                    .expect("a valid URL")
                    .get_multiplexed_async_connection()
                    .await
                    .expect("connects"),
            ),
            Self::Cluster(nodes) => {
                let urls = nodes.iter().map(|node| format!("redis://{node}"));
                Raw::Cluster(
                    ClusterClient::new(urls)
                        .expect("valid nodes")
                        .get_async_connection()
                        .await
                        .expect("connects"),
                )
            }
        }
    }
}

/// A connection to either kind of target.
#[derive(Clone)]
pub enum Raw {
    Single(MultiplexedConnection),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Raw {
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

/// For each `async fn name(target: Target)` listed, a test `single::name` against
/// `REDIS_URL` and a test `cluster::name` against `REDIS_CLUSTER_NODES`, both `#[ignore]`d
/// with the reason.
macro_rules! on_both_targets {
    ($($name:ident),* $(,)?) => {
        mod single {
            $(
                #[ignore = "needs Redis: set REDIS_URL and run scripts/test.sh"]
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::support::redis_target::Target::single()).await;
                }
            )*
        }
        mod cluster {
            $(
                #[ignore = "needs a Redis Cluster: set REDIS_CLUSTER_NODES (scripts/test.sh starts one when REDIS_URL is set)"]
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::support::redis_target::Target::cluster()).await;
                }
            )*
        }
    };
}
pub(crate) use on_both_targets;
