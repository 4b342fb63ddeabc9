//! Opaque tokens checked with RFC 7662 introspection against a real HTTP server on loopback
//! (wiremock): the answers, the cache, single-flight, and `503` when the server fails.

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use crate::support::oauth::{head, now};
use http::StatusCode;
use prepared_core::Webhooks;
use prepared_core::auth::{
    AuthError, Authenticator, ClientSecret, Introspector, IntrospectorBuilder, Principal, Scopes,
};
use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const TOKEN: &str = "opaque-token-0123456789";

async fn server_answering(template: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/introspect"))
        .respond_with(template)
        .mount(&server)
        .await;
    server
}

fn active(extra: Value) -> ResponseTemplate {
    let mut answer = json!({
        "active": true, "client_id": "prepared-ecc-1", "sub": "prepared",
        "scope": "incident_events cad_incidents", "exp": now() + 600,
        "aud": "https://receiver.test",
    });
    for (name, value) in extra.as_object().expect("an object") {
        answer[name] = value.clone();
    }
    ResponseTemplate::new(200).set_body_json(answer)
}

fn builder(server: &MockServer) -> IntrospectorBuilder {
    Introspector::builder(
        format!("{}/introspect", server.uri()),
        "receiver",
        ClientSecret::new("receiver-secret"),
    )
    .timeout(Duration::from_millis(500))
}

async fn calls(server: &MockServer) -> usize {
    server.received_requests().await.map_or(0, |r| r.len())
}

#[tokio::test]
async fn an_active_token_is_accepted_with_what_the_server_says() {
    let server = server_answering(active(json!({}))).await;
    let introspector = builder(&server).build().expect("builds");
    let principal = introspector
        .authenticate(&head(TOKEN))
        .await
        .expect("accepted");
    let Principal::Introspected(info) = principal else {
        panic!("not introspected: {principal:?}");
    };
    assert_eq!(info.client_id.as_deref(), Some("prepared-ecc-1"));
    assert_eq!(info.subject.as_deref(), Some("prepared"));
    assert_eq!(info.scopes, Scopes::parse("incident_events cad_incidents"));

    // The request: a form POST with the token, the hint, and the receiver's credentials in
    // HTTP Basic authentication.
    let requests = server.received_requests().await.expect("recorded");
    let request: &Request = &requests[0];
    let body = String::from_utf8_lossy(&request.body);
    assert!(body.contains(&format!("token={TOKEN}")), "{body}");
    assert!(body.contains("token_type_hint=access_token"), "{body}");
    let authorization = request.headers.get("authorization").expect("basic auth");
    assert!(authorization.to_str().expect("ascii").starts_with("Basic "));
}

#[tokio::test]
async fn credentials_can_go_in_the_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains("client_id=receiver"))
        .and(body_string_contains("client_secret=receiver-secret"))
        .respond_with(active(json!({})))
        .mount(&server)
        .await;
    let introspector = builder(&server)
        .credentials_in_body()
        .build()
        .expect("builds");
    assert!(introspector.introspect(TOKEN.as_bytes()).await.is_ok());
    // client_secret_post: the credentials are in the form, and there is no Basic header.
    let requests = server.received_requests().await.expect("recorded");
    assert_eq!(requests.len(), 1);
    assert!(!requests[0].headers.contains_key("authorization"));
    let form: Vec<(String, String)> = form_urlencoded::parse(&requests[0].body)
        .into_owned()
        .collect();
    for field in [
        ("client_id", "receiver"),
        ("client_secret", "receiver-secret"),
    ] {
        assert!(
            form.contains(&(field.0.to_owned(), field.1.to_owned())),
            "{form:?}"
        );
    }
}

/// Captures what a test logs, at every level.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("not poisoned")).into_owned()
    }
}

/// A `400`/`401` from the introspection endpoint (wrong receiver credentials, a server that
/// will not introspect this token) is logged (at `debug`; the refused deliveries at `warn`, rate-limited) with its status and OAuth `error`
/// code, so it is not mistaken for an outage; the body's other fields and the token are not.
#[tokio::test]
async fn a_refusal_by_the_server_is_logged_with_its_status_and_error_code() {
    let cases = [
        (
            401,
            json!({"error": "invalid_client", "error_description": "bad secret XYZ"}),
            Some("invalid_client"),
        ),
        (
            400,
            json!({"error": "unsupported_token_type"}),
            Some("unsupported_token_type"),
        ),
        // Not an OAuth code: nothing of the body is kept.
        (400, json!({"error": "line\nbreak \"quoted\""}), None),
        (403, json!({"message": "no"}), None),
    ];
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // With a single scoped subscriber alive, tracing-core asks only the registering thread's
    // subscriber about a new callsite: one first hit on another test's thread would silence
    // it here. A second (silent) dispatcher makes it ask every live one; the rebuild then
    // makes the callsites registered before this test ask again.
    let _second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
    tracing::callsite::rebuild_interest_cache();
    for (status, body, code) in cases {
        captured.0.lock().expect("not poisoned").clear();
        let server = server_answering(ResponseTemplate::new(status).set_body_json(&body)).await;
        let error = builder(&server)
            .build()
            .expect("builds")
            .introspect(TOKEN.as_bytes())
            .await
            .expect_err("refused");
        // Still 503: the delivery is retried once the configuration is fixed.
        assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(error.reason(), "introspection_refused");
        let logs = captured.text();
        let line = logs
            .lines()
            .find(|line| line.contains("token introspection failed"))
            .unwrap_or_else(|| panic!("no log line: {logs}"));
        // At DEBUG: the pipeline logs the refused deliveries at WARN, rate-limited
        // (tests/it/dependency_failures.rs).
        assert!(line.contains(" DEBUG "), "{line}");
        assert!(line.contains(&format!("status={status}")), "{line}");
        match code {
            Some(code) => assert!(line.contains(&format!("oauth_error=\"{code}\"")), "{line}"),
            None => assert!(!line.contains("oauth_error"), "{line}"),
        }
        assert!(!logs.contains("bad secret"), "{logs}");
        assert!(!logs.contains("break"), "{logs}");
        assert!(!logs.contains(TOKEN), "{logs}");
    }
}

#[tokio::test]
async fn the_answer_is_checked() {
    let now = now();
    let cases: Vec<(&str, ResponseTemplate, Result<(), AuthError>)> = vec![
        ("active", active(json!({})), Ok(())),
        ("active without exp", active(json!({"exp": null})), Ok(())),
        (
            "inactive",
            ResponseTemplate::new(200).set_body_json(json!({"active": false})),
            Err(AuthError::Invalid { reason: "inactive" }),
        ),
        (
            "expired although active",
            active(json!({"exp": now - 120})),
            Err(AuthError::Invalid { reason: "expired" }),
        ),
        (
            "not yet valid",
            active(json!({"nbf": now + 600})),
            Err(AuthError::Invalid {
                reason: "not_yet_valid",
            }),
        ),
        (
            "another client",
            active(json!({"client_id": "someone-else"})),
            Err(AuthError::Invalid {
                reason: "wrong_client",
            }),
        ),
        (
            "another audience",
            active(json!({"aud": ["https://other.test"]})),
            Err(AuthError::Invalid {
                reason: "wrong_audience",
            }),
        ),
        (
            "a missing scope",
            active(json!({"scope": "cad_incidents"})),
            Err(AuthError::InsufficientScope {
                required: "incident_events".into(),
            }),
        ),
    ];
    for (name, template, expected) in cases {
        let server = server_answering(template).await;
        let introspector = builder(&server)
            .require_scopes(["incident_events"])
            .allow_client_id("prepared-ecc-1")
            .allow_client_id("prepared-ecc-2")
            .audience("https://receiver.test")
            .build()
            .expect("builds");
        let result = introspector.introspect(TOKEN.as_bytes()).await.map(|_| ());
        assert_eq!(result, expected, "{name}");
    }
}

/// An authorization server that is down, slow, failing, refusing the receiver, or answering
/// nonsense: `503` with `Retry-After`, never `401`, never accepted.
#[tokio::test]
async fn an_unusable_server_gives_503_with_retry_after() {
    let cases = [
        (
            "5xx",
            ResponseTemplate::new(500),
            "introspection_server_error",
        ),
        (
            "502 with JSON",
            ResponseTemplate::new(502).set_body_json(json!({"active": true})),
            "introspection_server_error",
        ),
        (
            "401 to the receiver",
            ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client"})),
            "introspection_refused",
        ),
        (
            "active missing",
            ResponseTemplate::new(200).set_body_json(json!({"client_id": "x"})),
            "introspection_bad_answer",
        ),
        (
            "active as a string",
            ResponseTemplate::new(200).set_body_json(json!({"active": "true"})),
            "introspection_bad_answer",
        ),
        (
            "active as a number",
            ResponseTemplate::new(200).set_body_json(json!({"active": 1})),
            "introspection_bad_answer",
        ),
        (
            "not JSON",
            ResponseTemplate::new(200).set_body_raw("<html>", "text/html"),
            "introspection_bad_answer",
        ),
        (
            "empty",
            ResponseTemplate::new(200),
            "introspection_bad_answer",
        ),
        (
            "slow",
            active(json!({})).set_delay(Duration::from_secs(3)),
            "introspection_timeout",
        ),
    ];
    for (name, template, reason) in cases {
        let server = server_answering(template).await;
        let introspector = builder(&server)
            .retry_after(Duration::from_secs(7))
            .negative_cache(Duration::from_secs(30))
            .build()
            .expect("builds");
        let error = introspector
            .introspect(TOKEN.as_bytes())
            .await
            .expect_err(name);
        assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE, "{name}");
        assert_eq!(error.reason(), reason, "{name}");
        assert_eq!(error.retry_after(), Some(Duration::from_secs(7)), "{name}");
        // Nothing is cached: the next delivery asks again.
        let _ = introspector.introspect(TOKEN.as_bytes()).await;
        assert_eq!(calls(&server).await, 2, "{name}");
    }
}

#[tokio::test]
async fn an_unreachable_server_gives_503() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let address = listener.local_addr().expect("an address");
    drop(listener);
    let introspector = Introspector::builder(
        format!("http://{address}/introspect"),
        "receiver",
        ClientSecret::new("receiver-secret"),
    )
    .build()
    .expect("builds");
    let error = introspector
        .introspect(TOKEN.as_bytes())
        .await
        .expect_err("down");
    assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error.reason(), "introspection_unreachable");
}

#[tokio::test]
async fn accepted_tokens_are_cached_until_min_of_exp_and_max_ttl() {
    let server = server_answering(active(json!({}))).await;
    let introspector = builder(&server)
        .max_ttl(Duration::from_millis(300))
        .build()
        .expect("builds");
    for _ in 0..5 {
        introspector
            .introspect(TOKEN.as_bytes())
            .await
            .expect("accepted");
    }
    assert_eq!(calls(&server).await, 1, "cached");
    tokio::time::sleep(Duration::from_millis(400)).await;
    introspector
        .introspect(TOKEN.as_bytes())
        .await
        .expect("accepted");
    assert_eq!(calls(&server).await, 2, "asked again after max_ttl");

    // A token that expires in 1 s is cached no longer than that, whatever max_ttl says.
    let server = server_answering(active(json!({"exp": now() + 1}))).await;
    let introspector = builder(&server)
        .max_ttl(Duration::from_secs(600))
        .build()
        .expect("builds");
    introspector
        .introspect(TOKEN.as_bytes())
        .await
        .expect("accepted");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let _ = introspector.introspect(TOKEN.as_bytes()).await;
    assert_eq!(calls(&server).await, 2, "asked again after exp");
}

#[tokio::test]
async fn refused_tokens_are_cached_only_when_asked() {
    let inactive = || ResponseTemplate::new(200).set_body_json(json!({"active": false}));
    let server = server_answering(inactive()).await;
    let introspector = builder(&server).build().expect("builds");
    for _ in 0..3 {
        assert!(introspector.introspect(TOKEN.as_bytes()).await.is_err());
    }
    assert_eq!(calls(&server).await, 3, "no negative cache by default");

    let server = server_answering(inactive()).await;
    let introspector = builder(&server)
        .negative_cache(Duration::from_millis(200))
        .build()
        .expect("builds");
    for _ in 0..3 {
        assert_eq!(
            introspector.introspect(TOKEN.as_bytes()).await,
            Err(AuthError::Invalid { reason: "inactive" })
        );
    }
    assert_eq!(calls(&server).await, 1, "negative cache");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = introspector.introspect(TOKEN.as_bytes()).await;
    assert_eq!(calls(&server).await, 2, "the negative entry expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_requests_with_a_new_token_make_one_call() {
    let server = server_answering(active(json!({})).set_delay(Duration::from_millis(200))).await;
    let introspector = Arc::new(builder(&server).build().expect("builds"));
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let introspector = Arc::clone(&introspector);
            tokio::spawn(async move { introspector.introspect(TOKEN.as_bytes()).await })
        })
        .collect();
    for task in tasks {
        assert!(task.await.expect("joins").is_ok());
    }
    assert_eq!(calls(&server).await, 1);

    // The same for a refused token: one call, one answer for all.
    let server = server_answering(
        ResponseTemplate::new(200)
            .set_body_json(json!({"active": false}))
            .set_delay(Duration::from_millis(200)),
    )
    .await;
    let introspector = Arc::new(builder(&server).build().expect("builds"));
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let introspector = Arc::clone(&introspector);
            tokio::spawn(async move { introspector.introspect(b"another-token").await })
        })
        .collect();
    for task in tasks {
        assert!(task.await.expect("joins").is_err());
    }
    assert_eq!(calls(&server).await, 1);
    // A `MockServer` verifies itself on drop through a nested executor, which spins for ever
    // when tokio's cooperative budget of this poll is spent (the 2,000 joins spend it, in
    // about one run of eight): yield first, so that the drops start with a fresh budget.
    tokio::task::yield_now().await;
}

#[test]
fn the_client_secret_never_shows_in_debug() {
    let builder = Introspector::builder(
        "https://auth.test/introspect",
        "receiver",
        ClientSecret::new("receiver-secret-value"),
    );
    let shown = format!("{builder:?}");
    assert!(!shown.contains("receiver-secret-value"), "{shown}");
    let introspector = builder.build().expect("builds");
    let shown = format!("{introspector:?}");
    assert!(!shown.contains("receiver-secret-value"), "{shown}");
}

/// Through the pipeline: the authorization server is down, so the delivery is answered `503`
/// with `Retry-After`, before its body is read.
#[tokio::test]
async fn a_delivery_is_answered_503_when_the_server_cannot_be_asked() {
    let server = server_answering(ResponseTemplate::new(503)).await;
    let webhooks = Webhooks::builder()
        .authenticator(
            builder(&server)
                .retry_after(Duration::from_secs(9))
                .build()
                .expect("builds"),
        )
        .build()
        .expect("builds");
    let response = webhooks
        .handle(support::delivery_with_token(
            TOKEN,
            support::caller_location(1, 1),
        ))
        .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "9");
    assert!(response.headers().get("www-authenticate").is_none());
    let body: Value = serde_json::from_slice(response.body()).expect("JSON");
    assert_eq!(body["error"], "authorization_server_unavailable");
    assert_eq!(webhooks.stats().received, 0, "the body was not decoded");

    // Once it answers, the same delivery goes through.
    server.reset().await;
    Mock::given(method("POST"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .respond_with(active(json!({})))
        .mount(&server)
        .await;
    let response = webhooks
        .handle(support::delivery_with_token(
            TOKEN,
            support::caller_location(1, 1),
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}
