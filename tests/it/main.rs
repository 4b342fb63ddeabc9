//! The end-to-end tests of the workspace, over real HTTP through both adapters, in one
//! binary: one module per area.

mod support;

mod authenticate;
mod bad_input;
mod chaos;
mod delivery_log;
mod end_to_end;
mod extractors;
mod metrics;
mod no_secrets_in_logs;
mod oauth;
mod readiness;
mod readme;
mod receiver_config;
mod tenants;
mod token_throttle;
