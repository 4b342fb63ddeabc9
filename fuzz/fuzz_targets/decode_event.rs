//! Fuzz target `decode_event`: `Event::decode` on a webhook body, then the round trip and `Debug`.
//! The input format and the properties checked: `checks::decode_event` in `fuzz/checks.rs`.
#![no_main]

// Shared with the corpus replay test; each target uses one of its checks.
#[allow(dead_code)]
#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::decode_event(data));
