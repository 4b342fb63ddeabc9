//! Several dispatch centers from one receiver, over real HTTP through both frameworks: two
//! ECCs with static tokens of their own and two OAuth clients (tokens from the token
//! endpoint) are accepted at once, and each event's callback sees its own tenant, never
//! another's; other tokens get `401`; with the JWKS server down a JWT gets `503` while a
//! static token still gets `200`.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use prepared_core::Webhooks;
use prepared_core::auth::{
    AnyOf, BearerToken, ClientCredentials, ClientSecret, JwtSecret, JwtValidator, StaticBearer,
    TokenEndpoint,
};
use prepared_core::delivery::Delivery;
use prepared_core::event::CallerLocation;
use prepared_core::testing::{JwksServer, Sample, TestIssuer};
use reqwest::{Client, StatusCode};
use serde_json::json;

use crate::support::{FRAMEWORKS, PATH, TOKEN_PATH, eventually, serve_with_token_endpoint};

const STATIC: [(&str, &str); 2] = [
    ("ecc-king-county", "token-of-king-county-41c8"),
    ("ecc-pierce-county", "token-of-pierce-county-9e02"),
];
const CLIENTS: [(&str, &str, &str); 2] = [
    (
        "prepared-ecc-0042",
        "secret-of-client-0042",
        "ecc-snohomish-county",
    ),
    (
        "prepared-ecc-0043",
        "secret-of-client-0043",
        "ecc-kitsap-county",
    ),
];

/// Each processed event's id and the tenant its callback saw.
type Seen = Arc<Mutex<Vec<(u128, Option<String>)>>>;

fn endpoint() -> TokenEndpoint {
    let mut builder = TokenEndpoint::builder(
        JwtSecret::new("tenants-signing-secret-of-32-bytes-or-more"),
        "https://cad.test",
        "https://cad.test/webhooks/prepared",
    );
    for (client_id, secret, _) in CLIENTS {
        builder = builder.client(
            ClientCredentials::new(client_id, ClientSecret::new(secret))
                .scopes(["incident_events"]),
        );
    }
    builder.build().expect("builds")
}

/// A `caller_location` event with id `id`.
fn location(id: u128) -> Bytes {
    Sample::caller_location()
        .incident(uuid::Uuid::from_u128(id % 4))
        .id(uuid::Uuid::from_u128(id))
        .body()
}

async fn post(client: &Client, base: &str, token: &str, body: Bytes) -> StatusCode {
    client
        .post(format!("{base}{PATH}"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("answers")
        .status()
}

async fn access_token(client: &Client, base: &str, client_id: &str, secret: &str) -> String {
    let answer: serde_json::Value = client
        .post(format!("{base}{TOKEN_PATH}"))
        .json(&json!({
            "client_id": client_id, "client_secret": secret,
            "grant_type": "client_credentials", "scope": "incident_events",
        }))
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("JSON");
    answer["access_token"].as_str().expect("a token").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_dispatch_center_s_events_carry_its_own_tenant() {
    for framework in FRAMEWORKS {
        let seen: Seen = Arc::default();
        let record = Arc::clone(&seen);
        let endpoint = endpoint();
        let tokens = STATIC.map(|(label, token)| BearerToken::new(token).label(label));
        let mut builder = Webhooks::builder()
            .authenticator(AnyOf::new(StaticBearer::new(tokens)).or(endpoint.validator()))
            .on_caller_location(move |location: CallerLocation, delivery: Delivery| {
                let tenant = delivery.tenant().map(str::to_owned);
                record
                    .lock()
                    .expect("lock")
                    .push((location.id.as_u128(), tenant));
                async {}
            });
        for (client_id, _, tenant) in CLIENTS {
            builder = builder.tenant_for_client_id(client_id, tenant);
        }
        let webhooks = builder.build().expect("builds");
        let base = serve_with_token_endpoint(framework, webhooks, Some(endpoint)).await;
        let client = Client::new();

        // Credential n sends the events whose id is n modulo 4.
        let mut credentials: Vec<(String, &str)> = STATIC
            .iter()
            .map(|(label, token)| ((*token).to_owned(), *label))
            .collect();
        for (client_id, secret, tenant) in CLIENTS {
            credentials.push((
                access_token(&client, &base, client_id, secret).await,
                tenant,
            ));
        }
        for id in 0..40u128 {
            let (token, _) = &credentials[(id % 4) as usize];
            let status = post(&client, &base, token, location(id)).await;
            assert_eq!(status, StatusCode::OK, "{framework:?}: event {id}");
        }
        for refused in ["token-of-king-county-41c9", "not-a-token", "a.b.c"] {
            let status = post(&client, &base, refused, location(99)).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{framework:?}: {refused}");
        }

        eventually("40 events processed", || {
            seen.lock().expect("lock").len() == 40
        })
        .await;
        for (id, tenant) in seen.lock().expect("lock").iter() {
            let (_, expected) = credentials[(id % 4) as usize];
            assert_eq!(
                tenant.as_deref(),
                Some(expected),
                "{framework:?}: event {id}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_jwks_down_a_jwt_waits_and_a_static_token_gets_in() {
    // The issuer's JWKS is down before the receiver ever fetched it.
    let issuer = TestIssuer::rs256();
    let jwks = JwksServer::start(&[&issuer]).await.expect("serves");
    jwks.stop();
    for framework in FRAMEWORKS {
        let jwt = JwtValidator::jwks(jwks.url())
            .any_audience()
            .build()
            .expect("a validator");
        let (label, token) = STATIC[0];
        let webhooks = Webhooks::builder()
            .authenticator(
                AnyOf::new(StaticBearer::new([BearerToken::new(token).label(label)])).or(jwt),
            )
            .on_caller_location(|_location: CallerLocation| async {})
            .build()
            .expect("builds");
        let base = serve_with_token_endpoint(framework, webhooks, None).await;
        let client = Client::new();

        let jwt = issuer.token().sign();
        assert_eq!(
            post(&client, &base, &jwt, location(1)).await,
            StatusCode::SERVICE_UNAVAILABLE,
            "{framework:?}: a JWT whose key cannot be fetched"
        );
        assert_eq!(
            post(&client, &base, token, location(2)).await,
            StatusCode::OK,
            "{framework:?}: a static token does not need the JWKS"
        );
    }
}
