//! The test kit (feature `testing`): its samples decode as the kinds they name, its requests
//! pass (and fail) the pipeline's checks as Prepared's would, and its tokens validate against
//! the validators a receiver builds, through a JWKS it serves.

use std::collections::HashSet;
use std::time::Duration;

use prepared_core::auth::{AuthError, JwtValidator};
use prepared_core::testing::{JwksServer, Sample, TestIssuer, WebhookRequest};
use prepared_core::{AckMode, Event, EventKind, Webhooks};

use crate::support::{TOKEN, bearer};

#[test]
fn every_kind_has_a_sample_that_decodes_as_that_kind() {
    for kind in EventKind::ALL {
        let Some(sample) = Sample::of_kind(kind) else {
            assert_eq!(kind, EventKind::Unknown);
            continue;
        };
        let event = sample.event();
        assert_eq!(event.kind(), kind);
        assert_eq!(event.incident_id(), Some(sample.incident_id()), "{kind:?}");
    }
}

#[test]
fn samples_are_fresh_unless_given_the_same_ids() {
    let keys: HashSet<_> = (0..20)
        .flat_map(|_| Sample::all())
        .map(|sample| sample.dedup_key())
        .collect();
    assert_eq!(keys.len(), 100);

    let first = Sample::note_created();
    let id = uuid::Uuid::new_v4();
    let moved = Sample::note_created().incident(first.incident_id()).id(id);
    assert_eq!(moved.event().incident_id(), Some(first.incident_id()));
    assert_eq!(moved.dedup_key().as_str(), format!("note_created:{id}"));
}

#[test]
fn edited_samples_fail_as_prepared_s_payloads_would() {
    let error = Sample::caller_location()
        .without("incident_id")
        .decode()
        .expect_err("incident_id is required");
    assert_eq!(
        error.to_string(),
        "caller_location event: required field `incident_id` is missing"
    );
    let Event::CallerLocation(location) = Sample::caller_location()
        .with("uncertainty_radius_m", 12)
        .event()
    else {
        panic!("not a caller location")
    };
    assert_eq!(location.lat, 37.7749);
}

#[test]
fn a_sample_s_debug_shows_no_phone_number_or_coordinate() {
    let shown = format!(
        "{:?} {:?}",
        Sample::incident_metadata(),
        Sample::caller_location()
    );
    assert!(!shown.contains("5555550123"), "{shown}");
    assert!(!shown.contains("37.77"), "{shown}");
}

#[tokio::test]
async fn kit_requests_pass_and_fail_the_pipeline_s_checks() {
    let webhooks = Webhooks::builder()
        .authenticator(bearer())
        .ack_mode(AckMode::AfterProcessing)
        .on_event(|_event: Event| async {})
        .build()
        .expect("builds");
    for sample in Sample::all() {
        let response = webhooks
            .handle(sample.request().bearer(TOKEN).build())
            .await;
        assert_eq!(response.status(), 200, "{sample:?}");
    }
    assert_eq!(webhooks.stats().processed, 5);

    let sample = Sample::media();
    let cases = [
        (sample.request(), 401),
        (sample.request().bearer("another-token"), 401),
        (sample.request().bearer(TOKEN).without_content_type(), 415),
        (
            sample.request().bearer(TOKEN).method(http::Method::GET),
            405,
        ),
        (WebhookRequest::new("{").bearer(TOKEN), 400),
    ];
    for (request, status) in cases {
        let response = webhooks.handle(request.clone().build()).await;
        assert_eq!(response.status(), status, "{request:?}");
    }
}

#[tokio::test]
async fn hs256_tokens_validate_with_the_issuer_s_secret_only() {
    let issuer = TestIssuer::hs256();
    let validator = |issuer: &TestIssuer| {
        JwtValidator::hs256(issuer.secret().expect("a secret"))
            .issuer(TestIssuer::ISSUER)
            .audience(TestIssuer::AUDIENCE)
            .build()
            .expect("a validator")
    };
    let token = issuer.token().client_id("ecc-north").sign();
    let info = validator(&issuer)
        .validate(token.as_bytes())
        .await
        .expect("valid");
    assert_eq!(info.client_id.as_deref(), Some("ecc-north"));

    let other = TestIssuer::hs256();
    let refused = validator(&other).validate(token.as_bytes()).await;
    assert!(
        matches!(refused, Err(AuthError::Invalid { .. })),
        "{refused:?}"
    );

    let expired = issuer.token().expired(Duration::from_secs(600)).sign();
    let refused = validator(&issuer).validate(expired.as_bytes()).await;
    assert!(
        matches!(refused, Err(AuthError::Invalid { .. })),
        "{refused:?}"
    );
}

#[tokio::test]
async fn rs256_tokens_validate_through_the_kit_s_jwks_and_follow_a_rotation() {
    let first = TestIssuer::rs256();
    let second = TestIssuer::rs256();
    let jwks = JwksServer::start(&[&first]).await.expect("serves");
    let validator = JwtValidator::jwks(jwks.url())
        .issuer(TestIssuer::ISSUER)
        .audience(TestIssuer::AUDIENCE)
        .refresh_cooldown(Duration::from_secs(1))
        .build()
        .expect("a validator");

    let token = first.token().typ("at+jwt").sign();
    let info = validator.validate(token.as_bytes()).await.expect("valid");
    assert_eq!(info.client_id.as_deref(), Some("prepared"));

    jwks.publish(&[&first, &second]);
    // An unknown key id is looked up again once the refresh cooldown has passed.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let rotated = second.token().client_id("ecc-south").sign();
    let info = validator
        .validate(rotated.as_bytes())
        .await
        .expect("the new key is fetched");
    assert_eq!(info.client_id.as_deref(), Some("ecc-south"));
}

#[tokio::test]
async fn with_the_kit_s_jwks_stopped_a_token_gets_unavailable() {
    let issuer = TestIssuer::rs256();
    let jwks = JwksServer::start(&[&issuer]).await.expect("serves");
    jwks.stop();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let validator = JwtValidator::jwks(jwks.url())
        .any_audience()
        .build()
        .expect("a validator");
    let refused = validator.validate(issuer.token().sign().as_bytes()).await;
    assert!(
        matches!(refused, Err(AuthError::Unavailable { .. })),
        "{refused:?}"
    );
}
