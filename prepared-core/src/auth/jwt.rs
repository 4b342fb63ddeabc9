//! [`JwtValidator`]: OAuth access tokens that are JWTs, signed with a shared HS256 secret or
//! with the keys of a JWKS URL.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, Validation};
use serde::Deserialize;

use super::bearer::required_bearer_token;
use super::config_error::{ConfigError, check_url};
use super::http_client::AuthServerClient;
use super::jwks::Jwks;
use super::principal::TokenInfo;
use super::{AuthError, AuthFuture, Authenticator, JwtSecret, Principal, Scopes};

/// The default clock leeway on `exp` and `nbf`: 30 seconds.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

/// Validates OAuth access tokens that are JWTs: the signature (HS256 with a shared secret,
/// or RS256/ES256/EdDSA with keys from a JWKS URL), `exp` and `nbf` with a small leeway
/// (default 30 s), `iss` and `aud` when configured (then required), the required scopes
/// (`scope`, space-delimited, or `scp`) and, when configured, the client (`client_id`, or
/// `azp`) and the RFC 9068 header `typ: at+jwt`. Cheap to clone.
///
/// The algorithm is never taken from the token alone: a token whose `alg` is not in the
/// validator's list (`none`, or `HS256` against public keys) is refused before any key is
/// looked at.
///
/// ```
/// use prepared_core::auth::{JwtSecret, JwtValidator};
///
/// # fn main() -> Result<(), prepared_core::auth::ConfigError> {
/// // HS256, the way Prepared signs its own tokens:
/// let hs256 = JwtValidator::hs256(JwtSecret::new("a shared secret of at least 32 bytes!"))
///     .issuer("https://auth.cad.example.com")
///     .audience("https://cad.example.com/webhooks/prepared")
///     .require_scopes(["incident_events"])
///     .build()?;
///
/// // Keys from the authorization server's JWKS (fetched at the first token):
/// let jwks = JwtValidator::jwks("https://auth.cad.example.com/.well-known/jwks.json")
///     .issuer("https://auth.cad.example.com")
///     .audience("https://cad.example.com/webhooks/prepared")
///     .build()?;
/// # let _ = (hs256, jwks); Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct JwtValidator {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    keys: Keys,
    /// One validation per allowed algorithm (`jsonwebtoken` wants a single key family per
    /// validation).
    validations: Vec<(Algorithm, Validation)>,
    required_scopes: Scopes,
    required_scopes_text: Arc<str>,
    /// The clients whose tokens are accepted; empty: any.
    client_ids: Vec<String>,
    /// Whether the header must say `typ: at+jwt` (RFC 9068 §2.1).
    require_at_jwt: bool,
}

enum Keys {
    Secret(DecodingKey),
    Jwks(Jwks),
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Secret(_) => f.write_str("Secret([redacted])"),
            Self::Jwks(jwks) => jwks.fmt(f),
        }
    }
}

/// The claims this crate reads beyond the registered ones `jsonwebtoken` validates.
#[derive(Deserialize)]
struct AccessTokenClaims {
    sub: Option<String>,
    client_id: Option<String>,
    azp: Option<String>,
    scope: Option<ScopeClaim>,
    scp: Option<ScopeClaim>,
}

/// `scope` is a space-delimited string (RFC 9068); some servers send `scp` as an array.
#[derive(Deserialize)]
#[serde(untagged)]
enum ScopeClaim {
    Text(String),
    List(Vec<String>),
}

impl ScopeClaim {
    fn into_scopes(self) -> Scopes {
        match self {
            Self::Text(text) => Scopes::parse(&text),
            Self::List(list) => list.into_iter().collect(),
        }
    }
}

impl JwtValidator {
    /// Tokens signed with HS256 and `secret` (at least 32 bytes).
    pub fn hs256(secret: JwtSecret) -> JwtValidatorBuilder {
        JwtValidatorBuilder::new(KeySource::Secret(secret), vec![Algorithm::HS256])
    }

    /// Tokens signed with the keys published at `url` (a JWKS, RFC 7517), with RS256, ES256
    /// or EdDSA by default.
    pub fn jwks(url: impl Into<String>) -> JwtValidatorBuilder {
        JwtValidatorBuilder::new(
            KeySource::Jwks(url.into()),
            vec![Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA],
        )
    }

    /// Validates a compact JWT and returns what it says about its holder.
    pub async fn validate(&self, token: &[u8]) -> Result<TokenInfo, AuthError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| AuthError::invalid("malformed_token"))?;
        let Some((_, validation)) = self
            .inner
            .validations
            .iter()
            .find(|(alg, _)| *alg == header.alg)
        else {
            return Err(AuthError::invalid("disallowed_algorithm"));
        };
        if self.inner.require_at_jwt && !header.typ.as_deref().is_some_and(is_at_jwt) {
            return Err(AuthError::invalid("wrong_token_type"));
        }
        let claims = match &self.inner.keys {
            Keys::Secret(key) => jsonwebtoken::decode::<AccessTokenClaims>(token, key, validation),
            Keys::Jwks(jwks) => {
                let keys = jwks.keys_for(header.kid.as_deref(), header.alg).await?;
                let key = keys
                    .find(header.kid.as_deref(), header.alg)
                    .ok_or(AuthError::invalid("unknown_key"))?;
                jsonwebtoken::decode::<AccessTokenClaims>(token, key, validation)
            }
        }
        .map_err(|error| AuthError::invalid(refusal(error.kind())))?
        .claims;
        let scopes = claims
            .scope
            .or(claims.scp)
            .map(ScopeClaim::into_scopes)
            .unwrap_or_default();
        let client_id = claims.client_id.or(claims.azp);
        let allowed = &self.inner.client_ids;
        if !allowed.is_empty() && !client_id.as_ref().is_some_and(|id| allowed.contains(id)) {
            return Err(AuthError::invalid("wrong_client"));
        }
        if !scopes.contains_all(&self.inner.required_scopes) {
            return Err(AuthError::InsufficientScope {
                required: Arc::clone(&self.inner.required_scopes_text),
            });
        }
        Ok(TokenInfo {
            client_id,
            subject: claims.sub,
            scopes,
        })
    }
}

/// Whether a header `typ` names an RFC 9068 access token: `at+jwt`, or its media type
/// `application/at+jwt` (RFC 9068 §2.1; media types compare case-insensitively).
fn is_at_jwt(typ: &str) -> bool {
    let bare = match typ.get(..12) {
        Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &typ[12..],
        _ => typ,
    };
    bare.eq_ignore_ascii_case("at+jwt")
}

/// The reason name of a refused token.
fn refusal(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::ExpiredSignature => "expired",
        ErrorKind::ImmatureSignature => "not_yet_valid",
        ErrorKind::InvalidIssuer => "wrong_issuer",
        ErrorKind::InvalidAudience => "wrong_audience",
        ErrorKind::InvalidSignature => "bad_signature",
        ErrorKind::InvalidAlgorithm => "disallowed_algorithm",
        ErrorKind::MissingRequiredClaim(_) => "missing_claim",
        ErrorKind::InvalidClaimFormat(_) => "malformed_claim",
        _ => "malformed_token",
    }
}

impl Authenticator for JwtValidator {
    fn authenticate<'a>(&'a self, head: &'a http::request::Parts) -> AuthFuture<'a> {
        Box::pin(async move {
            let token = required_bearer_token(head)?;
            self.validate(token).await.map(Principal::Jwt)
        })
    }

    fn authorization_server(&self) -> super::ServerCheckFuture<'_> {
        Box::pin(async move {
            match &self.inner.keys {
                Keys::Secret(_) => None,
                Keys::Jwks(jwks) => Some(jwks.readiness().await),
            }
        })
    }
}

enum KeySource {
    Secret(JwtSecret),
    Jwks(String),
}

/// Builds a [`JwtValidator`]; see there.
#[must_use]
pub struct JwtValidatorBuilder {
    keys: KeySource,
    algorithms: Vec<Algorithm>,
    issuers: Vec<String>,
    audiences: Vec<String>,
    any_audience: bool,
    leeway: Duration,
    required_scopes: Scopes,
    client_ids: Vec<String>,
    require_at_jwt: bool,
    fetch_timeout: Duration,
    refresh_cooldown: Duration,
    max_key_age: Duration,
}

impl std::fmt::Debug for JwtValidatorBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtValidatorBuilder")
            .field("algorithms", &self.algorithms)
            .field("issuers", &self.issuers)
            .field("audiences", &self.audiences)
            .field("leeway", &self.leeway)
            .field("required_scopes", &self.required_scopes)
            .field("client_ids", &self.client_ids)
            .field("require_at_jwt", &self.require_at_jwt)
            .finish_non_exhaustive()
    }
}

impl JwtValidatorBuilder {
    fn new(keys: KeySource, algorithms: Vec<Algorithm>) -> Self {
        Self {
            keys,
            algorithms,
            issuers: Vec::new(),
            audiences: Vec::new(),
            any_audience: false,
            leeway: DEFAULT_LEEWAY,
            required_scopes: Scopes::default(),
            client_ids: Vec::new(),
            require_at_jwt: false,
            fetch_timeout: Duration::from_secs(5),
            refresh_cooldown: Duration::from_secs(10),
            max_key_age: Duration::from_secs(600),
        }
    }

    /// Requires `iss` to be this issuer (may be called for several).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuers.push(issuer.into());
        self
    }

    /// Requires `aud` to name this audience, this receiver (may be called for several).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Accepts tokens whatever their audience. Only for an authorization server that issues
    /// tokens for this receiver alone; [`build`](Self::build) refuses a validator with
    /// neither this nor an [`audience`](Self::audience).
    pub fn any_audience(mut self) -> Self {
        self.any_audience = true;
        self
    }

    /// The clock skew tolerated on `exp` and `nbf` (default [`DEFAULT_LEEWAY`], 30 s;
    /// whole seconds).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Requires every one of `scopes` in the token (`403` otherwise), e.g. Prepared's
    /// `cad_incidents` or `incident_events`.
    pub fn require_scopes<S: AsRef<str>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.required_scopes.extend(scopes);
        self
    }

    /// Accepts only tokens issued to this OAuth client, named by `client_id` or else `azp`
    /// (may be called for several, e.g. one per dispatch center; `401`, reason
    /// `wrong_client`, otherwise). Default: any client.
    pub fn allow_client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_ids.push(client_id.into());
        self
    }

    /// Requires the RFC 9068 header `typ: at+jwt` (or `application/at+jwt`, any case), so
    /// that an ID token or another JWT of the same issuer cannot pass for an access token
    /// (`401`, reason `wrong_token_type`, otherwise). Off by default: Prepared's own tokens
    /// and many servers' do not carry it.
    pub fn require_at_jwt(mut self, required: bool) -> Self {
        self.require_at_jwt = required;
        self
    }

    /// The accepted signature algorithms, replacing the defaults (`HS256` for a secret;
    /// `RS256`, `ES256`, `EdDSA` for a JWKS). They must fit the keys: HMAC algorithms for a
    /// secret, public-key algorithms for a JWKS.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// JWKS: the time limit of one fetch, from connecting to the last byte (default 5 s).
    pub fn fetch_timeout(mut self, timeout: Duration) -> Self {
        self.fetch_timeout = timeout;
        self
    }

    /// JWKS: the least time between two fetches (default 10 s). A token naming a key the
    /// set lacks within it is answered `503` with the rest of the cooldown as `Retry-After`
    /// (at least 1 s; the key may have just rotated in), and refused (`401`) once a fetch
    /// after its arrival still lacks the key. Also the `Retry-After` when the JWKS cannot be
    /// fetched.
    pub fn refresh_cooldown(mut self, cooldown: Duration) -> Self {
        self.refresh_cooldown = cooldown;
        self
    }

    /// JWKS: how long a fetched key set is used before it is fetched again (default 10
    /// minutes), so that a key the server removed stops being accepted. When that fetch
    /// fails, the old keys stay in use.
    pub fn max_key_age(mut self, age: Duration) -> Self {
        self.max_key_age = age;
        self
    }

    /// Checks the settings and builds the validator. Nothing is fetched yet.
    pub fn build(self) -> Result<JwtValidator, ConfigError> {
        if self.audiences.is_empty() && !self.any_audience {
            return Err(ConfigError::NoAudience);
        }
        let wanted_family = |family: AlgorithmFamily| match &self.keys {
            KeySource::Secret(_) => family == AlgorithmFamily::Hmac,
            KeySource::Jwks(_) => family != AlgorithmFamily::Hmac,
        };
        if self.algorithms.is_empty() {
            return Err(ConfigError::Algorithm("(none)".to_owned()));
        }
        if let Some(unfit) = self
            .algorithms
            .iter()
            .find(|alg| !wanted_family(alg.family()))
        {
            return Err(ConfigError::Algorithm(format!("{unfit:?}")));
        }
        let keys = match self.keys {
            KeySource::Secret(secret) => {
                let secret = secret.expose().as_bytes();
                if secret.len() < 32 {
                    return Err(ConfigError::SecretTooShort(secret.len()));
                }
                Keys::Secret(DecodingKey::from_secret(secret))
            }
            KeySource::Jwks(url) => {
                check_url(&url)?;
                Keys::Jwks(Jwks::new(
                    url,
                    AuthServerClient::new(self.fetch_timeout),
                    self.refresh_cooldown,
                    self.max_key_age,
                ))
            }
        };
        let validations = self
            .algorithms
            .iter()
            .map(|alg| {
                let mut validation = Validation::new(*alg);
                validation.leeway = self.leeway.as_secs();
                validation.validate_nbf = true;
                let mut required = vec!["exp"];
                if !self.issuers.is_empty() {
                    validation.set_issuer(&self.issuers);
                    required.push("iss");
                }
                if self.audiences.is_empty() {
                    validation.validate_aud = false;
                } else {
                    validation.set_audience(&self.audiences);
                    required.push("aud");
                }
                validation.set_required_spec_claims(&required);
                (*alg, validation)
            })
            .collect();
        Ok(JwtValidator {
            inner: Arc::new(Inner {
                keys,
                validations,
                required_scopes_text: self.required_scopes.to_string().into(),
                required_scopes: self.required_scopes,
                client_ids: self.client_ids,
                require_at_jwt: self.require_at_jwt,
            }),
        })
    }
}
