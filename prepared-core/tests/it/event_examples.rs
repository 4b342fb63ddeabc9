//! Every example payload decodes, yields the documented values and round-trips.

use prepared_core::event::{
    CallerPhoneNumber, ClassOfService, LocationSource, LocationType, MediaKind, NoteSubtype,
};
use prepared_core::{Event, EventKind, Scope, Timestamp};
use uuid::{Uuid, uuid};

const NOTE_CREATED: &str = include_str!("../../fixtures/note_created.json");
const LOCATION_UPDATED: &str = include_str!("../../fixtures/location_updated.json");
const INCIDENT_METADATA: &str = include_str!("../../fixtures/incident_metadata.json");
const CALLER_LOCATION: &str = include_str!("../../fixtures/caller_location.json");
const MEDIA: &str = include_str!("../../fixtures/media.json");

const INCIDENT: Uuid = uuid!("550e8400-e29b-41d4-a716-446655440001");

fn ts(text: &str) -> Timestamp {
    text.parse().expect("a valid timestamp")
}

fn decode(body: &str) -> Event {
    Event::decode(body.as_bytes()).expect("the example decodes")
}

#[test]
fn note_created_example() {
    let event = decode(NOTE_CREATED);
    assert_eq!(event.kind(), EventKind::NoteCreated);
    assert_eq!(event.scope(), Scope::CadIncidents);
    assert_eq!(event.incident_id(), Some(INCIDENT));
    let Event::NoteCreated(note) = &event else {
        panic!("not a note: {event:?}")
    };
    assert_eq!(note.id, uuid!("550e8400-e29b-41d4-a716-446655440000"));
    assert_eq!(
        note.cad_partner_incident_id.as_deref(),
        Some("550e8400-e29b-41d4-a716-446655440002")
    );
    assert_eq!(note.created_at, Some(ts("2024-01-15 10:30:00 UTC")));
    assert_eq!(note.subtype, Some(NoteSubtype::InsightSummary));
    assert!(
        note.note
            .as_deref()
            .is_some_and(|text| text.starts_with("Caller reports a vehicle accident"))
    );
    let metadata = note.metadata.as_ref().expect("metadata");
    assert_eq!(
        metadata.get("confidence").and_then(|v| v.as_f64()),
        Some(0.95)
    );
    assert_eq!(
        event.dedup_key().as_str(),
        "note_created:550e8400-e29b-41d4-a716-446655440000"
    );
}

#[test]
fn location_updated_example() {
    let event = decode(LOCATION_UPDATED);
    assert_eq!(event.kind(), EventKind::LocationUpdated);
    assert_eq!(event.scope(), Scope::CadIncidents);
    let Event::LocationUpdated(location) = &event else {
        panic!("not a location: {event:?}")
    };
    assert_eq!(location.id, uuid!("550e8400-e29b-41d4-a716-446655440003"));
    assert_eq!(location.incident_id, INCIDENT);
    assert_eq!(location.location_type, LocationType::Caller);
    assert_eq!(location.latitude, 37.7749);
    assert_eq!(location.longitude, -122.4194);
    assert_eq!(location.source, Some(LocationSource::Prepared));
    assert_eq!(event.created_at(), Some(ts("2024-01-15 10:30:15 UTC")));
    assert_eq!(
        event.dedup_key().as_str(),
        "location_updated:550e8400-e29b-41d4-a716-446655440003"
    );
}

#[test]
fn incident_metadata_example() {
    let event = decode(INCIDENT_METADATA);
    assert_eq!(event.kind(), EventKind::IncidentMetadata);
    assert_eq!(event.scope(), Scope::IncidentEvents);
    let Event::IncidentMetadata(incident) = &event else {
        panic!("not incident metadata: {event:?}")
    };
    let id = uuid!("550e8400-e29b-41d4-a716-446655440000");
    assert_eq!(incident.id, id);
    assert_eq!(
        event.incident_id(),
        Some(id),
        "the id of incident_metadata is the incident's"
    );
    assert_eq!(
        incident.caller_phone_number,
        CallerPhoneNumber::new("+15551234567")
    );
    assert!(incident.is_audio_live);
    assert_eq!(incident.audio_call_ended_at, None);
    assert_eq!(incident.created_at, ts("2024-01-15 10:30:00 UTC"));
    assert_eq!(incident.updated_at, ts("2024-01-15 10:30:00 UTC"));
    assert_eq!(
        incident.chatroom_url.as_deref(),
        Some("https://portal.prepared911.com/chatrooms/abc123")
    );
    assert_eq!(
        event.dedup_key().as_str(),
        "incident_metadata:550e8400-e29b-41d4-a716-446655440000:1705314600000000000"
    );
}

#[test]
fn caller_location_example() {
    let event = decode(CALLER_LOCATION);
    assert_eq!(event.kind(), EventKind::CallerLocation);
    let Event::CallerLocation(location) = &event else {
        panic!("not a caller location: {event:?}")
    };
    assert_eq!(location.id, uuid!("550e8400-e29b-41d4-a716-446655440004"));
    assert_eq!(
        location.incident_id,
        uuid!("550e8400-e29b-41d4-a716-446655440000")
    );
    assert_eq!((location.lat, location.lng), (37.7749, -122.4194));
    assert_eq!(
        location.class_of_service,
        Some(ClassOfService::WirelessPhase2)
    );
    assert_eq!(location.source, Some(LocationSource::AniAli));
    assert_eq!(location.created_at, Some(ts("2025-05-23 00:08:17.426 UTC")));
}

#[test]
fn media_example() {
    let event = decode(MEDIA);
    assert_eq!(event.kind(), EventKind::Media);
    let Event::Media(media) = &event else {
        panic!("not media: {event:?}")
    };
    assert_eq!(media.id, uuid!("550e8400-e29b-41d4-a716-446655440005"));
    assert_eq!(media.media_type, Some(MediaKind::Photo));
    assert_eq!(
        media.url.as_deref(),
        Some("https://portal.prepared911.com/media/abc123.jpg")
    );
    assert_eq!(media.content_type.as_deref(), Some("image/jpeg"));
    assert!(
        media.extra.is_empty(),
        "the discriminator is not an extra field"
    );
    assert_eq!(media.created_at, Some(ts("2024-01-15 10:31:02.25 UTC")));
}

#[test]
fn every_example_round_trips_with_its_wire_discriminator() {
    for (body, field, name) in [
        (NOTE_CREATED, "event_type", "note_created"),
        (LOCATION_UPDATED, "event_type", "location_updated"),
        (INCIDENT_METADATA, "type", "incident_metadata"),
        (CALLER_LOCATION, "type", "caller_location"),
        (MEDIA, "type", "media"),
    ] {
        let event = decode(body);
        let encoded = serde_json::to_vec(&event).expect("serializes");
        assert_eq!(
            Event::decode(&encoded).as_ref(),
            Ok(&event),
            "{name} round-trips"
        );

        let wire: serde_json::Value = serde_json::from_slice(&encoded).expect("JSON");
        let original: serde_json::Value = serde_json::from_str(body).expect("JSON");
        assert_eq!(wire[field], name, "{name} keeps its discriminator");
        let wire_keys: Vec<_> = wire.as_object().expect("object").keys().collect();
        let original_keys: Vec<_> = original.as_object().expect("object").keys().collect();
        let mut wire_keys = wire_keys;
        let mut original_keys = original_keys;
        wire_keys.sort();
        original_keys.sort();
        assert_eq!(
            wire_keys, original_keys,
            "{name} keeps Prepared's field names"
        );
    }
}

#[test]
fn location_updated_serializes_its_type_field_and_its_discriminator() {
    let encoded = serde_json::to_value(decode(LOCATION_UPDATED)).expect("serializes");
    assert_eq!(encoded["event_type"], "location_updated");
    assert_eq!(encoded["type"], "caller");
}

#[test]
fn event_structs_serialize_to_the_wire_shape_on_their_own() {
    let Event::IncidentMetadata(incident) = decode(INCIDENT_METADATA) else {
        panic!("not incident metadata")
    };
    let encoded = serde_json::to_value(&incident).expect("serializes");
    assert_eq!(encoded["type"], "incident_metadata");
    assert_eq!(
        encoded["caller_phone_number"], "+15551234567",
        "serialization keeps real values"
    );
    assert_eq!(encoded["created_at"], "2024-01-15 10:30:00 UTC");
    assert_eq!(encoded["audio_call_ended_at"], serde_json::Value::Null);
}

#[test]
fn events_deserialize_through_serde_for_archives() {
    let archive = format!("[{NOTE_CREATED}, {MEDIA}, {{\"type\": \"later\", \"id\": \"x\"}}]");
    let events: Vec<Event> = serde_json::from_str(&archive).expect("an archive decodes");
    let kinds: Vec<_> = events.iter().map(Event::kind).collect();
    assert_eq!(
        kinds,
        [EventKind::NoteCreated, EventKind::Media, EventKind::Unknown]
    );
    let error =
        serde_json::from_str::<Event>(r#"{"type": "caller_location"}"#).expect_err("id is missing");
    assert!(
        error.to_string().contains("required field `id` is missing"),
        "{error}"
    );
}
