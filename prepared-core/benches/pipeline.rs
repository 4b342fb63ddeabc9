//! The whole pipeline in-process: `Webhooks::handle` on distinct deliveries (Bearer check,
//! content type, body read, decode, memory dedup claim, queue), and on duplicates.
//!
//! `cargo bench -p prepared-core --bench pipeline`

mod support;

use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use prepared_core::Webhooks;
use support::delivery;

fn pipeline(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let webhooks = runtime.block_on(async { support::webhooks() });
    let next = AtomicU64::new(0);
    let mut group = c.benchmark_group("pipeline");
    group.throughput(Throughput::Elements(1));
    group.bench_function("distinct deliveries", |b| {
        b.to_async(&runtime).iter(|| {
            let request = delivery(next.fetch_add(1, Ordering::Relaxed));
            let webhooks = webhooks.clone();
            async move { assert_eq!(webhooks.handle(request).await.status(), 200) }
        })
    });
    // The duplicates are of an event delivered once, processed and completed: first let the
    // workers catch up with the queue the distinct deliveries filled (a redelivery of an
    // event still queued is answered 503, and the first ids may have been evicted by now).
    let duplicate = u64::MAX;
    runtime.block_on(async {
        drained(&webhooks).await;
        let processed = webhooks.stats().processed;
        assert_eq!(webhooks.handle(delivery(duplicate)).await.status(), 200);
        while webhooks.stats().processed == processed {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        // The claim is completed right after the callback's success is counted.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    });
    group.bench_function("duplicate deliveries", |b| {
        b.to_async(&runtime).iter(|| {
            let webhooks = webhooks.clone();
            async move { assert_eq!(webhooks.handle(delivery(duplicate)).await.status(), 200) }
        })
    });
    group.finish();
}

/// Waits until the workers have taken every queued event.
async fn drained(webhooks: &Webhooks) {
    while webhooks.stats().queue_depth > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
