//! [`ReceiverConfig`]: the example receivers' configuration, from environment variables.

use std::net::SocketAddr;

use prepared_core::Webhooks;
use prepared_core::auth::TokenEndpoint;
use prepared_core::delivery::{AckMode, WebhooksBuilder};

use crate::{ReceiverAuth, StdoutFormat, WEBHOOK_PATH, print_delivery, print_event};

/// The example receivers' configuration, read from the environment.
#[derive(Debug)]
pub struct ReceiverConfig {
    /// `PREPARED_BIND`.
    pub bind: SocketAddr,
    /// `PREPARED_AUTH` and its variables.
    pub auth: ReceiverAuth,
    /// `PREPARED_ACK_MODE`.
    pub ack_mode: AckMode,
    /// `PREPARED_REDIS_URL`.
    pub redis_url: Option<String>,
    /// `PREPARED_REDIS_CLUSTER_NODES`: `host:port` of some nodes of a Redis Cluster.
    pub redis_cluster_nodes: Option<Vec<String>>,
    /// `PREPARED_STDOUT`.
    pub stdout: StdoutFormat,
}

/// A configuration variable with a value the receiver cannot use.
#[derive(Debug)]
pub struct ConfigError(pub(crate) String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl ReceiverConfig {
    /// Reads the configuration from the environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads the configuration from `var` (a variable's value by name); blank values count
    /// as unset.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &str| var(name).filter(|value| !value.trim().is_empty());
        let bind = var("PREPARED_BIND").unwrap_or_else(|| "127.0.0.1:3000".to_owned());
        let bind = bind
            .parse()
            .map_err(|_| ConfigError(format!("PREPARED_BIND is not an address: {bind}")))?;
        let ack_mode = match var("PREPARED_ACK_MODE").as_deref() {
            None | Some("immediate") => AckMode::Immediate,
            Some("after_processing") => AckMode::AfterProcessing,
            Some(other) => {
                return Err(ConfigError(format!(
                    "PREPARED_ACK_MODE must be `immediate` or `after_processing`, not `{other}`"
                )));
            }
        };
        let stdout = match var("PREPARED_STDOUT").as_deref() {
            None | Some("event") => StdoutFormat::Event,
            Some("delivery") => StdoutFormat::Delivery,
            Some(other) => {
                return Err(ConfigError(format!(
                    "PREPARED_STDOUT must be `event` or `delivery`, not `{other}`"
                )));
            }
        };
        let redis_url = var("PREPARED_REDIS_URL");
        let redis_cluster_nodes = var("PREPARED_REDIS_CLUSTER_NODES").map(|nodes| {
            nodes
                .split(',')
                .map(str::trim)
                .filter(|node| !node.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        });
        if redis_url.is_some() && redis_cluster_nodes.is_some() {
            return Err(ConfigError(
                "set PREPARED_REDIS_URL (one Redis) or PREPARED_REDIS_CLUSTER_NODES (a Redis Cluster), not both"
                    .to_owned(),
            ));
        }
        Ok(Self {
            stdout,
            auth: ReceiverAuth::from_vars(&var, bind)?,
            bind,
            ack_mode,
            redis_url,
            redis_cluster_nodes,
        })
    }

    /// A builder with the configured authentication, dedup store and ack mode, and the
    /// callback that prints every event on stdout (as `PREPARED_STDOUT` says).
    pub async fn webhooks_builder(&self) -> Result<WebhooksBuilder, Box<dyn std::error::Error>> {
        let builder = Webhooks::builder()
            .authenticator(self.auth.authenticator())
            .ack_mode(self.ack_mode);
        let mut builder = match self.stdout {
            StdoutFormat::Event => builder.on_event(print_event),
            StdoutFormat::Delivery => builder.on_event(print_delivery),
        };
        if let Some(url) = &self.redis_url {
            let store = prepared_core::dedup::RedisDedupStore::connect(url).await?;
            builder = builder.dedup_store(store);
        }
        if let Some(nodes) = &self.redis_cluster_nodes {
            let store = prepared_core::dedup::RedisDedupStore::connect_cluster(nodes).await?;
            builder = builder.dedup_store(store);
        }
        Ok(builder)
    }

    /// The token endpoint to serve on [`TOKEN_PATH`](crate::TOKEN_PATH), with
    /// `PREPARED_AUTH` naming `token_endpoint` (alone or with other modes).
    pub fn token_endpoint(&self) -> Option<TokenEndpoint> {
        self.auth.token_endpoint()
    }

    /// Tells the operator, on stderr, where the receiver listens and how to send a first
    /// event; with the generated credentials when there are some (they are the operator's
    /// own secrets, shown once on their terminal).
    pub fn announce(&self, framework: &str) {
        let url = format!("http://{}{WEBHOOK_PATH}", self.bind);
        eprintln!(
            "{framework} receiver listening on {url} (GET /health for liveness, GET /ready for readiness, GET /metrics for Prometheus)"
        );
        for line in self.auth.announcement(&self.bind) {
            eprintln!("{line}");
        }
    }
}
