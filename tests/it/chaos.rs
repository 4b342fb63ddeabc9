//! Chaos under load, over real HTTP on loopback: distinct events from many incidents, a
//! fifth of them redelivered, callbacks failing at random, the queue forced full at moments,
//! and (with Redis) the dedup store's connection dropped and restored mid-run, while the
//! sender retries like Prepared. Every distinct event's callback must succeed exactly once,
//! and the events of each incident must be processed in the order they were acknowledged.
//!
//! The size comes from `PREPARED_CHAOS_EVENTS` (default 2,000, what `scripts/test.sh` and CI
//! run), rounded up to a multiple of the 64 incidents; the full run is
//! `PREPARED_CHAOS_EVENTS=100000 cargo test --release --test it chaos -- --include-ignored`
//! with `REDIS_URL` set.

use crate::support::relay;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::{Framework, PATH, serve};
use prepared_core::auth::{BearerToken, StaticBearer};
use prepared_core::dedup::RedisDedupStore;
use prepared_core::delivery::{DeadLetter, RetryPolicy};
use prepared_core::event::CallerLocation;
use prepared_core::{DedupKey, Webhooks};
use relay::{redis_address, relay};
use reqwest::Client;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

const TOKEN: &str = "chaos-token-3e9d";
const INCIDENTS: u64 = 64;
/// The share of acknowledged events delivered again, in percent.
const REDELIVERED: u64 = 20;
/// The share of callback runs that fail, in percent.
const FAILING: u64 = 5;

/// The events sent per incident: at least `total` distinct events in all.
fn per_incident(total: u64) -> u64 {
    total.div_ceil(INCIDENTS)
}

fn events() -> u64 {
    std::env::var("PREPARED_CHAOS_EVENTS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(2_000)
}

/// A small deterministic generator (SplitMix64), so that a failing run can be replayed.
#[derive(Clone)]
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn percent(&mut self, share: u64) -> bool {
        self.next() % 100 < share
    }
}

fn event_id(incident: u64, seq: u64) -> uuid::Uuid {
    uuid::Uuid::from_u64_pair(incident + 1, seq)
}

fn body(incident: u64, seq: u64) -> String {
    format!(
        r#"{{"type":"caller_location","id":"{}","incident_id":"{}","lat":37.7749,"lng":-122.4194}}"#,
        event_id(incident, seq),
        uuid::Uuid::from_u64_pair(0, incident + 1),
    )
}

/// What the callbacks saw.
#[derive(Default)]
struct Seen {
    /// Successful runs per event id.
    successes: Mutex<HashMap<uuid::Uuid, u32>>,
    /// The sequence numbers of each incident, in the order their callbacks succeeded.
    order: Mutex<HashMap<u64, Vec<u64>>>,
    failures: AtomicUsize,
    dead_letters: Mutex<Vec<DedupKey>>,
}

/// The receiver's callback: fails `FAILING` % of runs, and is slow while `stall` is set
/// (which fills the queue).
fn webhooks(seen: &Arc<Seen>, stall: &Arc<AtomicBool>, store: Option<RedisDedupStore>) -> Webhooks {
    let random = Arc::new(Mutex::new(Random(0xC4A0_5EED)));
    let (seen_ok, seen_dead, stall) = (Arc::clone(seen), Arc::clone(seen), Arc::clone(stall));
    let mut builder = Webhooks::builder()
        .authenticator(StaticBearer::new([BearerToken::new(TOKEN)]))
        .workers(8)
        .queue_capacity(64)
        .retry_after(Duration::from_secs(1))
        // 5 % failures and 10 attempts: a dead letter has odds of 1e-13 per event.
        .retry_policy(RetryPolicy::new(
            10,
            Duration::from_millis(1),
            Duration::from_millis(20),
        ))
        .on_caller_location(move |location: CallerLocation| {
            let fail = random.lock().expect("lock").percent(FAILING);
            let seen = Arc::clone(&seen_ok);
            let slow = stall.load(Ordering::Relaxed);
            async move {
                if slow {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                if fail {
                    seen.failures.fetch_add(1, Ordering::Relaxed);
                    return Err("injected failure");
                }
                let (incident, seq) = location.id.as_u64_pair();
                *seen
                    .successes
                    .lock()
                    .expect("lock")
                    .entry(location.id)
                    .or_default() += 1;
                seen.order
                    .lock()
                    .expect("lock")
                    .entry(incident - 1)
                    .or_default()
                    .push(seq);
                Ok(())
            }
        })
        .on_dead_letter(move |letter: DeadLetter| {
            seen_dead
                .dead_letters
                .lock()
                .expect("lock")
                .push(letter.event.dedup_key());
            async {}
        });
    if let Some(store) = store {
        builder = builder.dedup_store(store);
    }
    builder.build().expect("builds")
}

/// Delivers one event like Prepared: again and again, with a growing pause (capped low to
/// keep the test short), until it is answered `200`. Returns the number of attempts.
async fn deliver(client: &Client, url: &str, body: &str, statuses: &Statuses) -> u32 {
    let mut backoff = Duration::from_millis(2);
    let deadline = Instant::now() + Duration::from_secs(120);
    for attempt in 1.. {
        let sent = client
            .post(url)
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await;
        match sent {
            Ok(response) if response.status() == 200 => return attempt,
            Ok(response) => statuses.count(response.status().as_u16()),
            Err(_) => statuses.count(0),
        }
        assert!(Instant::now() < deadline, "an event was never acknowledged");
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_millis(100));
    }
    unreachable!("the loop returns or panics")
}

/// The non-`200` answers the sender got, by status (`0`: no answer).
#[derive(Default)]
struct Statuses(Mutex<HashMap<u16, u64>>);

impl Statuses {
    fn count(&self, status: u16) {
        *self.0.lock().expect("lock").entry(status).or_default() += 1;
    }
}

/// Sends every event of every incident, each incident's in order (the next once the last is
/// acknowledged), redelivering `REDELIVERED` % of acknowledged events; `progress` counts the
/// acknowledged distinct events. Returns how many redeliveries were sent.
async fn send_all(
    base: &str,
    total: u64,
    statuses: Arc<Statuses>,
    progress: Arc<AtomicU64>,
) -> u64 {
    let client = Client::builder()
        .pool_max_idle_per_host(INCIDENTS as usize)
        .build()
        .expect("a client");
    let url = format!("{base}{PATH}");
    let per_incident = per_incident(total);
    let senders: Vec<_> = (0..INCIDENTS)
        .map(|incident| {
            let (client, url, statuses, progress) = (
                client.clone(),
                url.clone(),
                Arc::clone(&statuses),
                Arc::clone(&progress),
            );
            tokio::spawn(async move {
                let mut random = Random(incident);
                let mut redeliveries = 0;
                for seq in 0..per_incident {
                    deliver(&client, &url, &body(incident, seq), &statuses).await;
                    progress.fetch_add(1, Ordering::Relaxed);
                    if random.percent(REDELIVERED) {
                        let earlier = random.next() % (seq + 1);
                        deliver(&client, &url, &body(incident, earlier), &statuses).await;
                        redeliveries += 1;
                    }
                }
                redeliveries
            })
        })
        .collect();
    let mut redeliveries = 0;
    for sender in senders {
        redeliveries += sender.await.expect("a sender panicked");
    }
    redeliveries
}

/// Forces the queue full at moments: the callbacks slow down for 200 ms every 1.5 s.
fn stall_at_moments(stall: Arc<AtomicBool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            stall.store(true, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(200)).await;
            stall.store(false, Ordering::Relaxed);
        }
    })
}

/// Checks what the callbacks saw once every event is acknowledged.
async fn check(seen: &Seen, total: u64, redeliveries: u64, statuses: &Statuses, started: Instant) {
    let per_incident = per_incident(total);
    let expected = (per_incident * INCIDENTS) as usize;
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.successes.lock().expect("lock").len() < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let statuses = statuses.0.lock().expect("lock").clone();
    eprintln!(
        "chaos: {expected} distinct events and {redeliveries} redeliveries in {:.1} s; {} injected callback failures; non-200 answers by status: {statuses:?}",
        started.elapsed().as_secs_f64(),
        seen.failures.load(Ordering::Relaxed),
    );
    assert!(
        seen.dead_letters.lock().expect("lock").is_empty(),
        "dead letters"
    );
    let successes = seen.successes.lock().expect("lock");
    let doubled: Vec<_> = successes.iter().filter(|(_, runs)| **runs > 1).collect();
    assert!(doubled.is_empty(), "events processed twice: {doubled:?}");
    assert_eq!(successes.len(), expected, "events lost");
    for (incident, order) in seen.order.lock().expect("lock").iter() {
        let in_order: Vec<u64> = (0..per_incident).collect();
        assert_eq!(order, &in_order, "incident {incident} out of order");
    }
    assert!(
        seen.failures.load(Ordering::Relaxed) > 0,
        "failures were injected"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_dedup_loses_and_doubles_nothing() {
    let total = events();
    let (seen, stall) = (Arc::new(Seen::default()), Arc::new(AtomicBool::new(false)));
    let base = serve(Framework::Axum, webhooks(&seen, &stall, None)).await;
    let stalls = stall_at_moments(Arc::clone(&stall));
    let statuses = Arc::new(Statuses::default());
    let started = Instant::now();
    let redeliveries = send_all(
        &base,
        total,
        Arc::clone(&statuses),
        Arc::new(AtomicU64::new(0)),
    )
    .await;
    stalls.abort();
    check(&seen, total, redeliveries, &statuses, started).await;
    assert!(
        statuses.0.lock().expect("lock").contains_key(&503),
        "the queue was full at moments"
    );
}

#[ignore = "needs Redis: set REDIS_URL and run scripts/test.sh"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_dedup_survives_the_connection_dropping_mid_run() {
    let url = std::env::var("REDIS_URL").expect("REDIS_URL: this test needs a Redis");
    let redis = redis_address(&url);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let port = listener.local_addr().expect("an address").port();
    let store = RedisDedupStore::builder()
        .prefix(format!("prepared-chaos:{}:", uuid::Uuid::new_v4().simple()))
        .timeout(Duration::from_millis(300))
        .connect_lazy(&format!("redis://127.0.0.1:{port}/"))
        .expect("a Redis URL");
    let total = events();
    let (seen, stall) = (Arc::new(Seen::default()), Arc::new(AtomicBool::new(false)));
    let base = serve(Framework::Axum, webhooks(&seen, &stall, Some(store))).await;
    let mut relayed = relay(listener, redis.clone());
    let stalls = stall_at_moments(Arc::clone(&stall));

    // Drops the connection at a third and at two thirds of the run, for 300 ms each.
    let progress = Arc::new(AtomicU64::new(0));
    let drops = Arc::new(AtomicUsize::new(0));
    let (finished, run_over) = tokio::sync::oneshot::channel::<()>();
    let chaos = {
        let (progress, drops, redis) = (Arc::clone(&progress), Arc::clone(&drops), redis.clone());
        tokio::spawn(async move {
            for mark in [total / 3, 2 * total / 3] {
                while progress.load(Ordering::Relaxed) < mark {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                relayed.abort();
                let _ = (&mut relayed).await;
                drops.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(300)).await;
                let listener = TcpListener::bind(("127.0.0.1", port))
                    .await
                    .expect("the port again");
                relayed = relay(listener, redis.clone());
            }
            let _ = run_over.await;
            relayed.abort();
        })
    };

    let statuses = Arc::new(Statuses::default());
    let started = Instant::now();
    let redeliveries = send_all(&base, total, Arc::clone(&statuses), Arc::clone(&progress)).await;
    stalls.abort();
    check(&seen, total, redeliveries, &statuses, started).await;
    assert_eq!(
        drops.load(Ordering::Relaxed),
        2,
        "the connection was dropped twice"
    );
    let _ = finished.send(());
    chaos.await.expect("the chaos task");
}
