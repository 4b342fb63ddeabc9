//! [`IncidentMetadata`]: the Incident Events `incident_metadata` event.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::wire::Wire;
use super::{CallerPhoneNumber, DecodeError, EventKind, Timestamp};

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

impl IncidentMetadata {
    pub(super) fn from_wire(wire: Wire<'_>) -> Result<Self, DecodeError> {
        let kind = EventKind::IncidentMetadata;
        Ok(Self {
            id: kind.required("id", wire.id)?,
            caller_phone_number: kind.required("caller_phone_number", wire.caller_phone_number)?,
            is_audio_live: kind.required("is_audio_live", wire.is_audio_live)?,
            audio_call_ended_at: kind.optional("audio_call_ended_at", wire.audio_call_ended_at)?,
            created_at: kind.required("created_at", wire.created_at)?,
            updated_at: kind.required("updated_at", wire.updated_at)?,
            chatroom_url: kind.optional("chatroom_url", wire.chatroom_url)?,
        })
    }
}
