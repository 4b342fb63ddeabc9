//! Table-driven decoding cases: optional, null, unknown, extra, missing and wrong-typed fields.

use prepared_core::event::{ClassOfService, LocationSource, LocationType, MediaKind, NoteSubtype};
use prepared_core::{DecodeError, Event, EventKind};
use serde_json::{Value, json};

const SECRET: &str = "SECRET-PAYLOAD-CONTENT";

fn base(kind: EventKind) -> Value {
    let body = match kind {
        EventKind::NoteCreated => include_str!("../../fixtures/note_created.json"),
        EventKind::LocationUpdated => include_str!("../../fixtures/location_updated.json"),
        EventKind::IncidentMetadata => include_str!("../../fixtures/incident_metadata.json"),
        EventKind::CallerLocation => include_str!("../../fixtures/caller_location.json"),
        EventKind::Media => include_str!("../../fixtures/media.json"),
        _ => unreachable!("no fixture for {kind}"),
    };
    serde_json::from_str(body).expect("fixture is JSON")
}

fn with(kind: EventKind, field: &str, value: Option<Value>) -> Vec<u8> {
    let mut body = base(kind);
    let object = body.as_object_mut().expect("object");
    match value {
        Some(value) => object.insert(field.to_owned(), value),
        None => object.remove(field),
    };
    serde_json::to_vec(&body).expect("serializes")
}

const OPTIONAL: &[(EventKind, &str)] = &[
    (EventKind::NoteCreated, "cad_partner_incident_id"),
    (EventKind::NoteCreated, "created_at"),
    (EventKind::NoteCreated, "subtype"),
    (EventKind::NoteCreated, "note"),
    (EventKind::NoteCreated, "metadata"),
    (EventKind::LocationUpdated, "cad_partner_incident_id"),
    (EventKind::LocationUpdated, "created_at"),
    (EventKind::LocationUpdated, "source"),
    (EventKind::IncidentMetadata, "audio_call_ended_at"),
    (EventKind::IncidentMetadata, "chatroom_url"),
    (EventKind::CallerLocation, "class_of_service"),
    (EventKind::CallerLocation, "created_at"),
    (EventKind::CallerLocation, "source"),
    (EventKind::Media, "created_at"),
    (EventKind::Media, "url"),
    (EventKind::Media, "media_type"),
    (EventKind::Media, "content_type"),
];

const REQUIRED: &[(EventKind, &str)] = &[
    (EventKind::NoteCreated, "id"),
    (EventKind::NoteCreated, "incident_id"),
    (EventKind::LocationUpdated, "id"),
    (EventKind::LocationUpdated, "incident_id"),
    (EventKind::LocationUpdated, "type"),
    (EventKind::LocationUpdated, "latitude"),
    (EventKind::LocationUpdated, "longitude"),
    (EventKind::IncidentMetadata, "id"),
    (EventKind::IncidentMetadata, "caller_phone_number"),
    (EventKind::IncidentMetadata, "is_audio_live"),
    (EventKind::IncidentMetadata, "created_at"),
    (EventKind::IncidentMetadata, "updated_at"),
    (EventKind::CallerLocation, "id"),
    (EventKind::CallerLocation, "incident_id"),
    (EventKind::CallerLocation, "lat"),
    (EventKind::CallerLocation, "lng"),
    (EventKind::Media, "id"),
    (EventKind::Media, "incident_id"),
];

#[test]
fn optional_fields_may_be_absent_or_null() {
    for &(kind, field) in OPTIONAL {
        for value in [None, Some(Value::Null)] {
            let body = with(kind, field, value.clone());
            let event = Event::decode(&body)
                .unwrap_or_else(|error| panic!("{kind}.{field} = {value:?}: {error}"));
            assert_eq!(event.kind(), kind);
            let encoded = serde_json::to_value(&event).expect("serializes");
            assert!(
                encoded.get(field).is_none_or(Value::is_null),
                "{kind}.{field} stays empty"
            );
        }
    }
}

#[test]
fn required_fields_missing_are_named() {
    for &(kind, field) in REQUIRED {
        let error = Event::decode(&with(kind, field, None)).expect_err(field);
        assert_eq!(
            error,
            DecodeError::MissingField {
                event: kind,
                field: field.to_owned()
            },
            "{kind}.{field}"
        );
        assert_eq!(error.status(), http::StatusCode::BAD_REQUEST);
    }
}

#[test]
fn required_fields_null_are_named() {
    for &(kind, field) in REQUIRED {
        let error = Event::decode(&with(kind, field, Some(Value::Null))).expect_err(field);
        assert_eq!(
            error,
            DecodeError::InvalidField {
                event: kind,
                field: field.to_owned()
            },
            "{kind}.{field}"
        );
    }
}

#[test]
fn wrong_types_are_named_and_never_quoted() {
    let cases: &[(EventKind, &str, Value)] = &[
        (EventKind::NoteCreated, "id", json!(SECRET)),
        (EventKind::NoteCreated, "incident_id", json!(42)),
        (EventKind::NoteCreated, "created_at", json!(SECRET)),
        (EventKind::NoteCreated, "note", json!({ "text": SECRET })),
        (EventKind::NoteCreated, "metadata", json!(SECRET)),
        (EventKind::NoteCreated, "subtype", json!(7)),
        (EventKind::LocationUpdated, "latitude", json!(SECRET)),
        (EventKind::LocationUpdated, "longitude", json!("-122.4194")),
        (EventKind::LocationUpdated, "type", json!(true)),
        (EventKind::LocationUpdated, "source", json!(["prepared"])),
        (
            EventKind::IncidentMetadata,
            "caller_phone_number",
            json!(15551234567u64),
        ),
        (EventKind::IncidentMetadata, "is_audio_live", json!("true")),
        (
            EventKind::IncidentMetadata,
            "updated_at",
            json!("2024-01-15"),
        ),
        (
            EventKind::IncidentMetadata,
            "audio_call_ended_at",
            json!(SECRET),
        ),
        (EventKind::CallerLocation, "lat", json!("37.7749")),
        (EventKind::CallerLocation, "lng", json!(null)),
        (EventKind::CallerLocation, "class_of_service", json!(2)),
        (
            EventKind::Media,
            "id",
            json!(format!("{SECRET}-not-a-uuid")),
        ),
        (EventKind::Media, "url", json!(12)),
    ];
    for (kind, field, value) in cases {
        let error = Event::decode(&with(*kind, field, Some(value.clone()))).expect_err(field);
        assert_eq!(
            error,
            DecodeError::InvalidField {
                event: *kind,
                field: (*field).to_owned()
            },
            "{kind}.{field} = {value}"
        );
        let message = error.to_string();
        assert!(
            !message.contains(SECRET) && !message.contains("37.77"),
            "{message}"
        );
    }
}

#[test]
fn coordinates_out_of_range_are_rejected() {
    for (kind, field, value) in [
        (EventKind::LocationUpdated, "latitude", 90.0001),
        (EventKind::LocationUpdated, "latitude", -91.0),
        (EventKind::LocationUpdated, "longitude", 180.5),
        (EventKind::CallerLocation, "lat", 1e300),
        (EventKind::CallerLocation, "lng", -181.0),
    ] {
        let error = Event::decode(&with(kind, field, Some(json!(value)))).expect_err(field);
        assert_eq!(
            error,
            DecodeError::InvalidField {
                event: kind,
                field: field.to_owned()
            }
        );
    }
    for (kind, field, value) in [
        (EventKind::LocationUpdated, "latitude", 90.0),
        (EventKind::LocationUpdated, "longitude", -180.0),
        (EventKind::CallerLocation, "lat", 0.0),
    ] {
        Event::decode(&with(kind, field, Some(json!(value)))).expect("the edge is on Earth");
    }
    let huge = br#"{"type":"caller_location","id":"550e8400-e29b-41d4-a716-446655440004",
        "incident_id":"550e8400-e29b-41d4-a716-446655440000","lat":1e400,"lng":0}"#;
    assert!(
        Event::decode(huge).is_err(),
        "a number beyond f64 is not a coordinate"
    );
}

#[test]
fn unknown_enum_values_decode_and_round_trip() {
    let cases: &[(EventKind, &str)] = &[
        (EventKind::NoteCreated, "subtype"),
        (EventKind::LocationUpdated, "source"),
        (EventKind::LocationUpdated, "type"),
        (EventKind::CallerLocation, "source"),
        (EventKind::CallerLocation, "class_of_service"),
        (EventKind::Media, "media_type"),
    ];
    for &(kind, field) in cases {
        let body = with(kind, field, Some(json!("drone_feed")));
        let event = Event::decode(&body).unwrap_or_else(|e| panic!("{kind}.{field}: {e}"));
        let encoded = serde_json::to_vec(&event).expect("serializes");
        assert_eq!(
            serde_json::from_slice::<Value>(&encoded).expect("JSON")[field],
            "drone_feed"
        );
        assert_eq!(Event::decode(&encoded).expect("decodes"), event);
    }
    assert_eq!(
        NoteSubtype::from("drone_feed"),
        NoteSubtype::Other("drone_feed".into())
    );
    assert_eq!(LocationSource::from("rapid_sos"), LocationSource::RapidSos);
    assert_eq!(LocationType::from("responder").as_str(), "responder");
    assert_eq!(ClassOfService::from("VOIP"), ClassOfService::Voip);
    assert_eq!(MediaKind::from("livestream").to_string(), "livestream");
}

#[test]
fn extra_fields_are_ignored_or_kept_for_media() {
    for kind in [
        EventKind::NoteCreated,
        EventKind::LocationUpdated,
        EventKind::IncidentMetadata,
        EventKind::CallerLocation,
    ] {
        let event = Event::decode(&with(kind, "accuracy_m", Some(json!({"nested": [1, 2]}))))
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(event.kind(), kind);
    }
    let Event::Media(media) =
        Event::decode(&with(EventKind::Media, "duration_s", Some(json!(12.5)))).expect("decodes")
    else {
        panic!("not media")
    };
    assert_eq!(media.extra.get("duration_s"), Some(&json!(12.5)));
    let encoded = serde_json::to_value(Event::Media(media)).expect("serializes");
    assert_eq!(
        encoded["duration_s"],
        json!(12.5),
        "media keeps what it does not know"
    );
}

#[test]
fn timestamps_in_both_forms() {
    for text in [
        "2024-01-15 10:30:00 UTC",
        "2024-01-15 10:30:00.000 UTC",
        "2024-01-15T10:30:00Z",
        "2024-01-15T10:30:00.000+00:00",
        "2024-01-15T12:30:00+02:00",
    ] {
        let event = Event::decode(&with(
            EventKind::NoteCreated,
            "created_at",
            Some(json!(text)),
        ))
        .unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(
            event.created_at().map(|t| t.to_string()).as_deref(),
            Some("2024-01-15 10:30:00 UTC"),
            "{text}"
        );
    }
    for text in [
        "2024-01-15",
        "2024-01-15 10:30:00",
        "2024-13-01 10:30:00 UTC",
        "yesterday",
        "",
    ] {
        assert!(
            Event::decode(&with(
                EventKind::NoteCreated,
                "created_at",
                Some(json!(text))
            ))
            .is_err(),
            "{text:?} is not a timestamp"
        );
    }
}

#[test]
fn incident_metadata_keys_on_updated_at() {
    let a = Event::decode(&with(
        EventKind::IncidentMetadata,
        "updated_at",
        Some(json!("2024-01-15 10:30:00 UTC")),
    ))
    .expect("decodes");
    let same_instant = Event::decode(&with(
        EventKind::IncidentMetadata,
        "updated_at",
        Some(json!("2024-01-15T10:30:00Z")),
    ))
    .expect("decodes");
    let later = Event::decode(&with(
        EventKind::IncidentMetadata,
        "updated_at",
        Some(json!("2024-01-15 10:35:00 UTC")),
    ))
    .expect("decodes");
    assert_eq!(
        a.dedup_key(),
        same_instant.dedup_key(),
        "one instant, one key"
    );
    assert_ne!(
        a.dedup_key(),
        later.dedup_key(),
        "every update is its own event"
    );
    assert_eq!(a.incident_id(), later.incident_id());
}

#[test]
fn discriminators() {
    let cases: &[(&[u8], Result<&str, DecodeError>)] = &[
        (br#"{"id": 1}"#, Err(DecodeError::MissingDiscriminator)),
        (
            br#"{"type": null, "id": 1}"#,
            Err(DecodeError::MissingDiscriminator),
        ),
        (
            br#"{"type": 5}"#,
            Err(DecodeError::InvalidDiscriminator { field: "type" }),
        ),
        (
            br#"{"event_type": ["note_created"]}"#,
            Err(DecodeError::InvalidDiscriminator {
                field: "event_type",
            }),
        ),
        (
            br#"{"type": "media", "type": "media"}"#,
            Err(DecodeError::DuplicateField {
                event: EventKind::Unknown,
                field: "type".into(),
            }),
        ),
        (
            br#"{"event_type": "responder_dispatched", "type": "caller_location"}"#,
            Ok("responder_dispatched"),
        ),
        (
            br#"{"event_type": "caller_location"}"#,
            Ok("caller_location"),
        ),
        (br#"{"type": "note_created"}"#, Ok("note_created")),
        (br#"{"type": "caller", "id": "x"}"#, Ok("caller")),
        (
            br#"{"type": "incident_closed", "id": "550e8400-e29b-41d4-a716-446655440000"}"#,
            Ok("incident_closed"),
        ),
    ];
    for (body, expected) in cases {
        let body_text = String::from_utf8_lossy(body);
        match (Event::decode(body), expected) {
            (Ok(event), Ok(name)) => {
                assert_eq!(event.kind(), EventKind::Unknown, "{body_text}");
                assert_eq!(event.type_name(), *name, "{body_text}");
            }
            (Err(error), Err(expected)) => assert_eq!(&error, expected, "{body_text}"),
            (got, _) => panic!("{body_text}: unexpected {got:?}"),
        }
    }
}

#[test]
fn unknown_events_are_kept_whole() {
    let body = br#"{"type": "responder_joined", "id": "r-1", "incident_id": "550e8400-e29b-41d4-a716-446655440001",
        "created_at": "2024-01-15 10:30:00 UTC", "unit": {"name": "Engine 12"}}"#;
    let event = Event::decode(body).expect("decodes");
    let Event::Unknown(unknown) = &event else {
        panic!("not unknown")
    };
    assert_eq!(unknown.name(), "responder_joined");
    assert_eq!(unknown.discriminator().field_name(), "type");
    assert_eq!(
        event.incident_id().map(|id| id.to_string()).as_deref(),
        Some("550e8400-e29b-41d4-a716-446655440001")
    );
    assert!(event.created_at().is_some());
    let raw: Value = serde_json::from_str(unknown.raw().get()).expect("raw JSON");
    assert_eq!(raw["unit"]["name"], "Engine 12");
    assert_eq!(
        serde_json::from_slice::<Value>(&serde_json::to_vec(&event).expect("ser")).expect("JSON"),
        raw
    );

    // Keys: stable for a redelivery, different for another id or update, bounded.
    let same = Event::decode(body).expect("decodes");
    assert_eq!(event.dedup_key(), same.dedup_key());
    let other_id = Event::decode(br#"{"type": "responder_joined", "id": "r-2"}"#).expect("decodes");
    assert_ne!(event.dedup_key(), other_id.dedup_key());
    let updated = Event::decode(
        br#"{"type": "responder_joined", "id": "r-2", "updated_at": "2024-01-15 10:31:00 UTC"}"#,
    )
    .expect("decodes");
    assert_ne!(other_id.dedup_key(), updated.dedup_key());
    let no_id_a = Event::decode(br#"{"type": "ping", "n": 1}"#).expect("decodes");
    let no_id_b = Event::decode(br#"{"type": "ping", "n": 2}"#).expect("decodes");
    assert_ne!(
        no_id_a.dedup_key(),
        no_id_b.dedup_key(),
        "without an id the body is the key"
    );
    assert!(event.dedup_key().as_str().starts_with("unknown:"));
    assert_eq!(event.dedup_key().as_str().len(), "unknown:".len() + 64);
}

#[test]
fn malformed_bodies() {
    type Check = fn(&DecodeError) -> bool;
    let cases: &[(&[u8], Check)] = &[
        (b"", |e| matches!(e, DecodeError::Syntax { .. })),
        (b"{", |e| matches!(e, DecodeError::Syntax { .. })),
        (br#"{"type": "media"} trailing"#, |e| {
            matches!(e, DecodeError::Syntax { .. })
        }),
        (b"{\"type\": \"media\xff\"}", |e| {
            matches!(e, DecodeError::Syntax { .. })
        }),
        (b"[]", |e| *e == DecodeError::NotAnObject),
        (b"\"note_created\"", |e| *e == DecodeError::NotAnObject),
        (b"null", |e| *e == DecodeError::NotAnObject),
        (b"42", |e| *e == DecodeError::NotAnObject),
    ];
    for (body, check) in cases {
        let error = Event::decode(body).expect_err("malformed");
        assert!(
            check(&error),
            "{:?}: {error:?}",
            String::from_utf8_lossy(body)
        );
        assert_eq!(error.status(), http::StatusCode::BAD_REQUEST);
    }
    // Deep nesting is refused (or skipped without recursion), never a stack overflow.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(
        Event::decode(deep.as_bytes()),
        Err(DecodeError::NotAnObject)
    );
    let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_metadata = with(EventKind::NoteCreated, "metadata", None);
    let deep_metadata = String::from_utf8(deep_metadata).expect("UTF-8").replacen(
        '{',
        &format!("{{\"metadata\": {{\"x\": {nested}}}, "),
        1,
    );
    let error = Event::decode(deep_metadata.as_bytes()).expect_err("too deep");
    assert_eq!(error.status(), http::StatusCode::BAD_REQUEST);
}

#[test]
fn duplicated_keys_are_refused() {
    let body = br#"{"type": "caller_location", "id": "550e8400-e29b-41d4-a716-446655440004",
        "incident_id": "550e8400-e29b-41d4-a716-446655440000", "lat": 1, "lat": 2, "lng": 3}"#;
    assert_eq!(
        Event::decode(body),
        Err(DecodeError::DuplicateField {
            event: EventKind::CallerLocation,
            field: "lat".into()
        })
    );
}
