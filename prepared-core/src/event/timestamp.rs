//! [`Timestamp`]: the date-times of Prepared's webhooks.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use time::format_description::BorrowedFormatItem;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// Prepared's webhook form, `2024-01-15 10:30:00 UTC`, with optional fractional seconds.
const PREPARED_PARSE: &[BorrowedFormatItem<'_>] = format_description!(
    "[year]-[month]-[day] [hour]:[minute]:[second][optional [.[subsecond]]] UTC"
);
const PREPARED_WHOLE_SECONDS: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
const PREPARED_FRACTIONAL: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second].[subsecond] UTC");

/// An instant in time, as Prepared's webhooks carry it.
///
/// Parsing accepts both forms Prepared uses: the webhook form `2024-01-15 10:30:00 UTC`
/// (with or without fractional seconds) and RFC 3339 (`2025-05-23T00:08:17.426+00:00`).
/// The instant is kept in UTC; serializing writes the webhook form, with fractional seconds
/// only when there are any, so an event serializes back to Prepared's wire shape.
///
/// ```
/// use prepared_core::Timestamp;
///
/// let webhook: Timestamp = "2024-01-15 10:30:00.5 UTC".parse()?;
/// let rfc3339: Timestamp = "2024-01-15T12:30:00.500+02:00".parse()?;
/// assert_eq!(webhook, rfc3339);
/// assert_eq!(webhook.to_string(), "2024-01-15 10:30:00.5 UTC");
/// # Ok::<(), prepared_core::event::TimestampError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

/// A string that is neither of the date-time forms [`Timestamp`] accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a date-time in the form `YYYY-MM-DD HH:MM:SS[.fff] UTC` or RFC 3339")]
pub struct TimestampError;

impl Timestamp {
    /// Parses either accepted form (see the type's documentation).
    pub fn parse(input: &str) -> Result<Self, TimestampError> {
        // RFC 3339 separates date and time with `T` (or `t`), the webhook form with a space.
        match input.as_bytes().get(10) {
            Some(b'T' | b't') => Self::parse_rfc3339(input),
            _ => Self::parse_webhook_form(input),
        }
    }

    fn parse_rfc3339(input: &str) -> Result<Self, TimestampError> {
        OffsetDateTime::parse(input, &Rfc3339)
            .map_err(|_| TimestampError)
            .and_then(Self::try_from)
    }

    /// The webhook form is RFC 3339's in UTC with ` ` for `T` and ` UTC` for `Z`: rewritten
    /// that way, it is read by `time`'s RFC 3339 parser, several times quicker than its
    /// format-description parser, which reads what the rewrite does not take.
    fn parse_webhook_form(input: &str) -> Result<Self, TimestampError> {
        let mut buffer = [0; 40];
        let rewritable = input
            .strip_suffix(" UTC")
            .filter(|utc| utc.len() < buffer.len() && utc.as_bytes().get(10) == Some(&b' '));
        if let Some(utc) = rewritable {
            let rfc3339 = &mut buffer[..=utc.len()];
            rfc3339[..utc.len()].copy_from_slice(utc.as_bytes());
            rfc3339[10] = b'T';
            rfc3339[utc.len()] = b'Z';
            // An ASCII byte replaced another: still UTF-8.
            if let Ok(parsed) = std::str::from_utf8(rfc3339)
                .map_err(|_| TimestampError)
                .and_then(Self::parse_rfc3339)
            {
                return Ok(parsed);
            }
        }
        PrimitiveDateTime::parse(input, PREPARED_PARSE)
            .map(|datetime| Self(datetime.assume_utc()))
            .map_err(|_| TimestampError)
    }

    /// The instant of a parsed RFC 3339 date-time, in UTC; an error when it lies outside
    /// the years `time` can represent once moved to UTC (`9999-12-31T23:59:59-01:00`), where
    /// [`OffsetDateTime::to_offset`] would panic.
    fn from_offset(datetime: OffsetDateTime) -> Result<Self, TimestampError> {
        datetime
            .checked_to_offset(UtcOffset::UTC)
            .map(Self)
            .ok_or(TimestampError)
    }

    /// The instant as a [`time::OffsetDateTime`] in UTC.
    pub fn to_offset_date_time(self) -> OffsetDateTime {
        self.0
    }

    /// Nanoseconds since the Unix epoch: a compact, unambiguous form of the instant.
    pub fn unix_timestamp_nanos(self) -> i128 {
        self.0.unix_timestamp_nanos()
    }
}

/// The instant of any date-time; an error when it lies past year 9999 (or before year -9999)
/// once moved to UTC, which a `Timestamp` cannot hold.
impl TryFrom<OffsetDateTime> for Timestamp {
    type Error = TimestampError;

    fn try_from(datetime: OffsetDateTime) -> Result<Self, TimestampError> {
        Self::from_offset(datetime)
    }
}

impl From<Timestamp> for OffsetDateTime {
    fn from(timestamp: Timestamp) -> Self {
        timestamp.0
    }
}

impl std::str::FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Self::parse(input)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let format = if self.0.nanosecond() == 0 {
            PREPARED_WHOLE_SECONDS
        } else {
            PREPARED_FRACTIONAL
        };
        // Formatting fails only for years beyond four digits, which parsing never yields.
        let text = self.0.format(format).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimestampVisitor;

        impl de::Visitor<'_> for TimestampVisitor {
            type Value = Timestamp;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a date-time string")
            }

            fn visit_str<E: de::Error>(self, input: &str) -> Result<Timestamp, E> {
                Timestamp::parse(input).map_err(E::custom)
            }
        }

        deserializer.deserialize_str(TimestampVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::{Timestamp, TimestampError};

    /// Past year 9999 once in UTC: an error, never a panic (found by the fuzzer).
    #[test]
    fn instants_past_year_9999_in_utc_are_errors() {
        for text in ["9999-12-31T23:59:59-01:00", "9999-12-31T23:59:59-23:59"] {
            assert_eq!(Timestamp::parse(text), Err(TimestampError), "{text}");
        }
        let late = time::macros::datetime!(9999-12-31 23:59:59 -01:00);
        assert_eq!(Timestamp::try_from(late), Err(TimestampError));
        let fine = time::macros::datetime!(9999-12-31 23:59:59 +01:00);
        assert!(Timestamp::try_from(fine).is_ok());
    }

    #[test]
    fn an_instant_beyond_the_representable_years_is_an_error() {
        assert!(Timestamp::parse("9999-12-31T23:59:59-01:00").is_err());
        assert!(Timestamp::parse("0000-01-01T00:00:00+01:00").is_ok());
    }
}
