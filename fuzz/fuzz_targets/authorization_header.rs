//! Fuzz target `authorization_header`: `bearer_token`, `StaticBearer::check`, a `JwtValidator` and the HTTP Basic credentials of `TokenRequest::parse`.
//! The input format and the properties checked: `checks::authorization_header` in `fuzz/checks.rs`.
#![no_main]

// Shared with the corpus replay test; each target uses one of its checks.
#[allow(dead_code)]
#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::authorization_header(data));
