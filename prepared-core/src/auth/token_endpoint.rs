//! [`TokenEndpoint`]: a client-credentials token endpoint (RFC 6749 §4.4) for partners
//! without an authorization server of their own.
//!
//! Prepared, given the partner's `client_id` and `client_secret`, asks this endpoint for an
//! access token and sends it as the Bearer token of every webhook call; the endpoint's
//! [`validator`](TokenEndpoint::validator) checks those calls. The adapters mount it as a
//! route (`prepared_tower::TokenEndpointService`, `prepared_actix::token_route`).

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use super::config_error::ConfigError;
use super::digest::TokenDigest;
use super::{ClientSecret, JwtSecret, JwtValidator, Scopes};
use crate::BoxError;

mod client_address;
mod error;
mod request;
mod throttle;

use client_address::TrustedProxies;
use throttle::{FailureKey, Throttle};

pub use client_address::PeerAddr;
pub use error::TokenRequestError;
pub use request::TokenRequest;

/// The largest token request body read (16 KiB); a request is a few hundred bytes.
const BODY_LIMIT: usize = 16 * 1024;

/// A client-credentials token endpoint that issues short-lived HS256 JWTs.
///
/// - Accepts Prepared's way (`POST` with a JSON body `{"client_id", "client_secret",
///   "grant_type": "client_credentials", "scope"}`) and RFC 6749's (a form body, client
///   credentials in HTTP Basic authentication or in the form).
/// - Secrets are compared through their SHA-256 digests in constant time, also for an
///   unknown client id. After 5 wrong secrets for a client id *from one address* within a
///   minute, that client id is answered `429` from that address until the minute is over,
///   without checking the secret; other addresses are not affected, so a stranger who knows
///   the client id locks out only themselves. The address is the TCP peer the adapter hands
///   over ([`PeerAddr`]), or behind a proxy named in
///   [`trust_forwarded_for`](TokenEndpointBuilder::trust_forwarded_for) the address it
///   forwarded for; the counts are bounded in memory
///   ([`max_tracked_addresses`](TokenEndpointBuilder::max_tracked_addresses)).
/// - Answers `{"access_token", "token_type": "Bearer", "expires_in", "scope"}` with
///   `Cache-Control: no-store`; errors per RFC 6749 §5.2.
/// - The tokens carry `iss`, `aud`, `sub` and `client_id` (the client's id), `scope`, `iat`,
///   `nbf`, `exp` (default: one hour) and a random `jti`.
///
/// ```
/// use prepared_core::auth::{ClientCredentials, ClientSecret, JwtSecret, TokenEndpoint};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let endpoint = TokenEndpoint::builder(
///     JwtSecret::new("a signing secret of at least 32 bytes!!"),
///     "https://cad.example.com",                  // iss
///     "https://cad.example.com/webhooks/prepared", // aud
/// )
/// .client(
///     ClientCredentials::new("prepared-ecc-1", ClientSecret::new("the secret given to Prepared"))
///         .scopes(["cad_incidents", "incident_events"]),
/// )
/// .build()?;
/// // The webhook accepts exactly the tokens this endpoint issues:
/// let authenticator = endpoint.validator();
/// # let _ = authenticator; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct TokenEndpoint {
    inner: Arc<Inner>,
}

struct Inner {
    clients: Vec<Client>,
    /// Compared against when the client id is unknown, so that the answer takes as long.
    unknown_client: TokenDigest,
    key: EncodingKey,
    header: Header,
    issuer: String,
    audience: String,
    ttl: Duration,
    throttle: Throttle,
    trusted_proxies: TrustedProxies,
    /// Whether the missing peer address was logged already (once per endpoint).
    warned_no_address: AtomicBool,
    validator: JwtValidator,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenEndpoint")
            .field("clients", &self.clients)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

struct Client {
    id: String,
    secret: TokenDigest,
    scopes: Scopes,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.id)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// A client allowed to get tokens: its id, its secret, and the scopes it may have.
#[derive(Clone, Debug)]
pub struct ClientCredentials {
    id: String,
    secret: ClientSecret,
    scopes: Scopes,
}

impl ClientCredentials {
    /// A client with no scope; give it some with [`scopes`](Self::scopes).
    pub fn new(id: impl Into<String>, secret: ClientSecret) -> Self {
        Self {
            id: id.into(),
            secret,
            scopes: Scopes::default(),
        }
    }

    /// The scopes this client may have (and gets when it asks for none), e.g. Prepared's
    /// `cad_incidents` and `incident_events`.
    pub fn scopes<S: AsRef<str>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes = scopes.into_iter().collect();
        self
    }
}

/// The claims of an issued token.
#[derive(Serialize)]
struct IssuedClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: &'a str,
    client_id: &'a str,
    scope: String,
    iat: u64,
    nbf: u64,
    exp: u64,
    jti: String,
}

/// The success answer (RFC 6749 §5.1).
#[derive(Serialize)]
struct TokenAnswer {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    scope: String,
}

impl TokenEndpoint {
    /// An endpoint that signs tokens with `secret` (HS256, at least 32 bytes) for the
    /// receiver `audience`, as the issuer `issuer`.
    pub fn builder(
        secret: JwtSecret,
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> TokenEndpointBuilder {
        TokenEndpointBuilder {
            secret,
            issuer: issuer.into(),
            audience: audience.into(),
            clients: Vec::new(),
            required_scopes: Scopes::default(),
            ttl: Duration::from_secs(3600),
            max_failures: 5,
            failure_window: Duration::from_secs(60),
            max_tracked: 10_000,
            trusted_proxies: Vec::new(),
        }
    }

    /// The validator that accepts the tokens this endpoint issues (same secret, issuer and
    /// audience); use it as the webhook's authenticator.
    pub fn validator(&self) -> JwtValidator {
        self.inner.validator.clone()
    }

    /// Answers one token request, reading its body under a 16 KiB limit.
    pub async fn handle<B>(&self, request: Request<B>) -> Response<Bytes>
    where
        B: http_body::Body,
        B::Error: Into<BoxError>,
    {
        let (head, body) = request.into_parts();
        if head.method != http::Method::POST {
            return TokenRequestError::MethodNotAllowed.to_response();
        }
        match crate::delivery::read_limited(body, BODY_LIMIT).await {
            Ok(body) => self.respond(&head, &body),
            Err(crate::delivery::Rejection::PayloadTooLarge { .. }) => {
                TokenRequestError::PayloadTooLarge.to_response()
            }
            Err(_) => TokenRequestError::InvalidRequest("the body could not be read").to_response(),
        }
    }

    /// Answers one token request whose body was read already.
    pub fn respond(&self, head: &http::request::Parts, body: &[u8]) -> Response<Bytes> {
        let peer = head.extensions.get::<PeerAddr>().map(|peer| peer.0.ip());
        let address = self
            .inner
            .trusted_proxies
            .client_address(peer, &head.headers);
        let issued =
            TokenRequest::parse(head, body).and_then(|request| self.issue(&request, address));
        let outcome = issued
            .as_ref()
            .map_or_else(TokenRequestError::reason, |_| "issued");
        #[cfg(feature = "metrics")]
        metrics::counter!("prepared_token_requests_total", "outcome" => outcome).increment(1);
        match issued {
            Ok(answer) => answer,
            Err(error) => {
                tracing::info!(error = error.code(), outcome, reason = %error, "token request refused");
                error.to_response()
            }
        }
    }

    /// Checks a parsed request and issues its token.
    fn issue(
        &self,
        request: &TokenRequest,
        address: Option<IpAddr>,
    ) -> Result<Response<Bytes>, TokenRequestError> {
        if request.grant_type != "client_credentials" {
            return Err(TokenRequestError::UnsupportedGrantType);
        }
        let client = self.authenticate(request, address)?;
        let scopes = match &request.scope {
            None => client.scopes.clone(),
            Some(asked) => {
                let asked = Scopes::parse(asked);
                if !client.scopes.contains_all(&asked) {
                    return Err(TokenRequestError::InvalidScope);
                }
                asked
            }
        };
        let inner = &self.inner;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        let claims = IssuedClaims {
            iss: &inner.issuer,
            aud: &inner.audience,
            sub: &client.id,
            client_id: &client.id,
            scope: scopes.to_string(),
            iat: now,
            nbf: now,
            exp: now + inner.ttl.as_secs(),
            jti: uuid::Uuid::new_v4().to_string(),
        };
        let access_token = jsonwebtoken::encode(&inner.header, &claims, &inner.key)
            .map_err(|_| TokenRequestError::ServerError)?;
        tracing::info!(client_id = %client.id, scope = %scopes, "issued an access token");
        let answer = TokenAnswer {
            access_token,
            token_type: "Bearer",
            expires_in: inner.ttl.as_secs(),
            scope: claims.scope,
        };
        let mut response = Response::new(Bytes::from(
            serde_json::to_vec(&answer).map_err(|_| TokenRequestError::ServerError)?,
        ));
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        *response.status_mut() = StatusCode::OK;
        Ok(response)
    }

    /// The client the request authenticates as: its secret compared in constant time; a
    /// client id with too many recent failures from this address refused without a
    /// comparison.
    fn authenticate(
        &self,
        request: &TokenRequest,
        address: Option<IpAddr>,
    ) -> Result<&Client, TokenRequestError> {
        let inner = &self.inner;
        let presented = TokenDigest::of(request.client_secret.expose().as_bytes());
        let Some((index, client)) = inner
            .clients
            .iter()
            .enumerate()
            .find(|(_, client)| client.id == request.client_id)
        else {
            let _ = presented.matches(&inner.unknown_client);
            return Err(TokenRequestError::InvalidClient);
        };
        let key = FailureKey {
            client: index,
            address,
        };
        inner
            .throttle
            .check(key)
            .map_err(|retry_after| TokenRequestError::TooManyFailures { retry_after })?;
        if presented.matches(&client.secret) {
            inner.throttle.succeeded(key);
            Ok(client)
        } else {
            let failures = inner.throttle.failed(key);
            if address.is_none() && !inner.warned_no_address.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "the token endpoint gets no peer address: wrong secrets are counted per \
                     client id for every address together, so a stranger can lock Prepared \
                     out; hand it a PeerAddr (axum: into_make_service_with_connect_info)"
                );
            }
            let address = address.map(tracing::field::display);
            tracing::warn!(client_id = %client.id, address, failures, "wrong client secret");
            Err(TokenRequestError::InvalidClient)
        }
    }
}

/// Builds a [`TokenEndpoint`]; see there.
#[must_use]
pub struct TokenEndpointBuilder {
    secret: JwtSecret,
    issuer: String,
    audience: String,
    clients: Vec<ClientCredentials>,
    required_scopes: Scopes,
    ttl: Duration,
    max_failures: u32,
    failure_window: Duration,
    max_tracked: u64,
    trusted_proxies: Vec<IpAddr>,
}

impl std::fmt::Debug for TokenEndpointBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenEndpointBuilder")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("clients", &self.clients)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl TokenEndpointBuilder {
    /// Adds a client (Prepared gets one per dispatch center).
    pub fn client(mut self, client: ClientCredentials) -> Self {
        self.clients.push(client);
        self
    }

    /// Makes the [`validator`](TokenEndpoint::validator) require every one of `scopes`
    /// (`403` otherwise).
    pub fn require_scopes<S: AsRef<str>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.required_scopes.extend(scopes);
        self
    }

    /// How long an issued token is valid (default one hour; whole seconds).
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// After `failures` wrong secrets for a client id from one address within `window`,
    /// that client id is answered `429` from that address until the window is over
    /// (default 5 per minute). Other addresses keep their own counts.
    pub fn max_failures(mut self, failures: u32, window: Duration) -> Self {
        self.max_failures = failures;
        self.failure_window = window;
        self
    }

    /// How many (client id, address) pairs the throttle keeps counts for at most (default
    /// 10,000, about 100 bytes each); past it, the entries least likely to be used again
    /// are dropped first.
    pub fn max_tracked_addresses(mut self, entries: u64) -> Self {
        self.max_tracked = entries.max(1);
        self
    }

    /// Believes the `Forwarded` (RFC 7239) or, without it, `X-Forwarded-For` header of
    /// requests whose TCP peer is one of `proxies` (e.g. the load balancer's addresses):
    /// the throttle then counts failures per the address the proxies forwarded for (the
    /// nearest one that is not itself a trusted proxy). Off by default: anyone can send
    /// these headers, so only a proxy that overwrites or appends to them may be trusted.
    ///
    /// ```
    /// # use prepared_core::auth::{ClientCredentials, ClientSecret, JwtSecret, TokenEndpoint};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let endpoint = TokenEndpoint::builder(
    ///     JwtSecret::new("a signing secret of at least 32 bytes!!"),
    ///     "https://cad.example.com",
    ///     "https://cad.example.com/webhooks/prepared",
    /// )
    /// .client(ClientCredentials::new("prepared", ClientSecret::new("the secret given to Prepared")))
    /// .trust_forwarded_for(["10.0.0.10".parse()?, "10.0.0.11".parse()?])
    /// .build()?;
    /// # let _ = endpoint; Ok(()) }
    /// ```
    pub fn trust_forwarded_for(mut self, proxies: impl IntoIterator<Item = IpAddr>) -> Self {
        self.trusted_proxies.extend(proxies);
        self
    }

    /// Checks the settings and builds the endpoint.
    pub fn build(self) -> Result<TokenEndpoint, ConfigError> {
        if self.clients.is_empty() {
            return Err(ConfigError::NoClient);
        }
        let validator = JwtValidator::hs256(self.secret.clone())
            .issuer(self.issuer.clone())
            .audience(self.audience.clone())
            .require_scopes(self.required_scopes.iter())
            .build()?;
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some("at+jwt".to_owned());
        Ok(TokenEndpoint {
            inner: Arc::new(Inner {
                clients: self
                    .clients
                    .into_iter()
                    .map(|client| Client {
                        secret: TokenDigest::of(client.secret.expose().as_bytes()),
                        id: client.id,
                        scopes: client.scopes,
                    })
                    .collect(),
                unknown_client: TokenDigest::of(b"no client has this secret"),
                key: EncodingKey::from_secret(self.secret.expose().as_bytes()),
                header,
                issuer: self.issuer,
                audience: self.audience,
                ttl: self.ttl,
                throttle: Throttle::new(self.max_failures, self.failure_window, self.max_tracked),
                trusted_proxies: TrustedProxies(self.trusted_proxies),
                warned_no_address: AtomicBool::new(false),
                validator,
            }),
        })
    }
}
