//! The throttle on wrong client secrets counts per client id and address: a stranger who
//! knows the client id locks out their own address, never Prepared's.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use http_body_util::Full;
use prepared_core::auth::{ClientCredentials, ClientSecret, JwtSecret, PeerAddr, TokenEndpoint};
use serde_json::json;

use crate::support::oauth::{AUDIENCE, ISSUER, SECRET};

const CLIENT: &str = "prepared-ecc-1";
const CLIENT_SECRET: &str = "client-secret-0123456789";

fn endpoint(trusted: &[&str]) -> TokenEndpoint {
    TokenEndpoint::builder(JwtSecret::new(SECRET), ISSUER, AUDIENCE)
        .client(ClientCredentials::new(
            CLIENT,
            ClientSecret::new(CLIENT_SECRET),
        ))
        .trust_forwarded_for(trusted.iter().map(|proxy| proxy.parse().expect("an IP")))
        .build()
        .expect("builds")
}

/// A token request for `CLIENT` with `secret` from `peer`, with extra headers.
fn from(peer: &str, secret: &str, headers: &[(&str, &str)]) -> http::Request<Full<Bytes>> {
    let body =
        json!({"client_id": CLIENT, "client_secret": secret, "grant_type": "client_credentials"});
    let mut builder =
        http::Request::post("/oauth/token").header("content-type", "application/json");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let mut request = builder
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("a request");
    let peer: SocketAddr = format!("{peer}:40000").parse().expect("an address");
    request.extensions_mut().insert(PeerAddr(peer));
    request
}

async fn status(endpoint: &TokenEndpoint, request: http::Request<Full<Bytes>>) -> StatusCode {
    endpoint.handle(request).await.status()
}

#[tokio::test]
async fn twenty_wrong_secrets_from_one_address_do_not_lock_out_another() {
    let endpoint = endpoint(&[]);
    let mut statuses = Vec::new();
    for _ in 0..20 {
        statuses.push(status(&endpoint, from("203.0.113.5", "guess", &[])).await);
    }
    assert!(
        statuses[..5].iter().all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    assert!(
        statuses[5..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    // Prepared, from its own address, gets its token.
    assert_eq!(
        status(&endpoint, from("198.51.100.20", CLIENT_SECRET, &[])).await,
        StatusCode::OK
    );
    // The attacking address stays locked, even with the right secret, with Retry-After.
    let answer = endpoint
        .handle(from("203.0.113.5", CLIENT_SECRET, &[]))
        .await;
    assert_eq!(answer.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(answer.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn a_success_forgets_the_failures_of_its_address() {
    let endpoint = TokenEndpoint::builder(JwtSecret::new(SECRET), ISSUER, AUDIENCE)
        .client(ClientCredentials::new(
            CLIENT,
            ClientSecret::new(CLIENT_SECRET),
        ))
        .max_failures(3, Duration::from_secs(60))
        .build()
        .expect("builds");
    for _ in 0..2 {
        assert_eq!(
            status(&endpoint, from("192.0.2.1", "guess", &[])).await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        status(&endpoint, from("192.0.2.1", CLIENT_SECRET, &[])).await,
        StatusCode::OK
    );
    for _ in 0..2 {
        assert_eq!(
            status(&endpoint, from("192.0.2.1", "guess", &[])).await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        status(&endpoint, from("192.0.2.1", CLIENT_SECRET, &[])).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_counted() {
    let proxy = "10.0.0.9";
    let endpoint = endpoint(&[proxy]);
    for _ in 0..6 {
        let request = from(proxy, "guess", &[("x-forwarded-for", "203.0.113.5")]);
        status(&endpoint, request).await;
    }
    let attacker = from(proxy, CLIENT_SECRET, &[("x-forwarded-for", "203.0.113.5")]);
    assert_eq!(
        status(&endpoint, attacker).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Prepared comes through the same proxy, from its own address.
    let prepared = from(
        proxy,
        CLIENT_SECRET,
        &[("x-forwarded-for", "198.51.100.20")],
    );
    assert_eq!(status(&endpoint, prepared).await, StatusCode::OK);
    // RFC 7239 `Forwarded` (read before X-Forwarded-For), IPv6 with a port.
    let forwarded = [("forwarded", r#"for="[2001:db8::17]:4711";proto=https"#)];
    for _ in 0..6 {
        status(&endpoint, from(proxy, "guess", &forwarded)).await;
    }
    assert_eq!(
        status(&endpoint, from(proxy, CLIENT_SECRET, &forwarded)).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    let other = [("forwarded", "for=2001:db8::18")];
    assert_eq!(
        status(&endpoint, from(proxy, CLIENT_SECRET, &other)).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_forwarded_headers_of_an_untrusted_peer_are_ignored() {
    let endpoint = endpoint(&["10.0.0.9"]);
    // A stranger cannot escape the throttle by claiming a new address each time...
    for n in 0..6 {
        let spoofed = format!("192.0.2.{n}");
        status(
            &endpoint,
            from("203.0.113.5", "guess", &[("x-forwarded-for", &spoofed)]),
        )
        .await;
    }
    let request = from(
        "203.0.113.5",
        CLIENT_SECRET,
        &[("x-forwarded-for", "198.51.100.20")],
    );
    assert_eq!(
        status(&endpoint, request).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // ...nor lock out Prepared's address by claiming it.
    for _ in 0..6 {
        let request = from(
            "203.0.113.6",
            "guess",
            &[("x-forwarded-for", "198.51.100.20")],
        );
        status(&endpoint, request).await;
    }
    assert_eq!(
        status(&endpoint, from("198.51.100.20", CLIENT_SECRET, &[])).await,
        StatusCode::OK
    );
}
