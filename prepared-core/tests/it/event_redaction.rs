//! `Debug` of every event is safe for logs; the real values stay reachable.

use prepared_core::Event;

#[test]
fn debug_never_shows_personal_data() {
    let forbidden = [
        "+15551234567",
        "5551234567",
        "1234567", // the caller's phone number
        "37.7749",
        "122.4194",
        "37.77",
        "122.41",           // precise coordinates
        "vehicle accident", // the note's text
        "abc123.jpg",       // a media link
    ];
    for body in [
        include_str!("../../fixtures/note_created.json"),
        include_str!("../../fixtures/location_updated.json"),
        include_str!("../../fixtures/incident_metadata.json"),
        include_str!("../../fixtures/caller_location.json"),
        include_str!("../../fixtures/media.json"),
        r#"{"type": "caller_moved", "id": "1", "phone": "+15551234567", "lat": 37.7749}"#,
    ] {
        let event = Event::decode(body.as_bytes()).expect("decodes");
        for debug in [format!("{event:?}"), format!("{event:#?}")] {
            for secret in forbidden {
                assert!(!debug.contains(secret), "{secret} leaked in {debug}");
            }
        }
    }
}

#[test]
fn the_real_values_are_one_explicit_step_away() {
    let Event::IncidentMetadata(incident) =
        Event::decode(include_str!("../../fixtures/incident_metadata.json").as_bytes())
            .expect("decodes")
    else {
        panic!("not incident metadata")
    };
    assert_eq!(incident.caller_phone_number.expose(), "+15551234567");
    assert_eq!(
        format!("{:?}", incident.caller_phone_number),
        r#"CallerPhoneNumber("**********67")"#
    );

    let Event::CallerLocation(location) =
        Event::decode(include_str!("../../fixtures/caller_location.json").as_bytes())
            .expect("decodes")
    else {
        panic!("not a caller location")
    };
    assert_eq!((location.lat, location.lng), (37.7749, -122.4194));
}
