//! Sample payloads of every event kind, with fresh ids.

use bytes::Bytes;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::WebhookRequest;
use crate::{DecodeError, DedupKey, Event, EventKind, Timestamp};

/// A sample payload of one event kind, as Prepared sends it, with a fresh event id and a fresh
/// incident id; edit it with the builder methods, then take its [`body`](Self::body), its
/// decoded [`event`](Self::event) or a ready [`request`](Self::request).
///
/// Each kind carries the documented fields with realistic values (the phone number and the
/// coordinates are made up). Two samples never share a dedup key unless you give them the same
/// ids: `incident_metadata`, whose key is the incident id plus `updated_at`, gets the current
/// time as `updated_at`.
///
/// ```
/// use prepared_core::testing::Sample;
/// use prepared_core::{Event, EventKind};
///
/// let first = Sample::caller_location();
/// let second = Sample::caller_location().incident(first.incident_id());
/// assert_eq!(first.incident_id(), second.incident_id());
/// assert_ne!(first.dedup_key(), second.dedup_key());
///
/// let Event::CallerLocation(location) = Sample::caller_location().with("lat", 40.0).event() else {
///     unreachable!("a caller_location sample decodes as one")
/// };
/// assert_eq!(location.lat, 40.0);
/// ```
#[derive(Clone)]
pub struct Sample {
    kind: EventKind,
    members: Map<String, Value>,
}

impl Sample {
    /// A CAD `note_created`.
    pub fn note_created() -> Self {
        Self::new(
            EventKind::NoteCreated,
            json!({
                "event_type": "note_created",
                "id": fresh(), "incident_id": fresh(), "cad_partner_incident_id": "CAD-2024-0001",
                "created_at": now(), "subtype": "insight_summary",
                "note": "Caller reports a vehicle accident at the intersection.",
                "metadata": { "confidence": 0.95 },
            }),
        )
    }

    /// A CAD `location_updated` (a caller location).
    pub fn location_updated() -> Self {
        Self::new(
            EventKind::LocationUpdated,
            json!({
                "event_type": "location_updated", "type": "caller",
                "id": fresh(), "incident_id": fresh(), "cad_partner_incident_id": "CAD-2024-0001",
                "created_at": now(), "latitude": 37.7749, "longitude": -122.4194,
                "source": "prepared",
            }),
        )
    }

    /// An Incident Events `incident_metadata`; its `id` is the incident id.
    pub fn incident_metadata() -> Self {
        Self::new(
            EventKind::IncidentMetadata,
            json!({
                "type": "incident_metadata", "id": fresh(),
                "caller_phone_number": "+15555550123", "is_audio_live": true,
                "audio_call_ended_at": null, "created_at": now(), "updated_at": now(),
                "chatroom_url": "https://portal.prepared911.com/chatrooms/sample",
            }),
        )
    }

    /// An Incident Events `caller_location`.
    pub fn caller_location() -> Self {
        Self::new(
            EventKind::CallerLocation,
            json!({
                "type": "caller_location", "id": fresh(), "incident_id": fresh(),
                "lat": 37.7749, "lng": -122.4194, "class_of_service": "WPH2",
                "created_at": now(), "source": "ani_ali",
            }),
        )
    }

    /// An Incident Events `media` (a photo).
    pub fn media() -> Self {
        Self::new(
            EventKind::Media,
            json!({
                "type": "media", "id": fresh(), "incident_id": fresh(), "created_at": now(),
                "media_type": "photo", "url": "https://portal.prepared911.com/media/sample.jpg",
                "content_type": "image/jpeg",
            }),
        )
    }

    /// A sample of `kind`; `None` for [`EventKind::Unknown`].
    pub fn of_kind(kind: EventKind) -> Option<Self> {
        Some(match kind {
            EventKind::NoteCreated => Self::note_created(),
            EventKind::LocationUpdated => Self::location_updated(),
            EventKind::IncidentMetadata => Self::incident_metadata(),
            EventKind::CallerLocation => Self::caller_location(),
            EventKind::Media => Self::media(),
            EventKind::Unknown => return None,
        })
    }

    /// One sample of each of the five kinds, each of its own incident.
    pub fn all() -> [Self; 5] {
        [
            Self::note_created(),
            Self::location_updated(),
            Self::incident_metadata(),
            Self::caller_location(),
            Self::media(),
        ]
    }

    fn new(kind: EventKind, value: Value) -> Self {
        let Value::Object(members) = value else {
            unreachable!("every sample is written as an object")
        };
        Self { kind, members }
    }

    /// The kind of event this sample is.
    pub fn kind(&self) -> EventKind {
        self.kind
    }

    /// Moves the sample to `incident` (its `incident_id`, or the `id` of an
    /// `incident_metadata`), e.g. to send several events of one incident.
    pub fn incident(self, incident: Uuid) -> Self {
        let member = self.incident_member();
        self.with(member, incident.to_string())
    }

    /// Gives the sample the event id `id` (for `incident_metadata`, the incident id).
    pub fn id(self, id: Uuid) -> Self {
        self.with("id", id.to_string())
    }

    /// Sets the member `name` to `value`, e.g. an unknown member, a wrong type or `null`.
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.members.insert(name.to_owned(), value.into());
        self
    }

    /// Removes the member `name`, e.g. to send an event without a required field.
    pub fn without(mut self, name: &str) -> Self {
        self.members.remove(name);
        self
    }

    /// The incident this sample belongs to; `Uuid::nil()` once its id member was edited into
    /// something that is not a UUID.
    pub fn incident_id(&self) -> Uuid {
        self.members
            .get(self.incident_member())
            .and_then(Value::as_str)
            .and_then(|text| text.parse().ok())
            .unwrap_or_default()
    }

    /// The dedup key of the sample as the pipeline computes it.
    ///
    /// # Panics
    ///
    /// When the sample was edited into a payload that does not decode.
    pub fn dedup_key(&self) -> DedupKey {
        self.event().dedup_key()
    }

    /// The sample decoded as the pipeline decodes it.
    ///
    /// # Panics
    ///
    /// When the sample was edited into a payload that does not decode; use
    /// [`decode`](Self::decode) to see the error.
    pub fn event(&self) -> Event {
        self.decode()
            .unwrap_or_else(|error| panic!("the edited sample does not decode: {error}"))
    }

    /// The sample decoded as the pipeline decodes it, or the error a delivery of it would get.
    pub fn decode(&self) -> Result<Event, DecodeError> {
        Event::decode(&self.body())
    }

    /// The payload as JSON.
    pub fn json(&self) -> Value {
        Value::Object(self.members.clone())
    }

    /// The payload as the body of a delivery.
    pub fn body(&self) -> Bytes {
        Bytes::from(Value::Object(self.members.clone()).to_string())
    }

    /// A delivery request of this sample (`POST /webhooks/prepared`, JSON, no credentials yet).
    pub fn request(&self) -> WebhookRequest {
        WebhookRequest::new(self.body())
    }

    fn incident_member(&self) -> &'static str {
        match self.kind {
            EventKind::IncidentMetadata => "id",
            _ => "incident_id",
        }
    }
}

/// `Debug` names the kind and the ids only: the payload holds a phone number or coordinates.
impl std::fmt::Debug for Sample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sample")
            .field("kind", &self.kind)
            .field("id", &self.members.get("id"))
            .field("incident_id", &self.incident_id())
            .finish_non_exhaustive()
    }
}

fn fresh() -> String {
    Uuid::new_v4().to_string()
}

/// The current time in Prepared's form, to the microsecond.
fn now() -> String {
    let now = OffsetDateTime::now_utc();
    let now = now
        .replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
        .unwrap_or(now);
    Timestamp::try_from(now)
        .map(|timestamp| timestamp.to_string())
        .unwrap_or_else(|_| "2024-01-15 10:30:00 UTC".to_owned())
}
