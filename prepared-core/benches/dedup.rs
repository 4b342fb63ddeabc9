//! The dedup stores at a million keys.
//!
//! `cargo bench -p prepared-core --bench dedup -- --warm-up-time 1 --measurement-time 3`
//! (with `--features redis` and `REDIS_URL` set, also a Redis round trip).
//!
//! Before the timings it prints the memory of a `MemoryDedupStore` filled with 1 M keys:
//! the growth of the process's resident set (`VmRSS` in `/proc/self/status`, Linux) and the
//! size of the store's tables ([`MemoryDedupStore::allocated_bytes`]), each per key; and,
//! for reference, the resident growth of a `moka::sync::Cache<u128, u64>` of 1 M entries.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use prepared_core::dedup::{Claim, DedupConfig, DedupError, DedupStore, MemoryDedupStore};
use prepared_core::{DedupKey, Event};

const MILLION: u64 = 1_000_000;

/// The dedup key of a distinct `note_created` event per `n` (about 50 bytes, like real keys).
fn key(n: u64) -> DedupKey {
    let body = format!(
        r#"{{"event_type":"note_created","id":"550e8400-e29b-41d4-a716-{n:012x}","incident_id":"550e8400-e29b-41d4-a716-446655440000"}}"#
    );
    match Event::decode(body.as_bytes()) {
        Ok(event) => event.dedup_key(),
        Err(error) => panic!("the bench's own payload does not decode: {error}"),
    }
}

/// Polls a future that finishes in its first poll (the memory store's do).
fn ready<T>(future: impl Future<Output = Result<T, DedupError>>) -> T {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(Ok(value)) => value,
        Poll::Ready(Err(error)) => panic!("the store failed: {error}"),
        Poll::Pending => panic!("the memory store's futures finish in their first poll"),
    }
}

fn claim_complete(store: &MemoryDedupStore, key: &DedupKey) {
    if let Claim::Claimed(token) = ready(store.claim(key)) {
        ready(store.complete(key, &token));
    }
}

/// The resident set of this process, in bytes (Linux).
fn rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn per_key(bytes: Option<u64>, keys: u64) -> String {
    bytes.map_or_else(
        || "n/a".to_owned(),
        |bytes| format!("{:.1}", bytes as f64 / keys as f64),
    )
}

/// A store of capacity 1 M filled with 1 M done keys (`keys(0..1M)`), and its memory report.
fn filled_store() -> MemoryDedupStore {
    let before = rss();
    let store = MemoryDedupStore::new(DedupConfig::builder().capacity(MILLION as usize).build());
    let started = Instant::now();
    for n in 0..MILLION {
        claim_complete(&store, &key(n));
    }
    let fill = started.elapsed();
    let grown = before
        .zip(rss())
        .map(|(before, after)| after.saturating_sub(before));
    println!(
        "memory store, 1 M keys: {} keys held; resident growth {} bytes/key; tables {} bytes/key \
         (filled in {fill:.2?}, key decoding included)",
        store.len(),
        per_key(grown, MILLION),
        per_key(Some(store.allocated_bytes() as u64), store.len() as u64),
    );
    store
}

/// For reference: what a moka cache of 1 M `u128 -> u64` entries costs.
fn moka_reference() {
    let before = rss();
    let cache: moka::sync::Cache<u128, u64> = moka::sync::Cache::new(MILLION);
    let started = Instant::now();
    for n in 0..MILLION {
        let hash = u128::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835);
        cache.insert(hash, n);
    }
    cache.run_pending_tasks();
    let insert = started.elapsed();
    let grown = before
        .zip(rss())
        .map(|(before, after)| after.saturating_sub(before));
    println!(
        "moka::sync::Cache<u128, u64>, 1 M entries (reference): {} entries; resident growth {} \
         bytes/entry; {:.0} ns/insert",
        cache.entry_count(),
        per_key(grown, MILLION),
        insert.as_nanos() as f64 / MILLION as f64,
    );
}

fn memory(c: &mut Criterion) {
    let full = filled_store();
    moka_reference();
    // New keys: `keys(1M..3M)`, cycled. A key comes back after 2 M insertions, long after the
    // full store dropped it (it keeps the newest 1 M), so every claim is of a new key.
    let fresh: Vec<DedupKey> = (MILLION..3 * MILLION).map(key).collect();

    let mut group = c.benchmark_group("dedup/memory/1M keys");
    let mut next = 0;
    group.bench_function("claim+complete, new key, full store (evicting)", |b| {
        b.iter(|| {
            let key = &fresh[next % fresh.len()];
            next += 1;
            claim_complete(&full, black_box(key));
        })
    });
    drop(full);

    // Claim+complete of new keys in a store of capacity 2 M that holds 1 M keys: no eviction.
    // The store grows by what is timed; every 250 000 new keys it is rebuilt (not timed), so
    // it always holds between 1 M and 1.25 M keys.
    let (held, new) = fresh.split_at(MILLION as usize);
    let prefilled = || {
        let store = MemoryDedupStore::new(
            DedupConfig::builder()
                .capacity(2 * MILLION as usize)
                .build(),
        );
        for key in held {
            claim_complete(&store, key);
        }
        store
    };
    let mut store = prefilled();
    let mut added = 0;
    group.bench_function("claim+complete, new key, 1 M held (no eviction)", |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            let mut left = usize::try_from(iters).unwrap_or(usize::MAX);
            while left > 0 {
                if added == 250_000 {
                    store = prefilled();
                    added = 0;
                }
                let chunk = left.min(250_000 - added);
                let started = Instant::now();
                for key in &new[added..added + chunk] {
                    claim_complete(&store, black_box(key));
                }
                timed += started.elapsed();
                added += chunk;
                left -= chunk;
            }
            timed
        })
    });
    drop(store);

    // The same store: duplicates, and claims of new keys that are released (it stays at 1 M
    // keys).
    let half = prefilled();
    let mut next = 0;
    group.bench_function("claim of a done key (duplicate)", |b| {
        b.iter(|| {
            let key = &held[next % held.len()];
            next += 1;
            black_box(ready(half.claim(black_box(key))))
        })
    });
    let mut next = 0;
    group.bench_function("claim+release, new key, 1 M held", |b| {
        b.iter(|| {
            let key = &new[next % new.len()];
            next += 1;
            if let Claim::Claimed(token) = ready(half.claim(black_box(key))) {
                ready(half.release(key, &token));
            }
        })
    });
    group.finish();
    drop(half);

    // For comparison, the same work where it all fits in the caches: a full store of 10 000
    // keys (about 800 kB), new keys cycling over 20 000. The difference to the 1 M figures
    // is the wait for memory.
    let small = MemoryDedupStore::new(DedupConfig::builder().capacity(10_000).build());
    let cycle = &fresh[..20_000];
    let mut next = 0;
    let mut group = c.benchmark_group("dedup/memory/10k keys");
    group.bench_function("claim+complete, new key, full store (evicting)", |b| {
        b.iter(|| {
            let key = &cycle[next % cycle.len()];
            next += 1;
            claim_complete(&small, black_box(key));
        })
    });
    group.finish();
}

#[cfg(feature = "redis")]
fn redis(c: &mut Criterion) {
    use prepared_core::dedup::RedisDedupStore;

    let Some(url) = std::env::var("REDIS_URL")
        .ok()
        .filter(|url| !url.is_empty())
    else {
        println!("dedup/redis: skipped: REDIS_URL is not set");
        return;
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => panic!("no runtime: {error}"),
    };
    let prefix = format!("prepared-bench:{}:", uuid::Uuid::new_v4().simple());
    let store = runtime.block_on(async {
        RedisDedupStore::builder()
            .prefix(prefix)
            // The bench's keys disappear a minute after the run.
            .config(
                DedupConfig::builder()
                    .claim_ttl(Duration::from_secs(60))
                    .retention(Duration::from_secs(60))
                    .build(),
            )
            .connect(&url)
            .await
    });
    let store = match store {
        Ok(store) => store,
        Err(error) => panic!("REDIS_URL is set but Redis is unreachable: {error}"),
    };
    let keys: Vec<DedupKey> = (0..200_000).map(key).collect();
    let mut group = c.benchmark_group("dedup/redis");
    let mut next = 0;
    group.bench_function("claim (one round trip)", |b| {
        b.iter(|| {
            let key = &keys[next % keys.len()];
            next += 1;
            runtime.block_on(store.claim(key)).map(black_box).ok()
        })
    });
    group.bench_function("claim+complete (two round trips)", |b| {
        b.iter(|| {
            let key = &keys[next % keys.len()];
            next += 1;
            runtime.block_on(async {
                if let Ok(Claim::Claimed(token)) = store.claim(key).await {
                    let _ = store.complete(key, &token).await;
                }
            })
        })
    });
    group.finish();
}

#[cfg(not(feature = "redis"))]
fn redis(_: &mut Criterion) {
    println!("dedup/redis: skipped: built without the `redis` feature");
}

criterion_group!(benches, memory, redis);
criterion_main!(benches);
