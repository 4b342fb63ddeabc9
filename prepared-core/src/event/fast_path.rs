//! The one-pass decoder of the five known events, tried before the two-pass one.
//!
//! The general decoder reads a body twice (the discriminator first, then the event's struct),
//! because the discriminator may come last. This decoder reads it once, with a small reader of
//! its own: it notes where the value of each field any known event has lies in the body (a
//! string, a number or a literal), without converting it; once the discriminators tell which
//! event the body is, it converts the fields of that event only, each straight into its typed
//! value (ids, date-times and enum values from the borrowed text, without allocating), and
//! keeps the other fields for [`Media`]. Nested objects and arrays, and strings with escapes,
//! are read by `serde_json` itself, in the same pass.
//!
//! Whenever it cannot decide (any doubt about the syntax, an error, a repeated or missing
//! field, an unknown event, a body that is not a UTF-8 object), it answers `None` and the
//! two-pass decoder decides, so both always agree; the unit tests below check that on every
//! field of every example, mutated, and on damaged and unusual bodies. It accepts only what
//! `serde_json` accepts: every value it skips is checked as `serde_json` checks the values it
//! ignores (or more strictly), and every value it converts is converted as `serde_json` and
//! the fields' own `Deserialize` implementations convert it.

use std::borrow::Cow;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{
    CallerLocation, CallerPhoneNumber, Event, EventKind, IncidentMetadata, LocationUpdated, Media,
    NoteCreated, Timestamp, coordinates,
};

/// The event in `body`, decoded exactly as the two-pass decoder would; `None` when the
/// two-pass decoder must decide.
pub(super) fn decode(body: &[u8]) -> Option<Event> {
    let text = std::str::from_utf8(body).ok()?;
    let mut fields = Fields::default();
    Reader { text, at: 0 }.object(&mut fields)?;
    fields.take_event()
}

/// A value as it lies in the body, not converted yet.
#[derive(Clone, Copy)]
enum Raw<'a> {
    /// A string without escapes: its content.
    Str(&'a str),
    /// A string with escapes: its content, unescaped, in [`Fields::strings`].
    Escaped(usize),
    /// A number: the whole token.
    Number(&'a str),
    True,
    False,
    Null,
    /// An object or an array, read into a `Value` kept in [`Fields`].
    Nested(usize),
}

/// Reads a JSON object from the start of `text`.
struct Reader<'a> {
    text: &'a str,
    /// The byte position: always at an ASCII byte or at the end, so on a char boundary.
    at: usize,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// The object, into `fields`; `None` when the body is anything else.
    fn object(mut self, fields: &mut Fields<'a>) -> Option<()> {
        self.skip_space();
        if self.peek()? != b'{' {
            return None;
        }
        self.at += 1;
        self.skip_space();
        loop {
            let key = match self.known_key() {
                Some(field) => Key::Known(field),
                None => match self.string(fields)? {
                    Raw::Str(key) => Key::new(Cow::Borrowed(key)),
                    Raw::Escaped(index) => Key::new(Cow::Owned(fields.take_string(index))),
                    _ => return None,
                },
            };
            self.colon()?;
            let value = self.value(fields)?;
            fields.put(key, value)?;
            if self.member_end()? {
                break;
            }
        }
        self.skip_space();
        (self.at == self.text.len()).then_some(())
    }

    /// The `:` between a member's key and its value, with the spaces around it.
    fn colon(&mut self) -> Option<()> {
        self.skip_space();
        if self.peek()? != b':' {
            return None;
        }
        self.at += 1;
        self.skip_space();
        Some(())
    }

    /// What follows a member's value: `,` and the spaces after it (`false`), or the object's
    /// closing `}` (`true`).
    fn member_end(&mut self) -> Option<bool> {
        self.skip_space();
        let end = match self.peek()? {
            b',' => false,
            b'}' => true,
            _ => return None,
        };
        self.at += 1;
        if !end {
            self.skip_space();
        }
        Some(end)
    }

    /// A key spelled as one of the known fields, read without looking for its end.
    fn known_key(&mut self) -> Option<Field> {
        let bytes = self.text.as_bytes();
        if bytes.get(self.at) != Some(&b'"') {
            return None;
        }
        let rest = bytes.get(self.at + 1..)?;
        let field = Field::spelled_at_start_of(rest)?;
        self.at += field.name().len() + 2;
        Some(field)
    }

    fn value(&mut self, fields: &mut Fields<'a>) -> Option<Raw<'a>> {
        match self.peek()? {
            b'"' => self.string(fields),
            b'{' | b'[' => {
                let start = self.at;
                let value = match self.flat_object() {
                    Some(map) => Value::Object(map),
                    None => {
                        self.at = start;
                        let (value, token) = self.by_serde_json::<Value>()?;
                        // `serde_json::Value` gives a meaning of its own to these keys.
                        if token.contains("$serde_json::private::") {
                            return None;
                        }
                        value
                    }
                };
                Some(Raw::Nested(fields.push_value(value)))
            }
            b't' => self.literal("true", Raw::True),
            b'f' => self.literal("false", Raw::False),
            b'n' => self.literal("null", Raw::Null),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    /// A string; `None` if it holds a control character or does not end.
    fn string(&mut self, fields: &mut Fields<'a>) -> Option<Raw<'a>> {
        match self.plain_string()? {
            Some(text) => Some(Raw::Str(text)),
            // Escapes are checked and read by `serde_json`.
            None => {
                let (string, _) = self.by_serde_json::<String>()?;
                fields.strings.push(string);
                Some(Raw::Escaped(fields.strings.len() - 1))
            }
        }
    }

    /// A string without escapes: its content; `Some(None)`, the position left at the opening
    /// quote, when it has escapes; `None` if it holds a control character or does not end.
    #[inline]
    fn plain_string(&mut self) -> Option<Option<&'a str>> {
        if self.peek()? != b'"' {
            return None;
        }
        let start = self.at + 1;
        let end = string_end(self.text.as_bytes(), start);
        match self.text.as_bytes().get(end)? {
            b'"' => {
                self.at = end + 1;
                self.text.get(start..end).map(Some)
            }
            b'\\' => Some(None),
            _ => None,
        }
    }

    /// An object whose values are plain strings, numbers, booleans or `null` (such as a
    /// note's `metadata`), read as `serde_json` reads it into a `Value`; `None` for any other
    /// value, which `serde_json` then reads.
    fn flat_object(&mut self) -> Option<Map<String, Value>> {
        if self.peek()? != b'{' {
            return None;
        }
        self.at += 1;
        self.skip_space();
        let mut map = Map::new();
        if self.peek()? == b'}' {
            self.at += 1;
            return Some(map);
        }
        loop {
            let key = self.plain_string()??;
            // Keys `serde_json::Value` gives a meaning of its own to start with `$`.
            if key.starts_with('$') {
                return None;
            }
            self.colon()?;
            let value = match self.peek()? {
                b'"' => Value::String(self.plain_string()??.to_owned()),
                b't' => self.literal("true", Raw::True).map(|_| Value::Bool(true))?,
                b'f' => self
                    .literal("false", Raw::False)
                    .map(|_| Value::Bool(false))?,
                b'n' => self.literal("null", Raw::Null).map(|_| Value::Null)?,
                b'-' | b'0'..=b'9' => match self.number()? {
                    Raw::Number(token) => number(token)?,
                    _ => return None,
                },
                _ => return None,
            };
            // A repeated key keeps its last value, as in `serde_json`.
            map.insert(key.to_owned(), value);
            if self.member_end()? {
                return Some(map);
            }
        }
    }

    /// The value that starts here, read by `serde_json`, and its token.
    fn by_serde_json<T: DeserializeOwned>(&mut self) -> Option<(T, &'a str)> {
        let rest = self.text.get(self.at..)?;
        let mut values = serde_json::Deserializer::from_str(rest).into_iter::<T>();
        let value = values.next()?.ok()?;
        let token = rest.get(..values.byte_offset())?;
        self.at += token.len();
        Some((value, token))
    }

    fn literal(&mut self, word: &str, raw: Raw<'a>) -> Option<Raw<'a>> {
        if !self.text.get(self.at..)?.starts_with(word) {
            return None;
        }
        self.at += word.len();
        Some(raw)
    }

    /// A number, checked against JSON's grammar: `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Option<Raw<'a>> {
        let bytes = self.text.as_bytes();
        let start = self.at;
        let mut at = start;
        if bytes.get(at) == Some(&b'-') {
            at += 1;
        }
        match bytes.get(at)? {
            b'0' => at += 1,
            b'1'..=b'9' => at = digits_end(bytes, at + 1),
            _ => return None,
        }
        if bytes.get(at) == Some(&b'.') {
            at = some_digits_end(bytes, at + 1)?;
        }
        if let Some(b'e' | b'E') = bytes.get(at) {
            at += 1;
            if let Some(b'+' | b'-') = bytes.get(at) {
                at += 1;
            }
            at = some_digits_end(bytes, at)?;
        }
        self.at = at;
        self.text.get(start..at).map(Raw::Number)
    }
}

/// The position after the digits from `at`.
fn digits_end(bytes: &[u8], mut at: usize) -> usize {
    while let Some(b'0'..=b'9') = bytes.get(at) {
        at += 1;
    }
    at
}

/// The position after the digits from `at`, at least one.
fn some_digits_end(bytes: &[u8], at: usize) -> Option<usize> {
    let end = digits_end(bytes, at);
    (end > at).then_some(end)
}

/// The position of the first `"`, `\\` or control character from `start`, or the length.
/// Eight bytes at a time: each test sets the high bit of the bytes that match (and possibly
/// of some bytes after a match, never before), so the lowest bit set marks the first.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut at = start;
    while let Some(chunk) = bytes.get(at..).and_then(<[u8]>::first_chunk::<16>) {
        let (Some(low), Some(high)) = (chunk.first_chunk::<8>(), chunk.last_chunk::<8>()) else {
            break;
        };
        let (low, high) = (special(low), special(high));
        if low | high != 0 {
            return if low != 0 {
                at + (low.trailing_zeros() / 8) as usize
            } else {
                at + 8 + (high.trailing_zeros() / 8) as usize
            };
        }
        at += 16;
    }
    while let Some(chunk) = bytes.get(at..).and_then(<[u8]>::first_chunk::<8>) {
        let found = special(chunk);
        if found != 0 {
            return at + (found.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    while let Some(&byte) = bytes.get(at) {
        if byte == b'"' || byte == b'\\' || byte < 0x20 {
            return at;
        }
        at += 1;
    }
    at
}

/// The high bit set in the bytes of `chunk` (eight) that are `"`, `\\` or a control
/// character, and possibly in some bytes after one of those, never before.
fn special(chunk: &[u8; 8]) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let word = u64::from_le_bytes(*chunk);
    let quote = word ^ (ONES * u64::from(b'"'));
    let backslash = word ^ (ONES * u64::from(b'\\'));
    (quote.wrapping_sub(ONES) & !quote
        | backslash.wrapping_sub(ONES) & !backslash
        | word.wrapping_sub(ONES * 0x20) & !word)
        & HIGH
}

// `Fields::present` has a bit for each field.
const _: () = assert!(Field::COUNT <= 32);

/// The keys the five events know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    EventType,
    Type,
    Id,
    IncidentId,
    CadPartnerIncidentId,
    CreatedAt,
    UpdatedAt,
    AudioCallEndedAt,
    Subtype,
    Note,
    Metadata,
    Latitude,
    Longitude,
    Lat,
    Lng,
    Source,
    ClassOfService,
    CallerPhoneNumber,
    IsAudioLive,
    ChatroomUrl,
    Url,
    MediaType,
    ContentType,
}

impl Field {
    const COUNT: usize = 23;

    const ALL: [Self; Self::COUNT] = [
        Self::EventType,
        Self::Type,
        Self::Id,
        Self::IncidentId,
        Self::CadPartnerIncidentId,
        Self::CreatedAt,
        Self::UpdatedAt,
        Self::AudioCallEndedAt,
        Self::Subtype,
        Self::Note,
        Self::Metadata,
        Self::Latitude,
        Self::Longitude,
        Self::Lat,
        Self::Lng,
        Self::Source,
        Self::ClassOfService,
        Self::CallerPhoneNumber,
        Self::IsAudioLive,
        Self::ChatroomUrl,
        Self::Url,
        Self::MediaType,
        Self::ContentType,
    ];

    fn from_key(key: &str) -> Option<Self> {
        Some(match key {
            "event_type" => Self::EventType,
            "type" => Self::Type,
            "id" => Self::Id,
            "incident_id" => Self::IncidentId,
            "cad_partner_incident_id" => Self::CadPartnerIncidentId,
            "created_at" => Self::CreatedAt,
            "updated_at" => Self::UpdatedAt,
            "audio_call_ended_at" => Self::AudioCallEndedAt,
            "subtype" => Self::Subtype,
            "note" => Self::Note,
            "metadata" => Self::Metadata,
            "latitude" => Self::Latitude,
            "longitude" => Self::Longitude,
            "lat" => Self::Lat,
            "lng" => Self::Lng,
            "source" => Self::Source,
            "class_of_service" => Self::ClassOfService,
            "caller_phone_number" => Self::CallerPhoneNumber,
            "is_audio_live" => Self::IsAudioLive,
            "chatroom_url" => Self::ChatroomUrl,
            "url" => Self::Url,
            "media_type" => Self::MediaType,
            "content_type" => Self::ContentType,
            _ => return None,
        })
    }

    /// The field whose name, then a closing quote, starts `text`.
    fn spelled_at_start_of(text: &[u8]) -> Option<Self> {
        // Each name is compared as a constant: no call to `memcmp`.
        macro_rules! first_of {
            ($($name:literal => $field:ident),+) => {{
                $(
                    if let Some(b'"') = text.strip_prefix($name).and_then(<[u8]>::first) {
                        return Some(Self::$field);
                    }
                )+
                None
            }};
        }
        match text.first()? {
            b'i' => {
                first_of!(b"id" => Id, b"incident_id" => IncidentId, b"is_audio_live" => IsAudioLive)
            }
            b'c' => first_of!(
                b"created_at" => CreatedAt,
                b"cad_partner_incident_id" => CadPartnerIncidentId,
                b"caller_phone_number" => CallerPhoneNumber,
                b"class_of_service" => ClassOfService,
                b"chatroom_url" => ChatroomUrl,
                b"content_type" => ContentType
            ),
            b't' => first_of!(b"type" => Type),
            b'e' => first_of!(b"event_type" => EventType),
            b'u' => first_of!(b"updated_at" => UpdatedAt, b"url" => Url),
            b'a' => first_of!(b"audio_call_ended_at" => AudioCallEndedAt),
            b's' => first_of!(b"subtype" => Subtype, b"source" => Source),
            b'n' => first_of!(b"note" => Note),
            b'm' => first_of!(b"metadata" => Metadata, b"media_type" => MediaType),
            b'l' => {
                first_of!(b"lat" => Lat, b"lng" => Lng, b"latitude" => Latitude, b"longitude" => Longitude)
            }
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::EventType => "event_type",
            Self::Type => "type",
            Self::Id => "id",
            Self::IncidentId => "incident_id",
            Self::CadPartnerIncidentId => "cad_partner_incident_id",
            Self::CreatedAt => "created_at",
            Self::UpdatedAt => "updated_at",
            Self::AudioCallEndedAt => "audio_call_ended_at",
            Self::Subtype => "subtype",
            Self::Note => "note",
            Self::Metadata => "metadata",
            Self::Latitude => "latitude",
            Self::Longitude => "longitude",
            Self::Lat => "lat",
            Self::Lng => "lng",
            Self::Source => "source",
            Self::ClassOfService => "class_of_service",
            Self::CallerPhoneNumber => "caller_phone_number",
            Self::IsAudioLive => "is_audio_live",
            Self::ChatroomUrl => "chatroom_url",
            Self::Url => "url",
            Self::MediaType => "media_type",
            Self::ContentType => "content_type",
        }
    }
}

/// A key of the body.
enum Key<'a> {
    Known(Field),
    Other(Cow<'a, str>),
}

impl<'a> Key<'a> {
    fn new(key: Cow<'a, str>) -> Self {
        match Field::from_key(&key) {
            Some(field) => Self::Known(field),
            None => Self::Other(key),
        }
    }
}

/// Every field of the body, not converted yet.
#[derive(Default)]
struct Fields<'a> {
    known: [Option<Raw<'a>>; Field::COUNT],
    /// The known fields present, one bit each.
    present: u32,
    /// The fields no known event has, kept for `media`.
    others: Vec<(Cow<'a, str>, Raw<'a>)>,
    /// The strings with escapes, unescaped.
    strings: Vec<String>,
    /// The first nested value (most bodies have one at most: no vector to allocate).
    first_value: Option<Value>,
    /// The other nested values.
    more_values: Vec<Value>,
}

impl<'a> Fields<'a> {
    /// Notes a field; `None` when a known field comes twice.
    fn put(&mut self, key: Key<'a>, value: Raw<'a>) -> Option<()> {
        match key {
            Key::Known(field) => {
                let bit = 1 << field as u32;
                if self.present & bit != 0 {
                    return None;
                }
                self.present |= bit;
                self.known[field as usize] = Some(value);
            }
            Key::Other(name) => self.others.push((name, value)),
        }
        Some(())
    }

    fn get(&self, field: Field) -> Option<Raw<'a>> {
        self.known[field as usize]
    }

    fn take_string(&mut self, index: usize) -> String {
        self.strings
            .get_mut(index)
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Keeps a nested value; its index.
    fn push_value(&mut self, value: Value) -> usize {
        if self.first_value.is_none() {
            self.first_value = Some(value);
            return 0;
        }
        self.more_values.push(value);
        self.more_values.len()
    }

    fn take_value(&mut self, index: usize) -> Value {
        let value = match index.checked_sub(1) {
            None => self.first_value.as_mut(),
            Some(index) => self.more_values.get_mut(index),
        };
        value.map(Value::take).unwrap_or_default()
    }

    /// The event the discriminators name, when it is a known event whose fields all convert.
    fn take_event(&mut self) -> Option<Event> {
        let kind = match self.discriminator(Field::EventType)? {
            Some(name) => EventKind::from_wire_name(name).filter(|kind| {
                matches!(kind, EventKind::NoteCreated | EventKind::LocationUpdated)
            })?,
            None => {
                EventKind::from_wire_name(self.discriminator(Field::Type)??).filter(|kind| {
                    !matches!(kind, EventKind::NoteCreated | EventKind::LocationUpdated)
                })?
            }
        };
        Some(match kind {
            EventKind::NoteCreated => Event::NoteCreated(NoteCreated {
                id: self.uuid(Field::Id)?,
                incident_id: self.uuid(Field::IncidentId)?,
                cad_partner_incident_id: self.string(Field::CadPartnerIncidentId)?,
                created_at: self.timestamp(Field::CreatedAt)?,
                subtype: self.open_enum(Field::Subtype)?,
                note: self.string(Field::Note)?,
                metadata: match self.get(Field::Metadata) {
                    None | Some(Raw::Null) => None,
                    Some(Raw::Nested(index)) => match self.take_value(index) {
                        Value::Object(map) if depth_of_map(&map) <= MAX_DEPTH => Some(map),
                        _ => return None,
                    },
                    Some(_) => return None,
                },
            }),
            EventKind::LocationUpdated => Event::LocationUpdated(LocationUpdated {
                id: self.uuid(Field::Id)?,
                incident_id: self.uuid(Field::IncidentId)?,
                cad_partner_incident_id: self.string(Field::CadPartnerIncidentId)?,
                created_at: self.timestamp(Field::CreatedAt)?,
                location_type: self.open_enum(Field::Type)??,
                latitude: coordinate(self.get(Field::Latitude)?, coordinates::check_latitude)?,
                longitude: coordinate(self.get(Field::Longitude)?, coordinates::check_longitude)?,
                source: self.open_enum(Field::Source)?,
            }),
            EventKind::IncidentMetadata => Event::IncidentMetadata(IncidentMetadata {
                id: self.uuid(Field::Id)?,
                caller_phone_number: CallerPhoneNumber::new(
                    self.string(Field::CallerPhoneNumber)??,
                ),
                is_audio_live: match self.get(Field::IsAudioLive)? {
                    Raw::True => true,
                    Raw::False => false,
                    _ => return None,
                },
                audio_call_ended_at: self.timestamp(Field::AudioCallEndedAt)?,
                created_at: self.timestamp(Field::CreatedAt)??,
                updated_at: self.timestamp(Field::UpdatedAt)??,
                chatroom_url: self.string(Field::ChatroomUrl)?,
            }),
            EventKind::CallerLocation => Event::CallerLocation(CallerLocation {
                id: self.uuid(Field::Id)?,
                incident_id: self.uuid(Field::IncidentId)?,
                lat: coordinate(self.get(Field::Lat)?, coordinates::check_latitude)?,
                lng: coordinate(self.get(Field::Lng)?, coordinates::check_longitude)?,
                class_of_service: self.open_enum(Field::ClassOfService)?,
                created_at: self.timestamp(Field::CreatedAt)?,
                source: self.open_enum(Field::Source)?,
            }),
            EventKind::Media => Event::Media(Media {
                id: self.uuid(Field::Id)?,
                incident_id: self.uuid(Field::IncidentId)?,
                created_at: self.timestamp(Field::CreatedAt)?,
                url: self.string(Field::Url)?,
                media_type: self.open_enum(Field::MediaType)?,
                content_type: self.string(Field::ContentType)?,
                extra: self.media_extra()?,
            }),
            EventKind::Unknown => return None,
        })
    }

    /// What a discriminator names: `Some(None)` when it is absent or `null`, `None` when it is
    /// not a string.
    fn discriminator(&self, field: Field) -> Option<Option<&str>> {
        match self.get(field) {
            None | Some(Raw::Null) => Some(None),
            Some(raw) => self.text(raw).map(Some),
        }
    }

    /// The content of a string.
    fn text(&self, raw: Raw<'a>) -> Option<&str> {
        match raw {
            Raw::Str(text) => Some(text),
            Raw::Escaped(index) => self.strings.get(index).map(String::as_str),
            _ => None,
        }
    }

    /// A required UUID.
    fn uuid(&self, field: Field) -> Option<Uuid> {
        self.text(self.get(field)?)?.parse().ok()
    }

    /// An optional string field: `Some(None)` when absent or `null`, `None` when not a string.
    fn string(&mut self, field: Field) -> Option<Option<String>> {
        Some(match self.get(field) {
            None | Some(Raw::Null) => None,
            Some(Raw::Str(text)) => Some(text.to_owned()),
            Some(Raw::Escaped(index)) => Some(self.take_string(index)),
            Some(_) => return None,
        })
    }

    fn timestamp(&self, field: Field) -> Option<Option<Timestamp>> {
        self.optional(field, |text| Timestamp::parse(text).ok())
    }

    fn open_enum<T: for<'t> From<&'t str>>(&self, field: Field) -> Option<Option<T>> {
        self.optional(field, |text| Some(T::from(text)))
    }

    /// An optional field read from a string.
    fn optional<T>(
        &self,
        field: Field,
        convert: impl FnOnce(&str) -> Option<T>,
    ) -> Option<Option<T>> {
        match self.get(field) {
            None | Some(Raw::Null) => Some(None),
            Some(raw) => convert(self.text(raw)?).map(Some),
        }
    }

    /// The fields `media` does not read, with their values, as its struct keeps them.
    fn media_extra(&mut self) -> Option<Map<String, Value>> {
        let mut extra = Map::new();
        // `type` is the discriminator; `event_type` (`null` here) is not a field of `media`.
        let read = [
            Field::Type,
            Field::Id,
            Field::IncidentId,
            Field::CreatedAt,
            Field::Url,
            Field::MediaType,
            Field::ContentType,
        ]
        .iter()
        .fold(0, |bits, &field| bits | 1 << field as u32);
        let mut others = self.present & !read;
        while others != 0 {
            let field = *Field::ALL.get(others.trailing_zeros() as usize)?;
            others &= others - 1;
            let raw = self.get(field)?;
            extra.insert(field.name().to_owned(), self.value(raw)?);
        }
        for (name, raw) in std::mem::take(&mut self.others) {
            let value = self.value(raw)?;
            if extra.insert(name.into_owned(), value).is_some() {
                return None;
            }
        }
        Some(extra)
    }

    /// A value as a `serde_json::Value`, for `media`'s `extra`.
    fn value(&mut self, raw: Raw<'a>) -> Option<Value> {
        Some(match raw {
            Raw::Str(text) => Value::String(text.to_owned()),
            Raw::Escaped(index) => Value::String(self.take_string(index)),
            Raw::True => Value::Bool(true),
            Raw::False => Value::Bool(false),
            Raw::Null => Value::Null,
            Raw::Number(token) => serde_json::from_str(token).ok()?,
            Raw::Nested(index) => {
                let value = self.take_value(index);
                (depth(&value) <= MAX_DEPTH).then_some(value)?
            }
        })
    }
}

/// A number token as a `serde_json::Value`, as `serde_json` reads it: an integer as a `u64`,
/// a negative one as an `i64` (`-0` as a float), anything else as an `f64`. `None` for the
/// forms [`float`] leaves to `serde_json`.
fn number(token: &str) -> Option<Value> {
    let integer = !token.contains(['.', 'e', 'E']);
    if integer {
        if let Some(digits) = token.strip_prefix('-') {
            let magnitude: u64 = digits.parse().ok()?;
            return Some(match 0_i64.checked_sub_unsigned(magnitude) {
                Some(negative) if negative < 0 => Value::from(negative),
                _ => Value::from(float(token)?),
            });
        }
        return token.parse::<u64>().ok().map(Value::from);
    }
    float(token).map(Value::from)
}

/// A required coordinate, checked to be on Earth.
fn coordinate(raw: Raw<'_>, check: fn(f64) -> Result<f64, serde_json::Error>) -> Option<f64> {
    match raw {
        Raw::Number(token) => check(float(token)?).ok(),
        _ => None,
    }
}

/// A number token (already checked against JSON's grammar) as `serde_json` reads it into an
/// `f64`: correctly rounded (the workspace builds `serde_json` with `float_roundtrip`, and
/// `str::parse` rounds correctly too). `None` for a value out of `f64`'s range (which
/// `serde_json` refuses) and for very long or extreme tokens, which `serde_json` decides.
fn float(token: &str) -> Option<f64> {
    // The common case, a coordinate: no exponent, and too short to hold more than 40 digits.
    // Only other tokens need the checks.
    if token.len() > 40 || token.bytes().any(|byte| byte | 0x20 == b'e') {
        let (mantissa, exponent) = match token.find(['e', 'E']) {
            Some(at) => (&token[..at], token.get(at + 1..)?),
            None => (token, "0"),
        };
        let digits = mantissa.bytes().filter(u8::is_ascii_digit).count();
        let exponent: i32 = exponent.parse().ok()?;
        if digits > 40 || !(-300..=300).contains(&exponent) {
            return None;
        }
    }
    token.parse::<f64>().ok().filter(|value| value.is_finite())
}

/// The deepest nesting this decoder converts. `serde_json` refuses values nested more than
/// 127 levels, counting the body's own object; a nested value read on its own gets one level
/// more, so deep ones go to the two-pass decoder.
const MAX_DEPTH: usize = 100;

fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => depth_of_map(map),
        _ => 0,
    }
}

fn depth_of_map(map: &Map<String, Value>) -> usize {
    1 + map.values().map(depth).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::Event;
    use crate::test_random::XorShift;

    const EXAMPLES: [&str; 5] = [
        include_str!("../../fixtures/note_created.json"),
        include_str!("../../fixtures/location_updated.json"),
        include_str!("../../fixtures/incident_metadata.json"),
        include_str!("../../fixtures/caller_location.json"),
        include_str!("../../fixtures/media.json"),
    ];

    const FIELDS: [&str; 24] = [
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
        "content_type",
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
                    if let Some(event) = super::decode(&bytes) {
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
    fn every_example_takes_the_one_pass_path() {
        for example in EXAMPLES {
            let event = super::decode(example.as_bytes()).expect("one pass");
            assert_eq!(
                Ok(&event),
                Event::decode_two_pass(example.as_bytes()).as_ref()
            );
        }
    }

    /// Bodies the guess or the pass may get wrong: both decoders agree on each.
    #[test]
    fn one_pass_agrees_with_two_passes_on_unusual_bodies() {
        let bodies = [
            // The discriminator last, keys and values with escapes.
            r#"{"id": "550e8400-e29b-41d4-a716-446655440005", "incident_id": "550e8400-e29b-41d4-a716-446655440000", "type": "media"}"#,
            r#"{"type": "med\u0069a", "id": "550e8400-e29b-41d4-a716-446655440005", "incident_id": "550e8400-e29b-41d4-a716-446655440000"}"#,
            r#"{"t\u0079pe": "media", "id": "550e8400-e29b-41d4-a716-446655440005", "incident_id": "550e8400-e29b-41d4-a716-446655440000", "n\u00f6te": "a\"b", "url": "https:\/\/x"}"#,
            r#"{"type": "media", "n\u00f6te": "a\"b", "url": "https:\/\/x", "id": "550e8400-e29b-41d4-a716-446655440005", "incident_id": "550e8400-e29b-41d4-a716-446655440000"}"#,
            // A nested "type" before the real one, a CAD event with an incident `type`.
            r#"{"metadata": {"type": "media"}, "event_type": "note_created", "id": "550e8400-e29b-41d4-a716-446655440000", "incident_id": "550e8400-e29b-41d4-a716-446655440001"}"#,
            r#"{"x": {"event_type": "note_created"}, "type": "media", "id": "550e8400-e29b-41d4-a716-446655440005", "incident_id": "550e8400-e29b-41d4-a716-446655440000"}"#,
            r#"{"type": "caller_location", "event_type": "note_created", "id": "550e8400-e29b-41d4-a716-446655440000", "incident_id": "550e8400-e29b-41d4-a716-446655440001", "lat": 1, "lng": 2}"#,
            // `event_type: null`, repeated keys, extra fields of every JSON type.
            r#"{"event_type": null, "type": "media", "id": "550e8400-e29b-41d4-a716-446655440005", "incident_id": "550e8400-e29b-41d4-a716-446655440000"}"#,
            r#"{"event_type": null, "event_type": null, "type": "caller_location", "id": "550e8400-e29b-41d4-a716-446655440000", "incident_id": "550e8400-e29b-41d4-a716-446655440001", "lat": 1, "lng": 2}"#,
            r#"{"type": "media", "x": 1, "x": 2, "id": "550e8400-e29b-41d4-a716-446655440005", "incident_id": "550e8400-e29b-41d4-a716-446655440000"}"#,
            r#"{"type": "media", "a": [1, -0, 1.5e3, 18446744073709551616, -9223372036854775809], "b": {"c": null, "d": true}, "lat": 400, "id": "550e8400-e29b-41d4-a716-446655440005", "incident_id": "550e8400-e29b-41d4-a716-446655440000"}"#,
            r#"{"event_type": "note_created", "type": 12, "type": [], "lat": 400, "id": "550e8400-e29b-41d4-a716-446655440000", "incident_id": "550e8400-e29b-41d4-a716-446655440001"}"#,
            r#"{"event_type": "note_created", "note": "x", "note": "y", "id": "550e8400-e29b-41d4-a716-446655440000", "incident_id": "550e8400-e29b-41d4-a716-446655440001"}"#,
            // Metadata objects of every shape.
            r#"{"event_type": "note_created", "id": "550e8400-e29b-41d4-a716-446655440000", "incident_id": "550e8400-e29b-41d4-a716-446655440001", "metadata": {"a": 1, "a": -0, "b": -7, "c": 18446744073709551615, "d": -9223372036854775808, "e": -9223372036854775809, "f": 1.5e3, "g": "x", "h": null, "i": true, "j": false}}"#,
            r#"{"event_type": "note_created", "id": "550e8400-e29b-41d4-a716-446655440000", "incident_id": "550e8400-e29b-41d4-a716-446655440001", "metadata": {"a": {"b": [1, {"c": 2}]}, "d": "e\u00e9", "f\u0067": 18446744073709551616}}"#,
            r#"{"event_type": "note_created", "id": "550e8400-e29b-41d4-a716-446655440000", "incident_id": "550e8400-e29b-41d4-a716-446655440001", "metadata": {"$serde_json::private::RawValue": "{\"a\": 1}"}}"#,
            r#"{"event_type": "note_created", "id": "550e8400-e29b-41d4-a716-446655440000", "incident_id": "550e8400-e29b-41d4-a716-446655440001", "metadata": { }}"#,
            r#"{"event_type": "note_created", "id": "550e8400-e29b-41d4-a716-446655440000", "incident_id": "550e8400-e29b-41d4-a716-446655440001", "metadata": {"a": 1,}}"#,
            r#"{"event_type": "note_created", "id": "550e8400-e29b-41d4-a716-446655440000", "incident_id": "550e8400-e29b-41d4-a716-446655440001", "metadata": {"a": 01}}"#,
            r#"{"event_type": "note_created", "id": "550e8400-e29b-41d4-a716-446655440000", "incident_id": "550e8400-e29b-41d4-a716-446655440001", "metadata": [1]}"#,
            // Whitespace everywhere, trailing data, not an object, not UTF-8 inside a string.
            " \n{ \"type\" \t: \"caller_location\" , \"id\":\"550e8400-e29b-41d4-a716-446655440000\",\"incident_id\":\"550e8400-e29b-41d4-a716-446655440001\",\"lat\":1,\"lng\":2 }\r\n",
            r#"{"type": "caller_location", "id": "550e8400-e29b-41d4-a716-446655440000", "incident_id": "550e8400-e29b-41d4-a716-446655440001", "lat": 1, "lng": 2} x"#,
            r#"[{"type": "media"}]"#,
            r#"{"type": "media", "id": "550e8400-e29b-41d4-a716-446655440005", "incident_id": "550e8400-e29b-41d4-a716-446655440000", "big": 1e999}"#,
        ];
        for body in bodies {
            let two_pass = Event::decode_two_pass(body.as_bytes());
            if let Some(event) = super::decode(body.as_bytes()) {
                assert_eq!(Ok(&event), two_pass.as_ref(), "{body}");
            }
            assert_eq!(Event::decode(body.as_bytes()), two_pass, "{body}");
        }
        let mut invalid = br#"{"type": "media", "id": "550e8400-e29b-41d4-a716-446655440005", "incident_id": "550e8400-e29b-41d4-a716-446655440000", "x": "?"}"#.to_vec();
        let at = invalid
            .iter()
            .rposition(|&byte| byte == b'?')
            .expect("marker");
        invalid[at] = 0xff;
        assert_eq!(Event::decode(&invalid), Event::decode_two_pass(&invalid));
    }

    /// Both decoders agree (on the event or on the error) on the examples with bytes
    /// inserted, removed or replaced: the reader accepts only what `serde_json` accepts.
    #[test]
    fn one_pass_agrees_with_two_passes_on_damaged_bodies() {
        const ALPHABET: &[u8] = b" \t\n{}[]:,\"\\/-+.0123456789eEtrufalsn\x01\xc3\xa9\xff";
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut random = move |bound: usize| rng.index(bound);
        let mut one_pass_hits = 0;
        for example in EXAMPLES {
            for _ in 0..3000 {
                let mut body = example.as_bytes().to_vec();
                for _ in 0..1 + random(3) {
                    let at = random(body.len() + 1);
                    match random(3) {
                        0 => body.insert(at, ALPHABET[random(ALPHABET.len())]),
                        1 if at < body.len() => {
                            body.remove(at);
                        }
                        _ if at < body.len() => body[at] = ALPHABET[random(ALPHABET.len())],
                        _ => {}
                    }
                }
                let two_pass = Event::decode_two_pass(&body);
                if let Some(event) = super::decode(&body) {
                    one_pass_hits += 1;
                    assert_eq!(
                        Ok(&event),
                        two_pass.as_ref(),
                        "{}",
                        String::from_utf8_lossy(&body)
                    );
                }
            }
        }
        assert!(
            one_pass_hits > 1000,
            "the one-pass decoder took {one_pass_hits} bodies"
        );
    }

    /// Coordinates in every number form convert as `serde_json` converts them.
    #[test]
    fn numbers_convert_as_serde_json_converts_them() {
        let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
        let mut random = move |bound: u64| rng.below(bound);
        let mut tokens: Vec<String> = [
            "0",
            "-0",
            "1",
            "-1",
            "0.0",
            "-0.0",
            "90",
            "-90",
            "37.7749",
            "-122.4194",
            "1e1",
            "1E1",
            "1e+1",
            "1e-1",
            "12.5e-3",
            "0.1e2",
            "18446744073709551615",
            "18446744073709551616",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "0.000000000000000000001",
            "1e22",
            "1e23",
            "1e-22",
            "1e-23",
            "4.9e-324",
            "1e400",
            "123456789012345678901234567890",
            // Longer than 40 bytes: the full checks.
            "123456789012345678901234567890123456789012345",
            "0.0000000000000000000000000000000000000000001",
            "37.774900000000000000000000000000000000000000",
        ]
        .iter()
        .map(|token| (*token).to_owned())
        .collect();
        for _ in 0..20_000 {
            let digits: String = (0..1 + random(20))
                .map(|_| char::from(b'0' + random(10) as u8))
                .collect();
            let digits = digits.trim_start_matches('0');
            let digits = if digits.is_empty() { "0" } else { digits };
            let cut = 1 + random(digits.len() as u64) as usize;
            let mut token = String::new();
            if random(2) == 0 {
                token.push('-');
            }
            token.push_str(&digits[..cut]);
            if cut < digits.len() {
                token.push('.');
                token.push_str(&digits[cut..]);
            }
            if random(3) == 0 {
                token.push_str(&format!("e{}", random(60) as i64 - 30));
            }
            tokens.push(token);
        }
        let mut converted = 0;
        for token in &tokens {
            if let Some(value) = super::number(token) {
                let expected: Value = serde_json::from_str(token).expect("serde_json reads it too");
                assert_eq!(value, expected, "{token}");
                assert_eq!(value.is_f64(), expected.is_f64(), "{token}");
                assert_eq!(value.is_i64(), expected.is_i64(), "{token}");
            }
            let expected: Result<f64, _> = serde_json::from_str(token);
            if let Some(value) = super::float(token) {
                converted += 1;
                let expected = expected.expect("serde_json reads it too");
                assert_eq!(value.to_bits(), expected.to_bits(), "{token}");
            }
        }
        assert!(converted > 10_000, "converted {converted}");
    }

    #[test]
    fn fields_are_listed_in_order() {
        for (index, field) in super::Field::ALL.into_iter().enumerate() {
            assert_eq!(field as usize, index);
            assert_eq!(super::Field::from_key(field.name()), Some(field));
            let mut spelled = field.name().as_bytes().to_vec();
            spelled.extend_from_slice(b"\": 1");
            assert_eq!(super::Field::spelled_at_start_of(&spelled), Some(field));
        }
    }

    /// The eight-bytes-at-a-time search finds what a byte-by-byte one finds.
    #[test]
    fn string_end_finds_the_first_special_byte() {
        let mut rng = XorShift(0x0123_4567_89ab_cdef);
        let mut random = move |bound: usize| rng.index(bound);
        const BYTES: &[u8] = b"abc \"\\\x00\x1f\x20\x7f\x80\xff\x21\x22\x23\x5b\x5c\x5d";
        for _ in 0..20_000 {
            let bytes: Vec<u8> = (0..random(40))
                .map(|_| {
                    if random(4) == 0 {
                        BYTES[random(BYTES.len())]
                    } else {
                        b'a'
                    }
                })
                .collect();
            let start = random(bytes.len() + 1);
            let expected = (start..bytes.len())
                .find(|&at| matches!(bytes[at], b'"' | b'\\' | 0..=0x1f))
                .unwrap_or(bytes.len());
            assert_eq!(
                super::string_end(&bytes, start),
                expected,
                "{bytes:?} from {start}"
            );
        }
    }
}
