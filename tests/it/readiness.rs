//! `GET /ready` through both adapters, against a Redis of the test's own that it stops and
//! starts: the receiver turns `503` within 2 s of Redis stopping and `200` within 2 s of its
//! return. Needs `redis-server` on the PATH; `#[ignore]`d like every Redis test, run by
//! `scripts/test.sh` when `REDIS_URL` is set.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use prepared_core::dedup::RedisDedupStore;

use crate::support::{FRAMEWORKS, PATH, Recorded, TOKEN, builder, serve};

/// A `redis-server` on a loopback port, without persistence, killed when dropped.
struct OwnRedis {
    port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    fn on_free_port() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let mut redis = Self { port, child: None };
        redis.start();
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn start(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server runs (install redis-server)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Polls `GET /ready` every 20 ms until it answers `status`; how long that took.
async fn until_ready_is(client: &reqwest::Client, base: &str, status: u16) -> Duration {
    let started = Instant::now();
    loop {
        let answer = client.get(format!("{base}/ready")).send().await;
        if let Ok(answer) = answer
            && answer.status().as_u16() == status
        {
            let body: serde_json::Value = answer.json().await.expect("a JSON report");
            assert_eq!(body["ready"], status == 200, "{body}");
            let expected = if status == 200 { "ok" } else { "unreachable" };
            assert_eq!(body["checks"]["dedup_store"], expected, "{body}");
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "/ready never answered {status}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Redis: set REDIS_URL and run scripts/test.sh"]
async fn ready_follows_redis_within_two_seconds_in_both_frameworks() {
    let client = reqwest::Client::new();
    for framework in FRAMEWORKS {
        let mut redis = OwnRedis::on_free_port();
        let store = RedisDedupStore::connect(&redis.url())
            .await
            .expect("connects");
        let webhooks = builder(&Recorded::default())
            .dedup_store(store)
            .build()
            .expect("builds");
        let base = serve(framework, webhooks.clone()).await;
        until_ready_is(&client, &base, 200).await;

        redis.stop();
        let down = until_ready_is(&client, &base, 503).await;
        // A delivery meanwhile is a 503 counted against the dedup store.
        let delivery = client
            .post(format!("{base}{PATH}"))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(prepared_webhooks::EXAMPLE_PAYLOADS[3].1)
            .send()
            .await
            .expect("answered");
        assert_eq!(delivery.status(), 503, "{framework:?}");
        assert_eq!(webhooks.stats().dependency_failures.dedup_store, 1);
        redis.start();
        let up = until_ready_is(&client, &base, 200).await;
        eprintln!("{framework:?}: /ready 503 after {down:?}, 200 again after {up:?}");
        assert!(
            down < Duration::from_secs(2),
            "{framework:?}: 503 after {down:?}"
        );
        assert!(
            up < Duration::from_secs(2),
            "{framework:?}: 200 after {up:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Redis: set REDIS_URL and run scripts/test.sh"]
async fn a_durable_queue_outage_shows_in_ready_and_in_the_counters() {
    let client = reqwest::Client::new();
    let mut redis = OwnRedis::on_free_port();
    // The durable queue lives in its dedup store's Redis: one outage takes both.
    let store = prepared_core::dedup::RedisDedupStore::connect(&redis.url())
        .await
        .expect("connects");
    let queue = prepared_core::delivery::RedisStreamQueue::connect(&store)
        .await
        .expect("connects")
        .lanes(2);
    let webhooks = builder(&Recorded::default())
        .durable_queue(queue)
        .build()
        .expect("builds");
    let base = serve(crate::support::Framework::Axum, webhooks.clone()).await;
    let ready: serde_json::Value = client
        .get(format!("{base}/ready"))
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("JSON");
    assert_eq!(ready["checks"]["durable_queue"], "ok", "{ready}");

    redis.stop();
    let started = Instant::now();
    loop {
        let answer = client
            .get(format!("{base}/ready"))
            .send()
            .await
            .expect("answered");
        if answer.status() == 503 {
            let body: serde_json::Value = answer.json().await.expect("JSON");
            assert_eq!(body["checks"]["durable_queue"], "unreachable", "{body}");
            assert_eq!(body["checks"]["dedup_store"], "unreachable", "{body}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(2), "still ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let posted = Instant::now();
    let delivery = client
        .post(format!("{base}{PATH}"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(prepared_webhooks::EXAMPLE_PAYLOADS[3].1)
        .send()
        .await
        .expect("answered");
    assert_eq!(delivery.status(), 503);
    // The claim-and-append script runs under the store's timeout (1 s, one retry).
    let waited = posted.elapsed();
    assert!(waited < Duration::from_secs(3), "503 after {waited:?}");
    let failures = webhooks.stats().dependency_failures;
    assert_eq!((failures.durable_queue, failures.dedup_store), (1, 0));
    webhooks.shutdown(Duration::from_millis(200)).await;
}
