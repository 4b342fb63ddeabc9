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
        match fast::parse(input.as_bytes()) {
            Some(parsed) => Ok(parsed),
            None => Self::parse_general(input),
        }
    }

    /// [`parse`](Self::parse) with the general parsers of `time`.
    fn parse_general(input: &str) -> Result<Self, TimestampError> {
        // RFC 3339 separates date and time with `T` (or `t`), the webhook form with a space:
        // one look at that byte picks the one parser to run.
        match input.as_bytes().get(10) {
            Some(b'T' | b't') => OffsetDateTime::parse(input, &Rfc3339)
                .map_err(|_| TimestampError)
                .and_then(Self::try_from),
            _ => PrimitiveDateTime::parse(input, PREPARED_PARSE)
                .map(|datetime| Self(datetime.assume_utc()))
                .map_err(|_| TimestampError),
        }
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

/// The common shapes of both forms, read without the general parsers of `time`:
/// `YYYY-MM-DD HH:MM:SS[.f{1,9}] UTC` and `YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|±HH:MM)`.
///
/// It answers `None` for anything else (other separators or lengths, a leap second, more than
/// nine fractional digits, an invalid date...), and the general parser decides; when it
/// answers, it gives what the general parser gives (the unit tests compare both).
mod fast {
    use time::{Date, Month, PrimitiveDateTime, Time, UtcOffset};

    use super::Timestamp;

    pub(super) fn parse(input: &[u8]) -> Option<Timestamp> {
        let (head, rest) = input.split_first_chunk::<19>()?;
        let [
            y1,
            y2,
            y3,
            y4,
            b'-',
            mo1,
            mo2,
            b'-',
            d1,
            d2,
            separator,
            h1,
            h2,
            b':',
            mi1,
            mi2,
            b':',
            s1,
            s2,
        ] = *head
        else {
            return None;
        };
        let digits = [y1, y2, y3, y4, mo1, mo2, d1, d2, h1, h2, mi1, mi2, s1, s2]
            .map(|byte| byte.wrapping_sub(b'0'));
        if digits.iter().any(|&digit| digit > 9) {
            return None;
        }
        let [y1, y2, y3, y4, mo1, mo2, d1, d2, h1, h2, mi1, mi2, s1, s2] = digits;
        let two = |tens: u8, ones: u8| tens * 10 + ones;
        let year = u16::from(two(y1, y2)) * 100 + u16::from(two(y3, y4));
        let (nanosecond, rest) = fraction(rest)?;
        let offset = match (separator, rest) {
            (b' ', b" UTC") | (b'T' | b't', [b'Z' | b'z']) => UtcOffset::UTC,
            (b'T' | b't', &[sign @ (b'+' | b'-'), h1, h2, b':', m1, m2]) => {
                let hours = pair(h1, h2)?;
                if hours > 23 {
                    return None;
                }
                let (hours, minutes) =
                    (i8::try_from(hours).ok()?, i8::try_from(pair(m1, m2)?).ok()?);
                let (hours, minutes) = if sign == b'-' {
                    (-hours, -minutes)
                } else {
                    (hours, minutes)
                };
                UtcOffset::from_hms(hours, minutes, 0).ok()?
            }
            _ => return None,
        };
        // A leap second (`:60`) is left to the general parser.
        let date = Date::from_calendar_date(
            i32::from(year),
            Month::try_from(two(mo1, mo2)).ok()?,
            two(d1, d2),
        )
        .ok()?;
        let time = Time::from_hms_nano(two(h1, h2), two(mi1, mi2), two(s1, s2), nanosecond).ok()?;
        let local = PrimitiveDateTime::new(date, time);
        if offset == UtcOffset::UTC {
            return Some(Timestamp(local.assume_utc()));
        }
        local
            .assume_offset(offset)
            .checked_to_offset(UtcOffset::UTC)
            .map(Timestamp)
    }

    /// The number written by two ASCII digits.
    fn pair(tens: u8, ones: u8) -> Option<u8> {
        let (tens, ones) = (tens.wrapping_sub(b'0'), ones.wrapping_sub(b'0'));
        (tens < 10 && ones < 10).then(|| tens * 10 + ones)
    }

    /// What one to nine fractional digits are worth, in nanoseconds.
    const SCALE: [u32; 10] = [
        0,
        100_000_000,
        10_000_000,
        1_000_000,
        100_000,
        10_000,
        1_000,
        100,
        10,
        1,
    ];

    /// An optional `.` and one to nine digits, as nanoseconds, and what follows.
    fn fraction(input: &[u8]) -> Option<(u32, &[u8])> {
        let Some((b'.', mut rest)) = input.split_first() else {
            return Some((0, input));
        };
        let mut value = 0;
        let mut count = 0;
        while let Some((&byte, tail)) = rest.split_first() {
            let digit = byte.wrapping_sub(b'0');
            if digit >= 10 {
                break;
            }
            if count == 9 {
                return None;
            }
            value = value * 10 + u32::from(digit);
            count += 1;
            rest = tail;
        }
        if count == 0 {
            return None;
        }
        Some((value * SCALE[count], rest))
    }
}

#[cfg(test)]
mod tests {
    use super::{Timestamp, TimestampError, fast};
    use crate::test_random::XorShift;

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

    /// The fast reader agrees with the general parsers wherever it answers, on date-times
    /// with every component drawn from valid and invalid values.
    #[test]
    fn the_fast_reader_agrees_with_the_general_parsers() {
        let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
        let mut random = move |bound: u64| rng.below(bound);
        let suffixes = [
            " UTC", "Z", "z", "+00:00", "-00:00", "+02:00", "-05:30", "+23:59", "-23:59", "+24:00",
            "+05:60", "+5:00", "UTC", " utc", "", " UTC ", "+02:00Z",
        ];
        let mut answered = 0;
        for _ in 0..200_000 {
            let year = [0, 1, 1970, 2000, 2024, 2100, 9999][random(7) as usize];
            let month = random(14);
            let day = random(33);
            let hour = random(25);
            let minute = random(61);
            let second = random(62);
            let separator = [" ", "T", "t", "_"][random(4) as usize];
            let digits = random(12) as usize;
            let fraction: String = (0..digits)
                .map(|_| char::from(b'0' + random(10) as u8))
                .collect();
            let dot = if digits > 0 || random(8) == 0 {
                "."
            } else {
                ""
            };
            let suffix = suffixes[random(suffixes.len() as u64) as usize];
            let input = format!(
                "{year:04}-{month:02}-{day:02}{separator}{hour:02}:{minute:02}:{second:02}\
                 {dot}{fraction}{suffix}"
            );
            // Now and then a character replaced by another one.
            let input = if random(4) == 0 {
                let at = random(input.len() as u64) as usize;
                let other = [
                    '/', ':', '-', '.', ' ', 'T', 'Z', '+', 'a', '\u{e9}', '9', '0', '\0',
                ];
                let mut chars: Vec<char> = input.chars().collect();
                chars[at] = other[random(other.len() as u64) as usize];
                chars.into_iter().collect()
            } else {
                input
            };
            let general = Timestamp::parse_general(&input);
            if let Some(fast) = fast::parse(input.as_bytes()) {
                answered += 1;
                assert_eq!(Ok(fast), general, "{input}");
                assert_eq!(
                    fast.to_offset_date_time().offset(),
                    time::UtcOffset::UTC,
                    "{input}"
                );
            }
        }
        assert!(
            answered > 10_000,
            "the fast reader answered {answered} times"
        );
    }

    #[test]
    fn the_fast_reader_reads_both_forms() {
        for input in [
            "2024-01-15 10:30:00 UTC",
            "2024-01-15 10:31:02.250 UTC",
            "2025-05-23T00:08:17.426+00:00",
            "2024-01-15T12:30:00.500+02:00",
            "2024-01-15T10:30:00Z",
        ] {
            assert!(fast::parse(input.as_bytes()).is_some(), "{input}");
        }
    }

    #[test]
    fn an_instant_beyond_the_representable_years_is_an_error() {
        assert!(Timestamp::parse("9999-12-31T23:59:59-01:00").is_err());
        assert!(Timestamp::parse("0000-01-01T00:00:00+01:00").is_ok());
    }
}
