//! The pipeline with Redis dedup when Redis goes away and comes back: deliveries are answered
//! `503` with `Retry-After` while it is away (never processed, never acknowledged and dropped),
//! and processed once when it is back. Redis is reached through a TCP relay on loopback that
//! the test starts and stops.
//!
//! It needs a Redis, so it is `#[ignore]`d; `scripts/test.sh` runs it when `REDIS_URL` is set.

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::support::redis_target::{Target, on_both_targets};
use crate::support::relay::{redis_address, relay_port};
use crate::support::{bearer, caller_location, delivery};
use prepared_core::dedup::RedisDedupStore;
use prepared_core::event::CallerLocation;
use prepared_core::{AckMode, Webhooks};

on_both_targets!(immediate_mode_completes_the_redis_claim_after_the_answer);

/// Delivers `body` like Prepared retries it: until a `200`, for at most 5 s.
async fn retry_until_acknowledged(webhooks: &Webhooks, body: bytes::Bytes) -> u16 {
    let mut status = 0;
    for _ in 0..50 {
        status = webhooks
            .handle(delivery(body.clone()))
            .await
            .status()
            .as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    status
}

#[ignore = "needs Redis: set REDIS_URL and run scripts/test.sh"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_answers_503_and_redis_back_processes_once() {
    let url = std::env::var("REDIS_URL").expect("REDIS_URL: this test needs a Redis");
    let redis_address = redis_address(&url);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let store = RedisDedupStore::builder()
        .prefix(format!("prepared-test:{}:", uuid::Uuid::new_v4().simple()))
        .timeout(Duration::from_millis(300))
        .connect_lazy(&format!("redis://127.0.0.1:{port}/"))
        .expect("a Redis URL");
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let webhooks = Webhooks::builder()
        .authenticator(bearer())
        .dedup_store(store)
        // The callback runs before the answer, so that the duplicate check below is immediate.
        .ack_mode(AckMode::AfterProcessing)
        .on_caller_location(move |_location: CallerLocation| {
            counted.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, std::io::Error>(()) }
        })
        .build()
        .expect("builds");

    // Redis unreachable: 503 with Retry-After, nothing processed.
    let down = webhooks.handle(delivery(caller_location(9, 1))).await;
    assert_eq!(down.status(), 503);
    assert!(down.headers().contains_key("retry-after"));

    // Redis back: Prepared's retry is processed, its next retry is a duplicate.
    let relay_task = relay_port(port, redis_address.clone()).await;
    let status = retry_until_acknowledged(&webhooks, caller_location(9, 1)).await;
    assert_eq!(status, 200, "processed once Redis is back");
    let duplicate = webhooks.handle(delivery(caller_location(9, 1))).await;
    assert_eq!(support::body_json(duplicate).await["status"], "duplicate");

    // The connection drops mid-run: 503 again, then success after it is restored.
    relay_task.abort();
    let _ = relay_task.await;
    let dropped = webhooks.handle(delivery(caller_location(9, 2))).await;
    assert_eq!(dropped.status(), 503, "no dedup store, no acknowledgement");
    let _relay = relay_port(port, redis_address).await;
    let status = retry_until_acknowledged(&webhooks, caller_location(9, 2)).await;
    assert_eq!(status, 200, "processed after the reconnection");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "each event's callback ran exactly once"
    );
}

/// In the immediate mode with Redis dedup, the delivery is answered `queued`, the worker
/// completes the claim in Redis after the callback, and once that landed a redelivery is a
/// duplicate. The incident's next events are processed too.
async fn immediate_mode_completes_the_redis_claim_after_the_answer(target: Target) {
    let store = target
        .store(
            RedisDedupStore::builder()
                .prefix(format!("prepared-test:{}:", uuid::Uuid::new_v4().simple())),
        )
        .await;
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let webhooks = Webhooks::builder()
        .authenticator(bearer())
        .dedup_store(store)
        .on_caller_location(move |_location: CallerLocation| {
            counted.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, std::io::Error>(()) }
        })
        .build()
        .expect("builds");

    let first = webhooks.handle(delivery(caller_location(10, 1))).await;
    assert_eq!(first.status(), 200);
    assert_eq!(support::body_json(first).await["status"], "queued");
    let mut redelivery = String::new();
    for _ in 0..50 {
        let answer = webhooks.handle(delivery(caller_location(10, 1))).await;
        redelivery = support::body_json(answer).await["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if redelivery == "duplicate" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(redelivery, "duplicate", "the completion landed");
    for n in 2..=4 {
        assert_eq!(
            webhooks
                .handle(delivery(caller_location(10, n)))
                .await
                .status(),
            200
        );
    }
    support::eventually_async("the incident's next events", || {
        calls.load(Ordering::SeqCst) == 4
    })
    .await;
    assert_eq!(webhooks.stats().processed, 4);
}

/// Every command a `MONITOR` connection sees until `stop` is set, as Redis prints them.
pub(crate) async fn monitor(
    address: String,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> Vec<String> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connects for MONITOR");
    stream.write_all(b"MONITOR\r\n").await.expect("MONITOR");
    let mut lines = BufReader::new(stream).lines();
    let mut seen = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        match tokio::time::timeout(Duration::from_millis(50), lines.next_line()).await {
            Ok(Ok(Some(line))) => seen.push(line),
            Ok(_) => break,
            Err(_) => {}
        }
    }
    seen
}

/// One round trip to claim each new event and one to complete it, one to find a duplicate
/// done: counted with `MONITOR`, without the commands the scripts run inside Redis.
#[ignore = "needs Redis: set REDIS_URL and run scripts/test.sh"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_new_event_costs_two_round_trips_and_a_duplicate_one() {
    let url = std::env::var("REDIS_URL").expect("REDIS_URL: this test needs a Redis");
    let prefix = format!("prepared-test:{}:", uuid::Uuid::new_v4().simple());
    let store = RedisDedupStore::builder()
        .prefix(prefix.clone())
        .connect(&url)
        .await
        .expect("Redis is reachable");
    let webhooks = Webhooks::builder()
        .authenticator(bearer())
        .dedup_store(store)
        .on_caller_location(|_location: CallerLocation| async {})
        .build()
        .expect("builds");
    // Loads the scripts, so that the count has no `SCRIPT LOAD` or first `EVAL`.
    let warm_up = webhooks.handle(delivery(caller_location(12, 0))).await;
    assert_eq!(warm_up.status(), 200);
    support::eventually_async("the warm-up processed", || webhooks.stats().processed == 1).await;

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let monitored = tokio::spawn(monitor(redis_address(&url), Arc::clone(&stop)));
    tokio::time::sleep(Duration::from_millis(200)).await;
    for id in 1..=100 {
        let answer = webhooks.handle(delivery(caller_location(12, id))).await;
        assert_eq!(answer.status(), 200);
    }
    support::eventually_async("100 new events processed", || {
        webhooks.stats().processed == 101
    })
    .await;
    for id in 1..=40 {
        let answer = webhooks.handle(delivery(caller_location(12, id))).await;
        assert_eq!(support::body_json(answer).await["status"], "duplicate");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::SeqCst);
    let commands = monitored.await.expect("the monitor ran");

    let ours: Vec<&String> = commands
        .iter()
        .filter(|line| line.contains(&prefix) && !line.contains(" lua] "))
        .collect();
    assert_eq!(ours.len(), 240, "100 claims, 100 completions, 40 claims");
}
