//! [`AnyOf`]: static tokens and OAuth access tokens at once (a migration), with the JWKS
//! server up, failing or down, and the answers a refused or undecidable token gets.

use std::time::Duration;

use crate::support::oauth::{AUDIENCE, ISSUER, SECRET, claims, head, hs256, jwk, jwks, sign};
use http::StatusCode;
use jsonwebtoken::Algorithm;
use prepared_core::auth::{
    AnyOf, AuthError, Authenticator, BearerToken, JwtSecret, JwtValidator, Principal, StaticBearer,
};
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const STATIC_A: &str = "static-token-of-ecc-a";
const STATIC_B: &str = "static-token-of-ecc-b";

fn statics() -> StaticBearer {
    StaticBearer::new([
        BearerToken::new(STATIC_A).label("ecc-a"),
        BearerToken::new(STATIC_B).label("ecc-b"),
    ])
}

fn hs256_validator() -> JwtValidator {
    JwtValidator::hs256(JwtSecret::new(SECRET))
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .require_scopes(["incident_events"])
        .build()
        .expect("builds")
}

fn jwks_validator(url: String) -> JwtValidator {
    JwtValidator::jwks(url)
        .audience(AUDIENCE)
        .fetch_timeout(Duration::from_millis(500))
        .refresh_cooldown(Duration::from_secs(2))
        .build()
        .expect("builds")
}

/// A URL where nothing listens.
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let address = listener.local_addr().expect("an address");
    drop(listener);
    format!("http://{address}/jwks")
}

#[tokio::test]
async fn static_tokens_and_jwts_are_both_accepted_and_others_get_401() {
    let auth = AnyOf::new(statics()).or(hs256_validator());

    let principal = auth.authenticate(&head(STATIC_A)).await.expect("static");
    assert_eq!(principal.label(), Some("ecc-a"));
    let principal = auth
        .authenticate(&head(&hs256(&claims(json!({})))))
        .await
        .expect("JWT");
    assert!(matches!(principal, Principal::Jwt(_)));
    assert_eq!(principal.client_id(), Some("prepared-ecc-1"));

    // A guess: both say "not mine".
    let error = auth
        .authenticate(&head("a-guess"))
        .await
        .expect_err("refused");
    assert_eq!(error.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        error.www_authenticate().expect("a challenge"),
        r#"Bearer realm="prepared-webhooks", error="invalid_token""#
    );
    // An expired JWT: the validator's reason, not the static tokens' `unknown_token`.
    let expired = hs256(&claims(json!({"exp": 1_000})));
    assert_eq!(
        auth.authenticate(&head(&expired)).await,
        Err(AuthError::Invalid { reason: "expired" })
    );
    // A valid JWT without the scope: 403 with the scope, though the static member said 401.
    let no_scope = hs256(&claims(json!({"scope": "cad_incidents"})));
    let error = auth.authenticate(&head(&no_scope)).await.expect_err("403");
    assert_eq!(error.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        error.www_authenticate().expect("a challenge"),
        r#"Bearer realm="prepared-webhooks", error="insufficient_scope", scope="incident_events""#
    );
    // No credentials at all: the challenge without an error.
    let (bare, ()) = http::Request::post("/")
        .body(())
        .expect("a request")
        .into_parts();
    let error = auth.authenticate(&bare).await.expect_err("missing");
    assert_eq!(error, AuthError::Missing);
    assert_eq!(
        error.www_authenticate().expect("a challenge"),
        r#"Bearer realm="prepared-webhooks""#
    );
}

/// With the JWKS server down (nothing listening, or answering 500), a JWT cannot be
/// checked: `503`, never `401`; a static token is still accepted; and a wrong token in JWT
/// form, which the member that is down might accept, gets `503` too.
#[tokio::test]
async fn a_member_that_cannot_decide_gives_503_unless_another_accepts() {
    let failing = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&failing)
        .await;
    for url in [closed_port_url(), format!("{}/jwks", failing.uri())] {
        let auth = AnyOf::new(statics()).or(jwks_validator(url.clone()));
        let jwt = sign(Algorithm::RS256, "rsa_a", Some("a"), &claims(json!({})));
        let error = auth.authenticate(&head(&jwt)).await.expect_err(&url);
        assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE, "{url}");
        assert_eq!(error.reason(), "jwks_unavailable", "{url}");
        assert_eq!(error.retry_after(), Some(Duration::from_secs(2)), "{url}");

        let principal = auth.authenticate(&head(STATIC_B)).await.expect("static");
        assert_eq!(principal.label(), Some("ecc-b"), "{url}");

        // A wrong token in JWT form (here signed by a key nobody published): the static
        // member refuses it, the JWT member cannot decide: 503.
        let wrong = sign(Algorithm::RS256, "rsa_b", Some("b"), &claims(json!({})));
        let error = auth.authenticate(&head(&wrong)).await.expect_err(&url);
        assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE, "{url}");
        assert!(error.retry_after().is_some(), "{url}");
        // A wrong token that is no JWT at all needs no key to be refused by either: 401.
        assert_eq!(
            auth.authenticate(&head("wrong-static-token")).await,
            Err(AuthError::Invalid {
                reason: "unknown_token"
            }),
            "{url}"
        );

        // The order of the members does not change the answers.
        let auth = AnyOf::new(jwks_validator(url.clone())).or(statics());
        assert!(auth.authenticate(&head(STATIC_A)).await.is_ok(), "{url}");
        let error = auth.authenticate(&head(&jwt)).await.expect_err(&url);
        assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE, "{url}");
    }
}

/// Each token yields the principal of the member that accepted it: a label or a client
/// never crosses from one member to another.
#[tokio::test]
async fn a_token_yields_the_principal_of_its_own_member() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(jwks(&[jwk(
            "rsa_a",
            Algorithm::RS256,
            "a",
        )])))
        .mount(&server)
        .await;
    let auth = AnyOf::new(StaticBearer::new([
        BearerToken::new(STATIC_A).label("ecc-a")
    ]))
    .or(StaticBearer::new([
        BearerToken::new(STATIC_B).label("ecc-b")
    ]))
    .or(jwks_validator(format!("{}/jwks", server.uri())));
    let a = auth.authenticate(&head(STATIC_A)).await.expect("a");
    assert_eq!(
        a,
        Principal::StaticToken {
            index: 0,
            label: Some("ecc-a".into())
        }
    );
    let b = auth.authenticate(&head(STATIC_B)).await.expect("b");
    assert_eq!(
        b,
        Principal::StaticToken {
            index: 0,
            label: Some("ecc-b".into())
        }
    );
    let jwt = sign(
        Algorithm::RS256,
        "rsa_a",
        Some("a"),
        &claims(json!({"client_id": "prepared-ecc-7"})),
    );
    let oauth = auth.authenticate(&head(&jwt)).await.expect("JWT");
    assert_eq!(oauth.label(), None);
    assert_eq!(oauth.name(), "prepared-ecc-7");
}

#[test]
fn debug_lists_the_members_without_secrets() {
    let auth = AnyOf::new(statics()).or(hs256_validator());
    let shown = format!("{auth:?}");
    assert!(
        shown.contains("StaticBearer") && shown.contains("JwtValidator"),
        "{shown}"
    );
    for secret in [STATIC_A, STATIC_B, SECRET] {
        assert!(!shown.contains(secret), "{shown}");
    }
}
