//! The checks on each request, in order: method, credentials before the body, content type,
//! size limit, decoding.

use crate::support;

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use crate::support::{TOKEN, bearer, caller_location, delivery};
use bytes::Bytes;
use futures_util::StreamExt;
use http_body::{Body, Frame};
use http_body_util::{Full, StreamBody};
use prepared_core::Webhooks;
use prepared_core::delivery::InvalidPayload;

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

/// A body that is not there for its first `pending` polls (each wakes the task again at
/// once, as a server that feeds the body right after polling its handler), then is `data`.
struct Late {
    pending: usize,
    data: Option<Bytes>,
}

impl Body for Late {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.pending > 0 {
            self.pending -= 1;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        Poll::Ready(self.data.take().map(|data| Ok(Frame::data(data))))
    }
}

#[tokio::test(start_paused = true)]
async fn a_late_body_is_read_until_the_body_timeout_and_then_gets_408() {
    let timeout = std::time::Duration::from_secs(10);
    let webhooks = Webhooks::builder()
        .authenticator(bearer())
        .body_timeout(timeout)
        .build()
        .expect("builds");
    // Not there at the first look, nor at the second, nor at the hundredth.
    for (n, pending) in [1, 2, 100].into_iter().enumerate() {
        let request = request("POST", Some(TOKEN), Some("application/json"))
            .body(Late {
                pending,
                data: Some(caller_location(1, n as u128 + 1)),
            })
            .expect("request");
        assert_eq!(webhooks.handle(request).await.status(), 200, "{pending}");
    }
    // Sent 9 s late: still in time.
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, Infallible>>(1);
    tokio::spawn(async move {
        tokio::time::sleep(timeout - std::time::Duration::from_secs(1)).await;
        let _ = sender.send(Ok(Frame::data(caller_location(1, 9)))).await;
    });
    let slow = request("POST", Some(TOKEN), Some("application/json"))
        .body(StreamBody::new(tokio_stream_of(receiver)))
        .expect("request");
    assert_eq!(webhooks.handle(slow).await.status(), 200);
    // Never sent: 408 once the timeout has passed, not before.
    let started = tokio::time::Instant::now();
    let never = request("POST", Some(TOKEN), Some("application/json"))
        .body(Untouched(Arc::new(AtomicBool::new(false))))
        .expect("request");
    assert_eq!(webhooks.handle(never).await.status(), 408);
    let waited = started.elapsed();
    assert!(
        waited >= timeout && waited < timeout + std::time::Duration::from_millis(10),
        "{waited:?}"
    );
}

/// The receiver's messages as a stream, until every sender is gone.
fn tokio_stream_of<T>(
    mut receiver: tokio::sync::mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> {
    futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx))
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
