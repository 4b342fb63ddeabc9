//! `GET /metrics`: after a run that makes every documented metric move, the Prometheus text
//! passes a strict line check and holds every metric of README's table with its type.
//!
//! One test in this file: it installs the process's `metrics` recorder.

use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use prepared_core::auth::{ClientCredentials, ClientSecret, JwtSecret, TokenEndpoint};
use prepared_core::dedup::{
    Claim, ClaimToken, DedupConfig, DedupError, DedupFuture, DedupStore, MemoryDedupStore,
};
use prepared_core::delivery::RetryPolicy;
use prepared_core::event::{CallerLocation, NoteCreated};
use prepared_core::record::{
    Backlog, DeliveryLog, DeliveryRecord, LogError, LogFuture, NewRecord, Outcome, RecordFilter,
};
use prepared_core::{DedupKey, Webhooks};
use prepared_webhooks::{METRICS_PATH, PROMETHEUS_CONTENT_TYPE, install_prometheus};

use crate::support::{
    Framework, PATH, TOKEN, TOKEN_PATH, eventually, serve, serve_with_token_endpoint,
};

const README: &str = include_str!("../../README.md");

/// The metrics of README's table, with their types.
fn documented() -> Vec<(String, String)> {
    README
        .lines()
        .filter(|line| line.starts_with("| `prepared_"))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            (cells[1].trim_matches('`').to_owned(), cells[2].to_owned())
        })
        .collect()
}

/// A dedup store that never answers.
struct Down;

impl DedupStore for Down {
    fn claim<'a>(&'a self, _key: &'a DedupKey) -> DedupFuture<'a, Claim> {
        Box::pin(async { Err(DedupError::unavailable("down", None)) })
    }

    fn complete<'a>(&'a self, _: &'a DedupKey, _: &'a ClaimToken) -> DedupFuture<'a, ()> {
        Box::pin(async { Err(DedupError::unavailable("down", None)) })
    }

    fn release<'a>(&'a self, _: &'a DedupKey, _: &'a ClaimToken) -> DedupFuture<'a, ()> {
        Box::pin(async { Err(DedupError::unavailable("down", None)) })
    }
}

/// A delivery log that cannot be reached.
struct DownLog;

fn unreachable<'a, T: Send + 'a>() -> LogFuture<'a, T> {
    Box::pin(async { Err(LogError::Unreachable("down".into())) })
}

impl DeliveryLog for DownLog {
    fn insert<'a>(&'a self, _: &'a NewRecord) -> LogFuture<'a, ()> {
        unreachable()
    }
    fn update<'a>(&'a self, _: &'a str, _: &'a Outcome) -> LogFuture<'a, ()> {
        unreachable()
    }
    fn find<'a>(&'a self, _: &'a RecordFilter) -> LogFuture<'a, Vec<DeliveryRecord>> {
        unreachable()
    }
    fn get<'a>(&'a self, _: &'a str) -> LogFuture<'a, Option<DeliveryRecord>> {
        unreachable()
    }
    fn purge(&self, _: time::OffsetDateTime, _: u32) -> LogFuture<'_, u64> {
        unreachable()
    }
    fn backlog(&self) -> LogFuture<'_, Backlog> {
        unreachable()
    }
}

fn caller_location(id: u128) -> String {
    format!(
        r#"{{"type":"caller_location","id":"{}","incident_id":"{}","lat":1.5,"lng":2.5}}"#,
        uuid::Uuid::from_u128(id),
        uuid::Uuid::from_u128(7)
    )
}

async fn post(client: &reqwest::Client, base: &str, token: &str, body: String) -> u16 {
    client
        .post(format!("{base}{PATH}"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("answered")
        .status()
        .as_u16()
}

/// Checks every line of the Prometheus text exposition format strictly: `# HELP`, `# TYPE`
/// with a known type, or a sample `name{label="value",...} value`; answers the types.
fn check_exposition(text: &str) -> Vec<(String, String)> {
    fn is_name(name: &str) -> bool {
        let mut chars = name.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    }
    fn is_value(value: &str) -> bool {
        matches!(value, "+Inf" | "-Inf" | "NaN") || value.parse::<f64>().is_ok()
    }
    /// `label="value",...` with escapes only of `\\`, `\"` and `\n`.
    fn labels_ok(mut labels: &str) -> bool {
        while !labels.is_empty() {
            let Some((name, rest)) = labels.split_once("=\"") else {
                return false;
            };
            if !is_name(name) {
                return false;
            }
            let mut chars = rest.char_indices();
            let end = loop {
                match chars.next() {
                    Some((_, '\\')) => match chars.next() {
                        Some((_, '\\' | '"' | 'n')) => {}
                        _ => return false,
                    },
                    Some((at, '"')) => break at,
                    Some((_, '\n')) | None => return false,
                    Some(_) => {}
                }
            };
            labels = &rest[end + 1..];
            labels = labels.strip_prefix(',').unwrap_or(labels);
        }
        true
    }
    let mut types = Vec::new();
    for line in text.lines().filter(|line| !line.is_empty()) {
        if let Some(help) = line.strip_prefix("# HELP ") {
            let name = help.split(' ').next().unwrap_or_default();
            assert!(is_name(name), "bad HELP line: {line}");
        } else if let Some(declared) = line.strip_prefix("# TYPE ") {
            let parts: Vec<&str> = declared.split(' ').collect();
            assert!(
                parts.len() == 2
                    && is_name(parts[0])
                    && ["counter", "gauge", "histogram", "summary", "untyped"].contains(&parts[1]),
                "bad TYPE line: {line}"
            );
            types.push((parts[0].to_owned(), parts[1].to_owned()));
        } else {
            assert!(
                !line.starts_with('#'),
                "a comment that is neither HELP nor TYPE: {line}"
            );
            let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
            assert!(is_value(value), "bad value: {line}");
            let (name, labels) = match series.split_once('{') {
                Some((name, labels)) => {
                    let labels = labels.strip_suffix('}').expect("labels end with }");
                    (name, Some(labels))
                }
                None => (series, None),
            };
            assert!(is_name(name), "bad metric name: {line}");
            assert!(labels.is_none_or(labels_ok), "bad labels: {line}");
            let family = types.last().map(|(family, _)| family.as_str());
            assert!(
                family.is_some_and(|family| name.starts_with(family)),
                "a sample outside its family's TYPE: {line}"
            );
        }
    }
    types
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_prometheus_text_with_every_documented_metric() {
    let handle = install_prometheus().expect("the only recorder of this process");
    let metrics = axum::Router::new().route(
        METRICS_PATH,
        get(move || {
            let text = handle.render();
            async move {
                (
                    [(http::header::CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE)],
                    text,
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let metrics_base = format!("http://{}", listener.local_addr().expect("an address"));
    tokio::spawn(async move { axum::serve(listener, metrics).await });

    // A small store (its second done key evicts the first), one attempt per callback, one
    // event that always fails (dead-lettered) and no callback for notes (unhandled).
    let failing_id = uuid::Uuid::from_u128(3);
    let webhooks = Webhooks::builder()
        .authenticator(prepared_core::auth::StaticBearer::new([
            prepared_core::auth::BearerToken::new(TOKEN),
        ]))
        .dedup_store(MemoryDedupStore::new(
            DedupConfig::builder().capacity(1).build(),
        ))
        .retry_policy(RetryPolicy::none())
        .on_caller_location(move |location: CallerLocation| async move {
            if location.id == failing_id {
                Err(std::io::Error::other("the CAD is down"))
            } else {
                Ok(())
            }
        })
        .build()
        .expect("builds");
    let endpoint = TokenEndpoint::builder(
        JwtSecret::new("metrics-signing-secret-of-32-bytes-or-more"),
        "https://cad.test",
        "https://cad.test/webhooks/prepared",
    )
    .client(ClientCredentials::new(
        "prepared",
        ClientSecret::new("right-secret-1"),
    ))
    .build()
    .expect("builds");
    let base = serve_with_token_endpoint(Framework::Axum, webhooks.clone(), Some(endpoint)).await;
    let client = reqwest::Client::new();
    assert_eq!(post(&client, &base, TOKEN, caller_location(1)).await, 200);
    eventually("processed", || webhooks.stats().processed == 1).await;
    assert_eq!(post(&client, &base, TOKEN, caller_location(1)).await, 200);
    assert_eq!(webhooks.stats().duplicates, 1);
    assert_eq!(post(&client, &base, TOKEN, caller_location(2)).await, 200);
    assert_eq!(post(&client, &base, TOKEN, caller_location(3)).await, 200);
    eventually("dead-lettered", || webhooks.stats().dead_lettered == 1).await;
    let (name, note) = prepared_webhooks::EXAMPLE_PAYLOADS[0];
    assert_eq!(name, "note_created");
    assert_eq!(post(&client, &base, TOKEN, note.to_owned()).await, 200);
    assert_eq!(
        post(&client, &base, "wrong-token", caller_location(5)).await,
        401
    );
    for secret in ["right-secret-1", "a-wrong-secret"] {
        client
            .post(format!("{base}{TOKEN_PATH}"))
            .json(
                &serde_json::json!({"client_id": "prepared", "client_secret": secret,
                "grant_type": "client_credentials"}),
            )
            .send()
            .await
            .expect("answered");
    }
    // The failure a store outage is.
    let down = Webhooks::builder()
        .authenticator(prepared_core::auth::StaticBearer::new([
            prepared_core::auth::BearerToken::new(TOKEN),
        ]))
        .dedup_store(Arc::new(Down))
        .on_note_created(|_: NoteCreated| async {})
        .build()
        .expect("builds");
    let down_base = serve(Framework::Actix, down.clone()).await;
    assert_eq!(
        post(&client, &down_base, TOKEN, caller_location(6)).await,
        503
    );
    assert_eq!(down.stats().dependency_failures.dedup_store, 1);
    // The failure a delivery log outage is.
    let unlogged = Webhooks::builder()
        .authenticator(prepared_core::auth::StaticBearer::new([
            prepared_core::auth::BearerToken::new(TOKEN),
        ]))
        .delivery_log(DownLog)
        .build()
        .expect("builds");
    let unlogged_base = serve(Framework::Axum, unlogged.clone()).await;
    assert_eq!(
        post(&client, &unlogged_base, TOKEN, caller_location(8)).await,
        503
    );
    assert_eq!(unlogged.stats().record_write_failures, 1);
    tokio::time::sleep(Duration::from_millis(50)).await;

    let answer = client
        .get(format!("{metrics_base}{METRICS_PATH}"))
        .send()
        .await
        .expect("answered");
    assert_eq!(answer.status(), 200);
    assert_eq!(
        answer.headers()["content-type"],
        PROMETHEUS_CONTENT_TYPE,
        "the Prometheus text content type"
    );
    let text = answer.text().await.expect("a body");
    let types = check_exposition(&text);
    let documented = documented();
    assert!(documented.len() >= 12, "README's table: {documented:?}");
    for (name, kind) in &documented {
        assert!(
            types
                .iter()
                .any(|(family, declared)| family == name && declared == kind),
            "{name} ({kind}) is documented but not in /metrics:\n{text}"
        );
    }
    for (family, _) in &types {
        if family.starts_with("prepared_") {
            assert!(
                documented.iter().any(|(name, _)| name == family),
                "{family} is in /metrics but not documented in README"
            );
        }
    }
    assert!(
        text.contains(r#"prepared_webhooks_rejected_total{reason="auth:unknown_token"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"dependency="dedup_store",kind="unavailable""#),
        "{text}"
    );
    assert!(
        text.contains(r#"prepared_webhooks_received_total{kind="note_created",tenant="none"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"prepared_token_requests_total{outcome="invalid_client"}"#),
        "{text}"
    );
    assert!(!text.contains(TOKEN), "a token in /metrics");
}
