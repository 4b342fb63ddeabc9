//! The Redis dedup store against a real Redis: `REDIS_URL=redis://127.0.0.1:6379/ cargo test
//! -p prepared-core --features redis --test dedup_redis`. The tests that need a server
//! are `#[ignore]`d, so a plain `cargo test` reports them as ignored; `scripts/test.sh` runs
//! them (`--include-ignored`) when `REDIS_URL` is set. The behaviour tests run twice, as
//! `single::<name>` against `REDIS_URL` and `cluster::<name>` against the Redis Cluster of
//! `REDIS_CLUSTER_NODES` (which `scripts/test.sh` starts). The ones about an unreachable
//! Redis always run. Every test uses its own random key prefix, and its keys expire within
//! minutes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use prepared_core::dedup::{
    Claim, ClaimToken, DedupConfig, DedupError, DedupStore, RedisDedupStore,
};
use prepared_core::{DedupKey, Event};
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use tokio::sync::Barrier;
use uuid::Uuid;

use crate::support::redis_target::{Target, on_both_targets};

on_both_targets!(
    claim_complete_then_duplicates_are_done,
    release_lets_the_next_delivery_claim_again,
    the_key_layout_is_prefix_key_and_the_expiries_are_the_config,
    a_value_the_store_did_not_write_is_left_alone,
    claims_and_done_keys_expire,
    an_expired_claim_taken_over_is_fenced_off,
    sixty_four_concurrent_claims_of_one_event_give_one_claim,
    many_keys_in_parallel_are_each_claimed_once,
);

/// The Redis to test against. The tests that call this are `#[ignore]`d: a plain `cargo test`
/// lists them as ignored, and `scripts/test.sh` runs them when `REDIS_URL` is set.
fn redis_url() -> Option<String> {
    let url = std::env::var("REDIS_URL")
        .ok()
        .filter(|url| !url.is_empty());
    assert!(
        url.is_some(),
        "REDIS_URL is not set: these tests need a Redis"
    );
    url
}

/// A distinct `caller_location` event per `n`.
fn key(n: u64) -> DedupKey {
    let body = format!(
        r#"{{"type": "caller_location", "id": "550e8400-e29b-41d4-a716-{n:012x}",
            "incident_id": "550e8400-e29b-41d4-a716-446655440000", "lat": 1.0, "lng": 2.0}}"#
    );
    Event::decode(body.as_bytes())
        .expect("a valid caller_location")
        .dedup_key()
}

fn prefix() -> String {
    format!("prepared-test:{}:", Uuid::new_v4().simple())
}

fn config(claim_ttl: Duration, retention: Duration) -> DedupConfig {
    DedupConfig::builder()
        .claim_ttl(claim_ttl)
        .retention(retention)
        .build()
}

async fn store(target: &Target, prefix: &str, config: DedupConfig) -> RedisDedupStore {
    target
        .store(RedisDedupStore::builder().prefix(prefix).config(config))
        .await
}

/// A second connection, to look at the keys and to kill the store's connection.
async fn raw(url: &str) -> MultiplexedConnection {
    redis::Client::open(url)
        .expect("a valid URL")
        .get_multiplexed_async_connection()
        .await
        .expect("connects")
}

async fn claimed(store: &impl DedupStore, key: &DedupKey) -> ClaimToken {
    match store.claim(key).await.expect("the store answers") {
        Claim::Claimed(token) => token,
        other => panic!("expected a claim of {key}, got {other:?}"),
    }
}

async fn claim(store: &impl DedupStore, key: &DedupKey) -> Claim {
    store.claim(key).await.expect("the store answers")
}

async fn claim_complete_then_duplicates_are_done(target: Target) {
    let store = store(
        &target,
        &prefix(),
        config(Duration::from_secs(60), Duration::from_secs(60)),
    )
    .await;
    let key = key(1);
    let token = claimed(&store, &key).await;
    assert_eq!(claim(&store, &key).await, Claim::InFlight);
    store.complete(&key, &token).await.expect("completes");
    assert_eq!(claim(&store, &key).await, Claim::Done);
    store.complete(&key, &token).await.expect("completes again");
    assert_eq!(claim(&store, &key).await, Claim::Done);
    assert!(
        claim(&store, &self::key(2)).await.is_claimed(),
        "keys are independent"
    );
}

async fn release_lets_the_next_delivery_claim_again(target: Target) {
    let store = store(
        &target,
        &prefix(),
        config(Duration::from_secs(60), Duration::from_secs(60)),
    )
    .await;
    let key = key(1);
    let first = claimed(&store, &key).await;
    store.release(&key, &first).await.expect("releases");
    let second = claimed(&store, &key).await;
    assert_ne!(first, second);
    store
        .release(&key, &first)
        .await
        .expect("a stale token is a no-op");
    assert_eq!(claim(&store, &key).await, Claim::InFlight);
    store.complete(&key, &second).await.expect("completes");
    store
        .release(&key, &second)
        .await
        .expect("a no-op on a done key");
    assert_eq!(claim(&store, &key).await, Claim::Done);
}

async fn the_key_layout_is_prefix_key_and_the_expiries_are_the_config(target: Target) {
    assert_eq!(RedisDedupStore::DEFAULT_PREFIX, "prepared:dedup:");
    let prefix = prefix();
    let store = store(
        &target,
        &prefix,
        config(Duration::from_secs(30), Duration::from_secs(90)),
    )
    .await;
    let mut raw = target.raw().await;
    let key = key(1);
    let redis_key = format!("{prefix}{key}");

    let token = claimed(&store, &key).await;
    let value: String = raw.get(&redis_key).await.expect("GET");
    assert_eq!(value, format!("inflight:{token}"));
    let ttl: i64 = raw.pttl(&redis_key).await.expect("PTTL");
    assert!((25_000..=30_000).contains(&ttl), "claim PTTL {ttl}");

    store.complete(&key, &token).await.expect("completes");
    let value: String = raw.get(&redis_key).await.expect("GET");
    assert_eq!(value, "done");
    let ttl: i64 = raw.pttl(&redis_key).await.expect("PTTL");
    assert!((85_000..=90_000).contains(&ttl), "done PTTL {ttl}");

    store.release(&key, &token).await.expect("a no-op");
    let exists: bool = raw.exists(&redis_key).await.expect("EXISTS");
    assert!(exists, "release does not delete a done key");
}

async fn a_value_the_store_did_not_write_is_left_alone(target: Target) {
    let prefix = prefix();
    let store = store(
        &target,
        &prefix,
        config(Duration::from_secs(60), Duration::from_secs(60)),
    )
    .await;
    let mut raw = target.raw().await;
    let key = key(1);
    let redis_key = format!("{prefix}{key}");
    let () = raw
        .set_ex(&redis_key, "something else", 60)
        .await
        .expect("SET");
    assert_eq!(claim(&store, &key).await, Claim::InFlight);
    store
        .complete(&key, &ClaimToken::new(1))
        .await
        .expect("a no-op");
    store
        .release(&key, &ClaimToken::new(1))
        .await
        .expect("a no-op");
    let value: String = raw.get(&redis_key).await.expect("GET");
    assert_eq!(value, "something else");
}

async fn claims_and_done_keys_expire(target: Target) {
    let ttl = Duration::from_millis(300);
    let store = store(&target, &prefix(), config(ttl, ttl)).await;
    let (crashed, done) = (key(1), key(2));
    let _ = claimed(&store, &crashed).await;
    let token = claimed(&store, &done).await;
    store.complete(&done, &token).await.expect("completes");
    assert_eq!(claim(&store, &crashed).await, Claim::InFlight);
    assert_eq!(claim(&store, &done).await, Claim::Done);
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    assert!(
        claim(&store, &crashed).await.is_claimed(),
        "the crashed worker's claim expired"
    );
    assert!(
        claim(&store, &done).await.is_claimed(),
        "the retention ended"
    );
}

async fn an_expired_claim_taken_over_is_fenced_off(target: Target) {
    let ttl = Duration::from_millis(300);
    let store = store(&target, &prefix(), config(ttl, Duration::from_secs(60))).await;
    let key = key(1);
    let slow = claimed(&store, &key).await;
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    let taker = claimed(&store, &key).await;
    assert_ne!(slow, taker);

    store.release(&key, &slow).await.expect("a no-op");
    assert_eq!(claim(&store, &key).await, Claim::InFlight);
    store.complete(&key, &slow).await.expect("a no-op");
    assert_eq!(
        claim(&store, &key).await,
        Claim::InFlight,
        "the taker still decides"
    );

    // The taker fails and releases; the slow worker's success is then recorded.
    store.release(&key, &taker).await.expect("releases");
    store.complete(&key, &slow).await.expect("completes");
    assert_eq!(claim(&store, &key).await, Claim::Done);
}

async fn sixty_four_concurrent_claims_of_one_event_give_one_claim(target: Target) {
    let store: Arc<dyn DedupStore> = Arc::new(
        store(
            &target,
            &prefix(),
            config(Duration::from_secs(60), Duration::from_secs(60)),
        )
        .await,
    );
    for round in 0..10 {
        let key = Arc::new(key(round));
        let barrier = Arc::new(Barrier::new(64));
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                let (store, key, barrier) =
                    (Arc::clone(&store), Arc::clone(&key), Arc::clone(&barrier));
                tokio::spawn(async move {
                    barrier.wait().await;
                    store.claim(&key).await.expect("the store answers")
                })
            })
            .collect();
        let mut claims = Vec::new();
        for task in tasks {
            claims.push(task.await.expect("no panic"));
        }
        let winners: Vec<_> = claims.iter().filter_map(Claim::token).collect();
        assert_eq!(winners.len(), 1, "round {round}: {claims:?}");
        store.complete(&key, winners[0]).await.expect("completes");
        assert_eq!(store.claim(&key).await.expect("answers"), Claim::Done);
    }
}

async fn many_keys_in_parallel_are_each_claimed_once(target: Target) {
    const KEYS: u64 = 1000;
    let store = Arc::new(
        store(
            &target,
            &prefix(),
            config(Duration::from_secs(60), Duration::from_secs(60)),
        )
        .await,
    );
    let tasks: Vec<_> = (0..4u64)
        .map(|task| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let mut won = 0;
                for n in 0..KEYS {
                    // Two tasks go forward, two backward: each key is claimed four times.
                    let index = if task % 2 == 0 { n } else { KEYS - 1 - n };
                    let key = key(index);
                    if let Claim::Claimed(token) = store.claim(&key).await.expect("answers") {
                        store.complete(&key, &token).await.expect("completes");
                        won += 1;
                    }
                }
                won
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.expect("no panic");
    }
    assert_eq!(total, KEYS, "each key claimed exactly once");
}

/// A port nobody listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    listener.local_addr().expect("an address").port()
}

#[tokio::test]
async fn an_unreachable_redis_is_unavailable_not_a_claim() {
    // Needs no Redis: it runs without REDIS_URL too.
    let url = format!("redis://127.0.0.1:{}/", closed_port());
    let started = Instant::now();
    let error = RedisDedupStore::builder()
        .timeout(Duration::from_millis(200))
        .connect_timeout(Duration::from_millis(500))
        .connect(&url)
        .await
        .expect_err("nobody listens");
    assert!(matches!(error, DedupError::Unavailable { .. }), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(2));

    // A lazy store starts anyway, and every operation is a 503 within the timeout.
    let store = RedisDedupStore::builder()
        .timeout(Duration::from_millis(200))
        .connect_lazy(&url)
        .expect("starts without Redis");
    let key = key(1);
    for _ in 0..3 {
        let started = Instant::now();
        let error = store.claim(&key).await.expect_err("unreachable");
        assert!(matches!(error, DedupError::Unavailable { .. }), "{error:?}");
        assert_eq!(error.status(), http::StatusCode::SERVICE_UNAVAILABLE);
        assert!(error.retry_after() > Duration::ZERO);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }
    let token = ClaimToken::new(1);
    assert!(matches!(
        store.complete(&key, &token).await,
        Err(DedupError::Unavailable { .. })
    ));
    assert!(matches!(
        store.release(&key, &token).await,
        Err(DedupError::Unavailable { .. })
    ));
    assert!(
        !format!("{store:?}").contains("127.0.0.1"),
        "Debug does not show the address"
    );
}

#[tokio::test]
async fn a_redis_that_does_not_answer_times_out() {
    // A listener that never accepts: the TCP handshake succeeds, no answer ever comes.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let url = format!(
        "redis://127.0.0.1:{}/",
        silent.local_addr().expect("an address").port()
    );
    let store = RedisDedupStore::builder()
        .timeout(Duration::from_millis(200))
        .connect_lazy(&url)
        .expect("starts");
    let started = Instant::now();
    let error = store.claim(&key(1)).await.expect_err("no answer");
    assert!(matches!(error, DedupError::Unavailable { .. }), "{error:?}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_invalid_url_is_an_error_that_does_not_quote_it() {
    let error = RedisDedupStore::builder()
        .connect_lazy("nope://user:secret@host/")
        .expect_err("not a redis URL");
    assert!(!error.to_string().contains("secret"));
    let source = std::error::Error::source(&error)
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(!source.contains("secret"), "{source}");
}

#[tokio::test]
async fn an_invalid_cluster_node_is_an_error_that_does_not_quote_it() {
    let error = RedisDedupStore::builder()
        .connect_cluster(["nope://user:secret@host/"])
        .await
        .expect_err("not a redis URL");
    assert!(matches!(error, DedupError::Unavailable { .. }), "{error:?}");
    assert!(!error.to_string().contains("secret"));
    let source = std::error::Error::source(&error)
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(!source.contains("secret"), "{source}");
    let none = RedisDedupStore::connect_cluster(Vec::<String>::new())
        .await
        .expect_err("no node");
    assert!(none.to_string().contains("no Redis Cluster node"), "{none}");
}

#[ignore = "needs Redis: set REDIS_URL and run scripts/test.sh"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_killed_mid_run_is_replaced() {
    let Some(url) = redis_url() else { return };
    let manager = ConnectionManager::new_with_config(
        redis::Client::open(url.as_str()).expect("a valid URL"),
        ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(1))),
    )
    .await
    .expect("connects");
    let mut probe = manager.clone();
    let store = Arc::new(
        RedisDedupStore::builder()
            .prefix(prefix())
            .config(config(Duration::from_secs(60), Duration::from_secs(60)))
            .with_connection_manager(manager),
    );
    let mut killer = raw(&url).await;

    let (held, done, contended) = (key(1), key(2), key(3));
    let held_token = claimed(&*store, &held).await;
    let done_token = claimed(&*store, &done).await;
    store.complete(&done, &done_token).await.expect("completes");

    let before: i64 = redis::cmd("CLIENT")
        .arg("ID")
        .query_async(&mut probe)
        .await
        .expect("CLIENT ID");
    // Kill the store's connection, and only it (others share this Redis); then 64 deliveries
    // of one event race on the dead connection.
    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("ID")
        .arg(before)
        .query_async(&mut killer)
        .await
        .expect("CLIENT KILL");
    assert_eq!(killed, 1);
    let barrier = Arc::new(Barrier::new(64));
    let racers: Vec<_> = (0..64)
        .map(|_| {
            let (store, key, barrier) =
                (Arc::clone(&store), contended.clone(), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                store.claim(&key).await
            })
        })
        .collect();
    let (mut winners, mut unavailable) = (0, 0);
    for racer in racers {
        match racer.await.expect("no panic") {
            Ok(Claim::Claimed(_)) => winners += 1,
            Ok(_) => {}
            Err(error) => {
                assert!(matches!(error, DedupError::Unavailable { .. }), "{error:?}");
                unavailable += 1;
            }
        }
    }
    assert!(winners <= 1, "{winners} claims of one event");
    if unavailable == 0 {
        assert_eq!(
            winners, 1,
            "the dropped connection was retried on the new one"
        );
    }

    // The manager reconnects: the next operations succeed (allowing a few 503s meanwhile),
    // and what was recorded before the kill is still there.
    let deadline = Instant::now() + Duration::from_secs(5);
    let fresh = key(4);
    let mut retries = 0;
    let token = loop {
        match store.claim(&fresh).await {
            Ok(Claim::Claimed(token)) => break token,
            Ok(other) => panic!("a new key answered {other:?}"),
            Err(DedupError::Unavailable { .. }) if Instant::now() < deadline => {
                retries += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => panic!("not recovered: {error:?}"),
        }
    };
    store.complete(&fresh, &token).await.expect("completes");
    assert_eq!(claim(&*store, &fresh).await, Claim::Done);
    assert_eq!(claim(&*store, &held).await, Claim::InFlight);
    assert_eq!(claim(&*store, &done).await, Claim::Done);
    store
        .complete(&held, &held_token)
        .await
        .expect("completes the claim taken before the kill");
    assert_eq!(claim(&*store, &held).await, Claim::Done);
    if winners == 0 {
        // The winning claim's answer may have been lost: the key is then in flight under a
        // token nobody holds, never claimable twice.
        assert_ne!(claim(&*store, &contended).await, Claim::Done);
    }

    let after: i64 = redis::cmd("CLIENT")
        .arg("ID")
        .query_async(&mut probe)
        .await
        .expect("CLIENT ID");
    assert_ne!(before, after, "a new connection");
    eprintln!(
        "connection {before} killed, then 64 racing claims: {winners} claimed, {unavailable} \
         answered 503; {retries} failed claims before recovery; now connection {after}"
    );
}

/// A Redis Cluster node given to the single-server client is refused at start-up with a
/// typed error, not answered with `MOVED` (`503`s) later; the cluster client takes it.
#[ignore = "needs a Redis Cluster: set REDIS_CLUSTER_NODES (scripts/test.sh starts one when REDIS_URL is set)"]
#[tokio::test]
async fn a_cluster_node_given_to_the_single_server_client_fails_at_start_up() {
    let Target::Cluster(nodes) = Target::cluster() else {
        unreachable!("Target::cluster is a cluster")
    };
    let url = format!("redis://{}/", nodes[0]);
    let error = RedisDedupStore::connect(&url)
        .await
        .expect_err("a cluster node");
    assert!(matches!(error, DedupError::ClusterNode), "{error:?}");
    assert!(error.to_string().contains("connect_cluster"), "{error}");

    // A lazy store cannot ask at start-up: the keys of other nodes' slots fail, naming MOVED.
    let lazy = RedisDedupStore::builder()
        .prefix(prefix())
        .connect_lazy(&url)
        .expect("starts");
    let mut moved = 0;
    for n in 0..30 {
        if let Err(error) = lazy.claim(&key(n)).await {
            assert!(error.to_string().contains("MOVED"), "{error}");
            moved += 1;
        }
    }
    assert!(
        moved > 0,
        "a third of the slots are on the node, not 30 keys in a row"
    );

    let store = RedisDedupStore::builder()
        .prefix(prefix())
        .connect_cluster([&nodes[0]])
        .await
        .expect("the cluster client finds the other nodes from one");
    let key = key(1);
    let token = claimed(&store, &key).await;
    store.complete(&key, &token).await.expect("completes");
}
