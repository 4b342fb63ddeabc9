//! [`LocationUpdated`]: the CAD `location_updated` event.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::open_enum::open_enum;
use super::wire::Wire;
use super::{DecodeError, EventKind, LocationSource, Timestamp, coordinates};
use crate::redact::Redacted;

/// Prepared received an updated location for the caller of a linked CAD incident
/// (`event_type: "location_updated"`, scope `cad_incidents`).
///
/// `latitude` and `longitude` are validated to be on Earth; `Debug` redacts them.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event_type", rename = "location_updated")]
#[non_exhaustive]
pub struct LocationUpdated {
    /// This location update's id; it identifies this event.
    pub id: Uuid,
    /// Prepared's incident id.
    pub incident_id: Uuid,
    /// The partner's own CAD incident id, as given when the incident was created.
    pub cad_partner_incident_id: Option<String>,
    /// When the location was captured.
    pub created_at: Option<Timestamp>,
    /// Whose location this is (`type` on the wire; not the event discriminator).
    #[serde(rename = "type")]
    pub location_type: LocationType,
    /// Latitude in degrees.
    #[serde(deserialize_with = "coordinates::latitude")]
    pub latitude: f64,
    /// Longitude in degrees.
    #[serde(deserialize_with = "coordinates::longitude")]
    pub longitude: f64,
    /// Where the location came from.
    pub source: Option<LocationSource>,
}

open_enum! {
    /// Whose location a [`LocationUpdated`] carries (`type`).
    pub enum LocationType {
        /// The caller's location, the only type Prepared documents today.
        Caller = "caller",
    }
}

impl LocationUpdated {
    pub(super) fn from_wire(wire: Wire<'_>) -> Result<Self, DecodeError> {
        let kind = EventKind::LocationUpdated;
        Ok(Self {
            id: kind.required("id", wire.id)?,
            incident_id: kind.required("incident_id", wire.incident_id)?,
            cad_partner_incident_id: kind
                .optional("cad_partner_incident_id", wire.cad_partner_incident_id)?,
            created_at: kind.optional("created_at", wire.created_at)?,
            location_type: LocationType::from(kind.required("type", wire.type_)?.0.as_ref()),
            latitude: kind.coordinate("latitude", wire.latitude, coordinates::is_latitude)?,
            longitude: kind.coordinate("longitude", wire.longitude, coordinates::is_longitude)?,
            source: kind.optional("source", wire.source)?,
        })
    }
}

impl fmt::Debug for LocationUpdated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocationUpdated")
            .field("id", &self.id)
            .field("incident_id", &self.incident_id)
            .field("cad_partner_incident_id", &self.cad_partner_incident_id)
            .field("created_at", &self.created_at)
            .field("location_type", &self.location_type)
            .field("latitude", &Redacted)
            .field("longitude", &Redacted)
            .field("source", &self.source)
            .finish()
    }
}
