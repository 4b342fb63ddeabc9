//! [`Principal`]: who a request was authenticated as.

use super::Scopes;

/// Who a request was authenticated as.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Principal {
    /// A static Bearer token: the index of the matching token in the configured list.
    StaticToken {
        /// Which configured token matched.
        index: usize,
    },
    /// A JWT access token that [`JwtValidator`](super::JwtValidator) accepted.
    Jwt(TokenInfo),
    /// An opaque access token that the authorization server said is active (RFC 7662).
    Introspected(TokenInfo),
}

/// What an OAuth access token says about its holder. Never the token itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenInfo {
    /// The OAuth client the token was issued to (`client_id`, or `azp`), e.g. one of
    /// Prepared's per-dispatch-center client ids.
    pub client_id: Option<String>,
    /// The token's subject (`sub`).
    pub subject: Option<String>,
    /// The token's scopes (`scope` or `scp`), e.g. `cad_incidents` or `incident_events`.
    pub scopes: Scopes,
}
