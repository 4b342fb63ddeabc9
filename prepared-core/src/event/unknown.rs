//! [`UnknownEvent`]: an event this version does not know, kept whole.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use uuid::Uuid;

use super::wire::Wire;
use super::{DecodeError, DedupKey, Discriminator, Timestamp};
use crate::redact::RedactedLen;

/// An event whose name this version does not know: Prepared added it after this crate was
/// released.
///
/// It is acknowledged like any other event (rejecting it would make Prepared retry forever)
/// and handed to the application with its name and its raw JSON, which serializes back
/// verbatim. [`deserialize_as`](Self::deserialize_as) decodes it into a type of the
/// application's own.
///
/// `Debug` shows the name and the size of the payload, never its content.
///
/// ```
/// use prepared_core::Event;
///
/// let event = Event::decode(br#"{"type": "responder_joined", "id": "r-1", "name": "Unit 12"}"#)?;
/// let Event::Unknown(unknown) = &event else { unreachable!() };
/// assert_eq!(unknown.name(), "responder_joined");
///
/// #[derive(serde::Deserialize)]
/// struct ResponderJoined { name: String }
/// let joined: ResponderJoined = unknown.deserialize_as().unwrap();
/// assert_eq!(joined.name, "Unit 12");
/// # Ok::<(), prepared_core::DecodeError>(())
/// ```
#[derive(Clone)]
pub struct UnknownEvent {
    discriminator: Discriminator,
    name: String,
    incident_id: Option<Uuid>,
    created_at: Option<Timestamp>,
    dedup_key: DedupKey,
    raw: Box<RawValue>,
}

impl UnknownEvent {
    /// Builds the event named `name` from the one pass over `body`: the fields every Prepared
    /// event is likely to carry are read leniently (a field that is absent, `null` or of an
    /// unexpected form is simply not used). The payload is kept whole, and the dedup key is
    /// made of the raw `id` and `updated_at`, which takes two more passes (unknown events are
    /// rare).
    pub(super) fn from_wire(
        discriminator: Discriminator,
        name: String,
        wire: Wire<'_>,
        body: &str,
    ) -> Result<Self, DecodeError> {
        let raw: Box<RawValue> =
            serde_json::from_str(body).map_err(|error| DecodeError::syntax(&error))?;
        let key: KeyFields<'_> =
            serde_json::from_str(raw.get()).map_err(|error| DecodeError::syntax(&error))?;
        let dedup_key = match key.id {
            Some(id) => DedupKey::hashed([
                name.as_bytes(),
                id.get().as_bytes(),
                key.updated_at.map_or("", RawValue::get).as_bytes(),
            ]),
            None => DedupKey::hashed([name.as_bytes(), raw.get().as_bytes()]),
        };
        Ok(Self {
            discriminator,
            incident_id: wire.incident_id.valid(),
            created_at: wire.created_at.valid(),
            dedup_key,
            name,
            raw,
        })
    }

    /// The event's name, e.g. `responder_joined`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Which field named the event: `event_type` (CAD) or `type` (Incident Events).
    pub fn discriminator(&self) -> Discriminator {
        self.discriminator
    }

    /// The `incident_id` field, when it is there and is a UUID.
    pub fn incident_id(&self) -> Option<Uuid> {
        self.incident_id
    }

    /// The `created_at` field, when it is there and is a date-time.
    pub fn created_at(&self) -> Option<Timestamp> {
        self.created_at
    }

    /// The key that deduplicates this event (see [`DedupKey`]).
    pub fn dedup_key(&self) -> &DedupKey {
        &self.dedup_key
    }

    /// The payload exactly as received.
    pub fn raw(&self) -> &RawValue {
        &self.raw
    }

    /// Decodes the payload into a type of the application's own.
    pub fn deserialize_as<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.raw.get())
    }
}

/// The members an unknown event's dedup key is made of, as raw JSON (`null` is absent).
#[derive(serde::Deserialize)]
struct KeyFields<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    updated_at: Option<&'a RawValue>,
}

impl PartialEq for UnknownEvent {
    fn eq(&self, other: &Self) -> bool {
        // Everything else is derived from the payload and the discriminator.
        self.discriminator == other.discriminator && self.raw.get() == other.raw.get()
    }
}

impl Serialize for UnknownEvent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(serializer)
    }
}

impl fmt::Debug for UnknownEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnknownEvent")
            .field("discriminator", &self.discriminator)
            .field("name", &self.name)
            .field("incident_id", &self.incident_id)
            .field("created_at", &self.created_at)
            .field("raw", &RedactedLen(self.raw.get().len()))
            .finish()
    }
}
