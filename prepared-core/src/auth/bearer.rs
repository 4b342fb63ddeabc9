//! [`StaticBearer`]: the long-lived tokens a partner issued to Prepared, and the RFC 6750
//! header parser every authenticator uses.

use std::fmt;
use std::sync::Arc;

use http::header;

use super::digest::TokenDigest;
use super::{AuthError, AuthFuture, Authenticator, BearerToken, Principal};

/// Whether `b` may appear in a b64token before its trailing `=` (RFC 6750 §2.1):
/// `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
}

/// The token of an `Authorization: Bearer <token>` header: the scheme is matched
/// case-insensitively, then one or more spaces, then a token68 (RFC 6750 §2.1). `Err` names
/// why the header is malformed (several `Authorization` headers, another scheme, characters
/// outside token68); `Ok(None)` means there is no such header.
///
/// ```
/// use prepared_core::auth::bearer_token;
///
/// let mut headers = http::HeaderMap::new();
/// headers.insert("authorization", "bearer abc.DEF-123".parse().unwrap());
/// assert_eq!(bearer_token(&headers), Ok(Some(&b"abc.DEF-123"[..])));
/// headers.insert("authorization", "Basic dXNlcjpwYXNz".parse().unwrap());
/// assert_eq!(bearer_token(&headers), Err("not_bearer"));
/// ```
pub fn bearer_token(headers: &http::HeaderMap) -> Result<Option<&[u8]>, &'static str> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err("duplicate_header");
    }
    let value = value.as_bytes();
    if value.is_empty() {
        return Err("malformed_header");
    }
    let scheme_end = value.iter().position(|b| *b == b' ').unwrap_or(value.len());
    let (scheme, rest) = value.split_at(scheme_end);
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return Err("not_bearer");
    }
    // `1*SP` (RFC 6750 §2.1): spaces only, no tabs.
    let token = &rest[rest.iter().take_while(|b| **b == b' ').count()..];
    let padding = token.iter().rev().take_while(|b| **b == b'=').count();
    let characters = &token[..token.len() - padding];
    if characters.is_empty() || !characters.iter().copied().all(is_b64token_char) {
        return Err("malformed_header");
    }
    Ok(Some(token))
}

/// The Bearer token of a request head, or why there is none.
pub(crate) fn required_bearer_token(head: &http::request::Parts) -> Result<&[u8], AuthError> {
    match bearer_token(&head.headers) {
        Ok(Some(token)) => Ok(token),
        Ok(None) => Err(AuthError::Missing),
        Err(reason) => Err(AuthError::invalid(reason)),
    }
}

/// Static Bearer tokens the partner issued to Prepared; several may be active at once, for a
/// rotation without downtime.
///
/// The presented token is compared with every configured one through their SHA-256 digests,
/// in constant time and without an early exit, so the timing reveals neither the tokens'
/// content nor their length.
///
/// ```
/// use prepared_core::auth::{AuthError, BearerToken, Principal, StaticBearer};
///
/// let auth = StaticBearer::new([BearerToken::new("old-token"), BearerToken::new("new-token")]);
/// let head = |value: &str| {
///     http::Request::post("/").header("authorization", value).body(()).unwrap().into_parts().0
/// };
/// let principal = auth.check(&head("Bearer new-token"))?;
/// assert_eq!(principal, Principal::StaticToken { index: 1, label: None });
/// assert_eq!(auth.check(&head("Bearer guess")), Err(AuthError::Invalid { reason: "unknown_token" }));
///
/// // Tokens issued per dispatch center carry its label.
/// let auth = StaticBearer::new([
///     BearerToken::new("token-a").label("ecc-a"),
///     BearerToken::new("token-b").label("ecc-b"),
/// ]);
/// assert_eq!(auth.check(&head("Bearer token-b"))?.label(), Some("ecc-b"));
/// # Ok::<(), AuthError>(())
/// ```
#[derive(Clone)]
pub struct StaticBearer {
    digests: Vec<TokenDigest>,
    labels: Vec<Option<Arc<str>>>,
}

impl StaticBearer {
    /// Accepts any of `tokens`.
    pub fn new(tokens: impl IntoIterator<Item = BearerToken>) -> Self {
        let (digests, labels) = tokens
            .into_iter()
            .map(|token| {
                (
                    TokenDigest::of(token.expose().as_bytes()),
                    token.shared_label(),
                )
            })
            .unzip();
        Self { digests, labels }
    }

    /// Checks the head's credentials.
    pub fn check(&self, head: &http::request::Parts) -> Result<Principal, AuthError> {
        let presented = TokenDigest::of(required_bearer_token(head)?);
        presented
            .position_in(&self.digests)
            .map(|index| Principal::StaticToken {
                index,
                label: self.labels[index].clone(),
            })
            .ok_or(AuthError::invalid("unknown_token"))
    }
}

impl fmt::Debug for StaticBearer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticBearer")
            .field("tokens", &self.digests.len())
            .finish()
    }
}

impl Authenticator for StaticBearer {
    fn authenticate<'a>(&'a self, head: &'a http::request::Parts) -> AuthFuture<'a> {
        Box::pin(std::future::ready(self.check(head)))
    }
}
