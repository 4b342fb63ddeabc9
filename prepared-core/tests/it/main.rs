//! The integration tests of prepared-core, in one binary: one module per area.

mod support;

#[cfg(feature = "oauth")]
mod auth_any_of;
mod auth_bearer;
#[cfg(feature = "oauth")]
mod auth_introspection;
#[cfg(feature = "oauth")]
mod auth_jwt;
#[cfg(feature = "oauth")]
mod auth_token_endpoint;
#[cfg(feature = "oauth")]
mod auth_token_throttle;
mod dedup_memory;
#[cfg(feature = "redis")]
mod dedup_redis;
#[cfg(feature = "oauth")]
mod delivery_context;
#[cfg(feature = "redis")]
mod delivery_durable_queue;
mod delivery_pipeline;
#[cfg(feature = "redis")]
mod delivery_redis;
mod delivery_requests;
mod dependency_failures;
mod event_cases;
mod event_examples;
mod event_properties;
mod event_redaction;
#[cfg(feature = "oauth")]
mod fuzz_corpus;
mod readiness;
mod record_pipeline;
#[cfg(feature = "postgres")]
mod record_postgres;
#[cfg(feature = "postgres")]
mod record_postgres_pipeline;
mod testing_kit;
