//! The one-pass decoder for the events with a fixed schema, tried before the two-pass one.
//!
//! The general decoder reads a body twice (the discriminator first, then the event's struct),
//! because the discriminator may come last. For `note_created`, `location_updated`,
//! `incident_metadata` and `caller_location`, this decoder instead reads every field any of
//! them has in one pass, then builds the event the discriminator names. A `media` event goes
//! straight to its own pass. Whenever it cannot decide (any error, a missing or `null`
//! required field, an unknown event, a body that is not an object), the two-pass decoder
//! decides, so both always agree; the unit tests below check that on every field of every
//! example, mutated.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{
    CallerLocation, CallerPhoneNumber, ClassOfService, Event, IncidentMetadata, LocationSource,
    LocationType, LocationUpdated, NoteCreated, NoteSubtype, Timestamp, coordinates,
};

/// The union of the four events' fields.
#[derive(Deserialize)]
struct Wire<'a> {
    #[serde(borrow, default)]
    event_type: Option<Cow<'a, str>>,
    #[serde(rename = "type", borrow, default)]
    type_: Option<Cow<'a, str>>,
    id: Option<Uuid>,
    incident_id: Option<Uuid>,
    cad_partner_incident_id: Option<String>,
    created_at: Option<Timestamp>,
    updated_at: Option<Timestamp>,
    audio_call_ended_at: Option<Timestamp>,
    subtype: Option<NoteSubtype>,
    note: Option<String>,
    metadata: Option<Map<String, Value>>,
    #[serde(default, deserialize_with = "coordinates::optional_latitude")]
    latitude: Option<f64>,
    #[serde(default, deserialize_with = "coordinates::optional_longitude")]
    longitude: Option<f64>,
    #[serde(default, deserialize_with = "coordinates::optional_latitude")]
    lat: Option<f64>,
    #[serde(default, deserialize_with = "coordinates::optional_longitude")]
    lng: Option<f64>,
    source: Option<LocationSource>,
    class_of_service: Option<ClassOfService>,
    caller_phone_number: Option<CallerPhoneNumber>,
    is_audio_live: Option<bool>,
    chatroom_url: Option<String>,
}

/// What one pass found.
pub(super) enum OnePass {
    /// The event, decoded exactly as the two-pass decoder would.
    Event(Event),
    /// A `media` event: its struct keeps every field, so it needs a pass of its own, but the
    /// discriminator is known.
    Media,
    /// Anything else: the two-pass decoder decides.
    Undecided,
}

pub(super) fn decode(body: &[u8]) -> OnePass {
    if body.trim_ascii_start().first() != Some(&b'{') {
        return OnePass::Undecided;
    }
    match serde_json::from_slice::<Wire<'_>>(body) {
        Ok(wire) if wire.event_type.is_none() && wire.type_.as_deref() == Some("media") => {
            OnePass::Media
        }
        Ok(wire) => wire.into_event().map_or(OnePass::Undecided, OnePass::Event),
        Err(_) => OnePass::Undecided,
    }
}

impl Wire<'_> {
    fn into_event(self) -> Option<Event> {
        let event = match (self.event_type.as_deref(), self.type_.as_deref()) {
            (Some("note_created"), _) => Event::NoteCreated(NoteCreated {
                id: self.id?,
                incident_id: self.incident_id?,
                cad_partner_incident_id: self.cad_partner_incident_id,
                created_at: self.created_at,
                subtype: self.subtype,
                note: self.note,
                metadata: self.metadata,
            }),
            (Some("location_updated"), Some(location_type)) => {
                Event::LocationUpdated(LocationUpdated {
                    id: self.id?,
                    incident_id: self.incident_id?,
                    cad_partner_incident_id: self.cad_partner_incident_id,
                    created_at: self.created_at,
                    location_type: LocationType::from(location_type),
                    latitude: self.latitude?,
                    longitude: self.longitude?,
                    source: self.source,
                })
            }
            (None, Some("incident_metadata")) => Event::IncidentMetadata(IncidentMetadata {
                id: self.id?,
                caller_phone_number: self.caller_phone_number?,
                is_audio_live: self.is_audio_live?,
                audio_call_ended_at: self.audio_call_ended_at,
                created_at: self.created_at?,
                updated_at: self.updated_at?,
                chatroom_url: self.chatroom_url,
            }),
            (None, Some("caller_location")) => Event::CallerLocation(CallerLocation {
                id: self.id?,
                incident_id: self.incident_id?,
                lat: self.lat?,
                lng: self.lng?,
                class_of_service: self.class_of_service,
                created_at: self.created_at,
                source: self.source,
            }),
            _ => return None,
        };
        Some(event)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::Event;

    const EXAMPLES: [&str; 5] = [
        include_str!("../../fixtures/note_created.json"),
        include_str!("../../fixtures/location_updated.json"),
        include_str!("../../fixtures/incident_metadata.json"),
        include_str!("../../fixtures/caller_location.json"),
        include_str!("../../fixtures/media.json"),
    ];

    const FIELDS: [&str; 23] = [
        "event_type",
        "type",
        "id",
        "incident_id",
        "cad_partner_incident_id",
        "created_at",
        "updated_at",
        "audio_call_ended_at",
        "subtype",
        "note",
        "metadata",
        "latitude",
        "longitude",
        "lat",
        "lng",
        "source",
        "class_of_service",
        "caller_phone_number",
        "is_audio_live",
        "chatroom_url",
        "url",
        "media_type",
        "extra",
    ];

    fn values() -> Vec<Option<Value>> {
        let mut values = vec![None, Some(Value::Null)];
        values.extend(
            [
                json!("text"),
                json!(""),
                json!(12),
                json!(-500.5),
                json!(45.5),
                json!(true),
                json!({"a": 1}),
                json!([1]),
                json!("550e8400-e29b-41d4-a716-446655440009"),
                json!("2024-01-15 10:30:00 UTC"),
                json!("note_created"),
                json!("location_updated"),
                json!("caller_location"),
                json!("incident_metadata"),
                json!("media"),
                json!("caller"),
            ]
            .into_iter()
            .map(Some),
        );
        values
    }

    /// Both decoders agree on every example with every field removed, nulled or replaced.
    #[test]
    fn one_pass_agrees_with_two_passes() {
        let mut one_pass_hits = 0;
        for example in EXAMPLES {
            let base: Value = serde_json::from_str(example).expect("JSON");
            for field in FIELDS {
                for value in values() {
                    let mut body = base.clone();
                    let object = body.as_object_mut().expect("object");
                    match &value {
                        Some(value) => object.insert(field.to_owned(), value.clone()),
                        None => object.remove(field),
                    };
                    let bytes = serde_json::to_vec(&body).expect("serializes");
                    let two_pass = Event::decode_two_pass(&bytes);
                    if let super::OnePass::Event(event) = super::decode(&bytes) {
                        one_pass_hits += 1;
                        assert_eq!(
                            Ok(&event),
                            two_pass.as_ref(),
                            "{field} = {value:?} in {example}"
                        );
                    }
                }
            }
        }
        assert!(
            one_pass_hits > 200,
            "the one-pass decoder took {one_pass_hits} bodies"
        );
    }

    #[test]
    fn the_examples_take_the_one_pass_path_except_media() {
        for example in EXAMPLES {
            let event = Event::decode(example.as_bytes()).expect("decodes");
            let one_pass = matches!(super::decode(example.as_bytes()), super::OnePass::Event(_));
            assert_eq!(one_pass, event.type_name() != "media", "{example}");
        }
    }
}
