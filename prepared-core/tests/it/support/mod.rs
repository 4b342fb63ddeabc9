//! Helpers shared by the delivery tests: requests and payloads.
#![allow(dead_code, unreachable_pub)]

#[cfg(feature = "oauth")]
pub mod oauth;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod redis_server;
#[cfg(feature = "redis")]
pub mod redis_target;
pub mod relay;

use bytes::Bytes;
use http_body_util::Full;
use prepared_core::auth::{BearerToken, StaticBearer};
use prepared_core::testing::{Sample, WebhookRequest};

pub const TOKEN: &str = "test-token-0123456789";

pub fn bearer() -> StaticBearer {
    StaticBearer::new([BearerToken::new(TOKEN)])
}

/// A POST with the right token and content type.
pub fn delivery(body: impl Into<Bytes>) -> http::Request<Full<Bytes>> {
    delivery_with_token(TOKEN, body)
}

/// A JSON POST with `Authorization: Bearer <token>`.
pub fn delivery_with_token(token: &str, body: impl Into<Bytes>) -> http::Request<Full<Bytes>> {
    WebhookRequest::new(body).bearer(token).build()
}

/// A `caller_location` of `incident` with id `id` (both small numbers made into UUIDs).
pub fn caller_location(incident: u128, id: u128) -> Bytes {
    Sample::caller_location()
        .incident(uuid::Uuid::from_u128(incident))
        .id(uuid::Uuid::from_u128(id))
        .body()
}

pub async fn body_json(response: http::Response<Bytes>) -> serde_json::Value {
    serde_json::from_slice(response.body()).expect("a JSON body")
}

/// Polls `condition` every 10 ms until it holds, for at most 5 s.
pub async fn eventually_async(what: &str, condition: impl Fn() -> bool) {
    eventually_within(what, std::time::Duration::from_secs(5), condition).await;
}

/// Polls `condition` every 10 ms until it holds, for at most `limit`.
pub async fn eventually_within(
    what: &str,
    limit: std::time::Duration,
    condition: impl Fn() -> bool,
) {
    let deadline = tokio::time::Instant::now() + limit;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}
