//! [`Delivery`]: what the receiver knows about one delivery of an event, handed to the
//! application with the event; and the tenant table that names who sent it.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use time::OffsetDateTime;

use crate::DedupKey;
use crate::auth::Principal;
use crate::redact::RedactedLen;

/// What the receiver knows about one delivery of an event: who sent it, when, which attempt
/// of its callback this is, its dedup key and its payload as received. Never the token.
///
/// An `incident_events` payload does not say which dispatch center (ECC) it belongs to; only
/// the credential that authenticated it does. [`tenant`](Self::tenant) answers that question
/// the same way whichever way Prepared authenticated: a static token's
/// [label](crate::auth::BearerToken::label), or an OAuth token's client id, mapped through
/// [`WebhooksBuilder::tenant_for_client_id`](super::WebhooksBuilder::tenant_for_client_id)
/// when the application gives a table.
///
/// A callback takes it as a second argument:
///
/// ```
/// use prepared_core::auth::{BearerToken, StaticBearer};
/// use prepared_core::delivery::{Delivery, Webhooks};
/// use prepared_core::event::CallerLocation;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let webhooks = Webhooks::builder()
///     .authenticator(StaticBearer::new([
///         BearerToken::new("token-of-king-county").label("ecc-king-county"),
///         BearerToken::new("token-of-pierce-county").label("ecc-pierce-county"),
///     ]))
///     .on_caller_location(|location: CallerLocation, delivery: Delivery| async move {
///         // Route the location to the dispatch center whose credential sent it.
///         let center = delivery.tenant().unwrap_or("unassigned");
///         println!("{center}: incident {} (attempt {})", location.incident_id, delivery.attempt());
///     })
///     .build()?;
/// # Ok(()) }
/// ```
///
/// `Debug` shows the size of the payload, never its content.
///
/// It is cheap to clone: what does not change between attempts is shared.
#[derive(Clone)]
pub struct Delivery {
    received: Arc<Received>,
    attempt: u32,
}

/// What the receiver learnt when the delivery arrived.
struct Received {
    principal: Principal,
    tenant: Option<Arc<str>>,
    received_at: OffsetDateTime,
    dedup_key: DedupKey,
    raw: Bytes,
}

impl Delivery {
    /// The first attempt of a delivery.
    pub(crate) fn new(
        principal: Principal,
        tenant: Option<Arc<str>>,
        received_at: OffsetDateTime,
        dedup_key: DedupKey,
        raw: Bytes,
    ) -> Self {
        let received = Received {
            principal,
            tenant,
            received_at,
            dedup_key,
            raw,
        };
        Self {
            received: Arc::new(received),
            attempt: 1,
        }
    }

    /// The same delivery, at attempt `attempt` of its callback.
    pub(crate) fn at_attempt(&self, attempt: u32) -> Self {
        Self {
            received: Arc::clone(&self.received),
            attempt,
        }
    }

    /// Which credential authenticated the delivery.
    pub fn principal(&self) -> &Principal {
        &self.received.principal
    }

    /// The tenant (e.g. the dispatch center) the credential belongs to: a static token's
    /// label, or an OAuth token's client id mapped through the tenant table (the client id
    /// itself when the table has no entry for it). `None` for an unlabelled static token or a
    /// token without a client id.
    pub fn tenant(&self) -> Option<&str> {
        self.received.tenant.as_deref()
    }

    /// When the receiver got the delivery (the request, not the callback run).
    pub fn received_at(&self) -> OffsetDateTime {
        self.received.received_at
    }

    /// Which run of the callback this is for this delivery: 1 for the first, more for the
    /// receiver's own retries (a redelivery by Prepared counts from 1 again).
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The event's dedup key.
    pub fn dedup_key(&self) -> &DedupKey {
        &self.received.dedup_key
    }

    /// The payload exactly as received.
    pub fn raw(&self) -> &Bytes {
        &self.received.raw
    }
}

impl fmt::Debug for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("principal", self.principal())
            .field("tenant", &self.tenant())
            .field("received_at", &self.received_at())
            .field("attempt", &self.attempt)
            .field("dedup_key", self.dedup_key())
            .field("raw", &RedactedLen(self.raw().len()))
            .finish()
    }
}

/// Which tenant an OAuth client id belongs to, as the application configured it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Tenants {
    by_client_id: HashMap<String, Arc<str>>,
}

impl Tenants {
    pub(crate) fn insert(&mut self, client_id: String, tenant: Arc<str>) {
        self.by_client_id.insert(client_id, tenant);
    }

    /// The tenant of a credential: a static token's label, or an OAuth client id's entry in
    /// the table, else the client id itself.
    pub(crate) fn of(&self, principal: &Principal) -> Option<Arc<str>> {
        if let Some(label) = principal.label() {
            return Some(Arc::from(label));
        }
        let client_id = principal.client_id()?;
        Some(
            self.by_client_id
                .get(client_id)
                .cloned()
                .unwrap_or_else(|| Arc::from(client_id)),
        )
    }
}
