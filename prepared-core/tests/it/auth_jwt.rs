//! JWT access tokens: HS256 with a shared secret, and RS256/ES256/EdDSA with keys from a JWKS
//! served by a real HTTP server on loopback (wiremock).

use std::sync::Arc;
use std::time::Duration;

use crate::support::oauth::{
    AUDIENCE, ISSUER, SECRET, claims, head, hs256, jwk, jwks, now, pem, sign,
};
use http::StatusCode;
use jsonwebtoken::Algorithm;
use prepared_core::auth::{
    AuthError, Authenticator, ConfigError, JwtSecret, JwtValidator, Principal, Scopes, TokenInfo,
};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn hs256_validator() -> JwtValidator {
    JwtValidator::hs256(JwtSecret::new(SECRET))
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .build()
        .expect("builds")
}

fn invalid(reason: &'static str) -> Result<TokenInfo, AuthError> {
    Err(AuthError::Invalid { reason })
}

#[tokio::test]
async fn a_valid_hs256_token_gives_its_client_subject_and_scopes() {
    let validator = hs256_validator();
    let info = validator
        .validate(hs256(&claims(json!({}))).as_bytes())
        .await
        .expect("accepted");
    assert_eq!(info.client_id.as_deref(), Some("prepared-ecc-1"));
    assert_eq!(info.subject.as_deref(), Some("prepared"));
    assert_eq!(info.scopes, Scopes::parse("cad_incidents incident_events"));

    // Through the Authenticator seam, from the request head.
    let principal = validator
        .authenticate(&head(&hs256(&claims(json!({})))))
        .await
        .expect("accepted");
    assert!(matches!(principal, Principal::Jwt(_)));
}

#[tokio::test]
async fn hs256_tokens_are_checked_claim_by_claim() {
    let validator = hs256_validator();
    let now = now();
    let cases: Vec<(&str, String, Result<(), &str>)> = vec![
        ("valid", hs256(&claims(json!({}))), Ok(())),
        (
            "expired within the 30 s leeway",
            hs256(&claims(json!({"exp": now - 10}))),
            Ok(()),
        ),
        (
            "expired",
            hs256(&claims(json!({"exp": now - 120}))),
            Err("expired"),
        ),
        (
            "not yet valid",
            hs256(&claims(json!({"nbf": now + 600}))),
            Err("not_yet_valid"),
        ),
        (
            "not yet valid within the leeway",
            hs256(&claims(json!({"nbf": now + 10}))),
            Ok(()),
        ),
        (
            "no exp",
            hs256(&claims(json!({"exp": null}))),
            Err("missing_claim"),
        ),
        (
            "exp as a string",
            hs256(&claims(json!({"exp": "tomorrow"}))),
            Err("missing_claim"),
        ),
        (
            "wrong issuer",
            hs256(&claims(json!({"iss": "https://evil.test"}))),
            Err("wrong_issuer"),
        ),
        (
            "no issuer",
            hs256(&claims(json!({"iss": null}))),
            Err("missing_claim"),
        ),
        (
            "wrong audience",
            hs256(&claims(json!({"aud": "https://other.test"}))),
            Err("wrong_audience"),
        ),
        (
            "audience in a list",
            hs256(&claims(json!({"aud": ["https://other.test", AUDIENCE]}))),
            Ok(()),
        ),
        (
            "no audience",
            hs256(&claims(json!({"aud": null}))),
            Err("missing_claim"),
        ),
        (
            "another secret",
            jsonwebtoken::encode(
                &jsonwebtoken::Header::new(Algorithm::HS256),
                &claims(json!({})),
                &jsonwebtoken::EncodingKey::from_secret(b"another-secret-of-at-least-32-bytes!!"),
            )
            .expect("signs"),
            Err("bad_signature"),
        ),
        (
            "HS512 is not in the list",
            jsonwebtoken::encode(
                &jsonwebtoken::Header::new(Algorithm::HS512),
                &claims(json!({})),
                &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
            )
            .expect("signs"),
            Err("disallowed_algorithm"),
        ),
        (
            "RS256 against an HS256 validator",
            sign(Algorithm::RS256, "rsa_a", None, &claims(json!({}))),
            Err("disallowed_algorithm"),
        ),
        ("not a JWT", "not-a-jwt".to_owned(), Err("malformed_token")),
        (
            "two parts",
            "eyJhbGciOiJIUzI1NiJ9.e30".to_owned(),
            Err("malformed_token"),
        ),
    ];
    for (name, token, expected) in cases {
        let result = validator.validate(token.as_bytes()).await.map(|_| ());
        let expected = expected.map_err(|reason| AuthError::Invalid { reason });
        assert_eq!(result, expected, "{name}");
    }
}

/// `{"alg":"none"}` with an empty signature, and with the signature of a real token.
#[tokio::test]
async fn alg_none_is_refused() {
    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let payload = engine.encode(claims(json!({})).to_string());
    for header in [
        r#"{"alg":"none","typ":"JWT"}"#,
        r#"{"alg":"None"}"#,
        r#"{"alg":"NONE"}"#,
    ] {
        let header = engine.encode(header);
        let real = hs256(&claims(json!({})));
        let signature = real.rsplit('.').next().expect("three parts");
        for token in [
            format!("{header}.{payload}."),
            format!("{header}.{payload}.{signature}"),
        ] {
            assert_eq!(
                hs256_validator().validate(token.as_bytes()).await,
                invalid("malformed_token"),
                "{token}"
            );
        }
    }
}

#[tokio::test]
async fn required_scopes_give_403_with_the_scope_in_the_challenge() {
    let validator = JwtValidator::hs256(JwtSecret::new(SECRET))
        .audience(AUDIENCE)
        .require_scopes(["incident_events"])
        .build()
        .expect("builds");
    assert!(
        validator
            .validate(hs256(&claims(json!({}))).as_bytes())
            .await
            .is_ok()
    );
    // `scp` as a list is read too.
    let scp = claims(json!({"scope": null, "scp": ["incident_events"]}));
    assert!(validator.validate(hs256(&scp).as_bytes()).await.is_ok());
    for claims in [
        claims(json!({"scope": "cad_incidents"})),
        claims(json!({"scope": null})),
        claims(json!({"scope": "incident_events_extra"})),
    ] {
        let error = validator
            .validate(hs256(&claims).as_bytes())
            .await
            .expect_err("refused");
        assert_eq!(error.status(), StatusCode::FORBIDDEN);
        assert_eq!(error.reason(), "insufficient_scope");
        assert_eq!(
            error.www_authenticate().expect("a challenge"),
            r#"Bearer realm="prepared-webhooks", error="insufficient_scope", scope="incident_events""#
        );
    }
}

/// An HS256 token of `claims` whose header says `typ` (none for `None`).
fn hs256_typed(typ: Option<&str>, claims: &serde_json::Value) -> String {
    let mut header = jsonwebtoken::Header::new(Algorithm::HS256);
    header.typ = typ.map(str::to_owned);
    jsonwebtoken::encode(
        &header,
        claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("signs")
}

#[tokio::test]
async fn require_at_jwt_accepts_only_rfc_9068_access_tokens() {
    let strict = JwtValidator::hs256(JwtSecret::new(SECRET))
        .audience(AUDIENCE)
        .require_at_jwt(true)
        .build()
        .expect("builds");
    for typ in [
        "at+jwt",
        "AT+JWT",
        "application/at+jwt",
        "Application/At+JWT",
    ] {
        let token = hs256_typed(Some(typ), &claims(json!({})));
        assert!(strict.validate(token.as_bytes()).await.is_ok(), "{typ}");
    }
    for typ in [Some("JWT"), Some("application/jwt"), Some("at+jwt2"), None] {
        let token = hs256_typed(typ, &claims(json!({})));
        assert_eq!(
            strict.validate(token.as_bytes()).await,
            invalid("wrong_token_type"),
            "{typ:?}"
        );
    }
    // Off by default: Prepared's own tokens say `typ: JWT`, or nothing.
    let lenient = hs256_validator();
    for typ in [Some("JWT"), None, Some("at+jwt")] {
        let token = hs256_typed(typ, &claims(json!({})));
        assert!(lenient.validate(token.as_bytes()).await.is_ok(), "{typ:?}");
    }
}

#[tokio::test]
async fn allowed_client_ids_refuse_the_tokens_of_other_clients() {
    let validator = JwtValidator::hs256(JwtSecret::new(SECRET))
        .audience(AUDIENCE)
        .allow_client_id("prepared-ecc-1")
        .allow_client_id("prepared-ecc-2")
        .build()
        .expect("builds");
    let cases = [
        (json!({}), Ok(Some("prepared-ecc-1"))),
        (
            json!({"client_id": "prepared-ecc-2"}),
            Ok(Some("prepared-ecc-2")),
        ),
        // `azp` names the client when `client_id` is absent.
        (
            json!({"client_id": null, "azp": "prepared-ecc-2"}),
            Ok(Some("prepared-ecc-2")),
        ),
        (json!({"client_id": "someone-else"}), Err("wrong_client")),
        // `client_id` wins over `azp`: an allowed `azp` does not excuse another client.
        (
            json!({"client_id": "someone-else", "azp": "prepared-ecc-1"}),
            Err("wrong_client"),
        ),
        (json!({"client_id": null}), Err("wrong_client")),
    ];
    for (changes, expected) in cases {
        let token = hs256(&claims(changes.clone()));
        let result = validator.validate(token.as_bytes()).await;
        match expected {
            Ok(client) => assert_eq!(
                result.expect("accepted").client_id.as_deref(),
                client,
                "{changes}"
            ),
            Err(reason) => assert_eq!(result, invalid(reason), "{changes}"),
        }
    }
}

#[test]
fn settings_that_cannot_work_are_refused_at_build_time() {
    let secret = || JwtSecret::new(SECRET);
    assert_eq!(
        JwtValidator::hs256(secret()).build().err(),
        Some(ConfigError::NoAudience)
    );
    assert!(JwtValidator::hs256(secret()).any_audience().build().is_ok());
    assert_eq!(
        JwtValidator::hs256(JwtSecret::new("short"))
            .audience(AUDIENCE)
            .build()
            .err(),
        Some(ConfigError::SecretTooShort(5))
    );
    assert!(matches!(
        JwtValidator::hs256(secret())
            .audience(AUDIENCE)
            .algorithms([Algorithm::RS256])
            .build(),
        Err(ConfigError::Algorithm(_))
    ));
    assert!(matches!(
        JwtValidator::jwks("https://auth.test/jwks")
            .audience(AUDIENCE)
            .algorithms([Algorithm::HS256])
            .build(),
        Err(ConfigError::Algorithm(_))
    ));
    assert_eq!(
        JwtValidator::jwks("https://auth.test/jwks")
            .audience(AUDIENCE)
            .algorithms([Algorithm::RS256, Algorithm::HS512])
            .build()
            .err(),
        Some(ConfigError::Algorithm("HS512".to_owned())),
        "one HMAC algorithm among public-key ones is enough to refuse"
    );
    assert_eq!(
        JwtValidator::hs256(secret())
            .audience(AUDIENCE)
            .algorithms([])
            .build()
            .err(),
        Some(ConfigError::Algorithm("(none)".to_owned()))
    );
    assert!(matches!(
        JwtValidator::jwks("not a url").audience(AUDIENCE).build(),
        Err(ConfigError::Url(_))
    ));
    assert!(matches!(
        JwtValidator::jwks("ftp://auth.test/jwks")
            .audience(AUDIENCE)
            .build(),
        Err(ConfigError::Url(_))
    ));
}

#[test]
fn the_secret_never_shows_in_debug() {
    let validator = hs256_validator();
    let shown = format!("{validator:?} {:?}", JwtSecret::new(SECRET));
    assert!(!shown.contains(SECRET), "{shown}");
}

// --- JWKS ---------------------------------------------------------------------------------

async fn jwks_server(keys: &[serde_json::Value]) -> MockServer {
    let server = MockServer::start().await;
    serve_jwks(&server, keys).await;
    server
}

async fn serve_jwks(server: &MockServer, keys: &[serde_json::Value]) {
    server.reset().await;
    Mock::given(method("GET"))
        .and(path("/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(jwks(keys)))
        .mount(server)
        .await;
}

/// Serves `keys` from now on, with no moment in between where `/jwks` is not served (as
/// [`serve_jwks`]'s reset has): the new answer is mounted with a higher priority than the
/// default one.
async fn rotate_jwks(server: &MockServer, keys: &[serde_json::Value]) {
    Mock::given(method("GET"))
        .and(path("/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(jwks(keys)))
        .with_priority(1)
        .mount(server)
        .await;
}

async fn jwks_fetches(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .map_or(0, |requests| requests.len())
}

fn jwks_validator(server: &MockServer) -> JwtValidator {
    JwtValidator::jwks(format!("{}/jwks", server.uri()))
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .fetch_timeout(Duration::from_millis(500))
        .refresh_cooldown(Duration::from_millis(200))
        .build()
        .expect("builds")
}

#[tokio::test]
async fn rs256_es256_and_eddsa_tokens_verify_with_the_jwks_keys() {
    let server = jwks_server(&[
        jwk("rsa_a", Algorithm::RS256, "rsa-a"),
        jwk("ec_p256", Algorithm::ES256, "ec"),
        jwk("ed25519", Algorithm::EdDSA, "ed"),
    ])
    .await;
    let validator = jwks_validator(&server);
    for (alg, key, kid) in [
        (Algorithm::RS256, "rsa_a", "rsa-a"),
        (Algorithm::ES256, "ec_p256", "ec"),
        (Algorithm::EdDSA, "ed25519", "ed"),
    ] {
        let token = sign(alg, key, Some(kid), &claims(json!({})));
        assert!(
            validator.validate(token.as_bytes()).await.is_ok(),
            "{alg:?}"
        );
        let expired = sign(alg, key, Some(kid), &claims(json!({"exp": now() - 120})));
        assert_eq!(
            validator.validate(expired.as_bytes()).await,
            invalid("expired")
        );
    }
    // One fetch served all of them.
    assert_eq!(jwks_fetches(&server).await, 1);
}

#[tokio::test]
async fn a_token_signed_by_a_key_not_in_the_jwks_is_refused() {
    let server = jwks_server(&[jwk("rsa_a", Algorithm::RS256, "rsa-a")]).await;
    let validator = jwks_validator(&server);
    // rsa_b's signature under rsa_a's kid.
    let forged = sign(Algorithm::RS256, "rsa_b", Some("rsa-a"), &claims(json!({})));
    assert_eq!(
        validator.validate(forged.as_bytes()).await,
        invalid("bad_signature")
    );
    // A kid the set does not have, once a fetch after the token's arrival lacks it.
    let unknown = sign(Algorithm::RS256, "rsa_b", Some("rsa-b"), &claims(json!({})));
    tokio::time::sleep(Duration::from_millis(250)).await; // past the cooldown
    assert_eq!(
        validator.validate(unknown.as_bytes()).await,
        invalid("unknown_key")
    );
}

/// HS/RS confusion: an HS256 token whose "secret" is the RSA public key, against a JWKS
/// validator; and an RS256 key named with another algorithm.
#[tokio::test]
async fn algorithm_confusion_is_refused() {
    let server = jwks_server(&[jwk("rsa_a", Algorithm::RS256, "rsa-a")]).await;
    let validator = jwks_validator(&server);
    let mut header = jsonwebtoken::Header::new(Algorithm::HS256);
    header.kid = Some("rsa-a".to_owned());
    let public_pem = pem("rsa_a.pub");
    let confused = jsonwebtoken::encode(
        &header,
        &claims(json!({})),
        &jsonwebtoken::EncodingKey::from_secret(&public_pem),
    )
    .expect("signs");
    assert_eq!(
        validator.validate(confused.as_bytes()).await,
        invalid("disallowed_algorithm")
    );
    // The JWK states RS256; a PS256 token naming it finds no key (PS256 is not even allowed
    // by default).
    let validator = JwtValidator::jwks(format!("{}/jwks", server.uri()))
        .audience(AUDIENCE)
        .algorithms([Algorithm::RS256, Algorithm::PS256])
        .build()
        .expect("builds");
    let ps256 = sign(Algorithm::PS256, "rsa_a", Some("rsa-a"), &claims(json!({})));
    assert_eq!(
        validator.validate(ps256.as_bytes()).await,
        invalid("unknown_key")
    );
}

/// `algorithms` replaces the defaults: PS256, refused by default, verifies once allowed.
#[tokio::test]
async fn the_allowed_algorithms_are_a_setting() {
    let server = jwks_server(&[jwk("rsa_b", Algorithm::PS256, "ps")]).await;
    let token = sign(Algorithm::PS256, "rsa_b", Some("ps"), &claims(json!({})));
    assert_eq!(
        jwks_validator(&server).validate(token.as_bytes()).await,
        invalid("disallowed_algorithm")
    );
    let validator = JwtValidator::jwks(format!("{}/jwks", server.uri()))
        .audience(AUDIENCE)
        .algorithms([Algorithm::PS256])
        .build()
        .expect("builds");
    assert!(validator.validate(token.as_bytes()).await.is_ok());
    let rs256 = sign(Algorithm::RS256, "rsa_b", Some("ps"), &claims(json!({})));
    assert_eq!(
        validator.validate(rs256.as_bytes()).await,
        invalid("disallowed_algorithm"),
        "the defaults are replaced, not extended"
    );
}

#[tokio::test]
async fn symmetric_and_encryption_keys_in_a_jwks_are_ignored() {
    let oct = json!({"kty": "oct", "kid": "oct", "alg": "HS256", "k": "c2VjcmV0"});
    let mut encryption = jwk("rsa_b", Algorithm::RS256, "enc");
    encryption["use"] = json!("enc");
    let server = jwks_server(&[
        oct,
        encryption,
        json!({"kty": "unknown", "kid": "x"}),
        jwk("rsa_a", Algorithm::RS256, "rsa-a"),
    ])
    .await;
    let validator = JwtValidator::jwks(format!("{}/jwks", server.uri()))
        .audience(AUDIENCE)
        .algorithms([Algorithm::RS256])
        .refresh_cooldown(Duration::from_secs(60))
        .build()
        .expect("builds");
    // The first token fetches the set, which has no signature key "enc".
    let via_enc = sign(Algorithm::RS256, "rsa_b", Some("enc"), &claims(json!({})));
    assert_eq!(
        validator.validate(via_enc.as_bytes()).await,
        invalid("unknown_key")
    );
    let good = sign(Algorithm::RS256, "rsa_a", Some("rsa-a"), &claims(json!({})));
    assert!(validator.validate(good.as_bytes()).await.is_ok());
}

#[tokio::test]
async fn a_rotation_is_picked_up_and_a_removed_key_stops_working() {
    let server = jwks_server(&[jwk("rsa_a", Algorithm::RS256, "a")]).await;
    let validator = jwks_validator(&server);
    let old = sign(Algorithm::RS256, "rsa_a", Some("a"), &claims(json!({})));
    let new = sign(Algorithm::RS256, "rsa_b", Some("b"), &claims(json!({})));
    assert!(validator.validate(old.as_bytes()).await.is_ok());

    // The server rotates: "b" appears, "a" is gone.
    serve_jwks(&server, &[jwk("rsa_b", Algorithm::RS256, "b")]).await;
    tokio::time::sleep(Duration::from_millis(250)).await; // past the cooldown
    assert!(
        validator.validate(new.as_bytes()).await.is_ok(),
        "refetched for the new kid"
    );
    assert_eq!(jwks_fetches(&server).await, 1, "one fetch since the reset");
    tokio::time::sleep(Duration::from_millis(250)).await; // past the cooldown
    assert_eq!(
        validator.validate(old.as_bytes()).await,
        invalid("unknown_key")
    );
}

#[tokio::test]
async fn an_old_key_set_is_fetched_again_after_its_max_age() {
    let server = jwks_server(&[jwk("rsa_a", Algorithm::RS256, "a")]).await;
    let validator = JwtValidator::jwks(format!("{}/jwks", server.uri()))
        .audience(AUDIENCE)
        .refresh_cooldown(Duration::from_millis(10))
        .max_key_age(Duration::from_millis(100))
        .build()
        .expect("builds");
    let token = sign(Algorithm::RS256, "rsa_a", Some("a"), &claims(json!({})));
    assert!(validator.validate(token.as_bytes()).await.is_ok());
    // The key is withdrawn without any new kid to reveal it.
    serve_jwks(&server, &[jwk("rsa_b", Algorithm::RS256, "b")]).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(
        validator.validate(token.as_bytes()).await,
        invalid("unknown_key")
    );
}

#[tokio::test]
async fn the_app_starts_while_the_jwks_server_is_down_and_recovers_when_it_is_up() {
    // A port with nothing listening: take one, then free it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let address = listener.local_addr().expect("an address");
    drop(listener);
    let validator = JwtValidator::jwks(format!("http://{address}/jwks"))
        .audience(AUDIENCE)
        .refresh_cooldown(Duration::from_millis(100))
        .build()
        .expect("builds while the server is down");
    let token = sign(Algorithm::RS256, "rsa_a", Some("a"), &claims(json!({})));
    let error = validator
        .validate(token.as_bytes())
        .await
        .expect_err("cannot check");
    assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error.reason(), "jwks_unavailable");
    assert_eq!(error.retry_after(), Some(Duration::from_millis(100)));

    // The server comes up on that address.
    let listener = std::net::TcpListener::bind(address).expect("the port is free again");
    let server = MockServer::builder().listener(listener).start().await;
    serve_jwks(&server, &[jwk("rsa_a", Algorithm::RS256, "a")]).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(validator.validate(token.as_bytes()).await.is_ok());
}

#[tokio::test]
async fn when_the_jwks_server_fails_mid_run_known_keys_keep_working() {
    let server = jwks_server(&[jwk("rsa_a", Algorithm::RS256, "a")]).await;
    let validator = jwks_validator(&server);
    let known = sign(Algorithm::RS256, "rsa_a", Some("a"), &claims(json!({})));
    assert!(validator.validate(known.as_bytes()).await.is_ok());

    server.reset().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    tokio::time::sleep(Duration::from_millis(250)).await;
    // A new kid needs a fetch, which fails: 503, not 401.
    let new = sign(Algorithm::RS256, "rsa_b", Some("b"), &claims(json!({})));
    let error = validator
        .validate(new.as_bytes())
        .await
        .expect_err("cannot check");
    assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
    // The stale key still verifies.
    assert!(validator.validate(known.as_bytes()).await.is_ok());
}

#[tokio::test]
async fn a_slow_jwks_server_is_cut_off_by_the_timeout() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(jwks(&[jwk("rsa_a", Algorithm::RS256, "a")]))
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&server)
        .await;
    let validator = jwks_validator(&server); // 500 ms timeout
    let token = sign(Algorithm::RS256, "rsa_a", Some("a"), &claims(json!({})));
    let started = std::time::Instant::now();
    let error = validator
        .validate(token.as_bytes())
        .await
        .expect_err("cannot check");
    assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

/// The first unknown kid fetches the set, which lacks it: `401`. Those after it, within the
/// cooldown, cannot be known yet (a key may have just rotated in): `503` with the rest of the
/// cooldown, and no fetch.
#[tokio::test]
async fn unknown_kids_within_the_cooldown_do_not_refetch() {
    let server = jwks_server(&[jwk("rsa_a", Algorithm::RS256, "a")]).await;
    let validator = JwtValidator::jwks(format!("{}/jwks", server.uri()))
        .audience(AUDIENCE)
        .refresh_cooldown(Duration::from_secs(60))
        .build()
        .expect("builds");
    let token = |n: usize| {
        sign(
            Algorithm::RS256,
            "rsa_b",
            Some(&format!("k{n}")),
            &claims(json!({})),
        )
    };
    assert_eq!(
        validator.validate(token(0).as_bytes()).await,
        invalid("unknown_key")
    );
    for n in 1..20 {
        let error = validator
            .validate(token(n).as_bytes())
            .await
            .expect_err("cannot be known yet");
        assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(error.reason(), "jwks_key_not_yet_known");
        let retry_after = error.retry_after().expect("a Retry-After");
        assert!(
            retry_after > Duration::from_secs(55) && retry_after <= Duration::from_secs(60),
            "the rest of the cooldown: {retry_after:?}"
        );
    }
    assert_eq!(jwks_fetches(&server).await, 1);
}

/// A key rotated in just after a fetch: its tokens get `503` (never `401`) until the
/// cooldown ends, then the refetch has the key and they are accepted; a kid the refetched
/// set still lacks is then `401 unknown_key`.
#[tokio::test]
async fn a_key_rotated_in_within_the_cooldown_is_retried_not_refused() {
    let server = jwks_server(&[jwk("rsa_a", Algorithm::RS256, "a")]).await;
    let validator = jwks_validator(&server); // 200 ms cooldown
    let old = sign(Algorithm::RS256, "rsa_a", Some("a"), &claims(json!({})));
    assert!(validator.validate(old.as_bytes()).await.is_ok());

    rotate_jwks(
        &server,
        &[
            jwk("rsa_a", Algorithm::RS256, "a"),
            jwk("rsa_b", Algorithm::RS256, "b"),
        ],
    )
    .await;
    let new = sign(Algorithm::RS256, "rsa_b", Some("b"), &claims(json!({})));
    let never_published = sign(Algorithm::RS256, "rsa_b", Some("c"), &claims(json!({})));
    for token in [&new, &never_published] {
        let error = validator
            .validate(token.as_bytes())
            .await
            .expect_err("cannot be known yet");
        assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(error.reason(), "jwks_key_not_yet_known");
        // The 200 ms left are rounded up to the header's least value.
        assert_eq!(error.retry_after(), Some(Duration::from_secs(1)));
    }
    assert_eq!(
        jwks_fetches(&server).await,
        1,
        "no fetch within the cooldown"
    );

    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(validator.validate(new.as_bytes()).await.is_ok());
    assert_eq!(jwks_fetches(&server).await, 2);
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(
        validator.validate(never_published.as_bytes()).await,
        invalid("unknown_key")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_tokens_with_a_new_kid_share_one_fetch() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(jwks(&[jwk("ed25519", Algorithm::EdDSA, "new")]))
                .set_delay(Duration::from_millis(200)),
        )
        .mount(&server)
        .await;
    let validator = Arc::new(jwks_validator(&server));
    let token = Arc::new(sign(
        Algorithm::EdDSA,
        "ed25519",
        Some("new"),
        &claims(json!({})),
    ));
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let validator = Arc::clone(&validator);
            let token = Arc::clone(&token);
            tokio::spawn(async move { validator.validate(token.as_bytes()).await })
        })
        .collect();
    for task in tasks {
        assert!(task.await.expect("joins").is_ok());
    }
    assert_eq!(jwks_fetches(&server).await, 1);
}

/// Tokens of the old and the new key validated concurrently while the server rotates: each
/// answer is an acceptance, `unknown_key`, or `503` for a key that cannot be known within
/// the cooldown (`jwks_key_not_yet_known`; never `jwks_unavailable`); never a wrong
/// acceptance; and the new key is accepted once the rotation is seen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validations_racing_a_rotation_stay_consistent() {
    let server = jwks_server(&[jwk("rsa_a", Algorithm::RS256, "a")]).await;
    let validator = Arc::new(
        JwtValidator::jwks(format!("{}/jwks", server.uri()))
            .audience(AUDIENCE)
            .refresh_cooldown(Duration::from_millis(20))
            .build()
            .expect("builds"),
    );
    let old = Arc::new(sign(
        Algorithm::RS256,
        "rsa_a",
        Some("a"),
        &claims(json!({})),
    ));
    let new = Arc::new(sign(
        Algorithm::RS256,
        "rsa_b",
        Some("b"),
        &claims(json!({})),
    ));
    let forged = Arc::new(sign(
        Algorithm::RS256,
        "rsa_b",
        Some("a"),
        &claims(json!({})),
    ));
    assert!(validator.validate(old.as_bytes()).await.is_ok());

    let rotate = {
        let server = &server;
        async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            // Atomically: a fetch in a gap would rightly answer 503 (`jwks_unavailable`).
            rotate_jwks(server, &[jwk("rsa_b", Algorithm::RS256, "b")]).await;
        }
    };
    let racers = (0..200).map(|n| {
        let (validator, old, new, forged) = (
            Arc::clone(&validator),
            Arc::clone(&old),
            Arc::clone(&new),
            Arc::clone(&forged),
        );
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(n % 100)).await;
            let old_result = validator.validate(old.as_bytes()).await;
            let new_result = validator.validate(new.as_bytes()).await;
            let forged_result = validator.validate(forged.as_bytes()).await;
            (old_result, new_result, forged_result)
        })
    });
    let (results, ()) = tokio::join!(futures_util::future::join_all(racers), rotate);
    let refused = |result: &Result<TokenInfo, AuthError>| matches!(result, Err(error) if error.reason() == "unknown_key" || error.reason() == "jwks_key_not_yet_known");
    for result in results {
        let (old_result, new_result, forged_result) = result.expect("joins");
        assert!(
            old_result.is_ok() || refused(&old_result),
            "old: {old_result:?}"
        );
        assert!(
            new_result.is_ok() || refused(&new_result),
            "new: {new_result:?}"
        );
        assert!(
            forged_result == invalid("bad_signature") || refused(&forged_result),
            "forged: {forged_result:?}"
        );
    }
    tokio::time::sleep(Duration::from_millis(30)).await;
    assert!(validator.validate(new.as_bytes()).await.is_ok());
    tokio::time::sleep(Duration::from_millis(30)).await;
    assert_eq!(
        validator.validate(old.as_bytes()).await,
        invalid("unknown_key")
    );
}
