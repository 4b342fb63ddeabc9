//! [`ReceiverConfig`]: the example receivers' configuration, from environment variables.

use std::net::SocketAddr;

use prepared_core::Webhooks;
use prepared_core::auth::TokenEndpoint;
use prepared_core::auth::{BearerToken, StaticBearer};
use prepared_core::delivery::{AckMode, WebhooksBuilder};
use prepared_core::record::RecordKeys;

use crate::{ReceiverAuth, StdoutFormat, WEBHOOK_PATH, print_delivery, print_event};

/// The example receivers' configuration, read from the environment.
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
    /// `PREPARED_DATABASE_URL`: the delivery log in PostgreSQL (recorded before the `200`)
    /// instead of in memory.
    pub database_url: Option<String>,
    /// `PREPARED_RECORD_KEY`: base64 AES-256 keys (comma-separated, the current one first)
    /// that encrypt the recorded payloads.
    pub record_keys: Option<RecordKeys>,
    /// `PREPARED_ADMIN_TOKEN`: the Bearer token of `POST /admin/replay`; without it the route
    /// answers `404`.
    pub admin_token: Option<String>,
}

/// The URLs with their credentials hidden, the tokens and keys not shown.
impl std::fmt::Debug for ReceiverConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiverConfig")
            .field("bind", &self.bind)
            .field("auth", &self.auth)
            .field("ack_mode", &self.ack_mode)
            .field(
                "redis_url",
                &self.redis_url.as_deref().map(without_credentials),
            )
            .field("redis_cluster_nodes", &self.redis_cluster_nodes)
            .field("stdout", &self.stdout)
            .field(
                "database_url",
                &self.database_url.as_deref().map(without_credentials),
            )
            .field("record_keys", &self.record_keys)
            .field(
                "admin_token",
                &self.admin_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// A URL with its user information (`user:password@`) replaced by `<redacted>@`.
fn without_credentials(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}<redacted>{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
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
        let record_keys = var("PREPARED_RECORD_KEY")
            .map(|keys| RecordKeys::from_base64_list(&keys))
            .transpose()
            .map_err(|error| ConfigError(format!("PREPARED_RECORD_KEY: {error}")))?;
        Ok(Self {
            database_url: var("PREPARED_DATABASE_URL"),
            record_keys,
            admin_token: var("PREPARED_ADMIN_TOKEN"),
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
        if let Some(url) = &self.database_url {
            let log = prepared_core::record::PostgresDeliveryLog::connect(url).await?;
            builder = builder.delivery_log(log);
        }
        if let Some(keys) = &self.record_keys {
            builder = builder.record_keys(keys.clone());
        }
        if let Some(token) = &self.admin_token {
            let admin = StaticBearer::new([BearerToken::new(token.clone()).label("admin")]);
            builder = builder.replay_authenticator(admin);
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
