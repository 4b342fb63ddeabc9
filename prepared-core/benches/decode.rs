//! Typed decoding against `serde_json::Value` on the documented payloads.
//!
//! `cargo bench -p prepared-core --bench decode`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use prepared_core::Event;
use std::hint::black_box;

const PAYLOADS: [(&str, &str); 5] = [
    (
        "note_created",
        include_str!("../fixtures/note_created.json"),
    ),
    (
        "location_updated",
        include_str!("../fixtures/location_updated.json"),
    ),
    (
        "incident_metadata",
        include_str!("../fixtures/incident_metadata.json"),
    ),
    (
        "caller_location",
        include_str!("../fixtures/caller_location.json"),
    ),
    ("media", include_str!("../fixtures/media.json")),
];

fn decode(c: &mut Criterion) {
    for (name, body) in PAYLOADS {
        let mut group = c.benchmark_group(format!("decode/{name}"));
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function("typed", |b| {
            b.iter(|| Event::decode(black_box(body.as_bytes())).expect("decodes"))
        });
        group.bench_function("serde_json::Value", |b| {
            b.iter(|| {
                serde_json::from_slice::<serde_json::Value>(black_box(body.as_bytes()))
                    .expect("parses")
            })
        });
        group.finish();
    }
}

criterion_group!(benches, decode);
criterion_main!(benches);
