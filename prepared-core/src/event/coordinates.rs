//! Decoding of latitude and longitude: plain `f64` fields, checked to be on Earth.
//!
//! JSON has no NaN or infinity, but a number may still be out of range (`"lat": 400`). A
//! location that cannot be plotted is rejected as a schema violation rather than handed to a
//! dispatcher's map.

use serde::{Deserialize, Deserializer, de};

/// A latitude in degrees, `-90.0..=90.0`.
pub(crate) fn latitude<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    degrees(deserializer, 90.0)
}

/// A longitude in degrees, `-180.0..=180.0`.
pub(crate) fn longitude<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    degrees(deserializer, 180.0)
}

fn degrees<'de, D: Deserializer<'de>>(deserializer: D, limit: f64) -> Result<f64, D::Error> {
    in_range(f64::deserialize(deserializer)?, limit)
}

/// Checks a latitude read as a plain `f64`.
pub(crate) fn check_latitude<E: de::Error>(value: f64) -> Result<f64, E> {
    in_range(value, 90.0)
}

/// Checks a longitude read as a plain `f64`.
pub(crate) fn check_longitude<E: de::Error>(value: f64) -> Result<f64, E> {
    in_range(value, 180.0)
}

fn in_range<E: de::Error>(value: f64, limit: f64) -> Result<f64, E> {
    if value.is_finite() && (-limit..=limit).contains(&value) {
        Ok(value)
    } else {
        Err(E::custom("coordinate out of range"))
    }
}
