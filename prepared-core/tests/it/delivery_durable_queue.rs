//! The durable queue on Redis Streams: a consumer killed mid-batch leaves its events pending,
//! and a second consumer finishes every event, each exactly once; each new event costs one
//! round trip before its `200` and one after its callback (plus the batched reads).
//!
//! They need a Redis, so they are `#[ignore]`d; `scripts/test.sh` runs them when `REDIS_URL`
//! is set. The round-trip count runs on a `redis-server` of its own (its statistics are
//! reset, which would disturb the shared one).

use crate::support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::redis_target::{Target, on_both_targets};
use crate::support::{bearer, caller_location, delivery};
use prepared_core::Webhooks;
use prepared_core::dedup::{DedupConfig, RedisDedupStore};
use prepared_core::delivery::{RedisStreamQueue, RetryPolicy};
use prepared_core::event::CallerLocation;

type Seen = Arc<Mutex<HashMap<u128, u32>>>;

on_both_targets!(
    a_consumer_killed_mid_batch_leaves_nothing_lost_or_doubled,
    an_event_without_a_callback_is_done_at_once,
    dead_letters_are_replayed_through_the_durable_queue,
);

async fn receiver(target: &Target, prefix: &str, seen: &Seen, block_on: Option<u128>) -> Webhooks {
    let store = target
        .store(
            RedisDedupStore::builder()
                .prefix(format!("{prefix}dedup:"))
                .config(
                    DedupConfig::builder()
                        .claim_ttl(Duration::from_secs(1))
                        .build(),
                ),
        )
        .await;
    let queue = RedisStreamQueue::connect(&store)
        .await
        .expect("connects")
        .prefix(format!("{prefix}queue:"))
        .lanes(2)
        .reclaim_idle(Duration::from_secs(1));
    let seen = Arc::clone(seen);
    Webhooks::builder()
        .authenticator(bearer())
        .durable_queue(queue)
        .on_caller_location(move |location: CallerLocation| {
            let seen = Arc::clone(&seen);
            async move {
                let n = location.id.as_u128();
                if Some(n) == block_on {
                    // This consumer hangs here until it is killed.
                    std::future::pending::<()>().await;
                }
                *seen.lock().expect("lock").entry(n).or_default() += 1;
                Ok::<_, std::io::Error>(())
            }
        })
        .build()
        .expect("builds")
}

async fn a_consumer_killed_mid_batch_leaves_nothing_lost_or_doubled(target: Target) {
    let prefix = format!("prepared-test:{}:", uuid::Uuid::new_v4().simple());
    let seen: Seen = Arc::default();
    const EVENTS: u128 = 20;

    // Consumer A processes the first events of one incident, then hangs on event 3.
    let a = receiver(&target, &prefix, &seen, Some(3)).await;
    for n in 0..EVENTS {
        let response = a.handle(delivery(caller_location(77, n))).await;
        assert_eq!(
            response.status(),
            200,
            "event {n} is in Redis before the 200"
        );
    }
    support::eventually_async("A processed 0..3", || seen.lock().expect("lock").len() == 3).await;

    // A dies mid-batch: its pending entries stay in Redis.
    let report = a.shutdown(Duration::ZERO).await;
    assert!(!report.drained_in_time);
    assert_eq!(seen.lock().expect("lock").len(), 3);

    // Consumer B takes the pending entries over and reads the rest.
    let b = receiver(&target, &prefix, &seen, None).await;
    support::eventually_within("B finished every event", Duration::from_secs(20), || {
        seen.lock().expect("lock").len() == EVENTS as usize
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seen = seen.lock().expect("lock");
    for n in 0..EVENTS {
        assert_eq!(seen.get(&n), Some(&1), "event {n} processed exactly once");
    }
    drop(b);
}

/// `INFO commandstats` as (command, calls).
async fn command_calls(connection: &mut redis::aio::MultiplexedConnection) -> HashMap<String, u64> {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(connection)
        .await
        .expect("INFO commandstats");
    info.lines()
        .filter_map(|line| {
            let (name, stats) = line.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = stats
                .strip_prefix("calls=")?
                .split(',')
                .next()?
                .parse()
                .ok()?;
            Some((name.to_owned(), calls))
        })
        .collect()
}

/// Per new event: one script before the `200` (claim and `XADD`), one after the callback
/// (completion and `XACK`); per duplicate one script; plus the batched `XREADGROUP`s. Counted
/// with `INFO commandstats` on a Redis of the test's own, and with `MONITOR`, which tells the
/// commands a client sent from those the scripts ran inside Redis.
#[ignore = "needs Redis (starts a redis-server of its own): run scripts/test.sh with REDIS_URL set"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_round_trip_before_the_200_and_one_after() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let server = support::redis_server::RedisServer::start();
    let url = server.url();
    // The defaults: nothing is taken over or expires during the count.
    let store = RedisDedupStore::connect(&url).await.expect("connects");
    let queue = RedisStreamQueue::connect(&store)
        .await
        .expect("connects")
        .lanes(4);
    let webhooks = Webhooks::builder()
        .authenticator(bearer())
        .durable_queue(queue)
        .on_caller_location(|_location: CallerLocation| async {})
        .build()
        .expect("builds");
    // The warm-up loads the scripts and creates the consumer groups.
    let warm_up = webhooks.handle(delivery(caller_location(1, 1_000))).await;
    assert_eq!(warm_up.status(), 200);
    support::eventually_async("the warm-up processed", || webhooks.stats().processed == 1).await;

    let mut stats = redis::Client::open(url.as_str())
        .expect("a URL")
        .get_multiplexed_async_connection()
        .await
        .expect("connects");
    let stop = Arc::new(AtomicBool::new(false));
    let monitored = tokio::spawn(crate::delivery_redis::monitor(
        server.address(),
        Arc::clone(&stop),
    ));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async(&mut stats)
        .await
        .expect("CONFIG RESETSTAT");
    let counting = std::time::Instant::now();

    const NEW: u64 = 100;
    const DUPLICATES: u64 = 40;
    for n in 0..NEW {
        // Ten incidents, so that every lane is used.
        let response = webhooks
            .handle(delivery(caller_location(u128::from(n % 10), u128::from(n))))
            .await;
        assert_eq!(response.status(), 200);
        assert_eq!(support::body_json(response).await["status"], "queued");
    }
    support::eventually_async("every new event processed", || {
        webhooks.stats().processed == NEW + 1
    })
    .await;
    for n in 0..DUPLICATES {
        let response = webhooks
            .handle(delivery(caller_location(u128::from(n % 10), u128::from(n))))
            .await;
        assert_eq!(support::body_json(response).await["status"], "duplicate");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let calls = command_calls(&mut stats).await;
    stop.store(true, Ordering::SeqCst);
    let commands = monitored.await.expect("the monitor ran");

    let count = |name: &str| calls.get(name).copied().unwrap_or(0);
    eprintln!("INFO commandstats after {NEW} new events and {DUPLICATES} duplicates: {calls:?}");
    assert_eq!(count("evalsha"), 2 * NEW + DUPLICATES, "{calls:?}");
    assert_eq!(count("xadd"), NEW, "{calls:?}");
    assert_eq!(count("xack"), NEW, "{calls:?}");
    // At most one read per event, and one per half second idle (the read blocks 500 ms).
    let reads = count("xreadgroup");
    let idle_reads = 2 * counting.elapsed().as_secs() + 2;
    assert!((1..=NEW + idle_reads).contains(&reads), "{reads} reads");
    // What the clients sent, apart from the reads and the statistics: only the scripts.
    let sent: Vec<&String> = commands
        .iter()
        .filter(|line| line.contains(" [") && !line.contains(" lua] "))
        .filter(|line| {
            ![
                "\"XREADGROUP\"",
                "\"XAUTOCLAIM\"",
                "\"INFO\"",
                "\"CONFIG\"",
                "\"PING\"",
            ]
            .iter()
            .any(|command| line.contains(command))
        })
        .collect();
    let scripts = sent
        .iter()
        .filter(|line| line.contains("\"EVALSHA\""))
        .count();
    assert_eq!(scripts as u64, 2 * NEW + DUPLICATES, "{sent:?}");
    assert_eq!(sent.len(), scripts, "nothing else was sent: {sent:?}");
    drop(webhooks);
}

/// Dead letters requeued from the delivery log are claimed and appended to their lanes again
/// (one script each), and the queue's workers run them once, in order; a second requeue
/// finds them done.
async fn dead_letters_are_replayed_through_the_durable_queue(target: Target) {
    let prefix = format!("prepared-test:{}:", uuid::Uuid::new_v4().simple());
    let store = target
        .store(RedisDedupStore::builder().prefix(format!("{prefix}dedup:")))
        .await;
    let queue = RedisStreamQueue::connect(&store)
        .await
        .expect("connects")
        .prefix(format!("{prefix}queue:"));
    let broken = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let ran: Arc<Mutex<Vec<u128>>> = Arc::default();
    let webhooks = Webhooks::builder()
        .authenticator(bearer())
        .durable_queue(queue)
        .retry_policy(RetryPolicy::new(
            2,
            Duration::from_millis(1),
            Duration::from_millis(2),
        ))
        .on_caller_location({
            let (broken, ran) = (Arc::clone(&broken), Arc::clone(&ran));
            move |location: CallerLocation| {
                let failing = broken.load(std::sync::atomic::Ordering::SeqCst);
                if !failing {
                    ran.lock().expect("lock").push(location.id.as_u128());
                }
                async move {
                    match failing {
                        true => Err(std::io::Error::other("bug")),
                        false => Ok(()),
                    }
                }
            }
        })
        .build()
        .expect("builds");
    for id in [1, 2, 3] {
        let answer = webhooks.handle(delivery(caller_location(9, id))).await;
        assert_eq!(answer.status(), 200);
    }
    support::eventually_within("dead-lettered", Duration::from_secs(10), || {
        webhooks.stats().dead_lettered == 3
    })
    .await;
    // The records say so once the claims are released.
    tokio::time::sleep(Duration::from_millis(200)).await;

    broken.store(false, std::sync::atomic::Ordering::SeqCst);
    let report = webhooks.requeue_dead_letters().await.expect("replays");
    assert_eq!(report.queued, 3, "{report:?}");
    support::eventually_within("replayed", Duration::from_secs(10), || {
        ran.lock().expect("lock").len() >= 3
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(*ran.lock().expect("lock"), [1, 2, 3], "once each, in order");
    let again = webhooks.requeue_dead_letters().await.expect("replays");
    assert_eq!(again.queued + again.processed, 0, "{again:?}");
    let keys: Vec<String> = [1, 2, 3]
        .iter()
        .map(|id| format!("caller_location:{}", uuid::Uuid::from_u128(*id)))
        .collect();
    let done = webhooks
        .replay(&prepared_core::delivery::Replay::keys(keys))
        .await
        .expect("replays");
    assert_eq!(done.skipped_done, 3, "{done:?}");
}

/// An event no callback runs for is marked done by the one script, not queued.
async fn an_event_without_a_callback_is_done_at_once(target: Target) {
    let prefix = format!("prepared-test:{}:", uuid::Uuid::new_v4().simple());
    let store = target
        .store(RedisDedupStore::builder().prefix(format!("{prefix}dedup:")))
        .await;
    let queue = RedisStreamQueue::connect(&store)
        .await
        .expect("connects")
        .prefix(format!("{prefix}queue:"));
    let webhooks = Webhooks::builder()
        .authenticator(bearer())
        .durable_queue(queue)
        .build()
        .expect("builds");
    let first = webhooks.handle(delivery(caller_location(5, 1))).await;
    assert_eq!(support::body_json(first).await["status"], "unhandled");
    let again = webhooks.handle(delivery(caller_location(5, 1))).await;
    assert_eq!(support::body_json(again).await["status"], "duplicate");
    let stats = webhooks.stats();
    assert_eq!((stats.unhandled, stats.duplicates), (1, 1));
}

#[ignore = "needs Redis: set REDIS_URL and run scripts/test.sh"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dedup_store_beside_the_durable_queue_or_a_brace_in_a_prefix_is_refused() {
    let url = std::env::var("REDIS_URL").expect("REDIS_URL: this test needs a Redis");
    let store = RedisDedupStore::connect(&url).await.expect("connects");
    let queue = RedisStreamQueue::connect(&store).await.expect("connects");
    let built = Webhooks::builder()
        .authenticator(bearer())
        .dedup_store(store)
        .durable_queue(queue)
        .build();
    assert!(matches!(
        built,
        Err(prepared_core::delivery::BuildError::DedupStoreBesideDurableQueue)
    ));
    // A brace in a prefix would take the place of the lane's hash tag.
    for (store_prefix, queue_prefix) in [
        ("{app}:dedup:", "app:queue:"),
        ("app:dedup:", "{app}:queue:"),
    ] {
        let store = RedisDedupStore::builder()
            .prefix(store_prefix)
            .connect(&url)
            .await
            .expect("connects");
        let queue = RedisStreamQueue::connect(&store)
            .await
            .expect("connects")
            .prefix(queue_prefix);
        let built = Webhooks::builder()
            .authenticator(bearer())
            .durable_queue(queue)
            .build();
        assert!(matches!(
            built,
            Err(prepared_core::delivery::BuildError::BraceInDurableQueuePrefix)
        ));
    }
}

/// The claim and its entry are written by one script, the entry first: when Redis refuses
/// the `XADD`, the delivery is answered `503` and no claim is left to block its redelivery,
/// which is processed once Redis takes entries again.
#[ignore = "needs Redis: set REDIS_URL and run scripts/test.sh"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_append_leaves_no_claim_behind() {
    use redis::AsyncCommands;
    let target = Target::single();
    let prefix = format!("prepared-test:{}:", uuid::Uuid::new_v4().simple());
    let store = target
        .store(RedisDedupStore::builder().prefix(format!("{prefix}dedup:")))
        .await;
    let queue = RedisStreamQueue::connect(&store)
        .await
        .expect("connects")
        .prefix(format!("{prefix}queue:"))
        .lanes(1);
    // The lane's stream is a string for now: every XADD to it fails (WRONGTYPE).
    let stream = format!("{prefix}queue:{{0}}");
    let mut raw = target.raw().await;
    let () = raw.set_ex(&stream, "not a stream", 60).await.expect("SET");
    let seen: Seen = Arc::default();
    let counted = Arc::clone(&seen);
    let webhooks = Webhooks::builder()
        .authenticator(bearer())
        .durable_queue(queue)
        .on_caller_location(move |location: CallerLocation| {
            *counted
                .lock()
                .expect("lock")
                .entry(location.id.as_u128())
                .or_default() += 1;
            async { Ok::<_, std::io::Error>(()) }
        })
        .build()
        .expect("builds");

    let refused = webhooks.handle(delivery(caller_location(1, 1))).await;
    assert_eq!(refused.status(), 503);
    let claim = format!(
        "{prefix}dedup:{{0}}:caller_location:{}",
        uuid::Uuid::from_u128(1)
    );
    let claimed: bool = raw.exists(&claim).await.expect("EXISTS");
    assert!(!claimed, "no claim without its entry");

    let () = raw.del(&stream).await.expect("DEL");
    let mut status = 0;
    for _ in 0..50 {
        status = webhooks
            .handle(delivery(caller_location(1, 1)))
            .await
            .status()
            .as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "the redelivery is taken");
    support::eventually_within("processed", Duration::from_secs(10), || {
        seen.lock().expect("lock").get(&1) == Some(&1)
    })
    .await;
}
