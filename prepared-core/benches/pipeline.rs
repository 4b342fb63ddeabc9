//! The whole pipeline in-process: `Webhooks::handle` on distinct deliveries (Bearer check,
//! content type, body read, decode, memory dedup claim, queue), and on duplicates.
//!
//! `cargo bench -p prepared-core --bench pipeline`

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http_body_util::Full;
use prepared_core::Webhooks;
use prepared_core::auth::{BearerToken, StaticBearer};
use prepared_core::event::CallerLocation;

const TOKEN: &str = "bench-token-9f2c4e7a1b";

fn delivery(id: u64) -> http::Request<Full<Bytes>> {
    let body = format!(
        r#"{{"type":"caller_location","id":"{}","incident_id":"{}","lat":37.7749,"lng":-122.4194,"created_at":"2024-01-15 10:30:15 UTC","source":"ani_ali"}}"#,
        uuid::Uuid::from_u64_pair(1, id),
        uuid::Uuid::from_u64_pair(2, id % 64)
    );
    http::Request::post("/webhooks/prepared")
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .expect("a valid request")
}

fn pipeline(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let webhooks = runtime.block_on(async {
        Webhooks::builder()
            .authenticator(StaticBearer::new([BearerToken::new(TOKEN)]))
            .queue_capacity(1 << 20)
            .on_caller_location(|location: CallerLocation| async move {
                black_box(location);
                Ok::<_, std::convert::Infallible>(())
            })
            .build()
            .expect("builds")
    });
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
    group.bench_function("duplicate deliveries", |b| {
        b.to_async(&runtime).iter(|| {
            let webhooks = webhooks.clone();
            async move { assert_eq!(webhooks.handle(delivery(0)).await.status(), 200) }
        })
    });
    group.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
