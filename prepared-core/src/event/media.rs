//! [`Media`]: the Incident Events `media` event.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::Timestamp;
use super::open_enum::open_enum;
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
