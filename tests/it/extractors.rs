//! The extractors: a handler of the app's own gets a verified, decoded, deduplicated event;
//! a handler that fails leaves the claim released, so Prepared's retry is processed.

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::support::{PATH, Recorded, TOKEN, builder};
use reqwest::{Client, StatusCode};

const BODY: &str = prepared_webhooks::EXAMPLE_PAYLOADS[3].1;

/// Serves a handler that fails the first `failures` calls, then stores and completes.
async fn serve(
    framework: support::Framework,
    failures: usize,
) -> (String, Arc<AtomicUsize>, Recorded) {
    let recorded = Recorded::default();
    let webhooks = builder(&Recorded::default()).build().expect("builds");
    let calls = Arc::new(AtomicUsize::new(0));
    let address = match framework {
        support::Framework::Axum => {
            use axum::http::StatusCode as Status;
            use prepared_tower::extract::PreparedEvent;
            let (calls, recorded) = (Arc::clone(&calls), recorded.clone());
            let handler = move |PreparedEvent(claimed): PreparedEvent| async move {
                if calls.fetch_add(1, Ordering::SeqCst) < failures {
                    return Status::INTERNAL_SERVER_ERROR; // dropping the claim releases it
                }
                recorded.push(claimed.event().clone());
                claimed.complete().await;
                Status::OK
            };
            let app = axum::Router::new()
                .route(PATH, axum::routing::post(handler))
                .with_state(webhooks);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("binds");
            let address = listener.local_addr().expect("an address");
            tokio::spawn(async move { axum::serve(listener, app).await });
            address
        }
        support::Framework::Actix => {
            use actix_web::{App, HttpResponse, HttpServer, web};
            use prepared_actix::PreparedEvent;
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
            let address = listener.local_addr().expect("an address");
            let (calls, recorded) = (Arc::clone(&calls), recorded.clone());
            std::thread::spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    HttpServer::new(move || {
                        let (calls, recorded) = (Arc::clone(&calls), recorded.clone());
                        App::new().app_data(webhooks.clone()).route(
                            PATH,
                            web::post().to(move |PreparedEvent(claimed): PreparedEvent| {
                                let (calls, recorded) = (Arc::clone(&calls), recorded.clone());
                                async move {
                                    if calls.fetch_add(1, Ordering::SeqCst) < failures {
                                        return HttpResponse::InternalServerError().finish();
                                    }
                                    recorded.push(claimed.event().clone());
                                    claimed.complete().await;
                                    HttpResponse::Ok().finish()
                                }
                            }),
                        )
                    })
                    .workers(1)
                    .listen(listener)
                    .expect("listens")
                    .run()
                    .await
                })
            });
            address
        }
    };
    (format!("http://{address}{PATH}"), calls, recorded)
}

async fn post(client: &Client, url: &str, token: &str) -> StatusCode {
    client
        .post(url)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(BODY)
        .send()
        .await
        .expect("answers")
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_handler_releases_the_claim_and_the_retry_is_processed() {
    for framework in support::FRAMEWORKS {
        let (url, calls, recorded) = serve(framework, 1).await;
        let client = Client::new();
        assert_eq!(
            post(&client, &url, TOKEN).await,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{framework:?}"
        );
        // The release runs in the background right after the failed handler.
        let mut status = StatusCode::SERVICE_UNAVAILABLE;
        for _ in 0..100 {
            status = post(&client, &url, TOKEN).await;
            if status != StatusCode::SERVICE_UNAVAILABLE {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(
            status,
            StatusCode::OK,
            "{framework:?}: the retry is processed"
        );
        assert_eq!(
            post(&client, &url, TOKEN).await,
            StatusCode::OK,
            "{framework:?}: duplicate"
        );
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "{framework:?}: the duplicate never reached the handler"
        );
        assert_eq!(recorded.events().len(), 1);
        assert_eq!(
            post(&client, &url, "wrong").await,
            StatusCode::UNAUTHORIZED,
            "{framework:?}"
        );
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "{framework:?}: nor did a refused request"
        );
    }
}
