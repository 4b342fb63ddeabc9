//! End to end over real HTTP on loopback: the same table of cases through the axum layer and
//! the actix route.

use std::time::Duration;

use crate::support::{FRAMEWORKS, PATH, Recorded, TOKEN, builder, eventually, raw, serve};
use prepared_core::Event;
use reqwest::{Client, Method, StatusCode};

const EXAMPLES: [&str; 5] = {
    let [(_, a), (_, b), (_, c), (_, d), (_, e)] = prepared_webhooks::EXAMPLE_PAYLOADS;
    [a, b, c, d, e]
};

struct Case {
    name: &'static str,
    method: Method,
    token: Option<&'static str>,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: StatusCode,
    header: Option<(&'static str, &'static str)>,
    body_contains: Option<&'static str>,
}

fn post(name: &'static str, body: impl Into<Vec<u8>>, status: StatusCode) -> Case {
    Case {
        name,
        method: Method::POST,
        token: Some(TOKEN),
        content_type: Some("application/json"),
        body: body.into(),
        status,
        header: None,
        body_contains: None,
    }
}

/// The cases that must never reach a callback.
fn refused() -> Vec<Case> {
    let valid = EXAMPLES[3].as_bytes().to_vec();
    vec![
        Case { token: None, header: Some(("www-authenticate", "Bearer")), ..post("missing token", valid.clone(), StatusCode::UNAUTHORIZED) },
        Case {
            token: Some("wrong-token"),
            header: Some(("www-authenticate", "invalid_token")),
            ..post("wrong token", valid.clone(), StatusCode::UNAUTHORIZED)
        },
        post("malformed JSON", &b"{\"type\": \"caller_location\","[..], StatusCode::BAD_REQUEST),
        Case {
            body_contains: Some("required field `incident_id` is missing"),
            ..post(
                "missing field",
                &br#"{"type": "caller_location", "id": "550e8400-e29b-41d4-a716-446655440004", "lat": 1, "lng": 2}"#[..],
                StatusCode::BAD_REQUEST,
            )
        },
        Case { method: Method::GET, body: Vec::new(), header: Some(("allow", "POST")), ..post("wrong method", "", StatusCode::METHOD_NOT_ALLOWED) },
        Case { method: Method::PUT, header: Some(("allow", "POST")), ..post("PUT", valid.clone(), StatusCode::METHOD_NOT_ALLOWED) },
        Case { content_type: Some("text/plain"), ..post("wrong content type", valid.clone(), StatusCode::UNSUPPORTED_MEDIA_TYPE) },
        Case { content_type: None, ..post("no content type", valid, StatusCode::UNSUPPORTED_MEDIA_TYPE) },
    ]
}

async fn send(client: &Client, base: &str, case: &Case) -> reqwest::Response {
    let mut request = client
        .request(case.method.clone(), format!("{base}{PATH}"))
        .body(case.body.clone());
    if let Some(token) = case.token {
        request = request.bearer_auth(token);
    }
    if let Some(content_type) = case.content_type {
        request = request.header("content-type", content_type);
    }
    request.send().await.expect("the server answers")
}

async fn deliver(client: &Client, base: &str, body: &str) -> (StatusCode, String) {
    let response = send(
        client,
        base,
        &post("delivery", body.as_bytes().to_vec(), StatusCode::OK),
    )
    .await;
    (response.status(), response.text().await.expect("a body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documented_events_duplicates_and_unknown_events() {
    for framework in FRAMEWORKS {
        let recorded = Recorded::default();
        let base = serve(framework, builder(&recorded).build().expect("builds")).await;
        let client = Client::new();

        for body in EXAMPLES {
            let (status, answer) = deliver(&client, &base, body).await;
            assert_eq!(status, StatusCode::OK, "{framework:?}: {answer}");
        }
        eventually("every example processed", || {
            recorded.events().len() == EXAMPLES.len()
        })
        .await;
        let expected: Vec<Event> = EXAMPLES
            .iter()
            .map(|b| Event::decode(b.as_bytes()).expect("decodes"))
            .collect();
        let mut got = recorded.events();
        got.sort_by_key(|e| e.dedup_key());
        let mut expected = expected;
        expected.sort_by_key(|e| e.dedup_key());
        assert_eq!(
            got, expected,
            "{framework:?}: the callbacks got the documented events"
        );

        let (status, answer) = deliver(&client, &base, EXAMPLES[0]).await;
        assert_eq!(
            (status, answer.contains("duplicate")),
            (StatusCode::OK, true),
            "{framework:?}: {answer}"
        );

        let (status, _) = deliver(
            &client,
            &base,
            r#"{"type": "responder_joined", "id": "r-1"}"#,
        )
        .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{framework:?}: an unknown event is acknowledged"
        );
        eventually("the unknown event processed", || {
            recorded.events().len() == EXAMPLES.len() + 1
        })
        .await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            recorded.events().len(),
            EXAMPLES.len() + 1,
            "{framework:?}: the duplicate ran nothing"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_requests_get_their_status_and_run_nothing() {
    for framework in FRAMEWORKS {
        let recorded = Recorded::default();
        let base = serve(framework, builder(&recorded).build().expect("builds")).await;
        let client = Client::new();
        for case in refused() {
            let response = send(&client, &base, &case).await;
            let status = response.status();
            if let Some((name, fragment)) = case.header {
                let value = response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                assert!(
                    value.contains(fragment),
                    "{framework:?} {}: {name}: {value:?}",
                    case.name
                );
            }
            let text = response.text().await.unwrap_or_default();
            assert_eq!(status, case.status, "{framework:?} {}: {text}", case.name);
            if let Some(fragment) = case.body_contains {
                assert!(
                    text.contains(fragment),
                    "{framework:?} {}: {text}",
                    case.name
                );
            }
            assert!(
                !text.contains(TOKEN),
                "{framework:?} {}: no secret in the answer",
                case.name
            );
        }
        // The receiver still serves the next valid delivery.
        let (status, _) = deliver(&client, &base, EXAMPLES[3]).await;
        assert_eq!(status, StatusCode::OK);
        eventually("the valid delivery processed", || {
            recorded.events().len() == 1
        })
        .await;
        assert_eq!(
            recorded.events()[0].type_name(),
            "caller_location",
            "{framework:?}: nothing refused ran"
        );
    }
}

/// Bodies over the 1 MiB limit get `413` without the rest being read: declared by
/// `Content-Length` (answered from the head, before any body byte is sent) or streamed in
/// chunks. Over a raw socket, so that the early answer is read however the server closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_get_413() {
    let auth = format!("authorization: Bearer {TOKEN}");
    let headers = [auth.as_str(), "content-type: application/json"];
    for framework in FRAMEWORKS {
        let recorded = Recorded::default();
        let base = serve(framework, builder(&recorded).build().expect("builds")).await;
        let declared = raw::head(
            "POST",
            PATH,
            &[&headers[..], &["content-length: 2097152"]].concat(),
        );
        let status = raw::send(&base, &[raw::Part::Bytes(declared)]).await;
        assert_eq!(status, Some(413), "{framework:?} declared");

        let chunked = raw::head(
            "POST",
            PATH,
            &[&headers[..], &["transfer-encoding: chunked"]].concat(),
        );
        let parts = [
            raw::Part::Bytes(chunked),
            raw::Part::Bytes(raw::chunked_over(
                prepared_core::delivery::DEFAULT_BODY_LIMIT,
            )),
        ];
        assert_eq!(
            raw::send(&base, &parts).await,
            Some(413),
            "{framework:?} chunked"
        );

        // The receiver still serves the next valid delivery; nothing refused ran.
        let (status, _) = deliver(&Client::new(), &base, EXAMPLES[3]).await;
        assert_eq!(status, StatusCode::OK, "{framework:?}");
        eventually("the valid delivery processed", || {
            recorded.events().len() == 1
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_duplicates_are_handled_once() {
    for framework in FRAMEWORKS {
        let recorded = Recorded::default();
        let base = serve(framework, builder(&recorded).build().expect("builds")).await;
        let client = Client::new();
        let mut deliveries = Vec::new();
        for _ in 0..32 {
            let (client, base) = (client.clone(), base.clone());
            deliveries.push(tokio::spawn(async move {
                deliver(&client, &base, EXAMPLES[1]).await.0
            }));
        }
        for delivery in deliveries {
            let status = delivery.await.expect("no panic");
            assert!(
                status == StatusCode::OK || status == StatusCode::SERVICE_UNAVAILABLE,
                "{framework:?}: {status}"
            );
        }
        eventually("processed", || recorded.events().len() == 1).await;
        // Retries of the 503s are duplicates now.
        let (status, answer) = deliver(&client, &base, EXAMPLES[1]).await;
        assert_eq!(status, StatusCode::OK, "{framework:?}: {answer}");
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(recorded.events().len(), 1, "{framework:?}: once");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_routes_are_untouched() {
    for framework in FRAMEWORKS {
        let recorded = Recorded::default();
        let base = serve(framework, builder(&recorded).build().expect("builds")).await;
        let response = Client::new()
            .get(format!("{base}/health"))
            .send()
            .await
            .expect("answers");
        assert_eq!(response.status(), StatusCode::OK, "{framework:?}");
        assert_eq!(response.text().await.expect("a body"), "ok");
        let missing = Client::new()
            .post(format!("{base}/elsewhere"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("answers");
        assert_eq!(
            missing.status(),
            StatusCode::NOT_FOUND,
            "{framework:?}: the app's own 404"
        );
        assert!(recorded.events().is_empty());
    }
}
