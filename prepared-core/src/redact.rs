//! Placeholders that `Debug` implementations print instead of secrets and personal data.

use std::fmt;

/// Prints `[redacted]`.
pub(crate) struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Prints `[redacted; N bytes]`: the size of a value without its content.
pub(crate) struct RedactedLen(pub(crate) usize);

impl fmt::Debug for RedactedLen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[redacted; {} bytes]", self.0)
    }
}

/// `Some([redacted])` or `None`: shows whether an optional value is present.
pub(crate) fn redact_option<T>(value: &Option<T>) -> Option<Redacted> {
    value.as_ref().map(|_| Redacted)
}
