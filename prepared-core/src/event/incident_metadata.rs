//! [`IncidentMetadata`]: the Incident Events `incident_metadata` event.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{CallerPhoneNumber, Timestamp};

/// An incident was created or its metadata changed, e.g. the call ended
/// (`type: "incident_metadata"`, scope `incident_events`).
///
/// `id` is the **incident's** id and stays the same on every update: the event is identified
/// by (`id`, `updated_at`), which is what its [dedup key](super::Event::dedup_key) uses.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "incident_metadata")]
#[non_exhaustive]
pub struct IncidentMetadata {
    /// The incident's id, the same on every update.
    pub id: Uuid,
    /// The caller's phone number (E.164); `Debug` redacts it.
    pub caller_phone_number: CallerPhoneNumber,
    /// Whether the 911 call's audio is live.
    pub is_audio_live: bool,
    /// When the call ended; `None` while it is live.
    pub audio_call_ended_at: Option<Timestamp>,
    /// When the incident was created.
    pub created_at: Timestamp,
    /// When the incident was last updated; it changes on every update.
    pub updated_at: Timestamp,
    /// A link to the incident's chatroom in the Prepared portal.
    pub chatroom_url: Option<String>,
}
