//! [`Media`]: the Incident Events `media` event.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::open_enum::open_enum;
use super::wire::{Members, Wire};
use super::{DecodeError, EventKind, Timestamp};
use crate::redact::redact_option;

/// A photo, video or recording was attached to an incident (`type: "media"`, scope
/// `incident_events`).
///
/// Prepared has not published this event's field table. What is certain is decoded as typed
/// fields: `id` and `incident_id` are required, `created_at` is optional. The fields we expect
/// (`url`, `media_type`, `content_type`) are typed when present, and **every other field** is
/// kept in [`extra`](Self::extra) and serialized back, so nothing Prepared sends is lost.
///
/// `Debug` redacts `url` (a media link can grant access to a caller's photo) and shows only the
/// keys of `extra`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "media")]
#[non_exhaustive]
pub struct Media {
    /// The media item's id; it identifies this event.
    pub id: Uuid,
    /// Prepared's incident id.
    pub incident_id: Uuid,
    /// When the media was attached.
    pub created_at: Option<Timestamp>,
    /// Where the media can be fetched.
    pub url: Option<String>,
    /// What kind of media this is.
    pub media_type: Option<MediaKind>,
    /// The media's MIME type, e.g. `image/jpeg`.
    pub content_type: Option<String>,
    /// Every other field of the payload, as sent.
    #[serde(flatten, deserialize_with = "other_fields")]
    pub extra: Map<String, Value>,
}

open_enum! {
    /// The kind of a [`Media`] item (`media_type`).
    pub enum MediaKind {
        /// A photo shared by the caller.
        Photo = "photo",
        /// A video shared by the caller.
        Video = "video",
        /// An audio recording.
        Audio = "audio",
        /// A recording of a livestream.
        Livestream = "livestream",
    }
}

/// The members [`Media`]'s typed fields take, and the discriminator.
const TYPED: [&str; 7] = [
    "type",
    "id",
    "incident_id",
    "created_at",
    "url",
    "media_type",
    "content_type",
];

impl Media {
    /// The typed fields come from the one pass; [`extra`](Self::extra) takes a second one
    /// over `body` (media events are rare), which keeps every member but the typed ones.
    pub(super) fn from_wire(wire: Wire<'_>, body: &str) -> Result<Self, DecodeError> {
        let kind = EventKind::Media;
        let has_extra = wire.has_members_beside(&TYPED);
        Ok(Self {
            id: kind.required("id", wire.id)?,
            incident_id: kind.required("incident_id", wire.incident_id)?,
            created_at: kind.optional("created_at", wire.created_at)?,
            url: kind.optional("url", wire.url)?,
            media_type: kind.optional("media_type", wire.media_type)?,
            content_type: kind.optional("content_type", wire.content_type)?,
            extra: if has_extra {
                untyped_members(body)?
            } else {
                Map::new()
            },
        })
    }
}

/// Every member of `body` but the typed ones, read in a second pass that converts only those
/// members (media events are rare, and most have none). The one pass read the body as JSON,
/// so this fails only where that pass skipped a value without reading all of it (a string
/// that is not UTF-8, a value nested too deep).
fn untyped_members(body: &str) -> Result<Map<String, Value>, DecodeError> {
    let Members(members) =
        serde_json::from_str(body).map_err(|error| DecodeError::syntax(&error))?;
    members
        .into_iter()
        .filter(|(name, _)| !TYPED.contains(&name.as_ref()))
        .map(|(name, raw)| {
            let value =
                serde_json::from_str(raw.get()).map_err(|error| DecodeError::syntax(&error))?;
            Ok((name.into_owned(), value))
        })
        .collect()
}

/// The fields no typed field took, less the discriminator `type`, which serialization writes
/// itself.
fn other_fields<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Map<String, Value>, D::Error> {
    let mut fields = Map::deserialize(deserializer)?;
    fields.remove("type");
    Ok(fields)
}

impl fmt::Debug for Media {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Media")
            .field("id", &self.id)
            .field("incident_id", &self.incident_id)
            .field("created_at", &self.created_at)
            .field("url", &redact_option(&self.url))
            .field("media_type", &self.media_type)
            .field("content_type", &self.content_type)
            .field("extra", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
}
