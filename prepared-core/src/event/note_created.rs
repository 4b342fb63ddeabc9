//! [`NoteCreated`]: the CAD `note_created` event.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::open_enum::open_enum;
use super::wire::Wire;
use super::{DecodeError, EventKind, Timestamp};
use crate::redact::RedactedLen;

/// Prepared added a note to a linked CAD incident: an AI summary, a media link, a link to the
/// incident's chatroom (`event_type: "note_created"`, scope `cad_incidents`).
///
/// `Debug` shows the size of `note` and the keys of `metadata`, never their content: an AI
/// summary of a 911 call can hold an address or a name.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event_type", rename = "note_created")]
#[non_exhaustive]
pub struct NoteCreated {
    /// The note's id; it identifies this event.
    pub id: Uuid,
    /// Prepared's incident id.
    pub incident_id: Uuid,
    /// The partner's own CAD incident id, as given when the incident was created.
    pub cad_partner_incident_id: Option<String>,
    /// When the note was created.
    pub created_at: Option<Timestamp>,
    /// What kind of note this is.
    pub subtype: Option<NoteSubtype>,
    /// The note's text, or a URL for the link subtypes.
    pub note: Option<String>,
    /// Free-form data that depends on the subtype, e.g. `{"confidence": 0.95}`.
    pub metadata: Option<Map<String, Value>>,
}

open_enum! {
    /// The kind of a [`NoteCreated`] note (`subtype`).
    pub enum NoteSubtype {
        /// A URL to a media file: audio recording, photo, video.
        MediaLink = "media_link",
        /// An AI-generated summary of the call.
        InsightSummary = "insight_summary",
        /// A URL to the incident's Prepared chatroom.
        IncidentLink = "incident_link",
        /// A URL to Prepared's OnScene chatroom for responders.
        ResponderLink = "responder_link",
    }
}

impl NoteCreated {
    pub(super) fn from_wire(wire: Wire<'_>) -> Result<Self, DecodeError> {
        let kind = EventKind::NoteCreated;
        Ok(Self {
            id: kind.required("id", wire.id)?,
            incident_id: kind.required("incident_id", wire.incident_id)?,
            cad_partner_incident_id: kind
                .optional("cad_partner_incident_id", wire.cad_partner_incident_id)?,
            created_at: kind.optional("created_at", wire.created_at)?,
            subtype: kind.optional("subtype", wire.subtype)?,
            note: kind.optional("note", wire.note)?,
            metadata: kind.optional_raw("metadata", wire.metadata)?,
        })
    }
}

impl fmt::Debug for NoteCreated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteCreated")
            .field("id", &self.id)
            .field("incident_id", &self.incident_id)
            .field("cad_partner_incident_id", &self.cad_partner_incident_id)
            .field("created_at", &self.created_at)
            .field("subtype", &self.subtype)
            .field(
                "note",
                &self.note.as_ref().map(|note| RedactedLen(note.len())),
            )
            .field(
                "metadata",
                &self
                    .metadata
                    .as_ref()
                    .map(|map| map.keys().collect::<Vec<_>>()),
            )
            .finish()
    }
}
