//! The one decoding pass: every field a known event has, read from the body at once.
//!
//! `serde_json` reads the body once into [`Wire`], a derived struct with, for each field that
//! any of the five events has (and both discriminators), a [`Field`]: absent, `null`, a value
//! of the field's type (converted by that type's own `Deserialize`), or a value of another
//! type. A value of another type is not an error in the pass, so a field one event requires in
//! a form another event does not use (an unknown event's `id` may be any string) cannot make
//! the others fail. The discriminators then name the event, and that event's fields are
//! checked: an error names the field, from our own field names, never from the payload.
//! Members no known event has are only counted (for [`Media`](super::Media), which keeps them
//! in a second pass when there are any).
//!
//! A repeated field: serde's derive refuses a member that comes twice, but its error names no
//! field (`serde_path_to_error` reports the path of the object itself, not of the member) and
//! its message is not an interface. So when the pass fails that way, and only then, the body
//! is read again as the list of its members, and the first of [`Wire`]'s fields that comes a
//! second time is the one named. A field that any known event has is refused twice whatever
//! the event, since the one pass cannot know the event before it has read the whole body.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::{
    BoolDeserializer, BorrowedStrDeserializer, F64Deserializer, I64Deserializer, StrDeserializer,
    StringDeserializer, U64Deserializer,
};
use serde::de::{self, IgnoredAny, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::error::Category;
use serde_json::value::RawValue;
use uuid::Uuid;

use super::{
    CallerPhoneNumber, ClassOfService, DecodeError, Discriminator, EventKind, LocationSource,
    MediaKind, NoteSubtype, Timestamp,
};

/// One member of the body as the pass read it: absent, `null`, a value of the field's type,
/// or a value of another type (which only the events that have the field refuse).
#[derive(Debug, Default, PartialEq)]
pub(super) enum Field<T> {
    #[default]
    Absent,
    Null,
    Valid(T),
    Invalid,
}

impl<T> Field<T> {
    fn is_present(&self) -> bool {
        !matches!(self, Self::Absent)
    }

    /// The value, when the member holds one of the field's type.
    pub(super) fn valid(self) -> Option<T> {
        match self {
            Self::Valid(value) => Some(value),
            Self::Absent | Self::Null | Self::Invalid => None,
        }
    }
}

/// Every field of the five known events (see the module documentation).
#[derive(Default, Deserialize)]
#[cfg_attr(test, derive(Debug))]
#[serde(default)]
pub(super) struct Wire<'a> {
    #[serde(borrow)]
    pub(super) event_type: Field<Text<'a>>,
    #[serde(borrow, rename = "type")]
    pub(super) type_: Field<Text<'a>>,
    pub(super) id: Field<Uuid>,
    pub(super) incident_id: Field<Uuid>,
    pub(super) cad_partner_incident_id: Field<String>,
    pub(super) created_at: Field<Timestamp>,
    pub(super) updated_at: Field<Timestamp>,
    pub(super) subtype: Field<NoteSubtype>,
    pub(super) note: Field<String>,
    /// An object, kept raw: only `note_created` converts it.
    #[serde(borrow, deserialize_with = "present")]
    pub(super) metadata: Option<&'a RawValue>,
    pub(super) latitude: Field<f64>,
    pub(super) longitude: Field<f64>,
    pub(super) source: Field<LocationSource>,
    pub(super) lat: Field<f64>,
    pub(super) lng: Field<f64>,
    pub(super) class_of_service: Field<ClassOfService>,
    pub(super) caller_phone_number: Field<CallerPhoneNumber>,
    pub(super) is_audio_live: Field<bool>,
    pub(super) audio_call_ended_at: Field<Timestamp>,
    pub(super) chatroom_url: Field<String>,
    pub(super) url: Field<String>,
    pub(super) media_type: Field<MediaKind>,
    pub(super) content_type: Field<String>,
    /// The names of the members no known event has (only their number is used).
    #[serde(borrow, flatten)]
    others: HashMap<Cow<'a, str>, IgnoredAny>,
}

impl Wire<'_> {
    /// Each field's name on the wire, and whether the body has it (a unit test checks the
    /// names against the derive's).
    pub(super) fn members(&self) -> [(&'static str, bool); 23] {
        [
            ("event_type", self.event_type.is_present()),
            ("type", self.type_.is_present()),
            ("id", self.id.is_present()),
            ("incident_id", self.incident_id.is_present()),
            (
                "cad_partner_incident_id",
                self.cad_partner_incident_id.is_present(),
            ),
            ("created_at", self.created_at.is_present()),
            ("updated_at", self.updated_at.is_present()),
            ("subtype", self.subtype.is_present()),
            ("note", self.note.is_present()),
            ("metadata", self.metadata.is_some()),
            ("latitude", self.latitude.is_present()),
            ("longitude", self.longitude.is_present()),
            ("source", self.source.is_present()),
            ("lat", self.lat.is_present()),
            ("lng", self.lng.is_present()),
            ("class_of_service", self.class_of_service.is_present()),
            ("caller_phone_number", self.caller_phone_number.is_present()),
            ("is_audio_live", self.is_audio_live.is_present()),
            ("audio_call_ended_at", self.audio_call_ended_at.is_present()),
            ("chatroom_url", self.chatroom_url.is_present()),
            ("url", self.url.is_present()),
            ("media_type", self.media_type.is_present()),
            ("content_type", self.content_type.is_present()),
        ]
    }

    /// Whether the body has a member none of `fields` names: one no known event has, or a
    /// field of another event.
    pub(super) fn has_members_beside(&self, fields: &[&str]) -> bool {
        !self.others.is_empty()
            || self
                .members()
                .iter()
                .any(|(name, present)| *present && !fields.contains(name))
    }
}

/// A member that is there, `null` included (serde's `Option` would make `null` absent).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(deserializer).map(Some)
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FieldVisitor(PhantomData))
    }
}

/// Reads any JSON value, and converts a scalar with `T`'s own `Deserialize`: a value `T` does
/// not take is [`Field::Invalid`], not an error, so that one event's field cannot make
/// another event fail. Arrays and objects are skipped (no scalar field takes them).
struct FieldVisitor<T>(PhantomData<T>);

/// `T` from a scalar the pass read.
fn convert<'de, T: Deserialize<'de>, D>(scalar: D) -> Field<T>
where
    D: Deserializer<'de, Error = de::value::Error>,
{
    T::deserialize(scalar).map_or(Field::Invalid, Field::Valid)
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for FieldVisitor<T> {
    type Value = Field<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Field<T>, E> {
        Ok(convert(BoolDeserializer::new(value)))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Field<T>, E> {
        Ok(convert(I64Deserializer::new(value)))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Field<T>, E> {
        Ok(convert(U64Deserializer::new(value)))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Field<T>, E> {
        Ok(convert(F64Deserializer::new(value)))
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Field<T>, E> {
        Ok(convert(BorrowedStrDeserializer::new(value)))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Field<T>, E> {
        Ok(convert(StrDeserializer::new(value)))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Field<T>, E> {
        let scalar: StringDeserializer<de::value::Error> = value.into_deserializer();
        Ok(convert(scalar))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Field<T>, E> {
        Ok(Field::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Field<T>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Field::Invalid)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Field<T>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Field::Invalid)
    }
}

impl<'a> Wire<'a> {
    /// Reads `body` in one pass.
    pub(super) fn read(body: &'a str) -> Result<Self, DecodeError> {
        // A derived struct also accepts a JSON array, so anything but an object is told apart
        // by its first byte, and `serde_json` says whether it is JSON at all.
        if !body.trim_ascii_start().starts_with('{') {
            return Err(match serde_json::from_str::<IgnoredAny>(body) {
                Ok(_) => DecodeError::NotAnObject,
                Err(error) => DecodeError::syntax(&error),
            });
        }
        serde_json::from_str(body).map_err(|error| match error.classify() {
            // Every field is optional and taken as it is: on an object, the derive refuses
            // only a repeated field.
            Category::Data => repeated_field(body, &error),
            Category::Io | Category::Syntax | Category::Eof => DecodeError::syntax(&error),
        })
    }

    /// The discriminator that names the event, and the name: `event_type` when it is there
    /// (and not `null`), else `type`.
    pub(super) fn name(&self) -> Result<(Discriminator, Cow<'a, str>), DecodeError> {
        event_name(&self.event_type, &self.type_)
    }
}

fn event_name<'a>(
    event_type: &Field<Text<'a>>,
    type_: &Field<Text<'a>>,
) -> Result<(Discriminator, Cow<'a, str>), DecodeError> {
    let name = |field: &Field<Text<'a>>, discriminator: Discriminator| match field {
        Field::Valid(Text(name)) => Ok(Some((discriminator, name.clone()))),
        Field::Absent | Field::Null => Ok(None),
        Field::Invalid => Err(DecodeError::InvalidDiscriminator {
            field: discriminator.field_name(),
        }),
    };
    if let Some(named) = name(event_type, Discriminator::EventType)? {
        return Ok(named);
    }
    name(type_, Discriminator::Type)?.ok_or(DecodeError::MissingDiscriminator)
}

/// The error for a body the one pass refused as having a repeated field: the first field of
/// [`Wire`]'s fields that comes again, for the event the first discriminators name (for
/// [`EventKind::Unknown`] when the repeated field is the discriminator that names the event).
fn repeated_field(body: &str, error: &serde_json::Error) -> DecodeError {
    let members: Vec<(Cow<'_, str>, &RawValue)> = match serde_json::from_str::<Members<'_>>(body) {
        Ok(Members(members)) => members,
        Err(error) => return DecodeError::syntax(&error),
    };
    let first = |field: &str| {
        members
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, value)| *value)
    };
    let name_field = |field: &str| -> Field<Text<'_>> {
        first(field).map_or(Field::Absent, |raw| {
            serde_json::from_str(raw.get()).unwrap_or(Field::Invalid)
        })
    };
    let event_type = name_field("event_type");
    let named = event_name(&event_type, &name_field("type")).ok();
    let fields = Wire::default().members().map(|(name, _)| name);
    let mut seen = Vec::with_capacity(fields.len());
    for (name, _) in &members {
        let Some(&field) = fields.iter().find(|field| *field == name) else {
            continue;
        };
        if !seen.contains(&field) {
            seen.push(field);
            continue;
        }
        let names_the_event = field == "event_type"
            || (field == "type" && matches!(event_type, Field::Absent | Field::Null));
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
pub(super) struct Members<'a>(pub(super) Vec<(Cow<'a, str>, &'a RawValue)>);

/// A string, borrowed from the body unless it has escapes.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub(super) struct Text<'a>(#[serde(borrow)] pub(super) Cow<'a, str>);

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
                while let Some((name, value)) = map.next_entry::<Text<'de>, &'de RawValue>()? {
                    members.push((name.0, value));
                }
                Ok(Members(members))
            }
        }

        deserializer.deserialize_map(MembersVisitor)
    }
}

impl EventKind {
    /// A field this event requires: an error naming it when it is absent, `null` or of
    /// another type.
    pub(super) fn required<T>(
        self,
        field: &'static str,
        member: Field<T>,
    ) -> Result<T, DecodeError> {
        match member {
            Field::Valid(value) => Ok(value),
            Field::Absent => Err(DecodeError::MissingField {
                event: self,
                field: field.to_owned(),
            }),
            Field::Null | Field::Invalid => Err(self.invalid(field)),
        }
    }

    /// A field this event may have: `None` when it is absent or `null`, an error naming it
    /// when it is of another type.
    pub(super) fn optional<T>(
        self,
        field: &'static str,
        member: Field<T>,
    ) -> Result<Option<T>, DecodeError> {
        match member {
            Field::Valid(value) => Ok(Some(value)),
            Field::Absent | Field::Null => Ok(None),
            Field::Invalid => Err(self.invalid(field)),
        }
    }

    /// A field this event may have that the pass kept raw: `None` when it is absent or
    /// `null`, an error naming it when it does not convert.
    pub(super) fn optional_raw<'a, T: Deserialize<'a>>(
        self,
        field: &'static str,
        member: Option<&'a RawValue>,
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
        member: Field<f64>,
        on_earth: fn(f64) -> bool,
    ) -> Result<f64, DecodeError> {
        let value = self.required(field, member)?;
        if on_earth(value) {
            Ok(value)
        } else {
            Err(self.invalid(field))
        }
    }

    pub(super) fn invalid(self, field: &'static str) -> DecodeError {
        DecodeError::InvalidField {
            event: self,
            field: field.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Wire;
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

    /// Every field the error path looks repeated fields up in is one the derive refuses to
    /// see twice.
    #[test]
    fn every_listed_field_is_refused_twice_and_named() {
        for (field, _) in Wire::default().members() {
            let body = format!(r#"{{"{field}": 1, "{field}": 2}}"#);
            assert_eq!(
                Event::decode(body.as_bytes()),
                duplicate(EventKind::Unknown, field),
                "{body}"
            );
        }
    }

    /// `serde_path_to_error` does not name a repeated field: it reports the object's path.
    #[test]
    fn a_derive_s_duplicate_error_has_the_object_s_path() {
        let body = br#"{"lat": 1, "lat": 2}"#;
        let mut deserializer = serde_json::Deserializer::from_slice(body);
        let error = serde_path_to_error::deserialize::<_, Wire<'_>>(&mut deserializer)
            .expect_err("refused");
        assert_eq!(error.path().to_string(), ".");
    }
}
