//! Authentication on the request head: the static Bearer check, an HS256 JWT, and a cached
//! RFC 7662 introspection hit (the first call goes to a wiremock server on loopback; the
//! measured ones are answered from the cache).
//!
//! `cargo bench -p prepared-core --bench auth`

use std::hint::black_box;
use std::time::{SystemTime, UNIX_EPOCH};

use criterion::{Criterion, criterion_group, criterion_main};
use prepared_core::auth::{
    Authenticator, BearerToken, ClientSecret, Introspector, JwtSecret, JwtValidator, StaticBearer,
};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "bench-token-9f2c4e7a1b3d5f70";
const SECRET: &str = "bench-hs256-secret-of-at-least-32-bytes";

fn head(token: &str) -> http::request::Parts {
    http::Request::post("/webhooks/prepared")
        .header("authorization", format!("Bearer {token}"))
        .body(())
        .expect("a request")
        .into_parts()
        .0
}

fn bearer(c: &mut Criterion) {
    let mut group = c.benchmark_group("auth/bearer");
    let one = StaticBearer::new([BearerToken::new(TOKEN)]);
    let three = StaticBearer::new(
        ["rotated-out-token-1", "rotated-out-token-2", TOKEN].map(BearerToken::new),
    );
    let right = head(TOKEN);
    let wrong = head("wrong-token-of-the-same-length");
    group.bench_function("1 token, accepted", |b| {
        b.iter(|| one.check(black_box(&right)).expect("accepted"))
    });
    group.bench_function("1 token, refused", |b| {
        b.iter(|| one.check(black_box(&wrong)).expect_err("refused"))
    });
    group.bench_function("3 tokens, accepted", |b| {
        b.iter(|| three.check(black_box(&right)).expect("accepted"))
    });
    group.finish();
}

fn oauth(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();

    let validator = JwtValidator::hs256(JwtSecret::new(SECRET))
        .audience("https://receiver.bench")
        .build()
        .expect("builds");
    let claims = serde_json::json!({
        "aud": "https://receiver.bench", "exp": now + 3600, "client_id": "prepared",
        "scope": "cad_incidents incident_events",
    });
    let jwt = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("signs");
    let jwt_head = head(&jwt);

    let (_server, introspector) = runtime.block_on(async {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "active": true, "client_id": "prepared", "exp": now + 3600,
                "scope": "cad_incidents incident_events",
            })))
            .mount(&server)
            .await;
        let introspector = Introspector::builder(
            format!("{}/introspect", server.uri()),
            "receiver",
            ClientSecret::new("receiver-secret"),
        )
        .build()
        .expect("builds");
        introspector
            .introspect(TOKEN.as_bytes())
            .await
            .expect("the first call is accepted");
        (server, introspector)
    });
    let opaque_head = head(TOKEN);

    let mut group = c.benchmark_group("auth/oauth");
    group.bench_function("JWT HS256", |b| {
        b.to_async(&runtime).iter(|| async {
            validator
                .authenticate(black_box(&jwt_head))
                .await
                .expect("accepted")
        })
    });
    group.bench_function("introspection, cached", |b| {
        b.to_async(&runtime).iter(|| async {
            introspector
                .authenticate(black_box(&opaque_head))
                .await
                .expect("accepted")
        })
    });
    group.finish();
}

criterion_group!(benches, bearer, oauth);
criterion_main!(benches);
