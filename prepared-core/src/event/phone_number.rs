//! [`CallerPhoneNumber`]: personal data that `Debug` never prints in full.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The phone number of a person calling 911 (E.164, e.g. `+15551234567`).
///
/// It is personal data of someone in an emergency, so `Debug` shows only its last two
/// characters (`CallerPhoneNumber("*********67")`) and there is no `Display`: reading the
/// number takes an explicit [`expose`](Self::expose). Serialization writes the full number,
/// because serializing an event reproduces Prepared's payload.
///
/// ```
/// use prepared_core::event::CallerPhoneNumber;
///
/// let number = CallerPhoneNumber::new("+15551234567");
/// assert_eq!(number.expose(), "+15551234567");
/// assert_eq!(format!("{number:?}"), r#"CallerPhoneNumber("**********67")"#);
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CallerPhoneNumber(String);

impl CallerPhoneNumber {
    /// Wraps a phone number.
    pub fn new(number: impl Into<String>) -> Self {
        Self(number.into())
    }

    /// The full number. Keep it out of logs.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CallerPhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let chars = self.0.chars().count();
        let shown = if chars >= 8 { 2 } else { 0 };
        let hidden: String = "*".repeat(chars - shown);
        let tail: String = self.0.chars().skip(chars - shown).collect();
        write!(f, "CallerPhoneNumber(\"{hidden}{tail}\")")
    }
}
