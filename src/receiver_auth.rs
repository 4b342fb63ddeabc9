//! [`ReceiverAuth`]: how the example receivers authenticate deliveries, from `PREPARED_AUTH`
//! and its variables.

use std::net::SocketAddr;
use std::sync::Arc;

use prepared_core::auth::{AnyOf, Authenticator, TokenEndpoint};

use crate::{ConfigError, TOKEN_PATH, WEBHOOK_PATH};

mod modes;

/// How deliveries are authenticated, chosen by `PREPARED_AUTH`: one mode, or several
/// comma-separated (e.g. `bearer,jwt` during a migration to OAuth), tried in that order
/// with [`AnyOf`]; each mode reads its own variables:
///
/// | `PREPARED_AUTH` | variables |
/// |---|---|
/// | `bearer` (default) | `PREPARED_WEBHOOK_TOKEN`: the token(s) Prepared sends, comma-separated for a rotation or several dispatch centers, each `token` or `label:token` (the label names the sender); generated and printed on stderr when unset |
/// | `jwt` | `PREPARED_JWT_SECRET` (HS256, 32+ bytes) or `PREPARED_JWKS_URL`; `PREPARED_JWT_AUDIENCE` (required); `PREPARED_JWT_ISSUER`; `PREPARED_REQUIRED_SCOPES`; `PREPARED_ALLOWED_CLIENT_IDS`; `PREPARED_JWT_REQUIRE_AT_JWT`; `PREPARED_JWT_ALGORITHMS` |
/// | `introspection` | `PREPARED_INTROSPECTION_URL`, `PREPARED_INTROSPECTION_CLIENT_ID`, `PREPARED_INTROSPECTION_CLIENT_SECRET` (the receiver's own client), `PREPARED_INTROSPECTION_CLIENT_AUTH` (`basic` or `post`); `PREPARED_INTROSPECTION_AUDIENCE`; `PREPARED_ALLOWED_CLIENT_IDS`; `PREPARED_REQUIRED_SCOPES` |
/// | `token_endpoint` | serves `POST /oauth/token` and accepts the tokens it issues: `PREPARED_OAUTH_CLIENT_ID` (default `prepared`), `PREPARED_OAUTH_CLIENT_SECRET` (generated and printed when unset), `PREPARED_JWT_SECRET` (generated when unset: set it when several replicas must accept each other's tokens), `PREPARED_JWT_ISSUER` (default `http://<bind>`), `PREPARED_JWT_AUDIENCE` (default `http://<bind>/webhooks/prepared`), `PREPARED_REQUIRED_SCOPES` |
///
/// `PREPARED_REQUIRED_SCOPES` is a space- or comma-separated list, e.g. `incident_events`;
/// `PREPARED_ALLOWED_CLIENT_IDS` and `PREPARED_JWT_ALGORITHMS` are comma-separated.
#[derive(Clone)]
pub struct ReceiverAuth {
    modes: Vec<Mode>,
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
        /// Neither an audience nor allowed client ids: any token of the server is accepted.
        unrestricted: bool,
    },
    TokenEndpoint {
        client_id: String,
        generated_secret: Option<String>,
    },
}

impl Mode {
    fn name(&self) -> &'static str {
        match self {
            Self::Bearer { .. } => "bearer",
            Self::Jwt { .. } => "jwt",
            Self::Introspection { .. } => "introspection",
            Self::TokenEndpoint { .. } => "token_endpoint",
        }
    }
}

impl std::fmt::Debug for ReceiverAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let modes: Vec<&str> = self.modes.iter().map(Mode::name).collect();
        f.debug_struct("ReceiverAuth")
            .field("mode", &modes.join(","))
            .finish_non_exhaustive()
    }
}

/// Adds `next` to the authenticators tried so far.
fn then_try(any: Option<AnyOf>, next: impl Authenticator + std::fmt::Debug) -> AnyOf {
    match any {
        None => AnyOf::new(next),
        Some(any) => any.or(next),
    }
}

impl ReceiverAuth {
    /// Reads `PREPARED_AUTH` and its variables through `var`; `bind` gives the token
    /// endpoint's default issuer and audience.
    pub(crate) fn from_vars(
        var: &impl Fn(&str) -> Option<String>,
        bind: SocketAddr,
    ) -> Result<Self, ConfigError> {
        let var: modes::Vars<'_> = var;
        let mut names = modes::list(var, "PREPARED_AUTH");
        if names.is_empty() {
            names.push("bearer".to_owned());
        }
        let mut modes = Vec::new();
        let mut any: Option<AnyOf> = None;
        let mut token_endpoint = None;
        for (position, name) in names.iter().enumerate() {
            if names[..position].contains(name) {
                return Err(ConfigError(format!("PREPARED_AUTH names `{name}` twice")));
            }
            let mode = match name.as_str() {
                "bearer" => {
                    let (mode, authenticator) = modes::bearer(var)?;
                    any = Some(then_try(any, authenticator));
                    mode
                }
                "jwt" => {
                    let (mode, validator) = modes::jwt(var)?;
                    any = Some(then_try(any, validator));
                    mode
                }
                "introspection" => {
                    let (mode, introspector) = modes::introspection(var)?;
                    any = Some(then_try(any, introspector));
                    mode
                }
                "token_endpoint" => {
                    let (mode, endpoint) = modes::token_endpoint(var, bind)?;
                    any = Some(then_try(any, endpoint.validator()));
                    token_endpoint = Some(endpoint);
                    mode
                }
                other => {
                    return Err(ConfigError(format!(
                        "PREPARED_AUTH must be `bearer`, `jwt`, `introspection` or `token_endpoint`, or several of them comma-separated, not `{other}`"
                    )));
                }
            };
            modes.push(mode);
        }
        // `names` is never empty, so neither is `any`.
        let any = any.ok_or_else(|| ConfigError("PREPARED_AUTH names no mode".to_owned()))?;
        Ok(Self {
            modes,
            authenticator: Arc::new(any),
            token_endpoint,
        })
    }

    /// The authenticator of the webhook.
    pub fn authenticator(&self) -> Arc<dyn Authenticator> {
        Arc::clone(&self.authenticator)
    }

    /// The token endpoint, when `PREPARED_AUTH` names `token_endpoint` (alone or with other
    /// modes): serve it on [`TOKEN_PATH`](crate::TOKEN_PATH).
    pub fn token_endpoint(&self) -> Option<TokenEndpoint> {
        self.token_endpoint.clone()
    }

    /// What to tell the operator on stderr: the modes, generated credentials, `curl` lines
    /// to try the receiver, and warnings about settings unfit for production.
    pub fn announcement(&self, bind: &SocketAddr) -> Vec<String> {
        let url = format!("http://{bind}{WEBHOOK_PATH}");
        // A non-precise location: the sample line must not look like real caller data.
        let sample = |token: &str| {
            format!(
                "curl -i -X POST {url} -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' \
                 -d '{{\"type\":\"caller_location\",\"id\":\"550e8400-e29b-41d4-a716-446655440004\",\"incident_id\":\"550e8400-e29b-41d4-a716-446655440000\",\"lat\":40.0,\"lng\":-75.0}}'"
            )
        };
        self.modes
            .iter()
            .flat_map(|mode| Self::mode_announcement(mode, bind, &sample))
            .collect()
    }

    /// The lines of one mode.
    fn mode_announcement(
        mode: &Mode,
        bind: &SocketAddr,
        sample: &impl Fn(&str) -> String,
    ) -> Vec<String> {
        match mode {
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
            Mode::Introspection { url, unrestricted } => {
                let mut lines = vec![format!("authentication: token introspection at {url}")];
                if *unrestricted {
                    lines.push(
                        "warning: any active token of that server is accepted; set PREPARED_INTROSPECTION_AUDIENCE or PREPARED_ALLOWED_CLIENT_IDS in production"
                            .to_owned(),
                    );
                }
                lines
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
