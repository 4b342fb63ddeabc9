//! [`CallerLocation`]: the Incident Events `caller_location` event.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::open_enum::open_enum;
use super::wire::Wire;
use super::{DecodeError, EventKind, LocationSource, Timestamp, coordinates};
use crate::redact::Redacted;

/// Prepared got location data for a caller (`type: "caller_location"`, scope
/// `incident_events`). Several may arrive per incident as the caller moves or as more accurate
/// sources answer; compare `created_at` to keep the newest.
///
/// `lat` and `lng` are required (a location without coordinates has no use) and validated to
/// be on Earth; `Debug` redacts them.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "caller_location")]
#[non_exhaustive]
pub struct CallerLocation {
    /// This location update's id; it identifies this event.
    pub id: Uuid,
    /// Prepared's incident id.
    pub incident_id: Uuid,
    /// Latitude in degrees.
    #[serde(deserialize_with = "coordinates::latitude")]
    pub lat: f64,
    /// Longitude in degrees.
    #[serde(deserialize_with = "coordinates::longitude")]
    pub lng: f64,
    /// The ANI/ALI class of service, for ANI/ALI locations only.
    pub class_of_service: Option<ClassOfService>,
    /// When the location was captured.
    pub created_at: Option<Timestamp>,
    /// Where the location came from.
    pub source: Option<LocationSource>,
}

open_enum! {
    /// The ANI/ALI class of service of a [`CallerLocation`] (`class_of_service`).
    ///
    /// Prepared does not list its values; the known variants are the NENA class-of-service
    /// codes most often seen with caller locations. Anything else, including other spellings,
    /// is kept in `Other`.
    pub enum ClassOfService {
        /// Wireless phase I: the location of the cell tower.
        WirelessPhase1 = "WPH1",
        /// Wireless phase II: the handset's own location.
        WirelessPhase2 = "WPH2",
        /// Voice over IP.
        Voip = "VOIP",
        /// A residential landline.
        Residence = "RESD",
        /// A business landline.
        Business = "BUSN",
    }
}

impl CallerLocation {
    pub(super) fn from_wire(wire: Wire<'_>) -> Result<Self, DecodeError> {
        let kind = EventKind::CallerLocation;
        Ok(Self {
            id: kind.required("id", wire.id)?,
            incident_id: kind.required("incident_id", wire.incident_id)?,
            lat: kind.coordinate("lat", wire.lat, coordinates::is_latitude)?,
            lng: kind.coordinate("lng", wire.lng, coordinates::is_longitude)?,
            class_of_service: kind.optional("class_of_service", wire.class_of_service)?,
            created_at: kind.optional("created_at", wire.created_at)?,
            source: kind.optional("source", wire.source)?,
        })
    }
}

impl fmt::Debug for CallerLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallerLocation")
            .field("id", &self.id)
            .field("incident_id", &self.incident_id)
            .field("lat", &Redacted)
            .field("lng", &Redacted)
            .field("class_of_service", &self.class_of_service)
            .field("created_at", &self.created_at)
            .field("source", &self.source)
            .finish()
    }
}
