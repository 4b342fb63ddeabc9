//! The durable queue on Redis Streams: a consumer killed mid-batch leaves its events pending,
//! and a second consumer finishes every event, each exactly once.
//!
//! It needs a Redis, so it is `#[ignore]`d; `scripts/test.sh` runs it when `REDIS_URL` is set.

use crate::support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::{bearer, caller_location, delivery};
use prepared_core::Webhooks;
use prepared_core::dedup::{DedupConfig, RedisDedupStore};
use prepared_core::delivery::RedisStreamQueue;
use prepared_core::event::CallerLocation;

type Seen = Arc<Mutex<HashMap<u128, u32>>>;

async fn receiver(url: &str, prefix: &str, seen: &Seen, block_on: Option<u128>) -> Webhooks {
    let store = RedisDedupStore::builder()
        .prefix(format!("{prefix}dedup:"))
        .config(
            DedupConfig::builder()
                .claim_ttl(Duration::from_secs(1))
                .build(),
        )
        .connect(url)
        .await
        .expect("connects");
    let queue = RedisStreamQueue::connect(url)
        .await
        .expect("connects")
        .prefix(format!("{prefix}queue:"))
        .lanes(2)
        .reclaim_idle(Duration::from_secs(1));
    let seen = Arc::clone(seen);
    Webhooks::builder()
        .authenticator(bearer())
        .dedup_store(store)
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

#[ignore = "needs Redis: set REDIS_URL and run scripts/test.sh"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_killed_mid_batch_leaves_nothing_lost_or_doubled() {
    let url = std::env::var("REDIS_URL").expect("REDIS_URL: this test needs a Redis");
    let prefix = format!("prepared-test:{}:", uuid::Uuid::new_v4().simple());
    let seen: Seen = Arc::default();
    const EVENTS: u128 = 20;

    // Consumer A processes the first events of one incident, then hangs on event 3.
    let a = receiver(&url, &prefix, &seen, Some(3)).await;
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
    let b = receiver(&url, &prefix, &seen, None).await;
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
