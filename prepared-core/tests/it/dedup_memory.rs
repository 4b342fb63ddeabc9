//! The memory dedup store: the claim protocol, expiry (on tokio's paused clock), fencing
//! tokens, the capacity bound, and concurrency.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use prepared_core::dedup::{
    Claim, ClaimToken, DedupConfig, DedupError, DedupStore, MemoryDedupStore,
};
use prepared_core::{DedupKey, Event};
use tokio::sync::Barrier;
use tokio::time::advance;

const CLAIM_TTL: Duration = Duration::from_secs(60);
const RETENTION: Duration = Duration::from_secs(3600);

/// The dedup key of a distinct `note_created` event per `n`.
fn key(n: u64) -> DedupKey {
    let body = format!(
        r#"{{"event_type": "note_created", "id": "550e8400-e29b-41d4-a716-{n:012x}",
            "incident_id": "550e8400-e29b-41d4-a716-446655440000"}}"#
    );
    Event::decode(body.as_bytes())
        .expect("a valid note_created")
        .dedup_key()
}

fn store(capacity: usize) -> MemoryDedupStore {
    MemoryDedupStore::new(
        DedupConfig::builder()
            .claim_ttl(CLAIM_TTL)
            .retention(RETENTION)
            .capacity(capacity)
            .build(),
    )
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

#[tokio::test]
async fn claim_complete_then_duplicates_are_done() {
    let store = store(1000);
    let key = key(1);
    let token = claimed(&store, &key).await;
    assert_eq!(
        claim(&store, &key).await,
        Claim::InFlight,
        "a concurrent delivery"
    );
    store.complete(&key, &token).await.expect("completes");
    assert_eq!(
        claim(&store, &key).await,
        Claim::Done,
        "a redelivery is a duplicate"
    );
    assert_eq!(claim(&store, &key).await, Claim::Done);
    // Completing twice changes nothing.
    store.complete(&key, &token).await.expect("completes again");
    assert_eq!(claim(&store, &key).await, Claim::Done);
    // Other keys are independent.
    let _ = claimed(&store, &self::key(2)).await;
    assert_eq!(store.len(), 2);
}

#[tokio::test]
async fn release_lets_the_next_delivery_claim_again() {
    let store = store(1000);
    let key = key(1);
    let first = claimed(&store, &key).await;
    store.release(&key, &first).await.expect("releases");
    let second = claimed(&store, &key).await;
    assert_ne!(first, second, "every claim has its own token");
    // The old token no longer releases anything.
    store.release(&key, &first).await.expect("a no-op");
    assert_eq!(claim(&store, &key).await, Claim::InFlight);
    store.complete(&key, &second).await.expect("completes");
    // Releasing a done key does not undo it.
    store.release(&key, &second).await.expect("a no-op");
    assert_eq!(claim(&store, &key).await, Claim::Done);
}

#[tokio::test(start_paused = true)]
async fn claims_expire_after_the_claim_ttl() {
    let store = store(1000);
    let key = key(1);
    let crashed = claimed(&store, &key).await;
    advance(CLAIM_TTL - Duration::from_millis(1)).await;
    assert_eq!(
        claim(&store, &key).await,
        Claim::InFlight,
        "still live just before the TTL"
    );
    advance(Duration::from_millis(1)).await;
    let retry = claimed(&store, &key).await;
    assert_ne!(crashed, retry);
}

#[tokio::test(start_paused = true)]
async fn done_keys_expire_after_the_retention() {
    let store = store(1000);
    let key = key(1);
    let token = claimed(&store, &key).await;
    advance(Duration::from_secs(10)).await;
    store.complete(&key, &token).await.expect("completes");
    // The retention counts from the completion, not from the claim.
    advance(RETENTION - Duration::from_millis(1)).await;
    assert_eq!(claim(&store, &key).await, Claim::Done);
    advance(Duration::from_millis(1)).await;
    let _ = claimed(&store, &key).await;
}

#[tokio::test(start_paused = true)]
async fn an_expired_claim_taken_over_is_fenced_off() {
    let store = store(1000);
    let key = key(1);
    let slow = claimed(&store, &key).await;
    advance(CLAIM_TTL).await;
    let taker = claimed(&store, &key).await;

    // The slow worker's release and completion do not touch the taker's claim.
    store.release(&key, &slow).await.expect("a no-op");
    assert_eq!(claim(&store, &key).await, Claim::InFlight);
    store.complete(&key, &slow).await.expect("a no-op");
    assert_eq!(
        claim(&store, &key).await,
        Claim::InFlight,
        "the taker still decides"
    );

    // The taker fails and releases: the next delivery is processed.
    store.release(&key, &taker).await.expect("releases");
    let third = claimed(&store, &key).await;
    store.complete(&key, &third).await.expect("completes");
    assert_eq!(claim(&store, &key).await, Claim::Done);
}

#[tokio::test(start_paused = true)]
async fn completing_an_expired_claim_nobody_took_marks_it_done() {
    let store = store(1000);
    let key = key(1);
    let token = claimed(&store, &key).await;
    advance(CLAIM_TTL * 2).await;
    // The callback did succeed; nobody else holds the key.
    store.complete(&key, &token).await.expect("completes");
    assert_eq!(claim(&store, &key).await, Claim::Done);

    // Also when the taker released the key in between.
    let key = self::key(2);
    let slow = claimed(&store, &key).await;
    advance(CLAIM_TTL).await;
    let taker = claimed(&store, &key).await;
    store.release(&key, &taker).await.expect("releases");
    store.complete(&key, &slow).await.expect("completes");
    assert_eq!(claim(&store, &key).await, Claim::Done);
}

#[tokio::test]
async fn a_token_of_another_key_does_nothing() {
    let store = store(1000);
    let (a, b) = (key(1), key(2));
    let token_a = claimed(&store, &a).await;
    let token_b = claimed(&store, &b).await;
    store.release(&b, &token_a).await.expect("a no-op");
    assert_eq!(claim(&store, &b).await, Claim::InFlight);
    store
        .complete(&b, &ClaimToken::new(u128::MAX))
        .await
        .expect("a no-op");
    assert_eq!(claim(&store, &b).await, Claim::InFlight);
    store.complete(&b, &token_b).await.expect("completes");
    assert_eq!(claim(&store, &b).await, Claim::Done);
}

#[tokio::test]
async fn the_capacity_bounds_the_store_and_drops_the_oldest_done_keys() {
    let capacity = 100;
    let store = store(capacity);
    for n in 0..1000 {
        let key = key(n);
        let token = claimed(&store, &key).await;
        store.complete(&key, &token).await.expect("completes");
        assert!(
            store.len() <= capacity,
            "{} keys in a store of {capacity}",
            store.len()
        );
    }
    // The newest keys are still known; the oldest were dropped and are processed again.
    for n in 990..1000 {
        assert_eq!(claim(&store, &key(n)).await, Claim::Done, "key {n}");
    }
    for n in 0..10 {
        assert!(claim(&store, &key(n)).await.is_claimed(), "key {n}");
    }
    assert!(store.len() <= capacity);
}

#[tokio::test]
async fn a_store_full_of_live_claims_refuses_rather_than_forgets() {
    let capacity = 50;
    let store = store(capacity);
    let mut tokens = Vec::new();
    for n in 0..capacity as u64 {
        tokens.push((key(n), claimed(&store, &key(n)).await));
    }
    let error = store.claim(&key(1000)).await.expect_err("no room");
    assert!(
        matches!(error, DedupError::Full { capacity: 50 }),
        "{error:?}"
    );
    assert_eq!(error.status(), http::StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error.retry_after(), Duration::from_secs(5));
    // Every claim survived: their keys are still in flight.
    for (key, _) in &tokens {
        assert_eq!(claim(&store, key).await, Claim::InFlight);
    }
    // One done key makes room (it is dropped early, the claims are kept).
    let (done, token) = &tokens[0];
    store.complete(done, token).await.expect("completes");
    let _ = claimed(&store, &key(1000)).await;
    for (key, _) in &tokens[1..] {
        assert_eq!(claim(&store, key).await, Claim::InFlight);
    }
    // A released claim makes room too.
    let (released, token) = &tokens[1];
    store.release(released, token).await.expect("releases");
    let _ = claimed(&store, &key(1001)).await;
    assert!(store.len() <= capacity);
}

#[tokio::test(start_paused = true)]
async fn expired_claims_make_room_in_a_full_store() {
    let capacity = 20;
    let store = store(capacity);
    for n in 0..capacity as u64 {
        let _ = claimed(&store, &key(n)).await;
    }
    assert!(matches!(
        store.claim(&key(100)).await,
        Err(DedupError::Full { .. })
    ));
    // (Claims taken in the same nanosecond get consecutive stamps: a few ns apart.)
    advance(CLAIM_TTL + Duration::from_millis(1)).await;
    let _ = claimed(&store, &key(100)).await;
    assert_eq!(store.len(), 1, "the expired claims were dropped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_claims_of_one_event_give_one_claim() {
    let store: Arc<dyn DedupStore> = Arc::new(store(100_000));
    for round in 0..50 {
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
        assert!(
            claims
                .iter()
                .all(|claim| claim.is_claimed() || *claim == Claim::InFlight)
        );
        store.complete(&key, winners[0]).await.expect("completes");
        assert_eq!(store.claim(&key).await.expect("answers"), Claim::Done);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_keys_in_parallel_are_each_claimed_once() {
    const KEYS: u64 = 20_000;
    const TASKS: u64 = 8;
    let store = Arc::new(store(100_000));
    let keys: Arc<Vec<DedupKey>> = Arc::new((0..KEYS).map(key).collect());
    // Every key is claimed by two tasks at about the same time, in different orders.
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let (store, keys) = (Arc::clone(&store), Arc::clone(&keys));
            tokio::spawn(async move {
                let mut won = Vec::new();
                let (start, step) = (task % (TASKS / 2), TASKS / 2);
                let mut n = start;
                while n < KEYS {
                    let index = if task < TASKS / 2 { n } else { KEYS - 1 - n };
                    let key = &keys[usize::try_from(index).expect("small")];
                    if let Claim::Claimed(token) = store.claim(key).await.expect("answers") {
                        store.complete(key, &token).await.expect("completes");
                        won.push(index);
                    }
                    n += step;
                    tokio::task::yield_now().await;
                }
                won
            })
        })
        .collect();
    let mut winners = HashSet::new();
    let mut total = 0;
    for task in tasks {
        let won = task.await.expect("no panic");
        total += won.len();
        winners.extend(won);
    }
    assert_eq!(
        total,
        usize::try_from(KEYS).expect("small"),
        "each key claimed exactly once"
    );
    assert_eq!(winners.len(), total);
    assert_eq!(store.len(), usize::try_from(KEYS).expect("small"));
    for key in keys.iter() {
        assert_eq!(store.claim(key).await.expect("answers"), Claim::Done);
    }
}

#[tokio::test]
async fn the_defaults_are_documented_numbers() {
    let config = DedupConfig::default();
    assert_eq!(config.claim_ttl(), Duration::from_secs(300));
    assert_eq!(config.retention(), Duration::from_secs(72 * 3600));
    assert_eq!(config.capacity(), 1_000_000);
    // Degenerate settings are clamped, not rejected.
    let config = DedupConfig::builder()
        .claim_ttl(Duration::ZERO)
        .retention(Duration::ZERO)
        .capacity(0)
        .build();
    assert_eq!(config.claim_ttl(), Duration::from_millis(1));
    assert_eq!(config.retention(), Duration::from_millis(1));
    assert_eq!(config.capacity(), 1);
    assert_eq!(
        MemoryDedupStore::default().config(),
        &DedupConfig::default()
    );
    // A capacity of one holds one key.
    let store = MemoryDedupStore::new(config);
    assert!(claim(&store, &key(1)).await.is_claimed());
    assert!(matches!(
        store.claim(&key(2)).await,
        Err(DedupError::Full { capacity: 1 })
    ));
}

#[test]
fn errors_are_503_and_carry_no_payload() {
    let error = DedupError::unavailable("timed out after 1s", None);
    assert_eq!(error.status(), http::StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        error.to_string(),
        "the dedup store is unavailable: timed out after 1s"
    );
    let token = ClaimToken::new(0xabc);
    assert_eq!(token.get(), 0xabc);
    assert_eq!(format!("{token}"), format!("{:032x}", 0xabc));
    assert_eq!(Claim::Claimed(token).token(), Some(&token));
    assert_eq!(Claim::Done.token(), None);
}
