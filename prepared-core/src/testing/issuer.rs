//! Access tokens minted as an authorization server would, with a key generated per issuer.

use std::time::Duration;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::jwk::{Jwk, KeyAlgorithm};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Map, Value, json};

use crate::auth::JwtSecret;

/// An authorization server for tests: it mints access tokens for Prepared's client, signed
/// with HS256 and a random secret, or with RS256 and a freshly generated 2048-bit RSA key
/// published as a JWK.
///
/// Tokens are valid for five minutes from `iss` [`TestIssuer::ISSUER`] for `aud`
/// [`TestIssuer::AUDIENCE`], with the `client_id` `prepared` and both Prepared scopes; the
/// [`TokenBuilder`] changes any claim.
///
/// ```
/// use prepared_core::auth::JwtValidator;
/// use prepared_core::testing::TestIssuer;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let issuer = TestIssuer::hs256();
/// let validator = JwtValidator::hs256(issuer.secret().expect("an HS256 issuer has a secret"))
///     .issuer(TestIssuer::ISSUER)
///     .audience(TestIssuer::AUDIENCE)
///     .build()?;
///
/// let token = issuer.token().client_id("ecc-north").sign();
/// let info = validator.validate(token.as_bytes()).await?;
/// assert_eq!(info.client_id.as_deref(), Some("ecc-north"));
/// # Ok(())
/// # }
/// ```
pub struct TestIssuer {
    algorithm: Algorithm,
    key: EncodingKey,
    secret: Option<String>,
    key_id: String,
}

impl TestIssuer {
    /// The `iss` of the tokens unless a [`TokenBuilder::claim`] changes it.
    pub const ISSUER: &'static str = "https://auth.prepared.test";
    /// The `aud` of the tokens unless a [`TokenBuilder::audience`] changes it.
    pub const AUDIENCE: &'static str = "https://receiver.test/webhooks/prepared";

    /// An issuer signing with HS256 and a random secret of 64 hexadecimal digits.
    pub fn hs256() -> Self {
        let secret = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        Self {
            algorithm: Algorithm::HS256,
            key: EncodingKey::from_secret(secret.as_bytes()),
            secret: Some(secret),
            key_id: key_id(),
        }
    }

    /// An issuer signing with RS256 and a freshly generated 2048-bit RSA key (generating it
    /// takes a few tens of milliseconds).
    ///
    /// # Panics
    ///
    /// When the platform's random number generator fails.
    pub fn rs256() -> Self {
        let pair = KeyPair::generate(KeySize::Rsa2048).expect("an RSA key is generated");
        let pkcs8 = pair.as_der().expect("a generated key exports as PKCS #8");
        let encoded = STANDARD.encode(pkcs8.as_ref());
        let lines: Vec<&str> = encoded
            .as_bytes()
            .chunks(64)
            .map(|line| std::str::from_utf8(line).unwrap_or_default())
            .collect();
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            lines.join("\n")
        );
        Self {
            algorithm: Algorithm::RS256,
            key: EncodingKey::from_rsa_pem(pem.as_bytes()).expect("a PKCS #8 RSA key loads"),
            secret: None,
            key_id: key_id(),
        }
    }

    /// The signature algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The `kid` every token's header names and the JWK carries.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The HS256 secret, for [`JwtValidator::hs256`](crate::auth::JwtValidator::hs256);
    /// `None` for an RS256 issuer.
    pub fn secret(&self) -> Option<JwtSecret> {
        self.secret.as_deref().map(JwtSecret::new)
    }

    /// The public JWK of an RS256 issuer (with its `kid` and `alg`); `None` for HS256.
    pub fn jwk(&self) -> Option<Value> {
        if self.secret.is_some() {
            return None;
        }
        let mut jwk = Jwk::from_encoding_key(&self.key, self.algorithm).ok()?;
        jwk.common.key_id = Some(self.key_id.clone());
        jwk.common.key_algorithm = Some(KeyAlgorithm::RS256);
        serde_json::to_value(jwk).ok()
    }

    /// A token with the default claims, to change before [`TokenBuilder::sign`].
    pub fn token(&self) -> TokenBuilder<'_> {
        let now = unix_now();
        let claims = json!({
            "iss": Self::ISSUER, "aud": Self::AUDIENCE, "sub": "prepared",
            "client_id": "prepared", "scope": "cad_incidents incident_events",
            "iat": now, "nbf": now, "exp": now + 300,
        });
        let Value::Object(claims) = claims else {
            unreachable!("the claims are written as an object")
        };
        TokenBuilder {
            issuer: self,
            claims,
            typ: None,
        }
    }
}

/// `Debug` never shows the key.
impl std::fmt::Debug for TestIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestIssuer")
            .field("algorithm", &self.algorithm)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// The claims of one token; [`sign`](Self::sign) mints it.
#[derive(Debug)]
pub struct TokenBuilder<'a> {
    issuer: &'a TestIssuer,
    claims: Map<String, Value>,
    typ: Option<String>,
}

impl TokenBuilder<'_> {
    /// The `client_id` (and `sub`), e.g. one per dispatch center.
    pub fn client_id(self, client_id: &str) -> Self {
        self.claim("client_id", client_id).claim("sub", client_id)
    }

    /// The `scope`, space-separated.
    pub fn scope(self, scope: &str) -> Self {
        self.claim("scope", scope)
    }

    /// The `aud`.
    pub fn audience(self, audience: &str) -> Self {
        self.claim("aud", audience)
    }

    /// Valid from now for `lifetime`.
    pub fn expires_in(self, lifetime: Duration) -> Self {
        let exp = unix_now().saturating_add(i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX));
        self.claim("exp", exp)
    }

    /// Expired `ago` (and issued a little before).
    pub fn expired(self, ago: Duration) -> Self {
        let exp = unix_now().saturating_sub(i64::try_from(ago.as_secs()).unwrap_or(i64::MAX));
        self.claim("exp", exp)
            .claim("iat", exp - 300)
            .claim("nbf", exp - 300)
    }

    /// The header's `typ`, e.g. `at+jwt` (RFC 9068).
    pub fn typ(mut self, typ: &str) -> Self {
        self.typ = Some(typ.to_owned());
        self
    }

    /// Sets the claim `name`; a `null` removes it.
    pub fn claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        match value.into() {
            Value::Null => self.claims.remove(name),
            value => self.claims.insert(name.to_owned(), value),
        };
        self
    }

    /// The compact JWT.
    ///
    /// # Panics
    ///
    /// When signing fails, which a generated key does not.
    pub fn sign(self) -> String {
        let mut header = Header::new(self.issuer.algorithm);
        header.kid = Some(self.issuer.key_id.clone());
        header.typ = self.typ.or(header.typ);
        jsonwebtoken::encode(&header, &self.claims, &self.issuer.key).expect("a test token signs")
    }
}

fn key_id() -> String {
    format!("test-{}", uuid::Uuid::new_v4().simple())
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
