//! Support shared by the example receivers (`examples/axum_receiver.rs`,
//! `examples/actix_receiver.rs`) and the end-to-end tests: the receivers' configuration from
//! environment variables, and the callbacks that print each event on stdout.
//!
//! The receivers' behaviour is a contract (README.md, "Example receivers"):
//! - `PREPARED_BIND` (default `127.0.0.1:3000`): where to listen;
//! - `PREPARED_WEBHOOK_TOKEN`: the Bearer token(s) Prepared sends, comma-separated for a
//!   rotation; when unset, one is generated and printed on stderr with a `curl` line;
//! - `PREPARED_ACK_MODE`: `immediate` (default) or `after_processing`;
//! - `PREPARED_REDIS_URL`: dedup in Redis (several replicas) instead of in memory;
//! - each event handed to a callback is printed on stdout as one line of JSON in Prepared's
//!   wire shape, and nothing else goes to stdout; logs go to stderr (`RUST_LOG`).
#![forbid(unsafe_code)]

use std::io::Write;
use std::net::SocketAddr;

use prepared_core::auth::{BearerToken, StaticBearer};
use prepared_core::delivery::{AckMode, WebhooksBuilder};
use prepared_core::{Event, Webhooks};

/// The documented example payloads (`prepared-core/fixtures`), one of each event, with their
/// event names.
pub const EXAMPLE_PAYLOADS: [(&str, &str); 5] = [
    (
        "note_created",
        include_str!("../prepared-core/fixtures/note_created.json"),
    ),
    (
        "location_updated",
        include_str!("../prepared-core/fixtures/location_updated.json"),
    ),
    (
        "incident_metadata",
        include_str!("../prepared-core/fixtures/incident_metadata.json"),
    ),
    (
        "caller_location",
        include_str!("../prepared-core/fixtures/caller_location.json"),
    ),
    (
        "media",
        include_str!("../prepared-core/fixtures/media.json"),
    ),
];

/// The path the example receivers serve the webhook on.
pub const WEBHOOK_PATH: &str = "/webhooks/prepared";

/// The example receivers' configuration, read from the environment.
#[derive(Debug)]
pub struct ReceiverConfig {
    /// `PREPARED_BIND`.
    pub bind: SocketAddr,
    /// `PREPARED_WEBHOOK_TOKEN`, or a generated token.
    tokens: Vec<String>,
    /// Whether the token was generated.
    pub generated_token: bool,
    /// `PREPARED_ACK_MODE`.
    pub ack_mode: AckMode,
    /// `PREPARED_REDIS_URL`.
    pub redis_url: Option<String>,
}

/// A configuration variable with a value the receiver cannot use.
#[derive(Debug)]
pub struct ConfigError(String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl ReceiverConfig {
    /// Reads the configuration from the environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|value| !value.trim().is_empty())
        };
        let bind = var("PREPARED_BIND").unwrap_or_else(|| "127.0.0.1:3000".to_owned());
        let bind = bind
            .parse()
            .map_err(|_| ConfigError(format!("PREPARED_BIND is not an address: {bind}")))?;
        let (tokens, generated_token) = match var("PREPARED_WEBHOOK_TOKEN") {
            Some(tokens) => (
                tokens
                    .split(',')
                    .map(|t| t.trim().to_owned())
                    .filter(|t| !t.is_empty())
                    .collect(),
                false,
            ),
            None => (vec![generate_token()], true),
        };
        let ack_mode = match var("PREPARED_ACK_MODE").as_deref() {
            None | Some("immediate") => AckMode::Immediate,
            Some("after_processing") => AckMode::AfterProcessing,
            Some(other) => {
                return Err(ConfigError(format!(
                    "PREPARED_ACK_MODE must be `immediate` or `after_processing`, not `{other}`"
                )));
            }
        };
        Ok(Self {
            bind,
            tokens,
            generated_token,
            ack_mode,
            redis_url: var("PREPARED_REDIS_URL"),
        })
    }

    /// A builder with the configured authentication, dedup store and ack mode, and the
    /// callbacks that print every event on stdout.
    pub async fn webhooks_builder(&self) -> Result<WebhooksBuilder, Box<dyn std::error::Error>> {
        let tokens = self
            .tokens
            .iter()
            .map(|token| BearerToken::new(token.clone()));
        let mut builder = Webhooks::builder()
            .authenticator(StaticBearer::new(tokens))
            .ack_mode(self.ack_mode)
            .on_event(print_event);
        if let Some(url) = &self.redis_url {
            let store = prepared_core::dedup::RedisDedupStore::connect(url).await?;
            builder = builder.dedup_store(store);
        }
        Ok(builder)
    }

    /// Tells the operator, on stderr, how to send a first event; with the generated token when
    /// there is one (it is the operator's own secret, shown once on their terminal).
    pub fn announce(&self, framework: &str) {
        let url = format!("http://{}{WEBHOOK_PATH}", self.bind);
        eprintln!("{framework} receiver listening on {url} (GET /health for a health check)");
        if self.generated_token {
            let token = &self.tokens[0];
            eprintln!("PREPARED_WEBHOOK_TOKEN is not set; generated token: {token}");
            eprintln!(
                "try: curl -i -X POST {url} -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' \
                 -d '{{\"type\":\"caller_location\",\"id\":\"550e8400-e29b-41d4-a716-446655440004\",\"incident_id\":\"550e8400-e29b-41d4-a716-446655440000\",\"lat\":40.0,\"lng\":-75.0}}'"
            );
        }
    }
}

/// Prints the event on stdout as one line of JSON in Prepared's wire shape.
pub async fn print_event(event: Event) -> Result<(), std::io::Error> {
    let mut line = serde_json::to_vec(&event)?;
    line.push(b'\n');
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&line)?;
    stdout.flush()
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// 256 random bits as hex.
fn generate_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}
