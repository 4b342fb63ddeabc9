//! The client-credentials token endpoint: Prepared's JSON request and RFC 6749's forms, the
//! RFC 6749 §5.2 errors, the rate limit on wrong secrets, and tokens the validator accepts.

use crate::support;

use std::time::Duration;

use crate::support::oauth::{AUDIENCE, ISSUER, SECRET, head};
use base64::Engine;
use bytes::Bytes;
use http::StatusCode;
use http_body_util::Full;
use prepared_core::auth::{
    Authenticator, ClientCredentials, ClientSecret, JwtSecret, Principal, Scopes, TokenEndpoint,
    TokenRequest, TokenRequestError,
};
use prepared_core::{Event, Webhooks};
use serde_json::{Value, json};

const CLIENT: &str = "prepared-ecc-1";
const CLIENT_SECRET: &str = "client-secret-0123456789";

fn endpoint() -> TokenEndpoint {
    TokenEndpoint::builder(JwtSecret::new(SECRET), ISSUER, AUDIENCE)
        .client(
            ClientCredentials::new(CLIENT, ClientSecret::new(CLIENT_SECRET))
                .scopes(["cad_incidents", "incident_events"]),
        )
        .client(ClientCredentials::new(
            "other",
            ClientSecret::new("other-secret"),
        ))
        .token_ttl(Duration::from_secs(600))
        .build()
        .expect("builds")
}

fn request(
    content_type: &str,
    basic: Option<(&str, &str)>,
    body: &str,
) -> http::Request<Full<Bytes>> {
    let mut builder = http::Request::post("/oauth/token").header("content-type", content_type);
    if let Some((id, secret)) = basic {
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        builder = builder.header("authorization", format!("Basic {encoded}"));
    }
    builder
        .body(Full::new(Bytes::from(body.to_owned())))
        .expect("a request")
}

fn json_request(body: Value) -> http::Request<Full<Bytes>> {
    request("application/json", None, &body.to_string())
}

async fn answer(
    endpoint: &TokenEndpoint,
    request: http::Request<Full<Bytes>>,
) -> (StatusCode, http::HeaderMap, Value) {
    let response = endpoint.handle(request).await;
    let body = serde_json::from_slice(response.body()).expect("a JSON answer");
    (response.status(), response.headers().clone(), body)
}

#[tokio::test]
async fn prepared_s_json_request_gets_a_token_the_webhook_accepts() {
    let endpoint = endpoint();
    let (status, headers, body) = answer(
        &endpoint,
        json_request(json!({
            "client_id": CLIENT, "client_secret": CLIENT_SECRET,
            "grant_type": "client_credentials", "scope": "incident_events",
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["pragma"], "no-cache");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 600);
    assert_eq!(body["scope"], "incident_events");
    let token = body["access_token"].as_str().expect("a token");

    let principal = endpoint
        .validator()
        .authenticate(&head(token))
        .await
        .expect("the validator accepts it");
    let Principal::Jwt(info) = principal else {
        panic!("{principal:?}")
    };
    assert_eq!(info.client_id.as_deref(), Some(CLIENT));
    assert_eq!(info.scopes, Scopes::parse("incident_events"));

    // End to end through the pipeline.
    let webhooks = Webhooks::builder()
        .authenticator(endpoint.validator())
        .on_event(|_: Event| async { Ok::<_, std::convert::Infallible>(()) })
        .build()
        .expect("builds");
    let delivery = support::delivery_with_token(token, support::caller_location(1, 2));
    assert_eq!(webhooks.handle(delivery).await.status(), StatusCode::OK);
    let forged = format!("{token}x");
    let delivery = support::delivery_with_token(&forged, support::caller_location(1, 3));
    assert_eq!(
        webhooks.handle(delivery).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn rfc_6749_forms_with_basic_or_body_credentials_work() {
    let endpoint = endpoint();
    let form = "application/x-www-form-urlencoded";
    let cases = [
        request(
            form,
            Some((CLIENT, CLIENT_SECRET)),
            "grant_type=client_credentials",
        ),
        request(
            form,
            None,
            &format!(
                "grant_type=client_credentials&client_id={CLIENT}&client_secret={CLIENT_SECRET}"
            ),
        ),
        request(
            &format!("{form}; charset=UTF-8"),
            Some((CLIENT, CLIENT_SECRET)),
            "grant_type=client_credentials&scope=cad_incidents+incident_events&unknown=ignored",
        ),
        // Basic with the client_id repeated in the body, as some clients do.
        request(
            form,
            Some((CLIENT, CLIENT_SECRET)),
            &format!("grant_type=client_credentials&client_id={CLIENT}"),
        ),
    ];
    for request in cases {
        let (status, _, body) = answer(&endpoint, request).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["scope"], "cad_incidents incident_events");
        let token = body["access_token"].as_str().expect("a token");
        assert!(
            endpoint
                .validator()
                .validate(token.as_bytes())
                .await
                .is_ok()
        );
    }
}

#[tokio::test]
async fn basic_credentials_are_form_urlencoded() {
    let endpoint = TokenEndpoint::builder(JwtSecret::new(SECRET), ISSUER, AUDIENCE)
        .client(ClientCredentials::new(
            "ecc 1",
            ClientSecret::new("p@ss:w+rd%"),
        ))
        .build()
        .expect("builds");
    let (status, _, body) = answer(
        &endpoint,
        request(
            "application/x-www-form-urlencoded",
            Some(("ecc+1", "p%40ss%3Aw%2Brd%25")),
            "grant_type=client_credentials",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "");
}

#[tokio::test]
async fn errors_follow_rfc_6749_section_5_2() {
    let endpoint = endpoint();
    let form = "application/x-www-form-urlencoded";
    let good = |extra: &str| format!("client_id={CLIENT}&client_secret={CLIENT_SECRET}{extra}");
    let cases: Vec<(&str, http::Request<Full<Bytes>>, StatusCode, &str)> = vec![
        (
            "wrong secret",
            json_request(
                json!({"client_id": CLIENT, "client_secret": "nope", "grant_type": "client_credentials"}),
            ),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            "unknown client",
            json_request(
                json!({"client_id": "who", "client_secret": CLIENT_SECRET, "grant_type": "client_credentials"}),
            ),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            "no credentials",
            json_request(json!({"grant_type": "client_credentials"})),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            "id without secret",
            json_request(json!({"client_id": CLIENT, "grant_type": "client_credentials"})),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            "bearer instead of basic",
            http::Request::post("/")
                .header("content-type", form)
                .header("authorization", "Bearer x")
                .body(Full::new(Bytes::from_static(
                    b"grant_type=client_credentials",
                )))
                .expect("a request"),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            "basic not base64",
            http::Request::post("/")
                .header("content-type", form)
                .header("authorization", "Basic !!!")
                .body(Full::new(Bytes::from_static(
                    b"grant_type=client_credentials",
                )))
                .expect("a request"),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            "password grant",
            request(form, None, &good("&grant_type=password")),
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        ),
        (
            "no grant_type",
            request(form, None, &good("")),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "scope not granted",
            request(
                form,
                None,
                &good("&grant_type=client_credentials&scope=admin"),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_scope",
        ),
        (
            "repeated parameter",
            request(
                form,
                None,
                &good("&grant_type=client_credentials&grant_type=client_credentials"),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "two client authentications",
            request(
                form,
                Some((CLIENT, CLIENT_SECRET)),
                &good("&grant_type=client_credentials"),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "basic and another body client_id",
            request(
                form,
                Some((CLIENT, CLIENT_SECRET)),
                "grant_type=client_credentials&client_id=other",
            ),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "duplicated JSON key",
            request(
                "application/json",
                None,
                &format!(
                    r#"{{"grant_type":"client_credentials","client_id":"{CLIENT}","client_id":"other","client_secret":"{CLIENT_SECRET}"}}"#
                ),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "JSON number",
            request("application/json", None, r#"{"grant_type": 1}"#),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "JSON array",
            request("application/json", None, "[]"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "not JSON",
            request("application/json", None, "grant_type=client_credentials"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "text/plain",
            request("text/plain", None, &good("&grant_type=client_credentials")),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "no content type",
            http::Request::post("/")
                .body(Full::new(Bytes::from(good(
                    "&grant_type=client_credentials",
                ))))
                .expect("a request"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "GET",
            http::Request::get("/oauth/token")
                .body(Full::new(Bytes::new()))
                .expect("a request"),
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
        ),
        (
            "too large",
            request(form, None, &"a".repeat(17 * 1024)),
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
        ),
    ];
    for (name, request, status, error) in cases {
        let (got_status, headers, body) = answer(&endpoint, request).await;
        assert_eq!(got_status, status, "{name}: {body}");
        assert_eq!(body["error"], error, "{name}");
        assert!(body["error_description"].is_string(), "{name}");
        assert!(body.get("access_token").is_none(), "{name}");
        assert_eq!(headers["cache-control"], "no-store", "{name}");
        if status == StatusCode::UNAUTHORIZED {
            assert_eq!(
                headers["www-authenticate"], r#"Basic realm="prepared-webhooks""#,
                "{name}"
            );
        }
        if status == StatusCode::METHOD_NOT_ALLOWED {
            assert_eq!(headers["allow"], "POST", "{name}");
        }
        let text = body.to_string();
        assert!(!text.contains(CLIENT_SECRET), "{name}: {text}");
    }
}

#[tokio::test]
async fn repeated_wrong_secrets_lock_the_client_id_for_a_while() {
    let endpoint = TokenEndpoint::builder(JwtSecret::new(SECRET), ISSUER, AUDIENCE)
        .client(ClientCredentials::new(
            CLIENT,
            ClientSecret::new(CLIENT_SECRET),
        ))
        .client(ClientCredentials::new(
            "other",
            ClientSecret::new("other-secret"),
        ))
        .max_failures(3, Duration::from_millis(300))
        .build()
        .expect("builds");
    let attempt = |secret: &str| {
        json_request(
            json!({"client_id": CLIENT, "client_secret": secret, "grant_type": "client_credentials"}),
        )
    };
    for _ in 0..3 {
        let (status, _, _) = answer(&endpoint, attempt("wrong")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // Locked: even the right secret is refused, with Retry-After.
    let (status, headers, body) = answer(&endpoint, attempt(CLIENT_SECRET)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["error"], "invalid_client");
    assert!(headers.contains_key("retry-after"));
    // Another client is not affected.
    let (status, _, _) = answer(
        &endpoint,
        json_request(json!({"client_id": "other", "client_secret": "other-secret", "grant_type": "client_credentials"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // After the window, the right secret works again.
    tokio::time::sleep(Duration::from_millis(350)).await;
    let (status, _, body) = answer(&endpoint, attempt(CLIENT_SECRET)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[test]
fn the_parser_reads_every_documented_shape() {
    let head = |content_type: &str| {
        http::Request::post("/oauth/token")
            .header("content-type", content_type)
            .body(())
            .expect("a request")
            .into_parts()
            .0
    };
    let parsed = TokenRequest::parse(
        &head("application/x-www-form-urlencoded"),
        b"grant_type=client_credentials&client_id=a%20b&client_secret=c+d",
    )
    .expect("parses");
    assert_eq!(parsed.client_id, "a b");
    assert_eq!(parsed.grant_type, "client_credentials");
    assert_eq!(parsed.scope, None);
    assert!(!format!("{parsed:?}").contains("c d"));
    assert_eq!(
        TokenRequest::parse(&head("application/x-www-form-urlencoded"), b"\xff\xfe").err(),
        Some(TokenRequestError::InvalidRequest("the form is not UTF-8"))
    );
}

#[test]
fn an_endpoint_needs_a_client_and_a_long_enough_secret() {
    assert!(
        TokenEndpoint::builder(JwtSecret::new(SECRET), ISSUER, AUDIENCE)
            .build()
            .is_err()
    );
    assert!(
        TokenEndpoint::builder(JwtSecret::new("short"), ISSUER, AUDIENCE)
            .client(ClientCredentials::new("a", ClientSecret::new("b")))
            .build()
            .is_err()
    );
    let shown = format!("{:?}", endpoint());
    assert!(
        !shown.contains(CLIENT_SECRET) && !shown.contains(SECRET),
        "{shown}"
    );
}

#[tokio::test]
async fn the_validator_requires_the_endpoint_s_required_scopes() {
    let endpoint = TokenEndpoint::builder(JwtSecret::new(SECRET), ISSUER, AUDIENCE)
        .client(
            ClientCredentials::new(CLIENT, ClientSecret::new(CLIENT_SECRET))
                .scopes(["cad_incidents", "incident_events"]),
        )
        .require_scopes(["incident_events"])
        .build()
        .expect("builds");
    let token_for = |scope: &str| {
        json_request(json!({
            "client_id": CLIENT, "client_secret": CLIENT_SECRET,
            "grant_type": "client_credentials", "scope": scope,
        }))
    };
    let (_, _, cad) = answer(&endpoint, token_for("cad_incidents")).await;
    let error = endpoint
        .validator()
        .validate(cad["access_token"].as_str().expect("a token").as_bytes())
        .await
        .expect_err("lacks incident_events");
    assert_eq!(error.status(), StatusCode::FORBIDDEN);
    let (_, _, both) = answer(&endpoint, token_for("cad_incidents incident_events")).await;
    assert!(
        endpoint
            .validator()
            .validate(both["access_token"].as_str().expect("a token").as_bytes())
            .await
            .is_ok()
    );
}
