//! [`Jwks`]: the signing keys of an authorization server, fetched from its JWKS URL.
//!
//! - Fetched lazily, at the first token that needs a key, so the application starts while
//!   the authorization server is down.
//! - Fetched again when a token names a key (`kid`) the set does not have (a rotation), or
//!   when the set is older than its maximum age (so a removed key stops being accepted); at
//!   most once per cooldown, and one fetch serves every request waiting for it.
//! - A failed fetch keeps the keys already known (a token signed with one of them is still
//!   accepted); a token whose key cannot be known because the fetch failed is answered `503`
//!   with `Retry-After`, not `401`.
//! - A token naming a key the set lacks is refused (`401 unknown_key`) only by a set fetched
//!   after the token arrived. Within the cooldown of an earlier fetch the key may have just
//!   rotated in and cannot be known yet: `503` with a `Retry-After` of the cooldown's rest
//!   (at least 1 s), so a good token is retried rather than refused.
//! - Every fetch runs under the client's timeout.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::AuthError;
use super::http_client::AuthServerClient;
use crate::readiness::CheckStatus;

/// The least `Retry-After` for a key that cannot be known before the cooldown ends: the
/// header counts whole seconds.
const MIN_RETRY_AFTER: Duration = Duration::from_secs(1);

/// The keys of a JWKS and when they were fetched.
#[derive(Default)]
pub(crate) struct KeySet {
    keys: Vec<SigningKey>,
    fetched_at: Option<Instant>,
}

struct SigningKey {
    kid: Option<String>,
    /// The key's `alg`, when the JWKS states one: then only that algorithm may use it.
    alg: Option<Algorithm>,
    key: DecodingKey,
}

impl KeySet {
    /// The key for a token signed with `alg` naming `kid`: the key of that id whose family
    /// (and stated `alg`, if any) fits; a token without `kid` may use the only fitting key.
    pub(crate) fn find(&self, kid: Option<&str>, alg: Algorithm) -> Option<&DecodingKey> {
        let mut fitting = self.keys.iter().filter(|key| {
            key.key.family() == alg.family() && key.alg.is_none_or(|stated| stated == alg)
        });
        match kid {
            Some(kid) => fitting
                .find(|key| key.kid.as_deref() == Some(kid))
                .map(|key| &key.key),
            None => match (fitting.next(), fitting.next()) {
                (Some(only), None) => Some(&only.key),
                _ => None,
            },
        }
    }

    fn is_fresh(&self, max_age: Duration) -> bool {
        self.fetched_at.is_some_and(|at| at.elapsed() < max_age)
    }

    /// Parses a JWKS document, keeping the signature keys this crate can verify with and
    /// skipping the others (encryption keys, unknown key types, symmetric `oct` keys, which
    /// never belong in a published key set).
    fn parse(document: &[u8]) -> Result<Self, serde_json::Error> {
        #[derive(Deserialize)]
        struct Document<'a> {
            #[serde(borrow)]
            keys: Vec<&'a RawValue>,
        }
        let document: Document<'_> = serde_json::from_slice(document)?;
        let keys = document
            .keys
            .into_iter()
            .filter_map(|raw| serde_json::from_str::<Jwk>(raw.get()).ok())
            .filter_map(|jwk| SigningKey::from_jwk(&jwk))
            .collect();
        Ok(Self {
            keys,
            fetched_at: Some(Instant::now()),
        })
    }
}

impl SigningKey {
    fn from_jwk(jwk: &Jwk) -> Option<Self> {
        if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_))
            || jwk
                .common
                .public_key_use
                .as_ref()
                .is_some_and(|usage| *usage != PublicKeyUse::Signature)
        {
            return None;
        }
        let alg = match &jwk.common.key_algorithm {
            Some(stated) => Some(stated.to_string().parse::<Algorithm>().ok()?),
            None => None,
        };
        let key = DecodingKey::from_jwk(jwk).ok()?;
        if key.family() == AlgorithmFamily::Hmac {
            return None;
        }
        Some(Self {
            kid: jwk.common.key_id.clone(),
            alg,
            key,
        })
    }
}

/// The keys of one JWKS URL, shared by every request.
pub(crate) struct Jwks {
    url: String,
    client: AuthServerClient,
    cooldown: Duration,
    max_age: Duration,
    keys: RwLock<Arc<KeySet>>,
    refresh: tokio::sync::Mutex<Refresh>,
}

/// The last fetch, guarded by the lock that makes one request fetch for all.
#[derive(Default)]
struct Refresh {
    attempted_at: Option<Instant>,
    failed: bool,
}

impl Jwks {
    pub(crate) fn new(
        url: String,
        client: AuthServerClient,
        cooldown: Duration,
        max_age: Duration,
    ) -> Self {
        Self {
            url,
            client,
            cooldown,
            max_age,
            keys: RwLock::default(),
            refresh: tokio::sync::Mutex::default(),
        }
    }

    fn current(&self) -> Arc<KeySet> {
        Arc::clone(&self.keys.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The key set to verify a token signed with `alg` naming `kid`, fetching it first when
    /// the key is unknown or the set too old.
    pub(crate) async fn keys_for(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Arc<KeySet>, AuthError> {
        let arrived = Instant::now();
        let current = self.current();
        if current.is_fresh(self.max_age) && current.find(kid, alg).is_some() {
            return Ok(current);
        }
        let mut refresh = self.refresh.lock().await;
        let current = self.current();
        // Another request may have fetched the set while this one waited for the lock.
        if current.is_fresh(self.max_age) && current.find(kid, alg).is_some() {
            return Ok(current);
        }
        let cooling = refresh
            .attempted_at
            .is_some_and(|at| at.elapsed() < self.cooldown);
        if !cooling {
            self.refetch(&mut refresh).await;
        }
        let current = self.current();
        if current.find(kid, alg).is_some() {
            Ok(current)
        } else if refresh.failed || current.fetched_at.is_none() {
            Err(AuthError::Unavailable {
                reason: "jwks_unavailable",
                retry_after: self.cooldown,
            })
        } else if refresh.attempted_at.is_some_and(|at| at >= arrived) {
            // This set was fetched after the token arrived, and it lacks the key.
            Err(AuthError::invalid("unknown_key"))
        } else {
            // The set predates the token and cannot be fetched again before the cooldown
            // ends: the key may have just rotated in.
            let rest = refresh.attempted_at.map_or(Duration::ZERO, |at| {
                self.cooldown.saturating_sub(at.elapsed())
            });
            Err(AuthError::Unavailable {
                reason: "jwks_key_not_yet_known",
                retry_after: rest.max(MIN_RETRY_AFTER),
            })
        }
    }

    /// The readiness check: `Ok` when the keys were fetched within their maximum age;
    /// otherwise they are fetched now (unless a fetch was tried within the cooldown), and
    /// `Unreachable` when that did not bring them.
    pub(crate) async fn readiness(&self) -> CheckStatus {
        if self.current().is_fresh(self.max_age) {
            return CheckStatus::Ok;
        }
        let mut refresh = self.refresh.lock().await;
        let cooling = refresh
            .attempted_at
            .is_some_and(|at| at.elapsed() < self.cooldown);
        if !self.current().is_fresh(self.max_age) && !cooling {
            self.refetch(&mut refresh).await;
        }
        if self.current().is_fresh(self.max_age) {
            CheckStatus::Ok
        } else {
            CheckStatus::Unreachable
        }
    }

    /// Fetches the set and keeps it; a failed fetch keeps the keys already known.
    async fn refetch(&self, refresh: &mut Refresh) {
        refresh.attempted_at = Some(Instant::now());
        match self.fetch().await {
            Ok(set) => {
                tracing::info!(url = %self.url, keys = set.keys.len(), "fetched the JWKS");
                *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(set);
                refresh.failed = false;
            }
            Err(reason) => {
                tracing::warn!(url = %self.url, reason, "could not fetch the JWKS; keeping the keys already known");
                refresh.failed = true;
            }
        }
    }

    async fn fetch(&self) -> Result<KeySet, &'static str> {
        let document = self.client.get_json(&self.url).await.map_err(|error| {
            tracing::debug!(%error, "JWKS request failed");
            error.kind()
        })?;
        KeySet::parse(&document).map_err(|_| "not_a_jwks")
    }
}

impl std::fmt::Debug for Jwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwks")
            .field("url", &self.url)
            .field("keys", &self.current().keys.len())
            .field("cooldown", &self.cooldown)
            .field("max_age", &self.max_age)
            .finish()
    }
}
