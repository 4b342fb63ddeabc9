//! `prepared_tower::AuthenticateLayer` over real HTTP: a request with a good token reaches the
//! application's handler with its `Principal` in the extensions; any other is answered by the
//! layer with the pipeline's status and challenge, and never reaches the handler.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::routing::post;
use axum::{Extension, Router};
use prepared_core::Webhooks;
use prepared_core::auth::{BearerToken, Principal, StaticBearer};
use prepared_tower::AuthenticateLayer;
use reqwest::{Client, StatusCode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handler_gets_the_principal_and_refused_requests_never_reach_it() {
    let webhooks = Webhooks::builder()
        .authenticator(StaticBearer::new([
            BearerToken::new("raw-token-of-ecc-a").label("ecc-a"),
            BearerToken::new("raw-token-of-ecc-b").label("ecc-b"),
        ]))
        .build()
        .expect("builds");
    let reached = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&reached);
    let app = Router::new()
        .route(
            "/raw",
            post(
                move |Extension(principal): Extension<Principal>, body: String| {
                    counted.fetch_add(1, Ordering::SeqCst);
                    async move { format!("{} {}", principal.name(), body.len()) }
                },
            ),
        )
        .layer(AuthenticateLayer::new(webhooks));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let url = format!("http://{}/raw", listener.local_addr().expect("an address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = Client::new();

    for (token, name) in [
        ("raw-token-of-ecc-a", "ecc-a"),
        ("raw-token-of-ecc-b", "ecc-b"),
    ] {
        let answer = client
            .post(&url)
            .bearer_auth(token)
            .body("{}")
            .send()
            .await
            .expect("answers");
        assert_eq!(answer.status(), StatusCode::OK);
        assert_eq!(answer.text().await.expect("a body"), format!("{name} 2"));
    }
    let refused = client
        .post(&url)
        .bearer_auth("raw-token-of-ecc-c")
        .send()
        .await
        .expect("answers");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let challenge = refused.headers()["www-authenticate"]
        .to_str()
        .expect("text");
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );
    let missing = client.post(&url).send().await.expect("answers");
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        reached.load(Ordering::SeqCst),
        2,
        "only the accepted requests"
    );
}
