//! The first decoding pass: find which event a body holds without building anything.
//!
//! The discriminator (`event_type` or `type`) may come after every other field, so decoding
//! reads the body twice: this pass skips every value but the two discriminators (no
//! allocation for a known event name), then the body is decoded straight into the event's
//! struct. Both passes are plain `serde_json` over the byte slice; no `serde_json::Value` is
//! built. This pass fails only on malformed JSON: everything else is reported as data.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::EventKind;

/// What the first pass found.
pub(super) enum Probe {
    /// A JSON object, with what its discriminator fields hold.
    Object {
        /// `event_type`, the CAD discriminator.
        event_type: Field,
        /// `type`, the Incident Events discriminator (and a plain field of `location_updated`).
        type_: Field,
    },
    /// Valid JSON that is not an object.
    NotAnObject,
}

/// What one discriminator field holds.
pub(super) enum Field {
    Absent,
    Name(Name),
    NotAString,
    Duplicate,
}

/// An event name: one this version knows, or another string.
pub(super) enum Name {
    Known(EventKind),
    Other(String),
}

impl Name {
    fn new(name: &str) -> Self {
        match EventKind::from_wire_name(name) {
            Some(kind) => Self::Known(kind),
            None => Self::Other(name.to_owned()),
        }
    }
}

impl Probe {
    pub(super) fn read(body: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(body)
    }
}

impl<'de> Deserialize<'de> for Probe {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ProbeVisitor)
    }
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum Key {
    EventType,
    Type,
    #[serde(other)]
    Other,
}

struct ProbeVisitor;

impl<'de> Visitor<'de> for ProbeVisitor {
    type Value = Probe;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Probe, A::Error> {
        let mut event_type = Field::Absent;
        let mut type_ = Field::Absent;
        while let Some(key) = map.next_key::<Key>()? {
            let slot = match key {
                Key::EventType => &mut event_type,
                Key::Type => &mut type_,
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            let value = map.next_value::<FieldValue>()?.0;
            *slot = match slot {
                Field::Absent => value,
                _ => Field::Duplicate,
            };
        }
        Ok(Probe::Object { event_type, type_ })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Probe, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Probe::NotAnObject)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Probe, E> {
        Ok(Probe::NotAnObject)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Probe, E> {
        Ok(Probe::NotAnObject)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Probe, E> {
        Ok(Probe::NotAnObject)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Probe, E> {
        Ok(Probe::NotAnObject)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Probe, E> {
        Ok(Probe::NotAnObject)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Probe, E> {
        Ok(Probe::NotAnObject)
    }
}

/// A discriminator's value: a name, or a note that it is not a string.
struct FieldValue(Field);

impl<'de> Deserialize<'de> for FieldValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FieldValueVisitor)
    }
}

struct FieldValueVisitor;

impl<'de> Visitor<'de> for FieldValueVisitor {
    type Value = FieldValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<FieldValue, E> {
        Ok(FieldValue(Field::Name(Name::new(name))))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FieldValue, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(FieldValue(Field::NotAString))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FieldValue, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(FieldValue(Field::NotAString))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<FieldValue, E> {
        Ok(FieldValue(Field::NotAString))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<FieldValue, E> {
        Ok(FieldValue(Field::NotAString))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<FieldValue, E> {
        Ok(FieldValue(Field::NotAString))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<FieldValue, E> {
        Ok(FieldValue(Field::NotAString))
    }

    /// `null` counts as absent, like every optional field's `null`.
    fn visit_unit<E: de::Error>(self) -> Result<FieldValue, E> {
        Ok(FieldValue(Field::Absent))
    }
}
