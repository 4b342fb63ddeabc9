//! [`Introspector`]: opaque OAuth access tokens, checked with the authorization server's
//! RFC 7662 introspection endpoint.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use moka::Expiry;
use moka::future::Cache;
use oauth2::basic::BasicClient;
use oauth2::{
    AccessToken, AuthType, ClientId, EndpointNotSet, EndpointSet, IntrospectionUrl,
    RequestTokenError, TokenIntrospectionResponse,
};

use super::bearer::required_bearer_token;
use super::config_error::{ConfigError, check_url};
use super::digest::TokenDigest;
use super::http_client::{AuthServerClient, UpstreamError};
use super::principal::TokenInfo;
use super::{AuthError, AuthFuture, Authenticator, ClientSecret, Principal, Scopes};
use crate::readiness::CheckStatus;

type IntrospectionClient =
    BasicClient<EndpointNotSet, EndpointNotSet, EndpointSet, EndpointNotSet, EndpointNotSet>;

/// Checks opaque access tokens with the authorization server (RFC 7662), authenticating as
/// the receiver's own OAuth client. Cheap to clone.
///
/// - A token is accepted when the server says `active: true` and, when given, `exp` and
///   `nbf` hold (30 s leeway), the `scope` holds every required scope (`403` otherwise), the
///   `client_id` is an allowed one and the `aud` names a configured audience.
/// - Accepted tokens are cached until `min(exp, max_ttl)` (default 5 minutes: a token
///   revoked at the server is noticed within that time), keyed by the SHA-256 of the token,
///   never the token. Refused tokens are cached only with
///   [`negative_cache`](IntrospectorBuilder::negative_cache): at most 1,000 of them, for at
///   most a minute, apart from the accepted ones so that a flood of bad tokens cannot evict
///   good ones.
/// - Concurrent requests with the same uncached token make one call to the server and share
///   its answer.
/// - When the server cannot be reached, answers late (default 5 s), answers with a status
///   other than `200`, or answers something that is not an introspection response (such as
///   one without a boolean `active`), the delivery is answered `503` with `Retry-After`:
///   Prepared retries it, and nothing is cached.
///
/// ```
/// use prepared_core::auth::{ClientSecret, Introspector};
///
/// # fn main() -> Result<(), prepared_core::auth::ConfigError> {
/// let introspector = Introspector::builder(
///     "https://auth.cad.example.com/oauth/introspect",
///     "webhook-receiver",
///     ClientSecret::new("the receiver's own client secret"),
/// )
/// .require_scopes(["incident_events"])
/// .build()?;
/// # let _ = introspector; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Introspector {
    inner: Arc<Inner>,
}

struct Inner {
    client: IntrospectionClient,
    http: AuthServerClient,
    accepted: Cache<TokenDigest, Arc<Accepted>>,
    refused: Option<Cache<TokenDigest, AuthError>>,
    checks: Checks,
    retry_after: Duration,
    health: Mutex<ServerHealth>,
}

/// Whether the authorization server answered lately, for the readiness check.
#[derive(Default)]
struct ServerHealth {
    /// When it last answered an introspection request (active or not).
    answered_at: Option<Instant>,
    /// Whether a request failed since.
    failing: bool,
}

/// How long an answer of the server counts as "reachable lately" for readiness.
const REACHABLE_LATELY: Duration = Duration::from_secs(60);

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Introspector")
            .field("url", &self.client.introspection_url().as_str())
            .field("client_id", &self.client.client_id().as_str())
            .field("cached", &self.accepted.entry_count())
            .field("checks", &self.checks)
            .finish_non_exhaustive()
    }
}

/// What is checked in an `active` answer.
#[derive(Debug)]
struct Checks {
    required_scopes: Scopes,
    required_scopes_text: Arc<str>,
    client_ids: Vec<String>,
    audiences: Vec<String>,
    leeway: Duration,
    max_ttl: Duration,
}

/// An accepted token, and how long it may be cached.
struct Accepted {
    info: TokenInfo,
    ttl: Duration,
}

/// Caches each accepted token for its own time.
struct UntilExpiry;

impl Expiry<TokenDigest, Arc<Accepted>> for UntilExpiry {
    fn expire_after_create(
        &self,
        _key: &TokenDigest,
        value: &Arc<Accepted>,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

impl Introspector {
    /// An introspector that calls `url` as the OAuth client `client_id` with `client_secret`
    /// (sent with HTTP Basic authentication, RFC 6749 §2.3.1).
    pub fn builder(
        url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: ClientSecret,
    ) -> IntrospectorBuilder {
        IntrospectorBuilder {
            url: url.into(),
            client_id: client_id.into(),
            client_secret,
            credentials_in_body: false,
            required_scopes: Scopes::default(),
            client_ids: Vec::new(),
            audiences: Vec::new(),
            timeout: Duration::from_secs(5),
            max_ttl: Duration::from_secs(300),
            capacity: 10_000,
            negative_ttl: None,
            retry_after: Duration::from_secs(5),
        }
    }

    /// Checks a token: from the cache, or by asking the authorization server once for all
    /// the requests that present it meanwhile.
    pub async fn introspect(&self, token: &[u8]) -> Result<TokenInfo, AuthError> {
        let digest = TokenDigest::of(token);
        if let Some(refused) = &self.inner.refused
            && let Some(error) = refused.get(&digest).await
        {
            return Err(error);
        }
        let inner = &self.inner;
        match inner.accepted.try_get_with(digest, inner.ask(token)).await {
            Ok(accepted) => Ok(accepted.info.clone()),
            Err(error) => {
                let error = AuthError::clone(&error);
                // A refusal may be cached; "cannot check now" never is.
                if let Some(refused) = &inner.refused
                    && error.retry_after().is_none()
                {
                    refused.insert(digest, error.clone()).await;
                }
                Err(error)
            }
        }
    }
}

impl Inner {
    /// Asks the authorization server about `token` and checks its answer.
    async fn ask(&self, token: &[u8]) -> Result<Arc<Accepted>, AuthError> {
        // A Bearer token is token68, so ASCII; anything else is no token of this server.
        let token = std::str::from_utf8(token).map_err(|_| AuthError::invalid("inactive"))?;
        let token = AccessToken::new(token.to_owned());
        let answer = self
            .client
            .introspect(&token)
            .set_token_type_hint("access_token")
            .request_async(&self.http)
            .await;
        self.record_health(answer.is_ok());
        let answer = answer.map_err(|error| self.unavailable(&error))?;
        if !answer.active() {
            return Err(AuthError::invalid("inactive"));
        }
        let checks = &self.checks;
        let now = SystemTime::now();
        let expires_in = match answer.exp() {
            Some(exp) => match SystemTime::from(exp).duration_since(now) {
                Ok(left) => Some(left),
                Err(past) if past.duration() <= checks.leeway => Some(Duration::ZERO),
                Err(_) => return Err(AuthError::invalid("expired")),
            },
            None => None,
        };
        if answer
            .nbf()
            .is_some_and(|nbf| SystemTime::from(nbf) > now + checks.leeway)
        {
            return Err(AuthError::invalid("not_yet_valid"));
        }
        let client_id = answer.client_id().map(|id| id.as_str().to_owned());
        if !checks.client_ids.is_empty()
            && !client_id
                .as_ref()
                .is_some_and(|id| checks.client_ids.contains(id))
        {
            return Err(AuthError::invalid("wrong_client"));
        }
        if !checks.audiences.is_empty()
            && !answer
                .aud()
                .is_some_and(|aud| aud.iter().any(|aud| checks.audiences.contains(aud)))
        {
            return Err(AuthError::invalid("wrong_audience"));
        }
        let scopes: Scopes = answer
            .scopes()
            .map(|scopes| scopes.iter().map(|scope| scope.as_str()).collect())
            .unwrap_or_default();
        if !scopes.contains_all(&checks.required_scopes) {
            return Err(AuthError::InsufficientScope {
                required: Arc::clone(&checks.required_scopes_text),
            });
        }
        let ttl = expires_in.map_or(checks.max_ttl, |left| left.min(checks.max_ttl));
        Ok(Arc::new(Accepted {
            info: TokenInfo {
                client_id,
                subject: answer.sub().map(str::to_owned),
                scopes,
            },
            ttl,
        }))
    }

    fn record_health(&self, answered: bool) {
        let mut health = self.health.lock().unwrap_or_else(PoisonError::into_inner);
        if answered {
            health.answered_at = Some(Instant::now());
        }
        health.failing = !answered;
    }

    fn answered_lately(&self) -> bool {
        let health = self.health.lock().unwrap_or_else(PoisonError::into_inner);
        !health.failing
            && health
                .answered_at
                .is_some_and(|at| at.elapsed() < REACHABLE_LATELY)
    }

    fn unavailable<TE>(&self, error: &RequestTokenError<UpstreamError, TE>) -> AuthError
    where
        TE: oauth2::ErrorResponse,
    {
        let reason = match error {
            RequestTokenError::Request(upstream) => match upstream.kind() {
                "timeout" => "introspection_timeout",
                "unreachable" => "introspection_unreachable",
                "server_error" => "introspection_server_error",
                "refused" => "introspection_refused",
                _ => "introspection_bad_answer",
            },
            _ => "introspection_bad_answer",
        };
        // A refusal's status and OAuth `error` code tell wrong receiver credentials from an
        // outage. Neither these nor the error's `Display` hold the token; a parse error's
        // body is not logged.
        let (status, oauth_error) = match error {
            RequestTokenError::Request(UpstreamError::Status {
                status,
                oauth_error,
            }) => (Some(status.as_u16()), oauth_error.as_deref()),
            _ => (None, None),
        };
        let detail = match error {
            RequestTokenError::Request(upstream) => upstream.to_string(),
            other => other.to_string(),
        };
        // At `debug`: the pipeline logs the refused delivery at `warn`, under its rate limit.
        tracing::debug!(reason, status, oauth_error, error = %detail, "token introspection failed");
        AuthError::Unavailable {
            reason,
            retry_after: self.retry_after,
        }
    }
}

impl Authenticator for Introspector {
    fn authenticate<'a>(&'a self, head: &'a http::request::Parts) -> AuthFuture<'a> {
        Box::pin(async move {
            let token = required_bearer_token(head)?;
            self.introspect(token).await.map(Principal::Introspected)
        })
    }

    /// `Ok` when the server answered within the last minute and nothing failed since;
    /// otherwise it is asked about a random token, and any answer (it is inactive) is `Ok`.
    fn authorization_server(&self) -> super::ServerCheckFuture<'_> {
        Box::pin(async move {
            if self.inner.answered_lately() {
                return Some(CheckStatus::Ok);
            }
            let probe = format!("readiness-probe-{}", uuid::Uuid::new_v4().simple());
            Some(match self.inner.ask(probe.as_bytes()).await {
                Err(AuthError::Unavailable { .. }) => CheckStatus::Unreachable,
                _ => CheckStatus::Ok,
            })
        })
    }
}

/// Builds an [`Introspector`]; see there.
#[must_use]
pub struct IntrospectorBuilder {
    url: String,
    client_id: String,
    client_secret: ClientSecret,
    credentials_in_body: bool,
    required_scopes: Scopes,
    client_ids: Vec<String>,
    audiences: Vec<String>,
    timeout: Duration,
    max_ttl: Duration,
    capacity: u64,
    negative_ttl: Option<Duration>,
    retry_after: Duration,
}

impl std::fmt::Debug for IntrospectorBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntrospectorBuilder")
            .field("url", &self.url)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .finish_non_exhaustive()
    }
}

impl IntrospectorBuilder {
    /// Sends the receiver's client credentials as `client_id`/`client_secret` form fields
    /// instead of HTTP Basic authentication.
    pub fn credentials_in_body(mut self) -> Self {
        self.credentials_in_body = true;
        self
    }

    /// Requires every one of `scopes` in the token (`403` otherwise).
    pub fn require_scopes<S: AsRef<str>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.required_scopes.extend(scopes);
        self
    }

    /// Accepts only tokens issued to this OAuth client (may be called for several, e.g. one
    /// per dispatch center). Default: any client.
    pub fn allow_client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_ids.push(client_id.into());
        self
    }

    /// Accepts only tokens whose `aud` names this audience (may be called for several).
    /// Default: any audience.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// The time limit of one introspection call (default 5 s); past it, `503`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The longest an accepted token is cached (default 5 minutes); never past its `exp`.
    pub fn max_ttl(mut self, ttl: Duration) -> Self {
        self.max_ttl = ttl;
        self
    }

    /// How many accepted tokens are cached at most (default 10,000).
    pub fn cache_capacity(mut self, tokens: u64) -> Self {
        self.capacity = tokens;
        self
    }

    /// Also caches refused tokens, for `ttl` (at most a minute), 1,000 at most: repeated
    /// deliveries with a bad token then stop reaching the server. Off by default.
    pub fn negative_cache(mut self, ttl: Duration) -> Self {
        self.negative_ttl = Some(ttl.min(Duration::from_secs(60)));
        self
    }

    /// The `Retry-After` of the `503` answered when the server cannot be asked (default 5 s).
    pub fn retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// Checks the settings and builds the introspector. Nothing is called yet.
    pub fn build(self) -> Result<Introspector, ConfigError> {
        check_url(&self.url)?;
        let url =
            IntrospectionUrl::new(self.url.clone()).map_err(|_| ConfigError::Url(self.url))?;
        let client = BasicClient::new(ClientId::new(self.client_id))
            .set_client_secret(oauth2::ClientSecret::new(
                self.client_secret.expose().to_owned(),
            ))
            .set_auth_type(if self.credentials_in_body {
                AuthType::RequestBody
            } else {
                AuthType::BasicAuth
            })
            .set_introspection_url(url);
        let accepted = Cache::builder()
            .max_capacity(self.capacity)
            .expire_after(UntilExpiry)
            .build();
        let refused = self.negative_ttl.map(|ttl| {
            Cache::builder()
                .max_capacity(1_000)
                .time_to_live(ttl)
                .build()
        });
        Ok(Introspector {
            inner: Arc::new(Inner {
                client,
                http: AuthServerClient::new(self.timeout),
                accepted,
                refused,
                checks: Checks {
                    required_scopes_text: self.required_scopes.to_string().into(),
                    required_scopes: self.required_scopes,
                    client_ids: self.client_ids,
                    audiences: self.audiences,
                    leeway: super::jwt::DEFAULT_LEEWAY,
                    max_ttl: self.max_ttl,
                },
                retry_after: self.retry_after,
                health: Mutex::default(),
            }),
        })
    }
}
