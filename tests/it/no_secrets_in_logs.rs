//! Secrets and personal data never reach a log: every tracing event and span of a full run
//! at `TRACE` (ours and the HTTP stack's) is captured while deliveries of every documented
//! event, duplicates, refusals, invalid payloads, failing callbacks and dead letters, the
//! token endpoint (right and wrong secrets, JSON and HTTP Basic), JWT validation and RFC 7662
//! introspection (answered and failing) go through both adapters; then no token, client
//! secret, signing secret, caller phone number, precise coordinate, note text or media link
//! may appear in the output.
//!
//! One test in this file: it installs the global subscriber.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::raw::{self, Part};
use crate::support::{Framework, PATH, TOKEN_PATH, eventually, serve, serve_with_token_endpoint};
use base64::Engine;
use prepared_core::auth::{
    BearerToken, ClientCredentials, ClientSecret, Introspector, JwtSecret, StaticBearer,
    TokenEndpoint,
};
use prepared_core::delivery::{Delivery, RetryPolicy};
use prepared_core::{Event, Webhooks};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const STATIC_TOKEN: &str = "static-token-never-logged-7f3a";
const WRONG_TOKEN: &str = "wrong-token-never-logged-c41d";
const CLIENT_SECRET: &str = "client-secret-never-logged-92be";
const WRONG_SECRET: &str = "wrong-secret-never-logged-0a77";
const SIGNING_SECRET: &str = "signing-secret-never-logged-5d1e-32-bytes";
const RECEIVER_SECRET: &str = "receiver-secret-never-logged-e8c2";
const OPAQUE_TOKEN: &str = "opaque-token-never-logged-b6f0";
const FAILING_OPAQUE_TOKEN: &str = "failing-opaque-token-never-logged-19ad";

/// Every tracing line of the run.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn request(token: &str, body: &str) -> Vec<Part> {
    let head = raw::head(
        "POST",
        PATH,
        &[
            &format!("authorization: Bearer {token}"),
            "content-type: application/json",
            &format!("content-length: {}", body.len()),
        ],
    );
    vec![Part::Bytes(head), Part::Bytes(body.as_bytes().to_vec())]
}

fn token_request(content_type: &str, extra: &[&str], body: &str) -> Vec<Part> {
    let mut headers = vec![
        format!("content-type: {content_type}"),
        format!("content-length: {}", body.len()),
    ];
    headers.extend(extra.iter().map(|line| line.to_string()));
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    vec![
        Part::Bytes(raw::head("POST", TOKEN_PATH, &headers)),
        Part::Bytes(body.as_bytes().to_vec()),
    ]
}

/// The answer's body, over a plain socket.
async fn exchange(base: &str, parts: &[Part]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(base.trim_start_matches("http://"))
        .await
        .expect("connects");
    for part in parts {
        if let Part::Bytes(bytes) = part {
            socket.write_all(bytes).await.expect("writes");
        }
    }
    socket.shutdown().await.expect("half-closes");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

fn webhooks(
    authenticator: impl prepared_core::auth::Authenticator,
    seen: &Arc<Mutex<usize>>,
) -> Webhooks {
    let seen = Arc::clone(seen);
    Webhooks::builder()
        .authenticator(authenticator)
        .retry_policy(RetryPolicy::new(
            2,
            Duration::from_millis(5),
            Duration::from_millis(10),
        ))
        .tenant_for_client_id("prepared", "ecc-oauth-log-test")
        .on_event(move |event: Event, delivery: Delivery| {
            *seen.lock().expect("lock") += 1;
            // The delivery's own `Debug` goes to the log too.
            tracing::info!(?delivery, tenant = ?delivery.tenant(), "callback ran");
            let fails = matches!(event, Event::Media(_));
            async move {
                if fails {
                    Err("the media store is down")
                } else {
                    Ok(())
                }
            }
        })
        .on_dead_letter(|letter| async move { tracing::warn!(?letter, "dead letter") })
        .on_invalid_payload(|payload| async move { tracing::warn!(?payload, "invalid") })
        .build()
        .expect("builds")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_or_personal_data_reaches_the_logs() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("trace,wiremock=off"))
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let seen = Arc::new(Mutex::new(0));
    let examples = prepared_webhooks::EXAMPLE_PAYLOADS.map(|(_, body)| body);

    // Static Bearer, both frameworks: every example, a duplicate, refusals, invalid payloads.
    for framework in [Framework::Axum, Framework::Actix] {
        let auth = StaticBearer::new([BearerToken::new(STATIC_TOKEN).label("ecc-log-test")]);
        let base = serve(framework, webhooks(auth, &seen)).await;
        for body in examples {
            assert_eq!(
                raw::send(&base, &request(STATIC_TOKEN, body)).await,
                Some(200)
            );
        }
        assert_eq!(
            raw::send(&base, &request(STATIC_TOKEN, examples[2])).await,
            Some(200)
        );
        assert_eq!(
            raw::send(&base, &request(WRONG_TOKEN, examples[3])).await,
            Some(401)
        );
        let invalid_metadata =
            examples[2].replace("\"is_audio_live\": true", "\"is_audio_live\": \"yes\"");
        assert_eq!(
            raw::send(&base, &request(STATIC_TOKEN, &invalid_metadata)).await,
            Some(400)
        );
        let off_earth = examples[3].replace("37.7749", "137.7749");
        assert_eq!(
            raw::send(&base, &request(STATIC_TOKEN, &off_earth)).await,
            Some(400)
        );
    }

    // The token endpoint and the JWTs it issues, through actix.
    let endpoint = TokenEndpoint::builder(
        JwtSecret::new(SIGNING_SECRET),
        "https://cad.test",
        "https://cad.test/hook",
    )
    .client(
        ClientCredentials::new("prepared", ClientSecret::new(CLIENT_SECRET))
            .scopes(["incident_events"]),
    )
    .build()
    .expect("builds");
    let validator = endpoint.validator();
    let base =
        serve_with_token_endpoint(Framework::Actix, webhooks(validator, &seen), Some(endpoint))
            .await;
    let json = |secret: &str| {
        format!(
            r#"{{"client_id":"prepared","client_secret":"{secret}","grant_type":"client_credentials"}}"#
        )
    };
    let answer = exchange(
        &base,
        &token_request("application/json", &[], &json(CLIENT_SECRET)),
    )
    .await;
    let access_token = answer
        .split("\"access_token\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a token in the answer")
        .to_owned();
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("prepared:{CLIENT_SECRET}"));
    let wrong_basic =
        base64::engine::general_purpose::STANDARD.encode(format!("prepared:{WRONG_SECRET}"));
    let form = "application/x-www-form-urlencoded";
    assert!(
        exchange(
            &base,
            &token_request(
                form,
                &[&format!("authorization: Basic {basic}")],
                "grant_type=client_credentials"
            )
        )
        .await
        .starts_with("HTTP/1.1 200")
    );
    assert!(
        exchange(
            &base,
            &token_request(
                form,
                &[&format!("authorization: Basic {wrong_basic}")],
                "grant_type=client_credentials"
            )
        )
        .await
        .starts_with("HTTP/1.1 401")
    );
    assert!(
        exchange(
            &base,
            &token_request("application/json", &[], &json(WRONG_SECRET))
        )
        .await
        .starts_with("HTTP/1.1 401")
    );
    assert_eq!(
        raw::send(
            &base,
            &request(
                &access_token,
                examples[3].replace("440004", "440104").as_str()
            )
        )
        .await,
        Some(200)
    );
    assert_eq!(
        raw::send(&base, &request(&format!("{access_token}x"), examples[3])).await,
        Some(401)
    );

    // RFC 7662 introspection, answered and failing, through axum.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::body_string_contains(OPAQUE_TOKEN))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"active": true, "client_id": "prepared"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_string("upstream trouble"))
        .mount(&server)
        .await;
    let introspector = Introspector::builder(
        format!("{}/introspect", server.uri()),
        "receiver",
        ClientSecret::new(RECEIVER_SECRET),
    )
    .build()
    .expect("builds");
    let base = serve(Framework::Axum, webhooks(introspector, &seen)).await;
    assert_eq!(
        raw::send(
            &base,
            &request(
                OPAQUE_TOKEN,
                examples[3].replace("440004", "440204").as_str()
            )
        )
        .await,
        Some(200)
    );
    assert_eq!(
        raw::send(&base, &request(FAILING_OPAQUE_TOKEN, examples[3])).await,
        Some(503)
    );

    // Let the workers finish: retries of the failing media callbacks, then the dead letters.
    eventually("the callbacks ran", || *seen.lock().expect("lock") >= 14).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let log = String::from_utf8_lossy(&captured.0.lock().expect("lock")).into_owned();
    assert!(
        log.contains("prepared_webhook"),
        "the pipeline's span was captured"
    );
    assert!(
        log.contains("delivery answered"),
        "the pipeline's events were captured"
    );
    assert!(
        log.contains("ecc-log-test") && log.contains("callback ran"),
        "the tenant and the deliveries' context were captured"
    );
    assert!(
        log.len() > 10_000,
        "a full run was captured ({} bytes)",
        log.len()
    );
    let forbidden = [
        STATIC_TOKEN,
        WRONG_TOKEN,
        CLIENT_SECRET,
        WRONG_SECRET,
        SIGNING_SECRET,
        RECEIVER_SECRET,
        OPAQUE_TOKEN,
        FAILING_OPAQUE_TOKEN,
        &access_token,
        &basic,
        &wrong_basic,
        "+15551234567",
        "5551234567",
        "37.7749",
        "122.4194",
        "137.7749",
        "vehicle accident",
        "abc123.jpg",
        "chatrooms/abc123",
    ];
    for secret in forbidden {
        assert!(
            !log.contains(secret),
            "`{secret}` reached the logs:\n{}",
            context(&log, secret)
        );
    }
}

/// The log lines around the first occurrence of `needle`.
fn context(log: &str, needle: &str) -> String {
    log.lines()
        .filter(|line| line.contains(needle))
        .take(3)
        .collect::<Vec<_>>()
        .join("\n")
}
