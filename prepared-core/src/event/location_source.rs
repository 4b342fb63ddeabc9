//! [`LocationSource`]: where a caller location came from, shared by both location events.

use super::open_enum::open_enum;

open_enum! {
    /// Where a caller location came from (`source` of `location_updated` and
    /// `caller_location`).
    pub enum LocationSource {
        /// Prepared's own livestream link.
        Prepared = "prepared",
        /// The RapidSOS location service.
        RapidSos = "rapid_sos",
        /// The Indigital location service.
        Indigital = "indigital",
        /// Traditional 911 ANI/ALI.
        AniAli = "ani_ali",
    }
}
