//! The typed event model: one struct per event Prepared sends, under one [`Event`] enum.
//!
//! | scope | discriminator | event | struct |
//! |---|---|---|---|
//! | `cad_incidents` | `event_type` | `note_created` | [`NoteCreated`] |
//! | `cad_incidents` | `event_type` | `location_updated` | [`LocationUpdated`] |
//! | `incident_events` | `type` | `incident_metadata` | [`IncidentMetadata`] |
//! | `incident_events` | `type` | `caller_location` | [`CallerLocation`] |
//! | `incident_events` | `type` | `media` | [`Media`] |
//! | either | either | anything else | [`UnknownEvent`] |
//!
//! Decoding rules, in order:
//! - a body with an `event_type` string is a CAD event, named by it (`location_updated` also
//!   has a `type` field, which then is a plain field);
//! - otherwise a body with a `type` string is an Incident Events event, named by it;
//! - a name this version does not know gives [`Event::Unknown`], which is acknowledged and kept
//!   whole, never rejected;
//! - optional fields may be absent or `null`; fields this version does not know are ignored
//!   (and kept, for [`Media`] and unknown events); required fields that are missing, of the
//!   wrong type or out of range give a [`DecodeError`] that names the field;
//! - enumerated strings (note subtypes, location sources, ...) keep values this version does
//!   not know in an `Other(String)` variant.
//!
//! Decoding is plain `serde_json`, in one pass over the body: a derived wire struct reads every
//! field a known event has, each converted by its own `Deserialize` (a value of another type
//! is noted, not refused, since only the event the discriminators name decides what its fields
//! must be); the named event's fields are then checked, so that an error names the field. Only
//! a `media` event with members beside its typed fields (kept in [`Media::extra`]) and unknown
//! events (for their raw payload) read the body a second time.
//!
//! Serializing an [`Event`] (or any event struct) with `serde_json` writes Prepared's wire
//! shape back, discriminator included, so events can be logged, archived and replayed:
//! `Event::decode(&serde_json::to_vec(&event)?)` gives the same event.
//!
//! `Debug` output of every event is safe for logs: caller phone numbers, coordinates, note
//! texts, media links and unknown payloads are redacted. The fields themselves hold the real
//! values.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

mod caller_location;
mod coordinates;
mod decode_error;
mod dedup_key;
mod incident_metadata;
mod location_source;
mod location_updated;
mod media;
mod note_created;
mod open_enum;
mod phone_number;
mod timestamp;
mod unknown;
mod wire;

pub use caller_location::{CallerLocation, ClassOfService};
pub use decode_error::DecodeError;
pub use dedup_key::DedupKey;
pub use incident_metadata::IncidentMetadata;
pub use location_source::LocationSource;
pub use location_updated::{LocationType, LocationUpdated};
pub use media::{Media, MediaKind};
pub use note_created::{NoteCreated, NoteSubtype};
pub use phone_number::CallerPhoneNumber;
pub use timestamp::{Timestamp, TimestampError};
pub use unknown::UnknownEvent;

use wire::Wire;

/// One webhook event from Prepared.
///
/// Build it with [`Event::decode`] from the raw body; read what every event has without a
/// `match` through [`kind`](Self::kind), [`incident_id`](Self::incident_id),
/// [`created_at`](Self::created_at) and [`dedup_key`](Self::dedup_key).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Event {
    /// CAD `note_created`.
    NoteCreated(NoteCreated),
    /// CAD `location_updated`.
    LocationUpdated(LocationUpdated),
    /// Incident Events `incident_metadata`.
    IncidentMetadata(IncidentMetadata),
    /// Incident Events `caller_location`.
    CallerLocation(CallerLocation),
    /// Incident Events `media`.
    Media(Media),
    /// An event this version does not know.
    Unknown(UnknownEvent),
}

/// What kind of event an [`Event`] is, without its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum EventKind {
    /// CAD `note_created`.
    NoteCreated,
    /// CAD `location_updated`.
    LocationUpdated,
    /// Incident Events `incident_metadata`.
    IncidentMetadata,
    /// Incident Events `caller_location`.
    CallerLocation,
    /// Incident Events `media`.
    Media,
    /// Any event this version does not know.
    Unknown,
}

/// The Partner API scope an event belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scope {
    /// `cad_incidents`: events for CAD vendors, named by `event_type`.
    CadIncidents,
    /// `incident_events`: events for first-responder apps, named by `type`.
    IncidentEvents,
}

/// The field that names an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Discriminator {
    /// `event_type`, used by CAD events.
    EventType,
    /// `type`, used by Incident Events events.
    Type,
}

impl Event {
    /// Decodes the raw body of a webhook delivery.
    ///
    /// This is the one call a receiver needs: it never panics, and an error says which field
    /// is at fault without quoting the payload (see [`DecodeError`]). Unknown event names are
    /// not errors; they give [`Event::Unknown`].
    ///
    /// ```
    /// use prepared_core::{Event, DecodeError};
    ///
    /// let event = Event::decode(br#"{"event_type": "location_updated", "type": "caller",
    ///     "id": "550e8400-e29b-41d4-a716-446655440003",
    ///     "incident_id": "550e8400-e29b-41d4-a716-446655440001",
    ///     "latitude": 37.7749, "longitude": -122.4194}"#)?;
    /// assert_eq!(event.type_name(), "location_updated");
    ///
    /// let error = Event::decode(br#"{"type": "caller_location", "id": "550e8400-e29b-41d4-a716-446655440004"}"#)
    ///     .unwrap_err();
    /// assert_eq!(error.to_string(), "caller_location event: required field `incident_id` is missing");
    /// assert_eq!(error.status(), http::StatusCode::BAD_REQUEST);
    /// # Ok::<(), DecodeError>(())
    /// ```
    pub fn decode(body: &[u8]) -> Result<Self, DecodeError> {
        // JSON is UTF-8: checked once here, so that `serde_json` need not check every string.
        let body = std::str::from_utf8(body)
            .map_err(|error| DecodeError::not_utf8(body, error.valid_up_to()))?;
        let wire = Wire::read(body)?;
        let (discriminator, name) = wire.name()?;
        let kind = EventKind::from_wire_name(&name)
            .filter(|kind| kind.discriminator() == Some(discriminator))
            .unwrap_or(EventKind::Unknown);
        match kind {
            EventKind::NoteCreated => NoteCreated::from_wire(wire).map(Self::NoteCreated),
            EventKind::LocationUpdated => {
                LocationUpdated::from_wire(wire).map(Self::LocationUpdated)
            }
            EventKind::IncidentMetadata => {
                IncidentMetadata::from_wire(wire).map(Self::IncidentMetadata)
            }
            EventKind::CallerLocation => CallerLocation::from_wire(wire).map(Self::CallerLocation),
            EventKind::Media => Media::from_wire(wire, body).map(Self::Media),
            EventKind::Unknown => {
                UnknownEvent::from_wire(discriminator, name.into_owned(), wire, body)
                    .map(Self::Unknown)
            }
        }
    }

    /// What kind of event this is.
    pub fn kind(&self) -> EventKind {
        match self {
            Self::NoteCreated(_) => EventKind::NoteCreated,
            Self::LocationUpdated(_) => EventKind::LocationUpdated,
            Self::IncidentMetadata(_) => EventKind::IncidentMetadata,
            Self::CallerLocation(_) => EventKind::CallerLocation,
            Self::Media(_) => EventKind::Media,
            Self::Unknown(_) => EventKind::Unknown,
        }
    }

    /// The event's name on the wire, e.g. `note_created`, or an unknown event's own name.
    pub fn type_name(&self) -> &str {
        match self {
            Self::Unknown(unknown) => unknown.name(),
            known => known.kind().as_str(),
        }
    }

    /// The scope the event belongs to (for an unknown event, the one its discriminator
    /// implies).
    pub fn scope(&self) -> Scope {
        match self {
            Self::Unknown(unknown) => unknown.discriminator().scope(),
            Self::NoteCreated(_) | Self::LocationUpdated(_) => Scope::CadIncidents,
            Self::IncidentMetadata(_) | Self::CallerLocation(_) | Self::Media(_) => {
                Scope::IncidentEvents
            }
        }
    }

    /// The Prepared incident the event is about. Always there for known events (for
    /// `incident_metadata` it is the event's `id`); for an unknown event, its `incident_id`
    /// field when that is a UUID.
    pub fn incident_id(&self) -> Option<Uuid> {
        match self {
            Self::NoteCreated(event) => Some(event.incident_id),
            Self::LocationUpdated(event) => Some(event.incident_id),
            Self::IncidentMetadata(event) => Some(event.id),
            Self::CallerLocation(event) => Some(event.incident_id),
            Self::Media(event) => Some(event.incident_id),
            Self::Unknown(event) => event.incident_id(),
        }
    }

    /// When the event's subject was created (the note, the location fix, the incident...),
    /// when the payload says.
    pub fn created_at(&self) -> Option<Timestamp> {
        match self {
            Self::NoteCreated(event) => event.created_at,
            Self::LocationUpdated(event) => event.created_at,
            Self::IncidentMetadata(event) => Some(event.created_at),
            Self::CallerLocation(event) => event.created_at,
            Self::Media(event) => event.created_at,
            Self::Unknown(event) => event.created_at(),
        }
    }

    /// The key that identifies this event across redeliveries. See [`DedupKey`] for the
    /// rule; in short, the event `id`, except for `incident_metadata`, whose key is the
    /// incident id plus `updated_at`.
    pub fn dedup_key(&self) -> DedupKey {
        // `<kind>:<id>`, the id hyphenated in lower case (as `Uuid`'s `Display` writes it).
        let key = |id: Uuid| {
            let mut buffer = Uuid::encode_buffer();
            [
                self.kind().as_str(),
                ":",
                id.hyphenated().encode_lower(&mut buffer),
            ]
            .concat()
        };
        DedupKey::new(match self {
            Self::NoteCreated(event) => key(event.id),
            Self::LocationUpdated(event) => key(event.id),
            Self::CallerLocation(event) => key(event.id),
            Self::Media(event) => key(event.id),
            Self::IncidentMetadata(event) => {
                format!(
                    "{}:{}",
                    key(event.id),
                    event.updated_at.unix_timestamp_nanos()
                )
            }
            Self::Unknown(event) => return event.dedup_key().clone(),
        })
    }
}

/// Decodes from any `serde_json` deserializer, with the same rules as [`Event::decode`].
///
/// Useful to read archives (`Vec<Event>`, JSON lines); it works with `serde_json` only,
/// because it reads the raw JSON of the event first.
impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = <&serde_json::value::RawValue>::deserialize(deserializer)?;
        Self::decode(raw.get().as_bytes()).map_err(serde::de::Error::custom)
    }
}

impl EventKind {
    /// Every kind, in declaration order.
    pub const ALL: [EventKind; 6] = [
        EventKind::NoteCreated,
        EventKind::LocationUpdated,
        EventKind::IncidentMetadata,
        EventKind::CallerLocation,
        EventKind::Media,
        EventKind::Unknown,
    ];

    /// The wire name (`note_created`, ...); `unknown` for [`EventKind::Unknown`].
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoteCreated => "note_created",
            Self::LocationUpdated => "location_updated",
            Self::IncidentMetadata => "incident_metadata",
            Self::CallerLocation => "caller_location",
            Self::Media => "media",
            Self::Unknown => "unknown",
        }
    }

    /// The field that names this kind on the wire; `None` for [`EventKind::Unknown`].
    pub fn discriminator(self) -> Option<Discriminator> {
        match self {
            Self::NoteCreated | Self::LocationUpdated => Some(Discriminator::EventType),
            Self::IncidentMetadata | Self::CallerLocation | Self::Media => {
                Some(Discriminator::Type)
            }
            Self::Unknown => None,
        }
    }

    fn from_wire_name(name: &str) -> Option<Self> {
        match name {
            "note_created" => Some(Self::NoteCreated),
            "location_updated" => Some(Self::LocationUpdated),
            "incident_metadata" => Some(Self::IncidentMetadata),
            "caller_location" => Some(Self::CallerLocation),
            "media" => Some(Self::Media),
            _ => None,
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Discriminator {
    /// The field's name: `event_type` or `type`.
    pub fn field_name(self) -> &'static str {
        match self {
            Self::EventType => "event_type",
            Self::Type => "type",
        }
    }

    /// The scope whose events this field names.
    pub fn scope(self) -> Scope {
        match self {
            Self::EventType => Scope::CadIncidents,
            Self::Type => Scope::IncidentEvents,
        }
    }
}
