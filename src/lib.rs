//! Support code shared by the runnable examples and the end-to-end tests of the
//! `prepared-webhooks` workspace. Not published.
#![forbid(unsafe_code)]
