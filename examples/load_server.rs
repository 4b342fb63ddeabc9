//! The servers of the loopback load comparison (`BENCHMARKS.md`, `scripts/bench-load.sh`):
//! one binary, one variant per run, each answering `POST /webhooks/prepared`.
//!
//! ```sh
//! cargo run --release --example load_server -- <variant> <addr>
//! # e.g.
//! PREPARED_WEBHOOK_TOKEN=s3cret cargo run --release --example load_server -- axum-layer 127.0.0.1:38917
//! ```
//!
//! | variant | what answers the webhook |
//! |---|---|
//! | `axum-bare` | an axum handler that reads the body and returns `200` (the ceiling) |
//! | `axum-handwritten` | what a typical user writes by hand: `Json<serde_json::Value>`, a plain `==` on the `Authorization` header, a `Mutex<HashSet<String>>` of seen ids, `200` |
//! | `axum-layer` | `prepared_tower::PreparedWebhooksLayer`: `StaticBearer`, the default memory dedup, `AckMode::Immediate`, a callback that counts events |
//! | `actix-bare` | an actix-web handler that reads the body and returns `200` |
//! | `actix-handwritten` | the hand-written handler, in actix-web (`web::Json<serde_json::Value>`) |
//! | `actix-extractor` | a handler taking `prepared_actix::PreparedEvent` that counts the event, completes the claim and returns `200` |
//! | `actix-route` | `prepared_actix::webhook_route(webhooks)`, with the same `Webhooks` as `axum-layer` |
//! | `axum-durable` | `axum-layer` with the durable Redis Streams queue (`RedisStreamQueue`) on `LOAD_SERVER_REDIS_URL`, keys under a random prefix; give it a throw-away Redis, as nothing is deleted at the end |
//! | `axum-no-log` | `axum-layer` without a delivery log (`without_delivery_log`; `axum-layer` has the default memory log) |
//! | `axum-pg-before-ack` | `axum-layer` with the delivery log in the PostgreSQL of `LOAD_SERVER_DATABASE_URL` (a throw-away database), payloads encrypted, `RecordPolicy::BeforeAck` |
//! | `axum-pg-best-effort` | the same with `RecordPolicy::BestEffort` |
//!
//! Both frameworks run with one worker thread per CPU the process may run on (a Tokio
//! multi-thread runtime; `HttpServer::workers`), as their defaults do: 1 under
//! `taskset -c 0`, as `scripts/bench-load.sh` starts it; `LOAD_SERVER_WORKERS` sets another
//! count. No tracing subscriber is installed, so that the numbers measure
//! the webhook handling rather than a logger.
//!
//! The token is `PREPARED_WEBHOOK_TOKEN` (default [`DEFAULT_TOKEN`]). The server prints
//! `load_server: listening variant=<variant> addr=<addr>` on stderr once it accepts
//! connections, and on `SIGTERM` or `SIGINT` it stops, drains the webhook queue, and prints
//! `load_server: stopped variant=<variant> processed=<n>`, where `n` counts the events the
//! application code saw: the requests for the bare handlers, the new ids for the hand-written
//! ones, the callback runs or extracted events for ours. Nothing goes to stdout.

use std::collections::HashSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use prepared_core::Webhooks;
use prepared_core::auth::{BearerToken, StaticBearer};
use prepared_core::dedup::RedisDedupStore;
use prepared_core::delivery::{AckMode, RecordPolicy, RedisStreamQueue, WebhooksBuilder};
use prepared_core::event::CallerLocation;
use prepared_core::record::{PostgresDeliveryLog, RecordKey, RecordKeys};
use prepared_webhooks::WEBHOOK_PATH;

/// The bearer token when `PREPARED_WEBHOOK_TOKEN` is not set.
const DEFAULT_TOKEN: &str = "load-bench-token-7f3a9c2e5b";

/// Worker threads of either framework: `LOAD_SERVER_WORKERS`, else one per CPU this process
/// may run on (`std::thread::available_parallelism`, which honours `taskset`), the default of
/// both frameworks.
fn workers() -> usize {
    std::env::var("LOAD_SERVER_WORKERS")
        .ok()
        .and_then(|workers| workers.parse().ok())
        .filter(|&workers| workers > 0)
        .or_else(|| std::thread::available_parallelism().ok().map(usize::from))
        .unwrap_or(1)
}

/// How long the webhook queue may take to drain at the end.
const DRAIN_DEADLINE: Duration = Duration::from_secs(5);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One server of the comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    AxumBare,
    AxumHandwritten,
    AxumLayer,
    ActixBare,
    ActixHandwritten,
    ActixExtractor,
    ActixRoute,
    AxumDurable,
    AxumNoLog,
    AxumPgBeforeAck,
    AxumPgBestEffort,
}

impl Variant {
    const ALL: [Self; 11] = [
        Self::AxumBare,
        Self::AxumHandwritten,
        Self::AxumLayer,
        Self::ActixBare,
        Self::ActixHandwritten,
        Self::ActixExtractor,
        Self::ActixRoute,
        Self::AxumDurable,
        Self::AxumNoLog,
        Self::AxumPgBeforeAck,
        Self::AxumPgBestEffort,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::AxumBare => "axum-bare",
            Self::AxumHandwritten => "axum-handwritten",
            Self::AxumLayer => "axum-layer",
            Self::ActixBare => "actix-bare",
            Self::ActixHandwritten => "actix-handwritten",
            Self::ActixExtractor => "actix-extractor",
            Self::ActixRoute => "actix-route",
            Self::AxumDurable => "axum-durable",
            Self::AxumNoLog => "axum-no-log",
            Self::AxumPgBeforeAck => "axum-pg-before-ack",
            Self::AxumPgBestEffort => "axum-pg-best-effort",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|variant| variant.name() == name)
    }
}

/// What every variant shares: the token and the count of events the app code saw.
#[derive(Clone)]
struct Shared {
    token: Arc<str>,
    processed: Arc<AtomicU64>,
}

impl Shared {
    fn count(&self) {
        self.processed.fetch_add(1, Ordering::Relaxed);
    }

    /// The receiver of `axum-layer`, `actix-extractor` and `actix-route`: the token, the
    /// default memory dedup store, immediate acknowledgement, and a callback that counts the
    /// event. Must be built inside a Tokio runtime (it starts the queue's workers there).
    fn webhooks(&self) -> Result<Webhooks, BoxError> {
        Ok(self.builder().build()?)
    }

    fn builder(&self) -> WebhooksBuilder {
        let shared = self.clone();
        Webhooks::builder()
            .authenticator(StaticBearer::new([BearerToken::new(&*self.token)]))
            .ack_mode(AckMode::Immediate)
            .on_caller_location(move |_location: CallerLocation| {
                shared.count();
                async { Ok::<_, Infallible>(()) }
            })
    }

    /// The receiver of `axum-durable`: `webhooks` with the durable queue on the Redis at
    /// `LOAD_SERVER_REDIS_URL`, under a random key prefix.
    async fn durable_webhooks(&self) -> Result<Webhooks, BoxError> {
        let url = std::env::var("LOAD_SERVER_REDIS_URL")
            .map_err(|_| "axum-durable needs LOAD_SERVER_REDIS_URL (a throw-away Redis)")?;
        let prefix = format!("load-bench:{}:", uuid::Uuid::new_v4().simple());
        let store = RedisDedupStore::builder()
            .prefix(format!("{prefix}dedup:"))
            .connect(&url)
            .await?;
        let queue = RedisStreamQueue::connect(&store)
            .await?
            .prefix(format!("{prefix}queue:"));
        Ok(self.builder().durable_queue(queue).build()?)
    }

    /// The receiver of `axum-pg-before-ack` and `axum-pg-best-effort`: `webhooks` with the
    /// delivery log in the PostgreSQL of `LOAD_SERVER_DATABASE_URL`, payloads encrypted.
    async fn postgres_webhooks(&self, policy: RecordPolicy) -> Result<Webhooks, BoxError> {
        let url = std::env::var("LOAD_SERVER_DATABASE_URL").map_err(
            |_| "the axum-pg-* variants need LOAD_SERVER_DATABASE_URL (a throw-away database)",
        )?;
        let log = PostgresDeliveryLog::connect(&url).await?;
        let keys = RecordKeys::new(RecordKey::new(&[7; 32]));
        let builder = self.builder().delivery_log(log).record_keys(keys);
        Ok(builder.record_policy(policy).build()?)
    }
}

/// The hand-written receiver: what an app without this library typically does.
struct Handwritten {
    /// `Bearer <token>`, compared with `==` (not in constant time).
    expected_authorization: String,
    /// Every id seen, forever.
    seen: Mutex<HashSet<String>>,
    shared: Shared,
}

impl Handwritten {
    fn new(shared: Shared) -> Self {
        Self {
            expected_authorization: format!("Bearer {}", shared.token),
            seen: Mutex::new(HashSet::new()),
            shared,
        }
    }

    /// The status for a request with this `Authorization` header and this decoded body.
    fn receive(&self, authorization: Option<&[u8]>, event: &serde_json::Value) -> u16 {
        if authorization != Some(self.expected_authorization.as_bytes()) {
            return 401;
        }
        let Some(id) = event.get("id").and_then(serde_json::Value::as_str) else {
            return 400;
        };
        let new = self
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id.to_owned());
        if new {
            self.shared.count();
        }
        200
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(variant), Some(addr), None) = (args.next(), args.next(), args.next()) else {
        return usage("expected two arguments");
    };
    let Some(variant) = Variant::parse(&variant) else {
        return usage(&format!("unknown variant {variant:?}"));
    };
    let Ok(addr) = addr.parse::<SocketAddr>() else {
        return usage(&format!("not a socket address: {addr:?}"));
    };
    let shared = Shared {
        token: std::env::var("PREPARED_WEBHOOK_TOKEN")
            .unwrap_or_else(|_| DEFAULT_TOKEN.to_owned())
            .into(),
        processed: Arc::default(),
    };

    let result = match variant {
        Variant::AxumBare
        | Variant::AxumHandwritten
        | Variant::AxumLayer
        | Variant::AxumDurable
        | Variant::AxumNoLog
        | Variant::AxumPgBeforeAck
        | Variant::AxumPgBestEffort => axum_server::run(variant, addr, shared.clone()),
        Variant::ActixBare
        | Variant::ActixHandwritten
        | Variant::ActixExtractor
        | Variant::ActixRoute => actix_server::run(variant, addr, shared.clone()),
    };
    match result {
        Ok(()) => {
            eprintln!(
                "load_server: stopped variant={} processed={}",
                variant.name(),
                shared.processed.load(Ordering::Relaxed)
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("load_server: {}: {error}", variant.name());
            ExitCode::FAILURE
        }
    }
}

fn usage(problem: &str) -> ExitCode {
    let variants: Vec<_> = Variant::ALL.iter().map(|variant| variant.name()).collect();
    eprintln!(
        "load_server: {problem}\nusage: load_server <variant> <addr>\nvariants: {}",
        variants.join(", ")
    );
    ExitCode::from(2)
}

fn announce(variant: Variant, addr: SocketAddr) {
    eprintln!(
        "load_server: listening variant={} addr={addr}",
        variant.name()
    );
}

/// Prints what the receiver counted and drains its queue.
async fn stop(webhooks: &Webhooks) {
    let report = webhooks.shutdown(DRAIN_DEADLINE).await;
    let stats = webhooks.stats();
    eprintln!(
        "load_server: webhooks received={} duplicates={} rejected={} processed={} drained_in_time={}",
        stats.received, stats.duplicates, stats.rejected, stats.processed, report.drained_in_time
    );
}

mod axum_server {
    //! The axum variants on a Tokio multi-thread runtime with [`workers`] workers.

    use std::net::SocketAddr;
    use std::sync::Arc;

    use axum::Json;
    use axum::Router;
    use axum::body::Bytes;
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode, header};
    use axum::routing::{get, post};
    use prepared_tower::PreparedWebhooksLayer;

    use super::{BoxError, Handwritten, Shared, Variant, WEBHOOK_PATH, announce, stop, workers};

    pub(super) fn run(variant: Variant, addr: SocketAddr, shared: Shared) -> Result<(), BoxError> {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers())
            .enable_all()
            .build()?
            .block_on(serve(variant, addr, shared))
    }

    async fn serve(variant: Variant, addr: SocketAddr, shared: Shared) -> Result<(), BoxError> {
        let mut webhooks = None;
        let app = match variant {
            Variant::AxumBare => Router::new().route(
                WEBHOOK_PATH,
                post(move |_body: Bytes| async move {
                    shared.count();
                    StatusCode::OK
                }),
            ),
            Variant::AxumHandwritten => Router::new()
                .route(WEBHOOK_PATH, post(handwritten))
                .with_state(Arc::new(Handwritten::new(shared))),
            Variant::AxumLayer
            | Variant::AxumDurable
            | Variant::AxumNoLog
            | Variant::AxumPgBeforeAck
            | Variant::AxumPgBestEffort => {
                let receiver = match variant {
                    Variant::AxumDurable => shared.durable_webhooks().await?,
                    Variant::AxumNoLog => shared.builder().without_delivery_log().build()?,
                    Variant::AxumPgBeforeAck => {
                        shared
                            .postgres_webhooks(prepared_core::delivery::RecordPolicy::BeforeAck)
                            .await?
                    }
                    Variant::AxumPgBestEffort => {
                        shared
                            .postgres_webhooks(prepared_core::delivery::RecordPolicy::BestEffort)
                            .await?
                    }
                    _ => shared.webhooks()?,
                };
                webhooks = Some(receiver.clone());
                // An app's own routes (here one) and the layer, which answers its path.
                Router::new()
                    .route("/health", get(|| async { "ok" }))
                    .layer(PreparedWebhooksLayer::new(receiver, WEBHOOK_PATH))
            }
            _ => return Err(format!("{variant:?} is not an axum variant").into()),
        };
        let listener = tokio::net::TcpListener::bind(addr).await?;
        announce(variant, listener.local_addr()?);
        axum::serve(listener, app)
            .with_graceful_shutdown(terminated())
            .await?;
        if let Some(webhooks) = webhooks {
            stop(&webhooks).await;
        }
        Ok(())
    }

    /// The hand-written handler: the extractor parses any JSON, then a string comparison of
    /// the header, then the set of seen ids.
    async fn handwritten(
        State(state): State<Arc<Handwritten>>,
        headers: HeaderMap,
        Json(event): Json<serde_json::Value>,
    ) -> StatusCode {
        let authorization = headers
            .get(header::AUTHORIZATION)
            .map(|value| value.as_bytes());
        StatusCode::from_u16(state.receive(authorization, &event))
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// Resolves on `SIGTERM` or `SIGINT`.
    async fn terminated() {
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = terminate => {}
        }
    }
}

mod actix_server {
    //! The actix-web variants with [`workers`] workers. actix-web stops on `SIGTERM` and
    //! `SIGINT` by itself.

    use std::net::SocketAddr;

    use actix_web::{App, HttpRequest, HttpResponse, HttpServer, http::header, web};
    use prepared_actix::PreparedEvent;

    use super::{BoxError, Handwritten, Shared, Variant, WEBHOOK_PATH, announce, stop, workers};

    pub(super) fn run(variant: Variant, addr: SocketAddr, shared: Shared) -> Result<(), BoxError> {
        actix_web::rt::System::new().block_on(serve(variant, addr, shared))
    }

    async fn serve(variant: Variant, addr: SocketAddr, shared: Shared) -> Result<(), BoxError> {
        // Built on the system's runtime, as `examples/actix_receiver.rs` does: the queue's
        // workers (used by `actix-route`) run there, beside actix's own workers.
        let webhooks = match variant {
            Variant::ActixExtractor | Variant::ActixRoute => Some(shared.webhooks()?),
            _ => None,
        };
        let handwritten = web::Data::new(Handwritten::new(shared.clone()));
        let app_webhooks = webhooks.clone();
        let server = HttpServer::new(move || {
            let mut app = App::new();
            if let Some(webhooks) = &app_webhooks {
                app = app.app_data(webhooks.clone());
            }
            match variant {
                Variant::ActixBare => {
                    let shared = shared.clone();
                    app.route(
                        WEBHOOK_PATH,
                        web::post().to(move |_body: web::Bytes| {
                            shared.count();
                            async { HttpResponse::Ok().finish() }
                        }),
                    )
                }
                Variant::ActixHandwritten => app
                    .app_data(handwritten.clone())
                    .route(WEBHOOK_PATH, web::post().to(handwritten_handler)),
                Variant::ActixExtractor => {
                    let shared = shared.clone();
                    app.route(
                        WEBHOOK_PATH,
                        web::post().to(move |PreparedEvent(claimed): PreparedEvent| {
                            let shared = shared.clone();
                            async move {
                                shared.count();
                                claimed.complete().await;
                                HttpResponse::Ok().finish()
                            }
                        }),
                    )
                }
                // `ActixRoute`; the axum variants never get here.
                _ => match &app_webhooks {
                    Some(webhooks) => app.route(
                        WEBHOOK_PATH,
                        prepared_actix::webhook_route(webhooks.clone()),
                    ),
                    None => app,
                },
            }
        })
        .workers(workers())
        .shutdown_timeout(5)
        .bind(addr)?;
        for bound in server.addrs() {
            announce(variant, bound);
        }
        server.run().await?;
        if let Some(webhooks) = webhooks {
            stop(&webhooks).await;
        }
        Ok(())
    }

    /// The hand-written handler, as in the axum variant.
    async fn handwritten_handler(
        request: HttpRequest,
        state: web::Data<Handwritten>,
        web::Json(event): web::Json<serde_json::Value>,
    ) -> HttpResponse {
        let authorization = request
            .headers()
            .get(header::AUTHORIZATION)
            .map(|value| value.as_bytes());
        let status = state.receive(authorization, &event);
        HttpResponse::build(
            actix_web::http::StatusCode::from_u16(status)
                .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR),
        )
        .finish()
    }
}
