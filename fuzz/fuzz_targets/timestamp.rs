//! Fuzz target `timestamp`: the `Timestamp` parser and its `Display` round trip.
//! The input format and the properties checked: `checks::timestamp` in `fuzz/checks.rs`.
#![no_main]

// Shared with the corpus replay test; each target uses one of its checks.
#[allow(dead_code)]
#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::timestamp(data));
