//! A partner without an authorization server of its own: the app serves an OAuth
//! client-credentials token endpoint next to the webhook, and the webhook accepts exactly the
//! tokens that endpoint issues.
//!
//! `cargo run --example oauth_token_endpoint`
//!
//! It starts an axum app on loopback, then plays Prepared: gets an access token with the
//! client id and secret the partner gave it (a JSON `POST`, as Prepared sends it), delivers a
//! `caller_location` with that token, and shows that a forged token and a wrong secret are
//! refused.

use std::convert::Infallible;

use prepared_core::Webhooks;
use prepared_core::auth::{ClientCredentials, ClientSecret, JwtSecret, TokenEndpoint};
use prepared_core::event::CallerLocation;
use prepared_tower::{PreparedWebhooksLayer, TokenEndpointService};
use serde_json::{Value, json};

const EVENT: &str = prepared_webhooks::EXAMPLE_PAYLOADS[3].1;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // What the partner configures: a signing secret that never leaves the app, and one
    // client per Prepared dispatch center.
    let endpoint = TokenEndpoint::builder(
        JwtSecret::new("demo-signing-secret-keep-it-out-of-git!"),
        "https://cad.example.com",
        "https://cad.example.com/webhooks/prepared",
    )
    .client(
        ClientCredentials::new("prepared-ecc-1", ClientSecret::new("demo-client-secret"))
            .scopes(["cad_incidents", "incident_events"]),
    )
    .build()?;

    let webhooks = Webhooks::builder()
        .authenticator(endpoint.validator())
        .on_caller_location(|location: CallerLocation| async move {
            println!(
                "callback: caller_location {} of incident {}",
                location.id, location.incident_id
            );
            Ok::<_, Infallible>(())
        })
        .build()?;
    let app = axum::Router::new()
        .route_service("/oauth/token", TokenEndpointService::new(endpoint))
        .layer(PreparedWebhooksLayer::new(webhooks, "/webhooks/prepared"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(listener, app).await
    });

    // Prepared's side.
    let client = reqwest::Client::new();
    let ask = |secret: &'static str| {
        client.post(format!("{base}/oauth/token")).json(&json!({
            "client_id": "prepared-ecc-1", "client_secret": secret,
            "grant_type": "client_credentials", "scope": "incident_events",
        }))
    };
    let answer: Value = ask("demo-client-secret").send().await?.json().await?;
    let token = answer["access_token"].as_str().ok_or("no access_token")?;
    println!(
        "token endpoint: a {} token for {} seconds, scope {}",
        answer["token_type"], answer["expires_in"], answer["scope"]
    );

    for (what, token) in [
        ("the token", token.to_owned()),
        ("a forged token", format!("{token}x")),
    ] {
        let response = client
            .post(format!("{base}/webhooks/prepared"))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(EVENT)
            .send()
            .await?;
        println!("delivery with {what}: {}", response.status().as_u16());
    }
    let refused = ask("a wrong secret").send().await?;
    println!(
        "token request with a wrong secret: {} {}",
        refused.status().as_u16(),
        refused.text().await?
    );
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    Ok(())
}
