//! Fuzz target `token_request`: `TokenRequest::parse` and `TokenEndpoint::respond`.
//! The input format and the properties checked: `checks::token_request` in `fuzz/checks.rs`.
#![no_main]

// Shared with the corpus replay test; each target uses one of its checks.
#[allow(dead_code)]
#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::token_request(data));
