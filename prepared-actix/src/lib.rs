//! Placeholder: the actix adapter arrives with the adapters issue.
#![forbid(unsafe_code)]
