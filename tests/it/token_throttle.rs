//! The token endpoint's throttle over real HTTP in both frameworks: the adapters hand the
//! peer address to the core, so 20 wrong secrets from one loopback address lock out that
//! address only, and Prepared's right secret from another address gets its token.

use std::net::{IpAddr, Ipv4Addr};

use prepared_core::auth::{ClientCredentials, ClientSecret, JwtSecret, TokenEndpoint};
use reqwest::{Client, StatusCode};
use serde_json::json;

use crate::support::{FRAMEWORKS, Recorded, TOKEN_PATH, builder, serve_with_token_endpoint};

const CLIENT_ID: &str = "prepared-ecc-1";
const CLIENT_SECRET: &str = "prepared-client-secret-throttle-17";

fn endpoint() -> TokenEndpoint {
    TokenEndpoint::builder(
        JwtSecret::new("e2e-signing-secret-of-32-bytes-or-more"),
        "https://cad.test",
        "https://cad.test/webhooks/prepared",
    )
    .client(ClientCredentials::new(
        CLIENT_ID,
        ClientSecret::new(CLIENT_SECRET),
    ))
    .build()
    .expect("builds")
}

/// A client whose connections come from `127.0.0.<last>` (all of 127/8 is loopback).
fn client_from(last: u8) -> Client {
    Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)))
        .build()
        .expect("a client")
}

async fn ask(client: &Client, base: &str, secret: &str) -> StatusCode {
    client
        .post(format!("{base}{TOKEN_PATH}"))
        .json(&json!({"client_id": CLIENT_ID, "client_secret": secret,
            "grant_type": "client_credentials"}))
        .send()
        .await
        .expect("answers")
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_secrets_from_one_address_leave_another_address_its_token() {
    for framework in FRAMEWORKS {
        let webhooks = builder(&Recorded::default()).build().expect("builds");
        let base = serve_with_token_endpoint(framework, webhooks, Some(endpoint())).await;
        let attacker = client_from(2);
        let mut statuses = Vec::new();
        for _ in 0..20 {
            statuses.push(ask(&attacker, &base, "a-guess").await);
        }
        assert_eq!(
            statuses
                .iter()
                .filter(|s| **s == StatusCode::UNAUTHORIZED)
                .count(),
            5,
            "{framework:?}: {statuses:?}"
        );
        assert_eq!(statuses[19], StatusCode::TOO_MANY_REQUESTS, "{framework:?}");
        assert_eq!(
            ask(&client_from(1), &base, CLIENT_SECRET).await,
            StatusCode::OK,
            "{framework:?}: Prepared from another address"
        );
        assert_eq!(
            ask(&attacker, &base, CLIENT_SECRET).await,
            StatusCode::TOO_MANY_REQUESTS,
            "{framework:?}: the attacking address itself"
        );
    }
}
