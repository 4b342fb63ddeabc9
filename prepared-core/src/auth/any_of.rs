//! [`AnyOf`]: several authenticators at once, e.g. static tokens during a migration to OAuth.

use std::fmt;

use super::{AuthError, AuthFuture, Authenticator};
use crate::readiness::CheckStatus;

/// An authenticator that [`AnyOf`] can hold: any [`Authenticator`] whose `Debug` lists it
/// (every authenticator of this crate, and none of their secrets).
trait Member: Authenticator + fmt::Debug {}

impl<A: Authenticator + fmt::Debug> Member for A {}

/// Accepts a delivery when one of several authenticators accepts it: they are tried in
/// order and the first that accepts wins, with its [`Principal`](super::Principal) (so a
/// token of one member never carries another member's label or client).
///
/// When none accepts, the answer is the most telling of their refusals:
/// 1. [`Unavailable`](AuthError::Unavailable) (`503` + `Retry-After`, the first such one)
///    when any member could not decide, e.g. its JWKS or introspection server is down: the
///    token may be good, so Prepared must retry rather than be told `401`;
/// 2. else [`InsufficientScope`](AuthError::InsufficientScope) (`403`) when a member
///    recognised a valid token that lacks a scope;
/// 3. else [`Invalid`](AuthError::Invalid) (`401`, `error="invalid_token"`): the first
///    member's reason that says more than "not one of mine" (`unknown_token`,
///    `malformed_token`, `inactive`), or the first reason when all say only that;
/// 4. [`Missing`](AuthError::Missing) (`401` without `error`) only when every member found
///    no credentials at all.
///
/// ```
/// use prepared_core::auth::{AnyOf, AuthError, Authenticator, BearerToken, StaticBearer};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), AuthError> {
/// // In practice e.g. the old static token, then a `JwtValidator` for OAuth access tokens.
/// let auth = AnyOf::new(StaticBearer::new([BearerToken::new("token-a").label("ecc-a")]))
///     .or(StaticBearer::new([BearerToken::new("token-b").label("ecc-b")]));
/// let head = |value: &str| {
///     http::Request::post("/").header("authorization", value).body(()).unwrap().into_parts().0
/// };
/// assert_eq!(auth.authenticate(&head("Bearer token-b")).await?.label(), Some("ecc-b"));
/// assert_eq!(
///     auth.authenticate(&head("Bearer guess")).await,
///     Err(AuthError::Invalid { reason: "unknown_token" })
/// );
/// # Ok(()) }
/// ```
pub struct AnyOf {
    members: Vec<Box<dyn Member>>,
}

impl AnyOf {
    /// Tries `first`, then the members added with [`or`](Self::or).
    pub fn new(first: impl Authenticator + fmt::Debug) -> Self {
        Self {
            members: vec![Box::new(first)],
        }
    }

    /// Tries `next` after the members so far.
    #[must_use]
    pub fn or(mut self, next: impl Authenticator + fmt::Debug) -> Self {
        self.members.push(Box::new(next));
        self
    }

    /// How many authenticators are tried.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Always `false`: there is at least the first member.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

impl fmt::Debug for AnyOf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AnyOf").field(&self.members).finish()
    }
}

impl Authenticator for AnyOf {
    fn authenticate<'a>(&'a self, head: &'a http::request::Parts) -> AuthFuture<'a> {
        Box::pin(async move {
            let mut refusal: Option<AuthError> = None;
            for member in &self.members {
                match member.authenticate(head).await {
                    Ok(principal) => return Ok(principal),
                    Err(error) => {
                        refusal = Some(match refusal {
                            Some(earlier) if rank(&earlier) >= rank(&error) => earlier,
                            _ => error,
                        });
                    }
                }
            }
            Err(refusal.unwrap_or(AuthError::Missing))
        })
    }

    /// The worst check of the members that rely on an authorization server.
    fn authorization_server(&self) -> super::ServerCheckFuture<'_> {
        Box::pin(async move {
            let mut worst = None;
            for member in &self.members {
                if let Some(status) = member.authorization_server().await {
                    worst = Some(worst.map_or(status, |worst: CheckStatus| worst.worst(status)));
                }
            }
            worst
        })
    }
}

/// How telling a refusal is; of equal ranks, the earlier member's wins.
fn rank(error: &AuthError) -> u8 {
    match error {
        AuthError::Missing => 0,
        AuthError::Invalid { reason } if is_not_mine(reason) => 1,
        AuthError::Invalid { .. } => 2,
        AuthError::InsufficientScope { .. } => 3,
        AuthError::Unavailable { .. } => 4,
    }
}

/// The refusals that say only "not a token of this authenticator", not what is wrong with
/// a token it recognised.
fn is_not_mine(reason: &str) -> bool {
    matches!(reason, "unknown_token" | "malformed_token" | "inactive")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::auth::Principal;

    /// An authenticator that always answers `answer`.
    #[derive(Debug)]
    struct Fixed(Result<Principal, AuthError>);

    impl Authenticator for Fixed {
        fn authenticate<'a>(&'a self, _head: &'a http::request::Parts) -> AuthFuture<'a> {
            Box::pin(std::future::ready(self.0.clone()))
        }
    }

    fn refusing(error: AuthError) -> Fixed {
        Fixed(Err(error))
    }

    fn unavailable(reason: &'static str) -> AuthError {
        AuthError::Unavailable {
            reason,
            retry_after: Duration::from_secs(3),
        }
    }

    fn scope() -> AuthError {
        AuthError::InsufficientScope {
            required: "incident_events".into(),
        }
    }

    async fn answer(auth: &AnyOf) -> Result<Principal, AuthError> {
        let (head, ()) = http::Request::post("/")
            .body(())
            .expect("a request")
            .into_parts();
        auth.authenticate(&head).await
    }

    #[tokio::test]
    async fn the_most_telling_refusal_wins_whatever_the_order() {
        let cases = [
            (AuthError::Missing, AuthError::Missing, AuthError::Missing),
            (
                AuthError::Missing,
                AuthError::invalid("unknown_token"),
                AuthError::invalid("unknown_token"),
            ),
            (
                AuthError::invalid("unknown_token"),
                AuthError::invalid("expired"),
                AuthError::invalid("expired"),
            ),
            (AuthError::invalid("expired"), scope(), scope()),
            (
                scope(),
                unavailable("jwks_unavailable"),
                unavailable("jwks_unavailable"),
            ),
            (
                AuthError::invalid("unknown_token"),
                unavailable("jwks_unavailable"),
                unavailable("jwks_unavailable"),
            ),
        ];
        for (weaker, stronger, expected) in cases {
            for auth in [
                AnyOf::new(refusing(weaker.clone())).or(refusing(stronger.clone())),
                AnyOf::new(refusing(stronger.clone())).or(refusing(weaker.clone())),
            ] {
                assert_eq!(answer(&auth).await, Err(expected.clone()), "{auth:?}");
            }
        }
    }

    #[tokio::test]
    async fn of_equal_refusals_the_first_members_wins() {
        let auth = AnyOf::new(refusing(AuthError::invalid("expired")))
            .or(refusing(AuthError::invalid("wrong_audience")))
            .or(refusing(unavailable("jwks_unavailable")))
            .or(refusing(unavailable("introspection_timeout")));
        assert_eq!(answer(&auth).await, Err(unavailable("jwks_unavailable")));
        let auth = AnyOf::new(refusing(AuthError::invalid("unknown_token")))
            .or(refusing(AuthError::invalid("malformed_token")));
        assert_eq!(
            answer(&auth).await,
            Err(AuthError::invalid("unknown_token"))
        );
    }

    #[tokio::test]
    async fn the_first_acceptance_wins_even_after_an_unavailable_member() {
        let first = Principal::StaticToken {
            index: 0,
            label: Some("ecc-a".into()),
        };
        let second = Principal::StaticToken {
            index: 0,
            label: Some("ecc-b".into()),
        };
        let auth = AnyOf::new(refusing(unavailable("jwks_unavailable")))
            .or(Fixed(Ok(first.clone())))
            .or(Fixed(Ok(second)));
        assert_eq!(answer(&auth).await, Ok(first));
        assert_eq!(auth.len(), 3);
        assert!(!auth.is_empty());
    }
}
