//! The example receivers' configuration contract (README.md, "Example receivers"): which
//! environment variables choose what, and which combinations are refused at start-up.

use std::collections::HashMap;

use base64::Engine;
use prepared_core::auth::{AuthError, Authenticator, Principal, TokenEndpoint};
use prepared_core::delivery::AckMode;
use std::sync::{Arc, Mutex};

use prepared_core::Event;
use prepared_core::auth::{BearerToken, StaticBearer};
use prepared_core::delivery::Delivery;
use prepared_webhooks::{ReceiverConfig, StdoutFormat, delivery_line};
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn config(vars: &[(&str, &str)]) -> Result<ReceiverConfig, String> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    ReceiverConfig::from_vars(|name| vars.get(name).cloned()).map_err(|error| error.to_string())
}

#[test]
fn the_defaults_need_no_variable() {
    let config = config(&[]).expect("defaults");
    assert_eq!(config.bind.to_string(), "127.0.0.1:3000");
    assert_eq!(config.ack_mode, AckMode::Immediate);
    assert!(config.redis_url.is_none());
    assert!(config.token_endpoint().is_none());
    assert!(format!("{config:?}").contains("bearer"));
}

#[test]
fn every_auth_mode_is_chosen_by_prepared_auth() {
    let jwt = config(&[
        ("PREPARED_AUTH", "jwt"),
        ("PREPARED_JWT_SECRET", "a-secret-of-at-least-32-bytes-long!"),
        (
            "PREPARED_JWT_AUDIENCE",
            "https://cad.test/webhooks/prepared",
        ),
        ("PREPARED_REQUIRED_SCOPES", "incident_events, cad_incidents"),
    ]);
    assert!(jwt.is_ok(), "{jwt:?}");
    let jwks = config(&[
        ("PREPARED_AUTH", "jwt"),
        ("PREPARED_JWKS_URL", "https://auth.test/jwks.json"),
        (
            "PREPARED_JWT_AUDIENCE",
            "https://cad.test/webhooks/prepared",
        ),
    ]);
    assert!(jwks.is_ok(), "{jwks:?}");
    let introspection = config(&[
        ("PREPARED_AUTH", "introspection"),
        ("PREPARED_INTROSPECTION_URL", "https://auth.test/introspect"),
        ("PREPARED_INTROSPECTION_CLIENT_ID", "receiver"),
        ("PREPARED_INTROSPECTION_CLIENT_SECRET", "secret"),
    ]);
    assert!(introspection.is_ok(), "{introspection:?}");
    let endpoint = config(&[("PREPARED_AUTH", "token_endpoint")]).expect("defaults");
    assert!(endpoint.token_endpoint().is_some());
}

#[test]
fn settings_that_cannot_work_stop_the_receiver_with_a_message() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("PREPARED_BIND", "localhost")], "PREPARED_BIND"),
        (&[("PREPARED_ACK_MODE", "later")], "PREPARED_ACK_MODE"),
        (&[("PREPARED_STDOUT", "json")], "PREPARED_STDOUT"),
        (&[("PREPARED_AUTH", "magic")], "PREPARED_AUTH must be"),
        (
            &[("PREPARED_AUTH", "jwt"), ("PREPARED_JWT_AUDIENCE", "a")],
            "PREPARED_JWT_SECRET or PREPARED_JWKS_URL",
        ),
        (
            &[
                ("PREPARED_AUTH", "jwt"),
                ("PREPARED_JWT_SECRET", "a-secret-of-at-least-32-bytes-long!"),
            ],
            "PREPARED_JWT_AUDIENCE",
        ),
        (
            &[
                ("PREPARED_AUTH", "jwt"),
                ("PREPARED_JWT_SECRET", "short"),
                ("PREPARED_JWT_AUDIENCE", "a"),
            ],
            "at least 32",
        ),
        (
            &[("PREPARED_AUTH", "introspection")],
            "PREPARED_INTROSPECTION_URL",
        ),
    ];
    for (vars, message) in cases {
        let error = config(vars).expect_err("refused");
        assert!(error.contains(message), "{vars:?}: {error}");
    }
}

// --- What the configured authenticator accepts ---------------------------------------------

const SECRET: &str = "a-secret-of-at-least-32-bytes-long!";
const AUDIENCE: &str = "https://cad.test/webhooks/prepared";
const ISSUER: &str = "https://cad.test";

fn head(token: &str) -> http::request::Parts {
    http::Request::post("/webhooks/prepared")
        .header("authorization", format!("Bearer {token}"))
        .body(())
        .expect("a request")
        .into_parts()
        .0
}

async fn authenticate(config: &ReceiverConfig, token: &str) -> Result<Principal, AuthError> {
    config.auth.authenticator().authenticate(&head(token)).await
}

/// An access token from a token endpoint, the way Prepared gets one.
fn mint(endpoint: &TokenEndpoint, client_id: &str, secret: &str) -> String {
    let (head, ()) = http::Request::post("/oauth/token")
        .header("content-type", "application/json")
        .body(())
        .expect("a request")
        .into_parts();
    let body = json!({
        "client_id": client_id, "client_secret": secret, "grant_type": "client_credentials",
    });
    let response = endpoint.respond(&head, body.to_string().as_bytes());
    let answer: Value = serde_json::from_slice(response.body()).expect("JSON");
    answer["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {answer}"))
        .to_owned()
}

/// A token endpoint issuing HS256 tokens with [`SECRET`] for `client_id`, as a partner's
/// authorization server would; its tokens are what `PREPARED_AUTH=jwt` checks.
fn issuer_of(client_id: &str) -> TokenEndpoint {
    config(&[
        ("PREPARED_AUTH", "token_endpoint"),
        ("PREPARED_OAUTH_CLIENT_ID", client_id),
        ("PREPARED_OAUTH_CLIENT_SECRET", "client-secret"),
        ("PREPARED_JWT_SECRET", SECRET),
        ("PREPARED_JWT_AUDIENCE", AUDIENCE),
        ("PREPARED_JWT_ISSUER", ISSUER),
    ])
    .expect("builds")
    .token_endpoint()
    .expect("a token endpoint")
}

fn jwt_vars<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut vars = vec![
        ("PREPARED_AUTH", "jwt"),
        ("PREPARED_JWT_SECRET", SECRET),
        ("PREPARED_JWT_AUDIENCE", AUDIENCE),
        ("PREPARED_JWT_ISSUER", ISSUER),
    ];
    vars.extend_from_slice(extra);
    vars
}

#[tokio::test]
async fn webhook_tokens_may_carry_labels_and_bare_ones_keep_working() {
    let config = config(&[(
        "PREPARED_WEBHOOK_TOKEN",
        "ecc-king-county:tok-a, tok-b ,ecc:with:colons:tok-c",
    )])
    .expect("builds");
    let a = authenticate(&config, "tok-a").await.expect("labelled");
    assert_eq!(
        (a.label(), a.name().as_str()),
        (Some("ecc-king-county"), "ecc-king-county")
    );
    let b = authenticate(&config, "tok-b").await.expect("bare");
    assert_eq!((b.label(), b.name().as_str()), (None, "token-1"));
    // The token is after the last `:` (a token cannot hold one).
    let c = authenticate(&config, "tok-c").await.expect("labelled");
    assert_eq!(c.label(), Some("ecc:with:colons"));
    assert!(
        authenticate(&config, "ecc-king-county:tok-a")
            .await
            .is_err()
    );
    assert!(authenticate(&config, "tok-d").await.is_err());
}

#[test]
fn bad_token_labels_stop_the_receiver_without_showing_the_token() {
    for value in [
        ":tok-secret",
        "ecc-a:tok-secret, \u{e9}cc:tok-secret",
        "ec\tc:tok-secret",
        "ecc-a:",
        " , ",
    ] {
        let error = config(&[("PREPARED_WEBHOOK_TOKEN", value)]).expect_err(value);
        assert!(
            error.starts_with("PREPARED_WEBHOOK_TOKEN"),
            "{value:?}: {error}"
        );
        assert!(!error.contains("tok-secret"), "{value:?}: {error}");
    }
}

#[tokio::test]
async fn several_modes_at_once_accept_each_ones_tokens() {
    let endpoint = issuer_of("prepared-ecc-1");
    let jwt = mint(&endpoint, "prepared-ecc-1", "client-secret");
    let both = config(&jwt_vars(&[
        ("PREPARED_AUTH", "bearer, jwt"),
        ("PREPARED_WEBHOOK_TOKEN", "ecc-a:static-token"),
    ]))
    .expect("builds");
    assert!(format!("{both:?}").contains("bearer,jwt"), "{both:?}");
    assert_eq!(
        authenticate(&both, "static-token")
            .await
            .expect("static")
            .label(),
        Some("ecc-a")
    );
    assert_eq!(
        authenticate(&both, &jwt).await.expect("JWT").client_id(),
        Some("prepared-ecc-1")
    );
    let error = authenticate(&both, "guess").await.expect_err("refused");
    assert_eq!(error.status().as_u16(), 401);
    assert!(both.token_endpoint().is_none());

    // With the token endpoint among them, it is still served, and its tokens accepted.
    let with_endpoint = config(&[
        ("PREPARED_AUTH", "bearer,token_endpoint"),
        ("PREPARED_WEBHOOK_TOKEN", "static-token"),
        ("PREPARED_OAUTH_CLIENT_SECRET", "client-secret"),
    ])
    .expect("builds");
    let endpoint = with_endpoint.token_endpoint().expect("served");
    let issued = mint(&endpoint, "prepared", "client-secret");
    assert!(authenticate(&with_endpoint, &issued).await.is_ok());
    assert!(authenticate(&with_endpoint, "static-token").await.is_ok());

    for (value, message) in [("bearer,bearer", "twice"), ("bearer,magic", "not `magic`")] {
        let error = config(&[("PREPARED_AUTH", value)]).expect_err(value);
        assert!(error.contains(message), "{value}: {error}");
    }
}

#[tokio::test]
async fn allowed_client_ids_and_at_jwt_reach_the_jwt_validator() {
    let jwt = mint(
        &issuer_of("prepared-ecc-1"),
        "prepared-ecc-1",
        "client-secret",
    );
    let allowed = config(&jwt_vars(&[(
        "PREPARED_ALLOWED_CLIENT_IDS",
        "prepared-ecc-2, prepared-ecc-1",
    )]))
    .expect("builds");
    assert!(authenticate(&allowed, &jwt).await.is_ok());
    let other = config(&jwt_vars(&[(
        "PREPARED_ALLOWED_CLIENT_IDS",
        "prepared-ecc-2",
    )]))
    .expect("builds");
    assert_eq!(
        authenticate(&other, &jwt).await,
        Err(AuthError::Invalid {
            reason: "wrong_client"
        })
    );

    // The endpoint's tokens say `typ: at+jwt`; the same token with `typ: JWT` does not.
    let strict = config(&jwt_vars(&[("PREPARED_JWT_REQUIRE_AT_JWT", "true")])).expect("builds");
    assert!(authenticate(&strict, &jwt).await.is_ok());
    let plain_header =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let (_, rest) = jwt.split_once('.').expect("a JWT");
    let retyped = format!("{plain_header}.{rest}");
    assert_eq!(
        authenticate(&strict, &retyped).await,
        Err(AuthError::Invalid {
            reason: "wrong_token_type"
        })
    );
    // Off by default: the header is not checked (the signature, over the old header, fails).
    let lenient = config(&jwt_vars(&[])).expect("builds");
    assert_eq!(
        authenticate(&lenient, &retyped).await,
        Err(AuthError::Invalid {
            reason: "bad_signature"
        })
    );
}

#[test]
fn jwt_algorithms_and_flags_are_checked_at_start_up() {
    let jwks = |algorithms: &str| {
        config(&[
            ("PREPARED_AUTH", "jwt"),
            ("PREPARED_JWKS_URL", "https://auth.test/jwks.json"),
            ("PREPARED_JWT_AUDIENCE", AUDIENCE),
            ("PREPARED_JWT_ALGORITHMS", algorithms),
        ])
    };
    assert!(jwks("RS256, PS256").is_ok());
    for (result, message) in [
        (jwks("RS256,HS256"), "PREPARED_JWT_ALGORITHMS"),
        (jwks("none"), "PREPARED_JWT_ALGORITHMS"),
        (
            config(&jwt_vars(&[("PREPARED_JWT_ALGORITHMS", "PS256")])),
            "PREPARED_JWT_ALGORITHMS",
        ),
        (
            config(&jwt_vars(&[("PREPARED_JWT_REQUIRE_AT_JWT", "yes")])),
            "PREPARED_JWT_REQUIRE_AT_JWT",
        ),
    ] {
        let error = result.expect_err(message);
        assert!(error.contains(message), "{error}");
    }
}

async fn introspection_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "active": true, "client_id": "prepared-ecc-1", "aud": "https://cad.test/webhooks",
        })))
        .mount(&server)
        .await;
    server
}

/// Variables by name and value.
type Vars<'a> = &'a [(&'a str, &'a str)];

fn introspection_vars<'a>(url: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut vars = vec![
        ("PREPARED_AUTH", "introspection"),
        ("PREPARED_INTROSPECTION_URL", url),
        ("PREPARED_INTROSPECTION_CLIENT_ID", "receiver"),
        ("PREPARED_INTROSPECTION_CLIENT_SECRET", "receiver-secret"),
    ];
    vars.extend_from_slice(extra);
    vars
}

#[tokio::test]
async fn introspection_audience_clients_and_client_auth_come_from_the_environment() {
    let server = introspection_server().await;
    let url = server.uri();
    let cases: [(Vars<'_>, Result<(), &str>); 5] = [
        (&[], Ok(())),
        (
            &[(
                "PREPARED_INTROSPECTION_AUDIENCE",
                "https://cad.test/webhooks",
            )],
            Ok(()),
        ),
        (
            &[("PREPARED_INTROSPECTION_AUDIENCE", "https://other.test")],
            Err("wrong_audience"),
        ),
        (
            &[(
                "PREPARED_ALLOWED_CLIENT_IDS",
                "prepared-ecc-1,prepared-ecc-2",
            )],
            Ok(()),
        ),
        (
            &[("PREPARED_ALLOWED_CLIENT_IDS", "prepared-ecc-2")],
            Err("wrong_client"),
        ),
    ];
    for (extra, expected) in cases {
        let config = config(&introspection_vars(&url, extra)).expect("builds");
        let result = authenticate(&config, "opaque-token").await;
        match expected {
            Ok(()) => assert!(result.is_ok(), "{extra:?}: {result:?}"),
            Err(reason) => assert_eq!(result, Err(AuthError::Invalid { reason }), "{extra:?}"),
        }
    }

    // client_secret_post: the credentials in the form, no Basic header.
    let server = introspection_server().await;
    let url = server.uri();
    let post = config(&introspection_vars(
        &url,
        &[("PREPARED_INTROSPECTION_CLIENT_AUTH", "post")],
    ))
    .expect("builds");
    assert!(authenticate(&post, "opaque-token").await.is_ok());
    let requests = server.received_requests().await.expect("recorded");
    let body = String::from_utf8_lossy(&requests[0].body);
    assert!(!requests[0].headers.contains_key("authorization"));
    assert!(
        body.contains("client_id=receiver") && body.contains("client_secret=receiver-secret"),
        "{body}"
    );
    let basic = config(&introspection_vars(
        &url,
        &[("PREPARED_INTROSPECTION_CLIENT_AUTH", "basic")],
    ))
    .expect("builds");
    assert!(authenticate(&basic, "opaque-token-2").await.is_ok());
    let requests = server.received_requests().await.expect("recorded");
    assert!(requests[1].headers.contains_key("authorization"));
    assert!(!String::from_utf8_lossy(&requests[1].body).contains("client_secret"));

    let error = config(&introspection_vars(
        &url,
        &[("PREPARED_INTROSPECTION_CLIENT_AUTH", "jwt")],
    ))
    .expect_err("refused");
    assert!(
        error.contains("PREPARED_INTROSPECTION_CLIENT_AUTH"),
        "{error}"
    );
}

#[test]
fn unrestricted_introspection_is_announced_with_a_warning() {
    let warning = "set PREPARED_INTROSPECTION_AUDIENCE or PREPARED_ALLOWED_CLIENT_IDS";
    let open = config(&introspection_vars("https://auth.test/introspect", &[])).expect("builds");
    assert!(
        open.auth
            .announcement(&open.bind)
            .iter()
            .any(|line| line.contains(warning))
    );
    let restricted = config(&introspection_vars(
        "https://auth.test/introspect",
        &[("PREPARED_ALLOWED_CLIENT_IDS", "prepared-ecc-1")],
    ))
    .expect("builds");
    assert!(
        !restricted
            .auth
            .announcement(&restricted.bind)
            .iter()
            .any(|line| line.contains(warning))
    );
}

#[test]
fn stdout_prints_the_event_or_its_delivery() {
    assert_eq!(config(&[]).expect("defaults").stdout, StdoutFormat::Event);
    let delivery = config(&[("PREPARED_STDOUT", "delivery")]).expect("a format");
    assert_eq!(delivery.stdout, StdoutFormat::Delivery);
}

/// `PREPARED_STDOUT=delivery`: one JSON object per event with who sent it, when, which
/// attempt, its dedup key and the event in wire shape; never the token.
#[tokio::test]
async fn a_delivery_line_has_the_documented_fields_and_no_token() {
    let lines: Arc<Mutex<Vec<Value>>> = Arc::default();
    let kept = Arc::clone(&lines);
    let webhooks = prepared_core::Webhooks::builder()
        .authenticator(StaticBearer::new([BearerToken::new(
            "stdout-token-never-printed",
        )
        .label("ecc-a")]))
        .on_event(move |event: Event, delivery: Delivery| {
            let line = delivery_line(&event, &delivery).expect("a line");
            assert!(line.ends_with(b"\n") && !line[..line.len() - 1].contains(&b'\n'));
            assert!(!String::from_utf8_lossy(&line).contains("stdout-token-never-printed"));
            kept.lock()
                .expect("lock")
                .push(serde_json::from_slice(&line).expect("JSON"));
            async {}
        })
        .build()
        .expect("builds");
    let body = prepared_webhooks::EXAMPLE_PAYLOADS[3].1;
    let request = http::Request::post("/webhooks/prepared")
        .header("authorization", "Bearer stdout-token-never-printed")
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(bytes::Bytes::from_static(
            body.as_bytes(),
        )))
        .expect("a request");
    assert_eq!(webhooks.handle(request).await.status(), 200);
    for _ in 0..500 {
        if !lines.lock().expect("lock").is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let line = lines.lock().expect("lock")[0].clone();
    let event: Value = serde_json::from_str(body).expect("JSON");
    assert_eq!(line["tenant"], "ecc-a");
    assert_eq!(line["principal"], "ecc-a");
    assert_eq!(line["attempt"], 1);
    assert_eq!(
        line["dedup_key"],
        format!("caller_location:{}", event["id"].as_str().expect("an id"))
    );
    let wire_shape = serde_json::to_value(Event::decode(body.as_bytes()).expect("decodes"));
    assert_eq!(line["event"], wire_shape.expect("serializes"));
    let received_at = line["received_at"].as_str().expect("a time");
    assert!(
        received_at.parse::<prepared_core::Timestamp>().is_ok(),
        "{received_at}"
    );
}

#[test]
fn prepared_redis_cluster_nodes_names_the_cluster_and_excludes_prepared_redis_url() {
    let cluster = config(&[(
        "PREPARED_REDIS_CLUSTER_NODES",
        "10.0.0.1:6379, 10.0.0.2:6379,",
    )])
    .expect("a cluster");
    assert_eq!(
        cluster.redis_cluster_nodes,
        Some(vec!["10.0.0.1:6379".to_owned(), "10.0.0.2:6379".to_owned()])
    );
    assert!(cluster.redis_url.is_none());
    let both = config(&[
        ("PREPARED_REDIS_URL", "redis://127.0.0.1:6379/"),
        ("PREPARED_REDIS_CLUSTER_NODES", "10.0.0.1:6379"),
    ])
    .expect_err("one or the other");
    assert!(both.contains("PREPARED_REDIS_CLUSTER_NODES"), "{both}");
}

/// The receivers use the cluster of `PREPARED_REDIS_CLUSTER_NODES`, and stop at start-up
/// when a cluster node is given as `PREPARED_REDIS_URL`.
#[ignore = "needs a Redis Cluster: set REDIS_CLUSTER_NODES (scripts/test.sh starts one when REDIS_URL is set)"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_receivers_dedup_in_the_cluster_of_prepared_redis_cluster_nodes() {
    let nodes = std::env::var("REDIS_CLUSTER_NODES").expect("REDIS_CLUSTER_NODES: a Redis Cluster");
    const TOKEN: &str = "cluster-test-token-0123456789";
    let cluster = config(&[
        ("PREPARED_REDIS_CLUSTER_NODES", &nodes),
        ("PREPARED_WEBHOOK_TOKEN", TOKEN),
    ])
    .expect("a cluster");
    let webhooks = cluster
        .webhooks_builder()
        .await
        .expect("connects to the cluster")
        .ack_mode(AckMode::AfterProcessing)
        .build()
        .expect("builds");
    let body = format!(
        r#"{{"type":"caller_location","id":"{}","incident_id":"{}","lat":1.0,"lng":2.0}}"#,
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4()
    );
    let deliver = || {
        http::Request::post("/webhooks/prepared")
            .header("authorization", format!("Bearer {TOKEN}"))
            .header("content-type", "application/json")
            .body(http_body_util::Full::new(bytes::Bytes::from(body.clone())))
            .expect("a request")
    };
    let first = webhooks.handle(deliver()).await;
    assert_eq!(first.status(), 200);
    let again: Value =
        serde_json::from_slice(webhooks.handle(deliver()).await.body()).expect("JSON");
    assert_eq!(again["status"], "duplicate", "the claim is in the cluster");

    let first = nodes.split(',').next().expect("a node");
    let single = config(&[("PREPARED_REDIS_URL", &format!("redis://{first}/"))]).expect("parses");
    let Err(error) = single.webhooks_builder().await else {
        panic!("a cluster node given as one Redis was taken");
    };
    let error = error.to_string();
    assert!(error.contains("connect_cluster"), "{error}");
}
