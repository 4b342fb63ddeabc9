//! [`Principal`]: who a request was authenticated as.

use std::sync::Arc;

use super::Scopes;

/// Who a request was authenticated as.
///
/// It serializes (with `serde`) as an object tagged by `kind` (`static_token`, `jwt`,
/// `introspected`), so that a durable queue or a log can keep it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Principal {
    /// A static Bearer token: which of the configured tokens matched.
    StaticToken {
        /// Its position in the configured list.
        index: usize,
        /// Its [label](super::BearerToken::label), if it was given one.
        label: Option<Arc<str>>,
    },
    /// A JWT access token that [`JwtValidator`](super::JwtValidator) accepted.
    Jwt(TokenInfo),
    /// An opaque access token that the authorization server said is active (RFC 7662).
    Introspected(TokenInfo),
    /// A delivery replayed from the delivery log
    /// ([`Webhooks::replay`](crate::Webhooks::replay)): the name of the credential that first
    /// delivered it, as it was recorded.
    Recorded {
        /// The recorded [`name`](Principal::name).
        name: Arc<str>,
    },
}

/// What an OAuth access token says about its holder. Never the token itself.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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

impl Principal {
    /// A short name of the credential, for logs and the application: a static token's label
    /// (or `token-<index>` without one), or an OAuth token's client id (or its subject, or
    /// `oauth-client` when it has neither). Never the token itself.
    ///
    /// ```
    /// use prepared_core::auth::Principal;
    ///
    /// let principal = Principal::StaticToken { index: 1, label: None };
    /// assert_eq!(principal.name(), "token-1");
    /// ```
    pub fn name(&self) -> String {
        match self {
            Self::StaticToken {
                label: Some(label), ..
            } => label.to_string(),
            Self::StaticToken { index, label: None } => format!("token-{index}"),
            Self::Jwt(info) | Self::Introspected(info) => info
                .client_id
                .as_deref()
                .or(info.subject.as_deref())
                .unwrap_or("oauth-client")
                .to_owned(),
            Self::Recorded { name } => name.to_string(),
        }
    }

    /// The OAuth client the token was issued to; `None` for a static token.
    pub fn client_id(&self) -> Option<&str> {
        match self {
            Self::StaticToken { .. } | Self::Recorded { .. } => None,
            Self::Jwt(info) | Self::Introspected(info) => info.client_id.as_deref(),
        }
    }

    /// A static token's label; `None` for an OAuth token or an unlabelled static token.
    pub fn label(&self) -> Option<&str> {
        match self {
            Self::StaticToken { label, .. } => label.as_deref(),
            Self::Jwt(_) | Self::Introspected(_) | Self::Recorded { .. } => None,
        }
    }
}
