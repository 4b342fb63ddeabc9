//! The checks on each request, in order: method, credentials before the body, content type,
//! size limit, decoding.

mod support;

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::StreamExt;
use http_body::{Body, Frame};
use http_body_util::{Full, StreamBody};
use prepared_core::Webhooks;
use prepared_core::delivery::InvalidPayload;
use support::{TOKEN, bearer, caller_location, delivery};

fn webhooks() -> Webhooks {
    Webhooks::builder()
        .authenticator(bearer())
        .body_limit(1024)
        .build()
        .expect("builds")
}

fn request(
    method: &str,
    token: Option<&str>,
    content_type: Option<&str>,
) -> http::request::Builder {
    let mut builder = http::Request::builder()
        .method(method)
        .uri("/webhooks/prepared");
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    if let Some(content_type) = content_type {
        builder = builder.header("content-type", content_type);
    }
    builder
}

/// A body that records whether anyone polled it, and never ends.
struct Untouched(Arc<AtomicBool>);

impl Body for Untouched {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.store(true, Ordering::SeqCst);
        Poll::Pending
    }
}

#[tokio::test]
async fn refused_heads_never_read_the_body() {
    let webhooks = webhooks();
    for (method, token, content_type, status) in [
        ("GET", Some(TOKEN), Some("application/json"), 405),
        ("POST", None, Some("application/json"), 401),
        ("POST", Some("not-the-token"), Some("application/json"), 401),
        ("POST", Some(TOKEN), Some("text/plain"), 415),
        ("POST", Some(TOKEN), None, 415),
    ] {
        let polled = Arc::new(AtomicBool::new(false));
        let request = request(method, token, content_type)
            .body(Untouched(Arc::clone(&polled)))
            .expect("request");
        let response = webhooks.handle(request).await;
        assert_eq!(
            response.status(),
            status,
            "{method} {token:?} {content_type:?}"
        );
        assert!(
            !polled.load(Ordering::SeqCst),
            "{method} {token:?}: the body was not read"
        );
        if status == 405 {
            assert_eq!(response.headers()["allow"], "POST");
        }
        if status == 401 {
            assert!(response.headers().contains_key("www-authenticate"));
        }
    }
}

#[tokio::test]
async fn json_content_types_with_parameters_are_accepted() {
    let webhooks = webhooks();
    for content_type in [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON;charset=UTF-8",
    ] {
        let request = request("POST", Some(TOKEN), Some(content_type))
            .body(Full::new(caller_location(1, 1)))
            .expect("request");
        assert_eq!(
            webhooks.handle(request).await.status(),
            200,
            "{content_type}"
        );
    }
}

#[tokio::test]
async fn bodies_over_the_limit_get_413() {
    let webhooks = webhooks();
    // Declared too large: refused before reading.
    let polled = Arc::new(AtomicBool::new(false));
    let declared = request("POST", Some(TOKEN), Some("application/json"))
        .header("content-length", "4096")
        .body(Untouched(Arc::clone(&polled)))
        .expect("request");
    assert_eq!(webhooks.handle(declared).await.status(), 413);
    assert!(!polled.load(Ordering::SeqCst));

    // Streamed without a length: reading stops at the limit; the rest is never pulled.
    let pulled = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = Arc::clone(&pulled);
    let chunks = futures_util::stream::iter(0..1000).map(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        Ok::<_, Infallible>(Frame::data(Bytes::from(vec![b' '; 100])))
    });
    let streamed = request("POST", Some(TOKEN), Some("application/json"))
        .body(StreamBody::new(chunks))
        .expect("request");
    assert_eq!(webhooks.handle(streamed).await.status(), 413);
    assert!(
        pulled.load(Ordering::SeqCst) <= 11,
        "stopped after the limit, not after 1000 chunks"
    );
}

#[tokio::test]
async fn invalid_payloads_get_400_and_reach_the_hook() {
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<InvalidPayload>();
    let webhooks = Webhooks::builder()
        .authenticator(bearer())
        .on_invalid_payload(move |payload| {
            let _ = sender.send(payload);
            async {}
        })
        .build()
        .expect("builds");
    let body = br#"{"type": "caller_location", "id": "550e8400-e29b-41d4-a716-446655440004", "lat": 1, "lng": 2}"#;
    let response = webhooks.handle(delivery(&body[..])).await;
    assert_eq!(response.status(), 400);
    let answer = support::body_json(response).await;
    assert_eq!(answer["error"], "invalid_payload");
    assert_eq!(
        answer["message"],
        "caller_location event: required field `incident_id` is missing"
    );
    let payload = receiver.recv().await.expect("the hook got the payload");
    assert_eq!(payload.raw, Bytes::from_static(body));
    assert_eq!(webhooks.stats().rejected, 1);
}
