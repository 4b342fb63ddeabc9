//! One authentication mode of `PREPARED_AUTH` from its variables: `bearer`, `jwt`,
//! `introspection` or `token_endpoint`.

use std::net::SocketAddr;

use prepared_core::auth::{
    Algorithm, BearerToken, ClientCredentials, ClientSecret, Introspector, JwtSecret, JwtValidator,
    StaticBearer, TokenEndpoint,
};

use super::{Mode, generate_secret};
use crate::{ConfigError, WEBHOOK_PATH};

/// A variable's value by name; blank values are `None`.
pub(super) type Vars<'a> = &'a dyn Fn(&str) -> Option<String>;

fn config_error(error: impl std::fmt::Display) -> ConfigError {
    ConfigError(error.to_string())
}

fn required(var: Vars<'_>, name: &str, mode: &str) -> Result<String, ConfigError> {
    var(name).ok_or_else(|| ConfigError(format!("PREPARED_AUTH={mode} needs {name}")))
}

/// The non-empty items of a comma-separated variable.
pub(super) fn list(var: Vars<'_>, name: &str) -> Vec<String> {
    var(name)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `PREPARED_REQUIRED_SCOPES`: space- or comma-separated.
fn scopes(var: Vars<'_>) -> Vec<String> {
    var("PREPARED_REQUIRED_SCOPES")
        .unwrap_or_default()
        .split([' ', ','])
        .filter(|scope| !scope.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `bearer`: `PREPARED_WEBHOOK_TOKEN`, generated when unset.
pub(super) fn bearer(var: Vars<'_>) -> Result<(Mode, StaticBearer), ConfigError> {
    let (tokens, generated) = match var("PREPARED_WEBHOOK_TOKEN") {
        Some(items) => (parse_tokens(&items)?, None),
        None => {
            let token = generate_secret();
            (vec![BearerToken::new(token.clone())], Some(token))
        }
    };
    Ok((Mode::Bearer { generated }, StaticBearer::new(tokens)))
}

/// `PREPARED_WEBHOOK_TOKEN`: comma-separated `label:token` or bare `token` items. A token
/// cannot hold `:` (RFC 6750 token68), so the label is what comes before the last `:`. A
/// bare token has no label (its principal is named `token-<index>`). Errors name the item
/// by its position, never by its value.
fn parse_tokens(items: &str) -> Result<Vec<BearerToken>, ConfigError> {
    let tokens: Vec<BearerToken> = items
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .enumerate()
        .map(|(index, item)| match item.rsplit_once(':') {
            None => Ok(BearerToken::new(item)),
            Some((label, token)) => {
                let label = label.trim();
                let token = token.trim();
                if label.is_empty() || !label.bytes().all(|b| (b' '..=b'~').contains(&b)) {
                    Err(ConfigError(format!(
                        "PREPARED_WEBHOOK_TOKEN item {index}: the label before `:` must be non-empty printable ASCII without `,`"
                    )))
                } else if token.is_empty() {
                    Err(ConfigError(format!(
                        "PREPARED_WEBHOOK_TOKEN item {index}: no token after the label `{label}`"
                    )))
                } else {
                    Ok(BearerToken::new(token).label(label))
                }
            }
        })
        .collect::<Result<_, _>>()?;
    if tokens.is_empty() {
        return Err(ConfigError(
            "PREPARED_WEBHOOK_TOKEN holds no token".to_owned(),
        ));
    }
    Ok(tokens)
}

/// `jwt`: HS256 or JWKS keys, audience, issuer, scopes, clients, `typ`, algorithms.
pub(super) fn jwt(var: Vars<'_>) -> Result<(Mode, JwtValidator), ConfigError> {
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
        .audience(required(var, "PREPARED_JWT_AUDIENCE", "jwt")?)
        .require_scopes(scopes(var))
        .require_at_jwt(flag(var, "PREPARED_JWT_REQUIRE_AT_JWT")?);
    if let Some(issuer) = var("PREPARED_JWT_ISSUER") {
        builder = builder.issuer(issuer);
    }
    for client_id in list(var, "PREPARED_ALLOWED_CLIENT_IDS") {
        builder = builder.allow_client_id(client_id);
    }
    let algorithms = list(var, "PREPARED_JWT_ALGORITHMS");
    if !algorithms.is_empty() {
        let parsed = algorithms
            .iter()
            .map(|name| {
                name.parse::<Algorithm>().map_err(|_| {
                    ConfigError(format!(
                        "PREPARED_JWT_ALGORITHMS: `{name}` is not a JWS algorithm (e.g. RS256, PS256, ES256, EdDSA, HS256)"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        builder = builder.algorithms(parsed);
    }
    let validator = builder.build().map_err(|error| match error {
        prepared_core::auth::ConfigError::Algorithm(_) => ConfigError(format!(
            "PREPARED_JWT_ALGORITHMS: {error} (HMAC algorithms for PREPARED_JWT_SECRET, public-key ones for PREPARED_JWKS_URL)"
        )),
        other => config_error(other),
    })?;
    Ok((Mode::Jwt { keys }, validator))
}

/// `true` or `false` (unset: `false`).
fn flag(var: Vars<'_>, name: &str) -> Result<bool, ConfigError> {
    match var(name).as_deref().map(str::trim) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(ConfigError(format!(
            "{name} must be `true` or `false`, not `{other}`"
        ))),
    }
}

/// `introspection`: the endpoint, the receiver's own client, and what a token must say.
pub(super) fn introspection(var: Vars<'_>) -> Result<(Mode, Introspector), ConfigError> {
    let url = required(var, "PREPARED_INTROSPECTION_URL", "introspection")?;
    let mut builder = Introspector::builder(
        url.clone(),
        required(var, "PREPARED_INTROSPECTION_CLIENT_ID", "introspection")?,
        ClientSecret::new(required(
            var,
            "PREPARED_INTROSPECTION_CLIENT_SECRET",
            "introspection",
        )?),
    )
    .require_scopes(scopes(var));
    match var("PREPARED_INTROSPECTION_CLIENT_AUTH")
        .as_deref()
        .map(str::trim)
    {
        None | Some("basic") => {}
        Some("post") => builder = builder.credentials_in_body(),
        Some(other) => {
            return Err(ConfigError(format!(
                "PREPARED_INTROSPECTION_CLIENT_AUTH must be `basic` or `post`, not `{other}`"
            )));
        }
    }
    let audience = var("PREPARED_INTROSPECTION_AUDIENCE");
    if let Some(audience) = &audience {
        builder = builder.audience(audience.trim());
    }
    let client_ids = list(var, "PREPARED_ALLOWED_CLIENT_IDS");
    let unrestricted = audience.is_none() && client_ids.is_empty();
    for client_id in client_ids {
        builder = builder.allow_client_id(client_id);
    }
    let introspector = builder.build().map_err(config_error)?;
    Ok((Mode::Introspection { url, unrestricted }, introspector))
}

/// `token_endpoint`: the endpoint's client and signing secret, and the validator of the
/// tokens it issues.
pub(super) fn token_endpoint(
    var: Vars<'_>,
    bind: SocketAddr,
) -> Result<(Mode, TokenEndpoint), ConfigError> {
    let client_id = var("PREPARED_OAUTH_CLIENT_ID").unwrap_or_else(|| "prepared".to_owned());
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
        var("PREPARED_JWT_AUDIENCE").unwrap_or_else(|| format!("http://{bind}{WEBHOOK_PATH}")),
    )
    .client(
        ClientCredentials::new(client_id.clone(), ClientSecret::new(secret))
            .scopes(["cad_incidents", "incident_events"]),
    )
    .require_scopes(scopes(var))
    .build()
    .map_err(config_error)?;
    let mode = Mode::TokenEndpoint {
        client_id,
        generated_secret,
    };
    Ok((mode, endpoint))
}
