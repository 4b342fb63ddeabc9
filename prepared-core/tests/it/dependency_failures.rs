//! A dependency that fails deliveries is counted and logged at `warn`, once per second per
//! dependency, with the dependency and the error's kind, and no secret.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prepared_core::DedupKey;
use prepared_core::Webhooks;
use prepared_core::dedup::{
    Claim, ClaimToken, DedupError, DedupFuture, DedupStore, MemoryDedupStore,
};
use prepared_core::event::CallerLocation;
use prepared_core::readiness::Dependency;

use crate::support::{TOKEN, bearer, caller_location, delivery};

/// Every line the subscriber wrote.
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

impl Captured {
    fn warn_lines(&self) -> Vec<String> {
        let text = String::from_utf8(self.0.lock().expect("lock").clone()).expect("UTF-8");
        text.lines()
            .filter(|line| line.contains("WARN") && line.contains("a dependency failed"))
            .map(str::to_owned)
            .collect()
    }
}

/// A store whose claims fail, with an error whose source names the cause, while `down`.
#[derive(Default)]
struct Failing {
    store: MemoryDedupStore,
    down: AtomicBool,
}

impl DedupStore for Failing {
    fn claim<'a>(&'a self, key: &'a DedupKey) -> DedupFuture<'a, Claim> {
        Box::pin(async move {
            if self.down.load(Ordering::SeqCst) {
                let cause = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
                return Err(DedupError::unavailable(
                    "claim failed",
                    Some(Box::new(cause)),
                ));
            }
            self.store.claim(key).await
        })
    }

    fn complete<'a>(&'a self, key: &'a DedupKey, token: &'a ClaimToken) -> DedupFuture<'a, ()> {
        self.store.complete(key, token)
    }

    fn release<'a>(&'a self, key: &'a DedupKey, token: &'a ClaimToken) -> DedupFuture<'a, ()> {
        self.store.release(key, token)
    }
}

#[tokio::test(flavor = "current_thread")]
async fn an_outage_is_one_warn_line_per_second_and_every_failure_is_counted() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // As in auth_introspection.rs: a second dispatcher and a rebuilt interest cache, so that
    // a callsite first hit on another test's thread is not silenced here.
    let _second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
    tracing::callsite::rebuild_interest_cache();

    let store = Arc::new(Failing::default());
    let webhooks = Webhooks::builder()
        .authenticator(bearer())
        .dedup_store(Arc::clone(&store))
        .on_caller_location(|_: CallerLocation| async {})
        .build()
        .expect("builds");
    assert_eq!(
        webhooks
            .handle(delivery(caller_location(1, 0)))
            .await
            .status(),
        200
    );

    store.down.store(true, Ordering::SeqCst);
    for id in 1..=50 {
        let response = webhooks.handle(delivery(caller_location(1, id))).await;
        assert_eq!(response.status(), 503);
    }
    let lines = captured.warn_lines();
    assert_eq!(lines.len(), 1, "one line for the window: {lines:#?}");
    let line = &lines[0];
    assert!(line.contains("dependency=\"dedup_store\""), "{line}");
    assert!(line.contains("kind=\"unavailable\""), "{line}");
    assert!(line.contains("suppressed=0"), "{line}");
    assert!(line.contains("claim failed: refused"), "the cause: {line}");
    let failures = webhooks.stats().dependency_failures;
    assert_eq!(failures.dedup_store, 50);
    assert_eq!(failures.get(Dependency::DedupStore), 50);
    assert_eq!(failures.authorization_server, 0);

    // The next window: one more line, saying how many the first one left unlogged.
    tokio::time::sleep(Duration::from_millis(1050)).await;
    for id in 51..=60 {
        let response = webhooks.handle(delivery(caller_location(1, id))).await;
        assert_eq!(response.status(), 503);
    }
    let lines = captured.warn_lines();
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(lines[1].contains("suppressed=49"), "{}", lines[1]);
    assert_eq!(webhooks.stats().dependency_failures.dedup_store, 60);

    let everything = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("UTF-8");
    assert!(!everything.contains(TOKEN), "the token reached the log");
    assert!(
        !everything.contains("37.7749"),
        "a coordinate reached the log"
    );
}

#[cfg(feature = "oauth")]
#[tokio::test(flavor = "current_thread")]
async fn an_authorization_server_that_cannot_be_asked_is_counted_with_its_reason() {
    use prepared_core::auth::{ClientSecret, Introspector};
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let introspector = Introspector::builder(
        format!("http://127.0.0.1:{port}/introspect"),
        "receiver",
        ClientSecret::new("receiver-secret-never-logged"),
    )
    .build()
    .expect("builds");
    let webhooks = Webhooks::builder()
        .authenticator(introspector)
        .build()
        .expect("builds");
    for id in 0..3 {
        let response = webhooks.handle(delivery(caller_location(1, id))).await;
        assert_eq!(response.status(), 503);
    }
    assert_eq!(webhooks.stats().dependency_failures.authorization_server, 3);
}
