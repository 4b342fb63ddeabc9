//! The one decoding pass: a body's members, as the raw JSON of every field a known event has.
//!
//! `serde_json` reads the body once into [`Wire`], a derived struct holding, for each field that
//! any of the five events has (and both discriminators), the member's value as borrowed raw JSON
//! (`null` included, so that a required field sent as `null` is told from one left out). Nothing
//! is converted in that pass, so it fails only on malformed JSON or on a repeated field, and a
//! field one event requires in a form another event does not use (an unknown event's `id` may be
//! any string) cannot make the others fail. The discriminators then name the event, and that
//! event's fields are converted from their raw values, each by `serde_json` and the field's own
//! `Deserialize`, and checked: an error names the field, from our own field names, never from
//! the payload.
//!
//! A repeated field: serde's derive refuses a member that comes twice, but its error names no
//! field (`serde_path_to_error` reports the path of the object itself, not of the member) and
//! its message is not an interface. So when the pass fails that way, and only then, the body
//! is read again as the list of its members, and the first field of [`FIELDS`] that comes a
//! second time is the one named. A field that any known event has is refused twice whatever
//! the event, since the one pass cannot know the event before it has read the whole body.

use std::borrow::Cow;

use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};
use serde_json::error::Category;
use serde_json::value::RawValue;

use super::{DecodeError, Discriminator, EventKind};

/// A member's value as it is in the body, `None` when the body does not have it.
pub(super) type Member<'a> = Option<&'a RawValue>;

/// Every field of the five known events, unconverted (see the module documentation).
#[derive(Default, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
#[serde(default)]
pub(super) struct Wire<'a> {
    #[serde(borrow, deserialize_with = "present")]
    pub(super) event_type: Member<'a>,
    #[serde(borrow, deserialize_with = "present", rename = "type")]
    pub(super) type_: Member<'a>,
    #[serde(borrow, deserialize_with = "present")]
    pub(super) id: Member<'a>,
    #[serde(borrow, deserialize_with = "present")]
    pub(super) incident_id: Member<'a>,
    #[serde(borrow, deserialize_with = "present")]
    pub(super) cad_partner_incident_id: Member<'a>,
    #[serde(borrow, deserialize_with = "present")]
    pub(super) created_at: Member<'a>,
    #[serde(borrow, deserialize_with = "present")]
    pub(super) updated_at: Member<'a>,
    #[serde(borrow, deserialize_with = "present")]
    pub(super) subtype: Member<'a>,
    #[serde(borrow, deserialize_with = "present")]
    pub(super) note: Member<'a>,
    #[serde(borrow, deserialize_with = "present")]
    pub(super) metadata: Member<'a>,
    #[serde(borrow, deserialize_with = "present")]
    pub(super) latitude: Member<'a>,
    #[serde(borrow, deserialize_with = "present")]
    pub(super) longitude: Member<'a>,
    #[serde(borrow, deserialize_with = "present")]
    pub(super) source: Member<'a>,
    #[serde(borrow, deserialize_with = "present")]
    pub(super) lat: Member<'a>,
    #[serde(borrow, deserialize_with = "present")]
    pub(super) lng: Member<'a>,
    #[serde(borrow, deserialize_with = "present")]
    pub(super) class_of_service: Member<'a>,
    #[serde(borrow, deserialize_with = "present")]
    pub(super) caller_phone_number: Member<'a>,
    #[serde(borrow, deserialize_with = "present")]
    pub(super) is_audio_live: Member<'a>,
    #[serde(borrow, deserialize_with = "present")]
    pub(super) audio_call_ended_at: Member<'a>,
    #[serde(borrow, deserialize_with = "present")]
    pub(super) chatroom_url: Member<'a>,
    #[serde(borrow, deserialize_with = "present")]
    pub(super) url: Member<'a>,
    #[serde(borrow, deserialize_with = "present")]
    pub(super) media_type: Member<'a>,
    #[serde(borrow, deserialize_with = "present")]
    pub(super) content_type: Member<'a>,
}

/// The names of [`Wire`]'s fields on the wire (a unit test checks them against the derive).
const FIELDS: [&str; 23] = [
    "event_type",
    "type",
    "id",
    "incident_id",
    "cad_partner_incident_id",
    "created_at",
    "updated_at",
    "subtype",
    "note",
    "metadata",
    "latitude",
    "longitude",
    "source",
    "lat",
    "lng",
    "class_of_service",
    "caller_phone_number",
    "is_audio_live",
    "audio_call_ended_at",
    "chatroom_url",
    "url",
    "media_type",
    "content_type",
];

/// A member that is there, `null` included (serde's `Option` would make `null` absent).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Member<'de>, D::Error> {
    <&RawValue>::deserialize(deserializer).map(Some)
}

/// A string, borrowed from the body unless it has escapes.
#[derive(Deserialize)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

impl<'a> Wire<'a> {
    /// Reads `body` in one pass.
    pub(super) fn read(body: &'a [u8]) -> Result<Self, DecodeError> {
        // A derived struct also accepts a JSON array, so anything but an object is told apart
        // by its first byte, and `serde_json` says whether it is JSON at all.
        if body.trim_ascii_start().first() != Some(&b'{') {
            return Err(match serde_json::from_slice::<IgnoredAny>(body) {
                Ok(_) => DecodeError::NotAnObject,
                Err(error) => DecodeError::syntax(&error),
            });
        }
        serde_json::from_slice(body).map_err(|error| match error.classify() {
            // Every field is optional and taken as it is: on an object, the derive refuses
            // only a repeated field.
            Category::Data => repeated_field(body, &error),
            Category::Io | Category::Syntax | Category::Eof => DecodeError::syntax(&error),
        })
    }

    /// The discriminator that names the event, and the name: `event_type` when it is there
    /// (and not `null`), else `type`.
    pub(super) fn name(&self) -> Result<(Discriminator, Cow<'a, str>), DecodeError> {
        event_name(self.event_type, self.type_)
    }
}

fn event_name<'a>(
    event_type: Member<'a>,
    type_: Member<'a>,
) -> Result<(Discriminator, Cow<'a, str>), DecodeError> {
    if let Some(name) = discriminator(event_type, Discriminator::EventType)? {
        return Ok((Discriminator::EventType, name));
    }
    match discriminator(type_, Discriminator::Type)? {
        Some(name) => Ok((Discriminator::Type, name)),
        None => Err(DecodeError::MissingDiscriminator),
    }
}

/// A discriminator's name; `None` when it is absent or `null`.
fn discriminator(
    member: Member<'_>,
    discriminator: Discriminator,
) -> Result<Option<Cow<'_, str>>, DecodeError> {
    let Some(raw) = member else {
        return Ok(None);
    };
    match serde_json::from_str::<Option<Text<'_>>>(raw.get()) {
        Ok(name) => Ok(name.map(|Text(name)| name)),
        Err(_) => Err(DecodeError::InvalidDiscriminator {
            field: discriminator.field_name(),
        }),
    }
}

/// The error for a body the one pass refused as having a repeated field: the first field of
/// [`FIELDS`] that comes again, for the event the first discriminators name (for
/// [`EventKind::Unknown`] when the repeated field is the discriminator that names the event).
fn repeated_field(body: &[u8], error: &serde_json::Error) -> DecodeError {
    let members: Vec<(String, &RawValue)> = match serde_json::from_slice::<Members<'_>>(body) {
        Ok(Members(members)) => members,
        Err(error) => return DecodeError::syntax(&error),
    };
    let first = |field: &str| {
        members
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, value)| *value)
    };
    let event_type = first("event_type").filter(|raw| raw.get() != "null");
    let named = event_name(event_type, first("type")).ok();
    let mut seen = Vec::with_capacity(FIELDS.len());
    for (name, _) in &members {
        let Some(&field) = FIELDS.iter().find(|field| *field == name) else {
            continue;
        };
        if !seen.contains(&field) {
            seen.push(field);
            continue;
        }
        let names_the_event = field == "event_type" || (field == "type" && event_type.is_none());
        let event = match &named {
            Some((discriminator, name)) if !names_the_event => EventKind::from_wire_name(name)
                .filter(|kind| kind.discriminator() == Some(*discriminator))
                .unwrap_or(EventKind::Unknown),
            _ => EventKind::Unknown,
        };
        return DecodeError::DuplicateField {
            event,
            field: field.to_owned(),
        };
    }
    // Not reached: the derive refuses an object only for a repeated field.
    DecodeError::syntax(error)
}

/// An object's members in order, repeats included.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;

        impl<'de> serde::de::Visitor<'de> for MembersVisitor {
            type Value = Members<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Members<'de>, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }

        deserializer.deserialize_map(MembersVisitor)
    }
}

impl EventKind {
    /// A field this event requires: an error naming it when it is absent or does not convert.
    pub(super) fn required<'a, T: Deserialize<'a>>(
        self,
        field: &'static str,
        member: Member<'a>,
    ) -> Result<T, DecodeError> {
        let raw = member.ok_or_else(|| DecodeError::MissingField {
            event: self,
            field: field.to_owned(),
        })?;
        serde_json::from_str(raw.get()).map_err(|_| self.invalid(field))
    }

    /// A field this event may have: `None` when it is absent or `null`, an error naming it
    /// when it does not convert.
    pub(super) fn optional<'a, T: Deserialize<'a>>(
        self,
        field: &'static str,
        member: Member<'a>,
    ) -> Result<Option<T>, DecodeError> {
        match member {
            None => Ok(None),
            Some(raw) => serde_json::from_str(raw.get()).map_err(|_| self.invalid(field)),
        }
    }

    /// A required coordinate, checked by `on_earth`.
    pub(super) fn coordinate(
        self,
        field: &'static str,
        member: Member<'_>,
        on_earth: fn(f64) -> bool,
    ) -> Result<f64, DecodeError> {
        let value = self.required(field, member)?;
        if on_earth(value) {
            Ok(value)
        } else {
            Err(self.invalid(field))
        }
    }

    fn invalid(self, field: &'static str) -> DecodeError {
        DecodeError::InvalidField {
            event: self,
            field: field.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{FIELDS, Wire};
    use crate::{DecodeError, Event, EventKind};

    const CALLER: &str = r#""type": "caller_location", "incident_id": "550e8400-e29b-41d4-a716-446655440000", "lat": 1, "lng": 2"#;
    const ID: &str = r#""id": "550e8400-e29b-41d4-a716-446655440004""#;

    fn duplicate(event: EventKind, field: &str) -> Result<Event, DecodeError> {
        Err(DecodeError::DuplicateField {
            event,
            field: field.to_owned(),
        })
    }

    /// A repeated field is named, for the event the discriminators name wherever they are.
    #[test]
    fn repeated_fields_are_named_with_their_event() {
        let cases = [
            (
                format!("{{{ID}, {ID}, {CALLER}}}"),
                duplicate(EventKind::CallerLocation, "id"),
            ),
            (
                format!("{{{ID}, {CALLER}, \"event_type\": \"x\", \"event_type\": \"y\"}}"),
                duplicate(EventKind::Unknown, "event_type"),
            ),
            (
                r#"{"event_type": "location_updated", "type": "caller", "type": "caller"}"#
                    .to_owned(),
                duplicate(EventKind::LocationUpdated, "type"),
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(Event::decode(body.as_bytes()), expected, "{body}");
        }
    }

    /// Members no known event has may repeat, and a field of another event may hold anything.
    #[test]
    fn members_the_event_does_not_use_are_not_checked() {
        for body in [
            format!("{{{ID}, {CALLER}, \"note\": 5, \"thumbnail\": 1, \"thumbnail\": 2}}"),
            r#"{"type": "ping", "id": 5, "lat": "north", "created_at": []}"#.to_owned(),
        ] {
            assert!(Event::decode(body.as_bytes()).is_ok(), "{body}");
        }
    }

    /// The list the error path looks repeated fields up in is the derive's own.
    #[test]
    fn fields_are_the_wire_struct_s_fields() {
        let value = serde_json::to_value(Wire::default()).expect("serializes");
        let mut derived: Vec<&str> = value
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        let mut listed = FIELDS.to_vec();
        derived.sort_unstable();
        listed.sort_unstable();
        assert_eq!(derived, listed);
    }

    /// `serde_path_to_error` does not name a repeated field: it reports the object's path.
    #[test]
    fn a_derive_s_duplicate_error_has_the_object_s_path() {
        let body = br#"{"lat": 1, "lat": 2}"#;
        let mut deserializer = serde_json::Deserializer::from_slice(body);
        let error = serde_path_to_error::deserialize::<_, Wire<'_>>(&mut deserializer)
            .err()
            .expect("refused");
        assert_eq!(error.path().to_string(), ".");
    }
}
