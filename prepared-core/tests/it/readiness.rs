//! `Webhooks::readiness`: each check, its report and its answer.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use prepared_core::dedup::{
    Claim, ClaimToken, DedupError, DedupFuture, DedupStore, MemoryDedupStore,
};
use prepared_core::event::CallerLocation;
use prepared_core::readiness::CheckStatus;
use prepared_core::{DedupKey, Webhooks};
use tokio::sync::Semaphore;

use crate::support::{bearer, caller_location, delivery};

/// A memory store whose round trips fail while `down` is set.
#[derive(Default)]
struct Switchable {
    store: MemoryDedupStore,
    down: Arc<AtomicBool>,
}

impl Switchable {
    fn check(&self) -> Result<(), DedupError> {
        if self.down.load(Ordering::SeqCst) {
            Err(DedupError::unavailable("switched off", None))
        } else {
            Ok(())
        }
    }
}

impl DedupStore for Switchable {
    fn claim<'a>(&'a self, key: &'a DedupKey) -> DedupFuture<'a, Claim> {
        Box::pin(async move {
            self.check()?;
            self.store.claim(key).await
        })
    }

    fn complete<'a>(&'a self, key: &'a DedupKey, token: &'a ClaimToken) -> DedupFuture<'a, ()> {
        self.store.complete(key, token)
    }

    fn release<'a>(&'a self, key: &'a DedupKey, token: &'a ClaimToken) -> DedupFuture<'a, ()> {
        self.store.release(key, token)
    }

    fn ping(&self) -> DedupFuture<'_, ()> {
        Box::pin(std::future::ready(self.check()))
    }
}

#[tokio::test]
async fn a_receiver_with_its_defaults_is_ready_and_says_so_as_json() {
    let webhooks = Webhooks::builder()
        .authenticator(bearer())
        .build()
        .expect("builds");
    let report = webhooks.readiness().await;
    assert!(report.ready);
    let response = report.to_response();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: serde_json::Value = serde_json::from_slice(response.body()).expect("JSON");
    assert_eq!(
        body,
        serde_json::json!({
            "ready": true,
            "checks": {
                "dedup_store": "ok", "delivery_log": "ok", "queue": "ok", "receiver": "ok",
            },
            "queue": {"depth": 0, "capacity": 4096},
        })
    );
}

#[tokio::test]
async fn an_unreachable_dedup_store_makes_the_receiver_unready_until_it_returns() {
    let store = Switchable::default();
    let down = Arc::clone(&store.down);
    let webhooks = Webhooks::builder()
        .authenticator(bearer())
        .dedup_store(store)
        .build()
        .expect("builds");
    assert!(webhooks.readiness().await.ready);

    down.store(true, Ordering::SeqCst);
    // A passing round trip is reused for a second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let report = webhooks.readiness().await;
    assert!(!report.ready);
    assert_eq!(report.check("dedup_store"), Some(CheckStatus::Unreachable));
    assert_eq!(report.check("receiver"), Some(CheckStatus::Ok));
    let response = report.to_response();
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = serde_json::from_slice(response.body()).expect("JSON");
    assert_eq!(body["checks"]["dedup_store"], "unreachable");
    assert_eq!(body["ready"], false);

    down.store(false, Ordering::SeqCst);
    // A failing one only for 250 ms.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(webhooks.readiness().await.ready);
}

#[tokio::test]
async fn a_queue_nine_tenths_full_makes_the_receiver_unready() {
    let gate = Arc::new(Semaphore::new(0));
    let callback_gate = Arc::clone(&gate);
    let webhooks = Webhooks::builder()
        .authenticator(bearer())
        .workers(1)
        .queue_capacity(10)
        .on_caller_location(move |_: CallerLocation| {
            let gate = Arc::clone(&callback_gate);
            async move {
                let _permit = gate.acquire().await;
                Ok::<_, Infallible>(())
            }
        })
        .build()
        .expect("builds");
    // One event held by the worker, nine waiting.
    for id in 0..10 {
        let response = webhooks.handle(delivery(caller_location(1, id))).await;
        assert_eq!(response.status(), 200);
    }
    crate::support::eventually_async("the worker took one", || webhooks.stats().queue_depth == 9)
        .await;
    let report = webhooks.readiness().await;
    assert_eq!(report.check("queue"), Some(CheckStatus::Full));
    let fill = report.queue.expect("a queue fill");
    assert_eq!((fill.depth, fill.capacity), (9, 10));
    assert!(!report.ready);

    gate.add_permits(100);
    crate::support::eventually_async("the queue drained", || webhooks.stats().processed == 10)
        .await;
    assert!(webhooks.readiness().await.ready);
}

#[tokio::test]
async fn a_receiver_shutting_down_is_not_ready() {
    let webhooks = Webhooks::builder()
        .authenticator(bearer())
        .build()
        .expect("builds");
    webhooks.shutdown(Duration::from_secs(1)).await;
    let report = webhooks.readiness().await;
    assert!(!report.ready);
    assert_eq!(report.check("receiver"), Some(CheckStatus::ShuttingDown));
    assert!(!webhooks.is_accepting());
}

#[cfg(feature = "oauth")]
mod authorization_server {
    use prepared_core::Webhooks;
    use prepared_core::auth::{AnyOf, ClientSecret, Introspector, JwtValidator};
    use prepared_core::readiness::CheckStatus;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use crate::support::bearer;
    use crate::support::oauth::{AUDIENCE, jwk, jwks};

    async fn check(webhooks: &Webhooks) -> Option<CheckStatus> {
        webhooks.readiness().await.check("authorization_server")
    }

    #[tokio::test]
    async fn static_tokens_have_no_authorization_server_to_check() {
        let webhooks = Webhooks::builder()
            .authenticator(bearer())
            .build()
            .expect("builds");
        assert_eq!(check(&webhooks).await, None);
    }

    #[tokio::test]
    async fn a_jwks_is_fetched_by_the_check_and_its_outage_shows() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/jwks"))
            .respond_with(ResponseTemplate::new(200).set_body_json(jwks(&[jwk(
                "rsa_a",
                jsonwebtoken::Algorithm::RS256,
                "rsa-a",
            )])))
            .mount(&server)
            .await;
        let validator = JwtValidator::jwks(format!("{}/jwks", server.uri()))
            .audience(AUDIENCE)
            .build()
            .expect("builds");
        // Behind AnyOf with static tokens, as during a migration.
        let webhooks = Webhooks::builder()
            .authenticator(AnyOf::new(bearer()).or(validator))
            .build()
            .expect("builds");
        assert_eq!(check(&webhooks).await, Some(CheckStatus::Ok));
        assert_eq!(server.received_requests().await.map(|r| r.len()), Some(1));

        let down = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(500))
            .mount(&down)
            .await;
        let validator = JwtValidator::jwks(format!("{}/jwks", down.uri()))
            .audience(AUDIENCE)
            .build()
            .expect("builds");
        let webhooks = Webhooks::builder()
            .authenticator(validator)
            .build()
            .expect("builds");
        let report = webhooks.readiness().await;
        assert_eq!(
            report.check("authorization_server"),
            Some(CheckStatus::Unreachable)
        );
        assert!(!report.ready);
        let body = String::from_utf8(report.to_response().body().to_vec()).expect("UTF-8");
        assert!(!body.contains("127.0.0.1"), "no address in {body}");
    }

    #[tokio::test]
    async fn an_introspection_endpoint_is_asked_when_it_did_not_answer_lately() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/introspect"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(serde_json::json!({"active": false})),
            )
            .mount(&server)
            .await;
        let introspector = |url: String| {
            Introspector::builder(url, "receiver", ClientSecret::new("receiver-secret-1"))
                .build()
                .expect("builds")
        };
        let webhooks = Webhooks::builder()
            .authenticator(introspector(format!("{}/introspect", server.uri())))
            .build()
            .expect("builds");
        assert_eq!(check(&webhooks).await, Some(CheckStatus::Ok));
        // It answered: the next checks within a minute ask it nothing.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        assert_eq!(check(&webhooks).await, Some(CheckStatus::Ok));
        assert_eq!(server.received_requests().await.map(|r| r.len()), Some(1));

        // Nothing listens on a port just freed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let webhooks = Webhooks::builder()
            .authenticator(introspector(format!("http://127.0.0.1:{port}/introspect")))
            .build()
            .expect("builds");
        assert_eq!(check(&webhooks).await, Some(CheckStatus::Unreachable));
    }
}

#[cfg(feature = "redis")]
mod redis {
    use std::time::{Duration, Instant};

    use prepared_core::dedup::{DedupStore, RedisDedupStore};

    #[tokio::test]
    async fn the_ping_of_a_redis_store_with_nothing_behind_it_fails_quickly() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let store = RedisDedupStore::builder()
            .connect_lazy(&format!("redis://127.0.0.1:{port}/"))
            .expect("a lazy store");
        let started = Instant::now();
        assert!(store.ping().await.is_err());
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    #[ignore = "needs Redis: set REDIS_URL and run scripts/test.sh"]
    async fn the_ping_of_a_redis_store_answers() {
        let url = std::env::var("REDIS_URL").expect("REDIS_URL is set");
        let store = RedisDedupStore::connect(&url).await.expect("connects");
        store.ping().await.expect("PONG");
        let queue = prepared_core::delivery::RedisStreamQueue::connect(&store)
            .await
            .expect("connects")
            .prefix(format!("prepared-test:{}:", uuid::Uuid::new_v4().simple()))
            .lanes(1);
        let webhooks = prepared_core::Webhooks::builder()
            .authenticator(crate::support::bearer())
            .durable_queue(queue)
            .build()
            .expect("builds");
        let report = webhooks.readiness().await;
        assert!(report.ready, "{report:?}");
        for check in ["dedup_store", "durable_queue"] {
            assert_eq!(
                report.check(check),
                Some(prepared_core::readiness::CheckStatus::Ok),
                "{check}"
            );
        }
        // The durable queue has no fill in memory.
        assert_eq!(report.check("queue"), None);
        webhooks.shutdown(Duration::from_secs(1)).await;
    }
}
