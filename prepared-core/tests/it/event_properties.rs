//! Property tests: timestamp parsing, and decode(encode(event)) == event for generated events.

use prepared_core::{Event, Timestamp};
use proptest::prelude::*;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// Instants from year 1 to 9999, with nanosecond precision.
fn instant() -> impl Strategy<Value = OffsetDateTime> {
    let min = -62_135_596_800i128 * 1_000_000_000; // 0001-01-01T00:00:00Z
    let max = 253_402_300_799i128 * 1_000_000_000 + 999_999_999; // 9999-12-31T23:59:59.999999999Z
    (min..=max)
        .prop_map(|nanos| OffsetDateTime::from_unix_timestamp_nanos(nanos).expect("in range"))
}

fn offset() -> impl Strategy<Value = UtcOffset> {
    (-23i8..=23, 0i8..60).prop_map(|(hours, minutes)| {
        let minutes = if hours < 0 { -minutes } else { minutes };
        UtcOffset::from_hms(hours, minutes, 0).expect("valid offset")
    })
}

proptest! {
    #[test]
    fn timestamp_display_parses_back(instant in instant()) {
        let timestamp = Timestamp::try_from(instant).expect("a year within four digits");
        let text = timestamp.to_string();
        prop_assert!(text.ends_with(" UTC"));
        prop_assert_eq!(text.parse::<Timestamp>(), Ok(timestamp));
    }

    #[test]
    fn rfc3339_in_any_offset_is_the_same_instant(instant in instant(), offset in offset()) {
        let shifted = instant.to_offset(offset);
        prop_assume!((1..=9999).contains(&shifted.year()));
        let text = shifted.format(&Rfc3339).expect("formats");
        let parsed: Timestamp = text.parse().expect("RFC 3339 parses");
        prop_assert_eq!(parsed.to_offset_date_time(), instant);
    }

    #[test]
    fn timestamp_parse_never_panics(text in "\\PC{0,40}") {
        let _ = text.parse::<Timestamp>();
    }

    #[test]
    fn decode_never_panics(body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = Event::decode(&body);
    }

    #[test]
    fn decode_of_encode_is_identity(body in event_json()) {
        let bytes = serde_json::to_vec(&body).expect("serializes");
        let event = Event::decode(&bytes).expect("generated events are valid");
        let encoded = serde_json::to_vec(&event).expect("serializes");
        prop_assert_eq!(Event::decode(&encoded).expect("re-decodes"), event);
    }
}

fn uuid() -> impl Strategy<Value = String> {
    any::<u128>().prop_map(|n| uuid::Uuid::from_u128(n).to_string())
}

fn timestamp_text() -> impl Strategy<Value = String> {
    (instant(), any::<bool>()).prop_map(|(instant, rfc3339)| {
        if rfc3339 {
            instant.format(&Rfc3339).expect("formats")
        } else {
            Timestamp::try_from(instant)
                .expect("a year within four digits")
                .to_string()
        }
    })
}

/// An optional JSON value: absent, `null` or present.
fn optional<S: Strategy<Value = Value> + 'static>(value: S) -> BoxedStrategy<Option<Value>> {
    prop_oneof![Just(None), Just(Some(Value::Null)), value.prop_map(Some)].boxed()
}

/// Known and unknown values of an open string enum.
fn open_value(known: &'static [&'static str]) -> impl Strategy<Value = Value> {
    prop_oneof![
        proptest::sample::select(known).prop_map(|v| json!(v)),
        "[a-z_]{1,12}".prop_map(|v| json!(v))
    ]
}

fn text() -> impl Strategy<Value = Value> {
    "\\PC{0,30}".prop_map(|s| json!(s))
}

fn set(object: &mut serde_json::Map<String, Value>, fields: Vec<(&str, Option<Value>)>) {
    for (name, value) in fields {
        if let Some(value) = value {
            object.insert(name.to_owned(), value);
        }
    }
}

fn event_json() -> impl Strategy<Value = Value> {
    let ts = || timestamp_text().prop_map(|t| json!(t));
    let lat = (-90.0f64..=90.0).prop_map(|v| json!(v));
    let lng = (-180.0f64..=180.0).prop_map(|v| json!(v));
    let sources = &["prepared", "rapid_sos", "indigital", "ani_ali"];
    let note = (
        uuid(),
        uuid(),
        optional(text()),
        optional(ts()),
        optional(open_value(&[
            "media_link",
            "insight_summary",
            "incident_link",
            "responder_link",
        ])),
        optional(text()),
        optional(Just(json!({"confidence": 0.95, "tags": ["a"]}))),
    )
        .prop_map(|(id, incident, cad, created, subtype, note, metadata)| {
            let mut o = serde_json::Map::new();
            o.insert("event_type".into(), json!("note_created"));
            set(
                &mut o,
                vec![
                    ("id", Some(json!(id))),
                    ("incident_id", Some(json!(incident))),
                    ("cad_partner_incident_id", cad),
                    ("created_at", created),
                    ("subtype", subtype),
                    ("note", note),
                    ("metadata", metadata),
                ],
            );
            Value::Object(o)
        });
    let location = (
        uuid(),
        uuid(),
        optional(ts()),
        open_value(&["caller"]),
        lat.clone(),
        lng.clone(),
        optional(open_value(sources)),
    )
        .prop_map(|(id, incident, created, kind, lat, lng, source)| {
            let mut o = serde_json::Map::new();
            o.insert("event_type".into(), json!("location_updated"));
            set(
                &mut o,
                vec![
                    ("id", Some(json!(id))),
                    ("incident_id", Some(json!(incident))),
                    ("created_at", created),
                    ("type", Some(kind)),
                    ("latitude", Some(lat)),
                    ("longitude", Some(lng)),
                    ("source", source),
                ],
            );
            Value::Object(o)
        });
    let metadata = (
        uuid(),
        "\\+[0-9]{6,15}",
        any::<bool>(),
        optional(ts()),
        ts(),
        ts(),
        optional(text()),
    )
        .prop_map(|(id, phone, live, ended, created, updated, url)| {
            let mut o = serde_json::Map::new();
            o.insert("type".into(), json!("incident_metadata"));
            set(
                &mut o,
                vec![
                    ("id", Some(json!(id))),
                    ("caller_phone_number", Some(json!(phone))),
                    ("is_audio_live", Some(json!(live))),
                    ("audio_call_ended_at", ended),
                    ("created_at", Some(created)),
                    ("updated_at", Some(updated)),
                    ("chatroom_url", url),
                ],
            );
            Value::Object(o)
        });
    let caller = (
        uuid(),
        uuid(),
        lat,
        lng,
        optional(open_value(&["WPH1", "WPH2", "VOIP", "RESD", "BUSN"])),
        optional(ts()),
        optional(open_value(sources)),
    )
        .prop_map(|(id, incident, lat, lng, cos, created, source)| {
            let mut o = serde_json::Map::new();
            o.insert("type".into(), json!("caller_location"));
            set(
                &mut o,
                vec![
                    ("id", Some(json!(id))),
                    ("incident_id", Some(json!(incident))),
                    ("lat", Some(lat)),
                    ("lng", Some(lng)),
                    ("class_of_service", cos),
                    ("created_at", created),
                    ("source", source),
                ],
            );
            Value::Object(o)
        });
    let media = (
        uuid(),
        uuid(),
        optional(ts()),
        optional(text()),
        optional(open_value(&["photo", "video", "audio", "livestream"])),
        optional(text()),
        optional(text()),
    )
        .prop_map(|(id, incident, created, url, kind, content_type, extra)| {
            let mut o = serde_json::Map::new();
            o.insert("type".into(), json!("media"));
            set(
                &mut o,
                vec![
                    ("id", Some(json!(id))),
                    ("incident_id", Some(json!(incident))),
                    ("created_at", created),
                    ("url", url),
                    ("media_type", kind),
                    ("content_type", content_type),
                    ("thumbnail", extra),
                ],
            );
            Value::Object(o)
        });
    let unknown = ("[a-z_]{1,16}", optional(text()), optional(text()))
        .prop_filter("a known name", |(name, _, _)| {
            ![
                "note_created",
                "location_updated",
                "incident_metadata",
                "caller_location",
                "media",
            ]
            .contains(&name.as_str())
        })
        .prop_map(|(name, id, payload)| {
            let mut o = serde_json::Map::new();
            o.insert("type".into(), json!(name));
            set(&mut o, vec![("id", id), ("payload", payload)]);
            Value::Object(o)
        });
    prop_oneof![note, location, metadata, caller, media, unknown]
}
