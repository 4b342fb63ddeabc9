//! [`ConfigError`]: a receiver-side OAuth setting that cannot work.

/// Why an OAuth authenticator or the token endpoint could not be built. These are mistakes
/// in the application's setup, found at start-up rather than at the first delivery.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No audience was configured: tokens meant for another service of the same
    /// authorization server would be accepted. Call `audience(...)`, or `any_audience()` to
    /// accept that on purpose.
    #[error("no audience: call `audience(...)`, or `any_audience()` to skip the check on purpose")]
    NoAudience,
    /// An HMAC secret shorter than the hash (RFC 7518 §3.2: at least 32 bytes for HS256).
    #[error("the HS256 secret is {0} bytes; it must be at least 32")]
    SecretTooShort(usize),
    /// An algorithm that does not fit the keys (e.g. `HS256` with a JWKS, whose keys are
    /// public), or no algorithm at all.
    #[error("the algorithm {0} cannot be used with these keys")]
    Algorithm(String),
    /// A URL that does not parse, or is neither `http` nor `https`.
    #[error("`{0}` is not an http(s) URL")]
    Url(String),
    /// The token endpoint has no client.
    #[error("the token endpoint has no client")]
    NoClient,
}

/// Checks that `url` is an absolute `http`/`https` URL.
pub(crate) fn check_url(url: &str) -> Result<(), ConfigError> {
    match url.parse::<http::Uri>() {
        Ok(uri) if matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some() => {
            Ok(())
        }
        _ => Err(ConfigError::Url(url.to_owned())),
    }
}
