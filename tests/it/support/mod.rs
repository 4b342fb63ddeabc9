//! Receivers on loopback for the end-to-end tests: the same `Webhooks` behind axum (the
//! layer) or actix-web (the route), with an app route beside it.
#![allow(dead_code, unreachable_pub)]

#[path = "../../../prepared-core/tests/it/support/postgres.rs"]
pub mod postgres;
pub mod raw;
#[path = "../../../prepared-core/tests/it/support/relay.rs"]
pub mod relay;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use prepared_core::Event;
use prepared_core::Webhooks;
use prepared_core::auth::{BearerToken, StaticBearer, TokenEndpoint};
use prepared_core::delivery::WebhooksBuilder;

pub const TOKEN: &str = "e2e-token-5b0c1f2d9a";
pub const PATH: &str = "/webhooks/prepared";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framework {
    Axum,
    Actix,
}

pub const FRAMEWORKS: [Framework; 2] = [Framework::Axum, Framework::Actix];

/// The events handed to the callbacks, in order.
#[derive(Clone, Default)]
pub struct Recorded(Arc<Mutex<Vec<Event>>>);

impl Recorded {
    pub fn events(&self) -> Vec<Event> {
        self.0.lock().expect("lock").clone()
    }

    pub fn push(&self, event: Event) {
        self.0.lock().expect("lock").push(event);
    }
}

/// A builder with the test token and a callback that records every event.
pub fn builder(recorded: &Recorded) -> WebhooksBuilder {
    let recorded = recorded.clone();
    Webhooks::builder()
        .authenticator(StaticBearer::new([BearerToken::new(TOKEN)]))
        .on_event(move |event: Event| {
            recorded.push(event);
            async { Ok::<_, std::convert::Infallible>(()) }
        })
}

/// The path of the token endpoint in [`serve_with_token_endpoint`].
pub const TOKEN_PATH: &str = "/oauth/token";

/// Serves `webhooks` on an ephemeral loopback port and returns the base URL.
pub async fn serve(framework: Framework, webhooks: Webhooks) -> String {
    serve_with_token_endpoint(framework, webhooks, None).await
}

/// Serves `webhooks`, and the token endpoint on [`TOKEN_PATH`] when there is one, on an
/// ephemeral loopback port; returns the base URL.
pub async fn serve_with_token_endpoint(
    framework: Framework,
    webhooks: Webhooks,
    endpoint: Option<TokenEndpoint>,
) -> String {
    let address = match framework {
        Framework::Axum => serve_axum(webhooks, endpoint).await,
        Framework::Actix => serve_actix(webhooks, endpoint),
    };
    format!("http://{address}")
}

async fn serve_axum(webhooks: Webhooks, endpoint: Option<TokenEndpoint>) -> SocketAddr {
    use axum::routing::get;
    let mut app = axum::Router::new()
        .route("/health", get(|| async { "ok" }))
        .route_service(
            "/ready",
            prepared_tower::ReadinessService::new(webhooks.clone()),
        )
        .route_service(
            prepared_webhooks::REPLAY_PATH,
            prepared_tower::ReplayService::new(webhooks.clone()),
        );
    if let Some(endpoint) = endpoint {
        app = app.route_service(
            TOKEN_PATH,
            prepared_tower::TokenEndpointService::new(endpoint),
        );
    }
    let app = app.layer(prepared_tower::PreparedWebhooksLayer::new(webhooks, PATH));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let address = listener.local_addr().expect("an address");
    tokio::spawn(async move {
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, app).await
    });
    address
}

fn serve_actix(webhooks: Webhooks, endpoint: Option<TokenEndpoint>) -> SocketAddr {
    use actix_web::{App, HttpResponse, HttpServer, web};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let address = listener.local_addr().expect("an address");
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            HttpServer::new(move || {
                let mut app = App::new()
                    .app_data(webhooks.clone())
                    .route(PATH, prepared_actix::webhook_route(webhooks.clone()))
                    .route(
                        "/health",
                        web::get().to(|| async { HttpResponse::Ok().body("ok") }),
                    )
                    .route("/ready", prepared_actix::readiness_route(webhooks.clone()))
                    .route(
                        prepared_webhooks::REPLAY_PATH,
                        prepared_actix::replay_route(webhooks.clone()),
                    );
                if let Some(endpoint) = &endpoint {
                    app = app.route(TOKEN_PATH, prepared_actix::token_route(endpoint.clone()));
                }
                app
            })
            .workers(2)
            .listen(listener)
            .expect("listens")
            .run()
            .await
        })
    });
    address
}

/// Polls `condition` until it holds, for at most 5 s.
pub async fn eventually(what: &str, condition: impl Fn() -> bool) {
    for _ in 0..500 {
        if condition() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for: {what}");
}
