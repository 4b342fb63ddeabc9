//! [`ReceiverAuth`]: how the example receivers authenticate deliveries, from `PREPARED_AUTH`
//! and its variables.

use std::net::SocketAddr;
use std::sync::Arc;

use prepared_core::auth::{
    Authenticator, BearerToken, ClientCredentials, ClientSecret, Introspector, JwtSecret,
    JwtValidator, StaticBearer, TokenEndpoint,
};

use crate::{ConfigError, TOKEN_PATH, WEBHOOK_PATH};

/// How deliveries are authenticated, chosen by `PREPARED_AUTH`:
///
/// | `PREPARED_AUTH` | variables |
/// |---|---|
/// | `bearer` (default) | `PREPARED_WEBHOOK_TOKEN`: the token(s) Prepared sends, comma-separated for a rotation; generated and printed on stderr when unset |
/// | `jwt` | `PREPARED_JWT_SECRET` (HS256, 32+ bytes) or `PREPARED_JWKS_URL`; `PREPARED_JWT_AUDIENCE` (required); `PREPARED_JWT_ISSUER`; `PREPARED_REQUIRED_SCOPES` |
/// | `introspection` | `PREPARED_INTROSPECTION_URL`, `PREPARED_INTROSPECTION_CLIENT_ID`, `PREPARED_INTROSPECTION_CLIENT_SECRET` (the receiver's own client); `PREPARED_REQUIRED_SCOPES` |
/// | `token_endpoint` | serves `POST /oauth/token` and accepts the tokens it issues: `PREPARED_OAUTH_CLIENT_ID` (default `prepared`), `PREPARED_OAUTH_CLIENT_SECRET` (generated and printed when unset), `PREPARED_JWT_SECRET` (generated when unset: set it when several replicas must accept each other's tokens), `PREPARED_JWT_ISSUER` (default `http://<bind>`), `PREPARED_JWT_AUDIENCE` (default `http://<bind>/webhooks/prepared`), `PREPARED_REQUIRED_SCOPES` |
///
/// `PREPARED_REQUIRED_SCOPES` is a space- or comma-separated list, e.g. `incident_events`.
#[derive(Clone)]
pub struct ReceiverAuth {
    mode: Mode,
    authenticator: Arc<dyn Authenticator>,
    token_endpoint: Option<TokenEndpoint>,
}

#[derive(Clone, Debug)]
enum Mode {
    Bearer {
        generated: Option<String>,
    },
    Jwt {
        keys: String,
    },
    Introspection {
        url: String,
    },
    TokenEndpoint {
        client_id: String,
        generated_secret: Option<String>,
    },
}

impl std::fmt::Debug for ReceiverAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match &self.mode {
            Mode::Bearer { .. } => "bearer",
            Mode::Jwt { .. } => "jwt",
            Mode::Introspection { .. } => "introspection",
            Mode::TokenEndpoint { .. } => "token_endpoint",
        };
        f.debug_struct("ReceiverAuth")
            .field("mode", &mode)
            .finish_non_exhaustive()
    }
}

fn config_error(error: impl std::fmt::Display) -> ConfigError {
    ConfigError(error.to_string())
}

impl ReceiverAuth {
    /// Reads `PREPARED_AUTH` and its variables through `var`; `bind` gives the token
    /// endpoint's default issuer and audience.
    pub(crate) fn from_vars(
        var: &impl Fn(&str) -> Option<String>,
        bind: SocketAddr,
    ) -> Result<Self, ConfigError> {
        let required = |name: &str, mode: &str| {
            var(name).ok_or_else(|| ConfigError(format!("PREPARED_AUTH={mode} needs {name}")))
        };
        let scopes: Vec<String> = var("PREPARED_REQUIRED_SCOPES")
            .unwrap_or_default()
            .split([' ', ','])
            .filter(|scope| !scope.is_empty())
            .map(str::to_owned)
            .collect();
        match var("PREPARED_AUTH").as_deref().unwrap_or("bearer") {
            "bearer" => {
                let (tokens, generated) = match var("PREPARED_WEBHOOK_TOKEN") {
                    Some(tokens) => (
                        tokens
                            .split(',')
                            .map(str::trim)
                            .filter(|token| !token.is_empty())
                            .map(str::to_owned)
                            .collect(),
                        None,
                    ),
                    None => {
                        let token = generate_secret();
                        (vec![token.clone()], Some(token))
                    }
                };
                let authenticator = StaticBearer::new(tokens.into_iter().map(BearerToken::new));
                Ok(Self::new(Mode::Bearer { generated }, authenticator, None))
            }
            "jwt" => {
                let (builder, keys) = match (var("PREPARED_JWT_SECRET"), var("PREPARED_JWKS_URL")) {
                    (Some(secret), None) => (
                        JwtValidator::hs256(JwtSecret::new(secret)),
                        "HS256 secret".to_owned(),
                    ),
                    (None, Some(url)) => (JwtValidator::jwks(url.clone()), format!("JWKS {url}")),
                    _ => {
                        return Err(ConfigError(
                            "PREPARED_AUTH=jwt needs PREPARED_JWT_SECRET or PREPARED_JWKS_URL (one of them)"
                                .to_owned(),
                        ));
                    }
                };
                let mut builder = builder
                    .audience(required("PREPARED_JWT_AUDIENCE", "jwt")?)
                    .require_scopes(&scopes);
                if let Some(issuer) = var("PREPARED_JWT_ISSUER") {
                    builder = builder.issuer(issuer);
                }
                let validator = builder.build().map_err(config_error)?;
                Ok(Self::new(Mode::Jwt { keys }, validator, None))
            }
            "introspection" => {
                let url = required("PREPARED_INTROSPECTION_URL", "introspection")?;
                let introspector = Introspector::builder(
                    url.clone(),
                    required("PREPARED_INTROSPECTION_CLIENT_ID", "introspection")?,
                    ClientSecret::new(required(
                        "PREPARED_INTROSPECTION_CLIENT_SECRET",
                        "introspection",
                    )?),
                )
                .require_scopes(&scopes)
                .build()
                .map_err(config_error)?;
                Ok(Self::new(Mode::Introspection { url }, introspector, None))
            }
            "token_endpoint" => {
                let client_id =
                    var("PREPARED_OAUTH_CLIENT_ID").unwrap_or_else(|| "prepared".to_owned());
                let (secret, generated_secret) = match var("PREPARED_OAUTH_CLIENT_SECRET") {
                    Some(secret) => (secret, None),
                    None => {
                        let secret = generate_secret();
                        (secret.clone(), Some(secret))
                    }
                };
                let endpoint = TokenEndpoint::builder(
                    JwtSecret::new(var("PREPARED_JWT_SECRET").unwrap_or_else(generate_secret)),
                    var("PREPARED_JWT_ISSUER").unwrap_or_else(|| format!("http://{bind}")),
                    var("PREPARED_JWT_AUDIENCE")
                        .unwrap_or_else(|| format!("http://{bind}{WEBHOOK_PATH}")),
                )
                .client(
                    ClientCredentials::new(client_id.clone(), ClientSecret::new(secret))
                        .scopes(["cad_incidents", "incident_events"]),
                )
                .require_scopes(&scopes)
                .build()
                .map_err(config_error)?;
                let validator = endpoint.validator();
                let mode = Mode::TokenEndpoint {
                    client_id,
                    generated_secret,
                };
                Ok(Self::new(mode, validator, Some(endpoint)))
            }
            other => Err(ConfigError(format!(
                "PREPARED_AUTH must be `bearer`, `jwt`, `introspection` or `token_endpoint`, not `{other}`"
            ))),
        }
    }

    fn new(
        mode: Mode,
        authenticator: impl Authenticator,
        token_endpoint: Option<TokenEndpoint>,
    ) -> Self {
        Self {
            mode,
            authenticator: Arc::new(authenticator),
            token_endpoint,
        }
    }

    /// The authenticator of the webhook.
    pub fn authenticator(&self) -> Arc<dyn Authenticator> {
        Arc::clone(&self.authenticator)
    }

    /// The token endpoint, with `PREPARED_AUTH=token_endpoint`.
    pub fn token_endpoint(&self) -> Option<TokenEndpoint> {
        self.token_endpoint.clone()
    }

    /// What to tell the operator on stderr: the mode, generated credentials, and `curl`
    /// lines to try the receiver.
    pub(crate) fn announcement(&self, bind: &SocketAddr) -> Vec<String> {
        let url = format!("http://{bind}{WEBHOOK_PATH}");
        // A non-precise location: the sample line must not look like real caller data.
        let sample = |token: &str| {
            format!(
                "curl -i -X POST {url} -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' \
                 -d '{{\"type\":\"caller_location\",\"id\":\"550e8400-e29b-41d4-a716-446655440004\",\"incident_id\":\"550e8400-e29b-41d4-a716-446655440000\",\"lat\":40.0,\"lng\":-75.0}}'"
            )
        };
        match &self.mode {
            Mode::Bearer { generated: None } => vec![
                "authentication: static Bearer token(s) from PREPARED_WEBHOOK_TOKEN".to_owned(),
            ],
            Mode::Bearer {
                generated: Some(token),
            } => vec![
                format!("PREPARED_WEBHOOK_TOKEN is not set; generated token: {token}"),
                format!("try: {}", sample(token)),
            ],
            Mode::Jwt { keys } => vec![format!("authentication: JWT access tokens ({keys})")],
            Mode::Introspection { url } => {
                vec![format!("authentication: token introspection at {url}")]
            }
            Mode::TokenEndpoint {
                client_id,
                generated_secret,
            } => {
                let secret = generated_secret
                    .as_deref()
                    .unwrap_or("<PREPARED_OAUTH_CLIENT_SECRET>");
                let mut lines = vec![format!(
                    "authentication: OAuth tokens from POST http://{bind}{TOKEN_PATH} (client id {client_id})"
                )];
                if let Some(secret) = generated_secret {
                    lines.push(format!(
                        "PREPARED_OAUTH_CLIENT_SECRET is not set; generated client secret: {secret}"
                    ));
                }
                lines.push(format!(
                    "get a token: curl -s -X POST http://{bind}{TOKEN_PATH} -H 'Content-Type: application/json' -d '{{\"client_id\":\"{client_id}\",\"client_secret\":\"{secret}\",\"grant_type\":\"client_credentials\"}}'"
                ));
                lines.push(format!("then: {}", sample("<access_token>")));
                lines
            }
        }
    }
}

/// 256 random bits as hex.
fn generate_secret() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}
