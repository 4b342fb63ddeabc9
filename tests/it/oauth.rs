//! Prepared's OAuth flow over real HTTP on loopback, through both frameworks: Prepared gets
//! an access token from the partner's token endpoint with its client credentials, then calls
//! the webhook with it.

use crate::support::{
    FRAMEWORKS, PATH, Recorded, TOKEN_PATH, eventually, serve_with_token_endpoint,
};
use prepared_core::auth::{ClientCredentials, ClientSecret, JwtSecret, TokenEndpoint};
use prepared_core::{Event, Webhooks};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

const CLIENT_ID: &str = "prepared-ecc-1";
const CLIENT_SECRET: &str = "prepared-client-secret-42";
const EVENT: &str = prepared_webhooks::EXAMPLE_PAYLOADS[3].1;

fn endpoint() -> TokenEndpoint {
    TokenEndpoint::builder(
        JwtSecret::new("e2e-signing-secret-of-32-bytes-or-more"),
        "https://cad.test",
        "https://cad.test/webhooks/prepared",
    )
    .client(
        ClientCredentials::new(CLIENT_ID, ClientSecret::new(CLIENT_SECRET))
            .scopes(["cad_incidents", "incident_events"]),
    )
    .build()
    .expect("builds")
}

async fn token(client: &Client, base: &str, secret: &str) -> (StatusCode, Value) {
    let response = client
        .post(format!("{base}{TOKEN_PATH}"))
        .json(&json!({
            "client_id": CLIENT_ID, "client_secret": secret,
            "grant_type": "client_credentials", "scope": "incident_events",
        }))
        .send()
        .await
        .expect("answers");
    (response.status(), response.json().await.expect("JSON"))
}

async fn deliver(client: &Client, base: &str, token: &str) -> StatusCode {
    client
        .post(format!("{base}{PATH}"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(EVENT)
        .send()
        .await
        .expect("answers")
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_from_the_endpoint_opens_the_webhook() {
    for framework in FRAMEWORKS {
        let recorded = Recorded::default();
        let endpoint = endpoint();
        let on_event = recorded.clone();
        let webhooks = Webhooks::builder()
            .authenticator(endpoint.validator())
            .on_event(move |event: Event| {
                on_event.push(event);
                async { Ok::<_, std::convert::Infallible>(()) }
            })
            .build()
            .expect("builds");
        let base = serve_with_token_endpoint(framework, webhooks, Some(endpoint)).await;
        let client = Client::new();

        let (status, answer) = token(&client, &base, CLIENT_SECRET).await;
        assert_eq!(status, StatusCode::OK, "{framework:?}: {answer}");
        assert_eq!(answer["token_type"], "Bearer", "{framework:?}");
        let access_token = answer["access_token"].as_str().expect("a token");

        assert_eq!(
            deliver(&client, &base, access_token).await,
            StatusCode::OK,
            "{framework:?}"
        );
        eventually("the event is processed", || recorded.events().len() == 1).await;

        // A tampered token, a wrong secret, and a GET are refused.
        let tampered = format!("{}A", access_token);
        assert_eq!(
            deliver(&client, &base, &tampered).await,
            StatusCode::UNAUTHORIZED,
            "{framework:?}"
        );
        let (status, answer) = token(&client, &base, "wrong").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{framework:?}");
        assert_eq!(answer["error"], "invalid_client", "{framework:?}");
        let response = client
            .get(format!("{base}{TOKEN_PATH}"))
            .send()
            .await
            .expect("answers");
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{framework:?}"
        );
        assert_eq!(
            recorded.events().len(),
            1,
            "{framework:?}: nothing else ran"
        );
    }
}
