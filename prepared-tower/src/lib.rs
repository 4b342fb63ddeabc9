//! Placeholder: the tower adapter arrives with the adapters issue.
#![forbid(unsafe_code)]
