//! Latitude and longitude: plain `f64` fields, checked to be on Earth.
//!
//! JSON has no NaN or infinity, but a number may still be out of range (`"lat": 400`). A
//! location that cannot be plotted is rejected as a schema violation rather than handed to a
//! dispatcher's map.

use serde::{Deserialize, Deserializer, de};

/// A latitude in degrees, `-90.0..=90.0`, for the event structs' own `Deserialize`.
pub(crate) fn latitude<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    checked(deserializer, is_latitude)
}

/// A longitude in degrees, `-180.0..=180.0`, for the event structs' own `Deserialize`.
pub(crate) fn longitude<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    checked(deserializer, is_longitude)
}

fn checked<'de, D: Deserializer<'de>>(
    deserializer: D,
    on_earth: fn(f64) -> bool,
) -> Result<f64, D::Error> {
    let value = f64::deserialize(deserializer)?;
    if on_earth(value) {
        Ok(value)
    } else {
        Err(de::Error::custom("coordinate out of range"))
    }
}

/// Whether `value` is a latitude: `-90.0..=90.0`.
pub(crate) fn is_latitude(value: f64) -> bool {
    (-90.0..=90.0).contains(&value)
}

/// Whether `value` is a longitude: `-180.0..=180.0`.
pub(crate) fn is_longitude(value: f64) -> bool {
    (-180.0..=180.0).contains(&value)
}
