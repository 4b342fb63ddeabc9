//! Helpers for the OAuth tests: signed tokens, JWKS documents and request heads.

use jsonwebtoken::jwk::{Jwk, KeyAlgorithm};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

pub const ISSUER: &str = "https://auth.test";
pub const AUDIENCE: &str = "https://receiver.test/webhooks/prepared";
/// An HS256 secret of 32 bytes or more.
pub const SECRET: &str = "test-hs256-secret-of-at-least-32-bytes";

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

/// Claims valid for five minutes, for `AUDIENCE` from `ISSUER`, with both Prepared scopes;
/// `changes` are merged in (a `null` removes a claim).
pub fn claims(changes: Value) -> Value {
    let now = now();
    let mut claims = json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "prepared", "client_id": "prepared-ecc-1",
        "scope": "cad_incidents incident_events", "iat": now, "nbf": now, "exp": now + 300,
    });
    let object = claims.as_object_mut().expect("an object");
    for (name, value) in changes.as_object().expect("an object of changes") {
        if value.is_null() {
            object.remove(name);
        } else {
            object.insert(name.clone(), value.clone());
        }
    }
    claims
}

/// The PEM of a test key (`tests/keys/<name>.pem`).
pub fn pem(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/keys/{name}.pem", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn encoding_key(key: &str, alg: Algorithm) -> EncodingKey {
    match key {
        "hs256" => EncodingKey::from_secret(SECRET.as_bytes()),
        _ => match alg {
            Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512 | Algorithm::PS256 => {
                EncodingKey::from_rsa_pem(&pem(key)).expect("an RSA key")
            }
            Algorithm::ES256 => EncodingKey::from_ec_pem(&pem(key)).expect("an EC key"),
            Algorithm::EdDSA => EncodingKey::from_ed_pem(&pem(key)).expect("an Ed25519 key"),
            other => panic!("no test key for {other:?}"),
        },
    }
}

/// A compact JWT of `claims` signed with the test key `key` (`"hs256"` for [`SECRET`]).
pub fn sign(alg: Algorithm, key: &str, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &encoding_key(key, alg)).expect("signs")
}

/// An HS256 token of `claims` signed with [`SECRET`].
pub fn hs256(claims: &Value) -> String {
    sign(Algorithm::HS256, "hs256", None, claims)
}

/// The public JWK of a test key.
pub fn jwk(key: &str, alg: Algorithm, kid: &str) -> Value {
    let mut jwk = Jwk::from_encoding_key(&encoding_key(key, alg), alg).expect("a JWK");
    jwk.common.key_id = Some(kid.to_owned());
    jwk.common.key_algorithm = Some(match alg {
        Algorithm::RS256 => KeyAlgorithm::RS256,
        Algorithm::PS256 => KeyAlgorithm::PS256,
        Algorithm::ES256 => KeyAlgorithm::ES256,
        Algorithm::EdDSA => KeyAlgorithm::EdDSA,
        other => panic!("no JWK alg for {other:?}"),
    });
    serde_json::to_value(jwk).expect("serializes")
}

/// A JWKS document of `keys`.
pub fn jwks(keys: &[Value]) -> Value {
    json!({ "keys": keys })
}

/// A `POST` head with `Authorization: Bearer <token>`.
pub fn head(token: &str) -> http::request::Parts {
    http::Request::post("/webhooks/prepared")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(())
        .expect("a valid request")
        .into_parts()
        .0
}
