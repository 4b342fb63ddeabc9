//! What `benches/pipeline.rs` and `benches/instructions.rs` share: the receiver they measure
//! and its deliveries.

use std::hint::black_box;

use bytes::Bytes;
use http_body_util::Full;
use prepared_core::Webhooks;
use prepared_core::auth::{BearerToken, StaticBearer};
use prepared_core::event::CallerLocation;

const TOKEN: &str = "bench-token-9f2c4e7a1b";

/// A receiver as the examples build it: a static Bearer token, the memory dedup store, the
/// immediate mode, a `caller_location` callback that finishes at once. Call it within a
/// Tokio runtime (its queue's workers start on it).
pub(crate) fn webhooks() -> Webhooks {
    Webhooks::builder()
        .authenticator(StaticBearer::new([BearerToken::new(TOKEN)]))
        .queue_capacity(1 << 20)
        .on_caller_location(|location: CallerLocation| async move {
            black_box(location);
            Ok::<_, std::convert::Infallible>(())
        })
        .build()
        .expect("builds")
}

/// A delivery of a distinct `caller_location` event per `id`, over 64 incidents.
pub(crate) fn delivery(id: u64) -> http::Request<Full<Bytes>> {
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
