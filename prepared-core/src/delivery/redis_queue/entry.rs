//! What a stream entry of the durable queue holds: the payload, the claim's token and the
//! sender, and the [`Job`] read back from it.

use std::sync::Arc;

use bytes::Bytes;
use redis::streams::StreamId;
use time::OffsetDateTime;

use crate::Event;
use crate::auth::Principal;
use crate::dedup::ClaimToken;
use crate::delivery::Delivery;
use crate::delivery::queue::Job;

/// Who sent a queued event and when, as the stream entry keeps it.
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct SenderRecord {
    principal: Principal,
    tenant: Option<String>,
    received_at_unix_ns: i64,
}

impl SenderRecord {
    pub(super) fn of(delivery: &Delivery) -> Self {
        let nanos = delivery.received_at().unix_timestamp_nanos();
        Self {
            principal: delivery.principal().clone(),
            tenant: delivery.tenant().map(str::to_owned),
            received_at_unix_ns: i64::try_from(nanos).unwrap_or(i64::MAX),
        }
    }
}

pub(super) fn job_of(entry: &StreamId) -> Option<Job> {
    let raw: Vec<u8> = entry.get("raw")?;
    let raw = Bytes::from(raw);
    let event = Event::decode(&raw).ok()?;
    let token: String = entry.get("token")?;
    // The token as the claim holds it: 32 hex digits (`ClaimToken`'s `Display`).
    let token = ClaimToken::new(u128::from_str_radix(&token, 16).ok()?);
    let sender: String = entry.get("sender")?;
    let sender: SenderRecord = serde_json::from_str(&sender).ok()?;
    let received_at =
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(sender.received_at_unix_ns)).ok()?;
    let tenant = sender.tenant.map(Arc::from);
    let delivery = Delivery::new(
        sender.principal,
        tenant,
        received_at,
        event.dedup_key(),
        raw,
    );
    Some(Job {
        event,
        delivery,
        token,
    })
}
