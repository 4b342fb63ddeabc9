//! The delivery context: each callback, dead letter and invalid payload sees who sent the
//! delivery (principal and tenant), when, which attempt it is, and its dedup key and payload;
//! a credential of one tenant is never reported as another's.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use prepared_core::auth::{BearerToken, JwtSecret, JwtValidator, StaticBearer};
use prepared_core::delivery::{DeadLetter, Delivery, InvalidPayload, RetryPolicy};
use prepared_core::event::CallerLocation;
use prepared_core::{AckMode, Webhooks};
use serde_json::json;

use crate::support::oauth::{AUDIENCE, ISSUER, SECRET, claims, hs256};
use crate::support::{body_json, caller_location, delivery_with_token, eventually_async};

/// What a callback saw: the event's id, the tenant, the principal's name and the attempt.
type Seen = Arc<Mutex<Vec<(u128, Option<String>, String, u32)>>>;

fn recorder(seen: &Seen) -> impl Fn(CallerLocation, Delivery) -> std::future::Ready<()> + use<> {
    let seen = Arc::clone(seen);
    move |location: CallerLocation, delivery: Delivery| {
        seen.lock().expect("lock").push((
            location.id.as_u128(),
            delivery.tenant().map(str::to_owned),
            delivery.principal().name(),
            delivery.attempt(),
        ));
        std::future::ready(())
    }
}

#[tokio::test]
async fn each_dispatch_centers_token_yields_its_own_tenant() {
    let seen: Seen = Arc::default();
    let webhooks = Webhooks::builder()
        .authenticator(StaticBearer::new([
            BearerToken::new("token-of-king-county").label("ecc-king-county"),
            BearerToken::new("token-of-pierce-county").label("ecc-pierce-county"),
            BearerToken::new("unlabelled-token"),
        ]))
        .on_caller_location(recorder(&seen))
        .build()
        .expect("builds");

    let tokens = [
        (
            "token-of-king-county",
            Some("ecc-king-county"),
            "ecc-king-county",
        ),
        (
            "token-of-pierce-county",
            Some("ecc-pierce-county"),
            "ecc-pierce-county",
        ),
        ("unlabelled-token", None, "token-2"),
    ];
    for round in 0..10u128 {
        for (n, (token, _, _)) in tokens.iter().enumerate() {
            let id = round * 10 + n as u128;
            let answer = webhooks
                .handle(delivery_with_token(token, caller_location(id % 3, id)))
                .await;
            assert_eq!(answer.status(), 200);
        }
    }
    eventually_async("30 processed", || webhooks.stats().processed == 30).await;
    let seen = seen.lock().expect("lock");
    assert_eq!(seen.len(), 30);
    for (id, tenant, principal, attempt) in seen.iter() {
        let (_, expected_tenant, expected_principal) = tokens[(*id % 10) as usize];
        assert_eq!(tenant.as_deref(), expected_tenant, "event {id}");
        assert_eq!(principal, expected_principal, "event {id}");
        assert_eq!(*attempt, 1);
    }
}

#[tokio::test]
async fn oauth_client_ids_map_to_tenants_through_the_table_or_name_themselves() {
    let seen: Seen = Arc::default();
    let validator = JwtValidator::hs256(JwtSecret::new(SECRET))
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .build()
        .expect("a validator");
    let webhooks = Webhooks::builder()
        .authenticator(validator)
        .tenant_for_client_id("prepared-ecc-1", "ecc-king-county")
        .tenant_for_client_id("prepared-ecc-2", "ecc-pierce-county")
        .on_caller_location(recorder(&seen))
        .build()
        .expect("builds");

    let clients = [
        ("prepared-ecc-1", "ecc-king-county"),
        ("prepared-ecc-2", "ecc-pierce-county"),
        ("prepared-ecc-3", "prepared-ecc-3"),
    ];
    for (n, (client_id, _)) in clients.iter().enumerate() {
        let token = hs256(&claims(json!({ "client_id": client_id })));
        let answer = webhooks
            .handle(delivery_with_token(&token, caller_location(1, n as u128)))
            .await;
        assert_eq!(answer.status(), 200);
    }
    eventually_async("3 processed", || webhooks.stats().processed == 3).await;
    let mut seen = seen.lock().expect("lock").clone();
    seen.sort();
    for ((_, tenant, principal, _), (client_id, expected)) in seen.iter().zip(clients) {
        assert_eq!(tenant.as_deref(), Some(expected));
        assert_eq!(principal, client_id);
    }
}

#[tokio::test]
async fn retries_count_their_attempts_and_the_dead_letter_keeps_the_delivery() {
    let seen: Seen = Arc::default();
    let letters: Arc<Mutex<Vec<DeadLetter>>> = Arc::default();
    let kept = Arc::clone(&letters);
    let record = recorder(&seen);
    let webhooks = Webhooks::builder()
        .authenticator(StaticBearer::new([BearerToken::new("t").label("ecc-a")]))
        .retry_policy(RetryPolicy::new(
            3,
            Duration::from_millis(1),
            Duration::from_millis(1),
        ))
        .on_caller_location(move |location: CallerLocation, delivery: Delivery| {
            let () = record(location, delivery).into_inner();
            async { Err::<(), _>("the CAD is down") }
        })
        .on_dead_letter(move |letter| {
            kept.lock().expect("lock").push(letter);
            async {}
        })
        .build()
        .expect("builds");

    let body = caller_location(4, 9);
    let answer = webhooks
        .handle(delivery_with_token("t", body.clone()))
        .await;
    assert_eq!(body_json(answer).await["status"], "queued");
    eventually_async("dead-lettered", || webhooks.stats().dead_lettered == 1).await;

    let attempts: Vec<u32> = seen
        .lock()
        .expect("lock")
        .iter()
        .map(|seen| seen.3)
        .collect();
    assert_eq!(attempts, [1, 2, 3]);
    let letters = letters.lock().expect("lock");
    let delivery = &letters[0].delivery;
    assert_eq!(delivery.tenant(), Some("ecc-a"));
    assert_eq!(delivery.raw(), &body);
    assert_eq!(
        delivery.dedup_key().as_str(),
        format!("caller_location:{}", uuid::Uuid::from_u128(9))
    );
    let age = time::OffsetDateTime::now_utc() - delivery.received_at();
    assert!(age >= time::Duration::ZERO && age < time::Duration::seconds(10));
    assert!(
        !format!("{delivery:?}").contains("37.77"),
        "Debug hides the payload"
    );
}

#[tokio::test]
async fn an_invalid_payload_says_who_sent_it() {
    let payloads: Arc<Mutex<Vec<InvalidPayload>>> = Arc::default();
    let kept = Arc::clone(&payloads);
    let webhooks = Webhooks::builder()
        .authenticator(StaticBearer::new([BearerToken::new("t").label("ecc-b")]))
        .ack_mode(AckMode::AfterProcessing)
        .on_invalid_payload(move |payload| {
            kept.lock().expect("lock").push(payload);
            async {}
        })
        .build()
        .expect("builds");

    let answer = webhooks
        .handle(delivery_with_token("t", r#"{"type": "caller_location"}"#))
        .await;
    assert_eq!(answer.status(), 400);
    eventually_async("the hook ran", || {
        !payloads.lock().expect("lock").is_empty()
    })
    .await;
    let payloads = payloads.lock().expect("lock");
    assert_eq!(payloads[0].tenant.as_deref(), Some("ecc-b"));
    assert_eq!(payloads[0].principal.label(), Some("ecc-b"));
}

/// Introspection: each opaque token is its client's, as the server says, and each client's
/// deliveries carry its own tenant.
#[tokio::test]
async fn introspected_tokens_carry_their_own_client_s_tenant() {
    use wiremock::matchers::{body_string_contains, method};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let server = MockServer::start().await;
    for (token, client_id) in [
        ("opaque-a", "prepared-ecc-1"),
        ("opaque-b", "prepared-ecc-2"),
    ] {
        Mock::given(method("POST"))
            .and(body_string_contains(format!("token={token}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "active": true, "client_id": client_id,
                "exp": crate::support::oauth::now() + 600,
            })))
            .mount(&server)
            .await;
    }
    let introspector = prepared_core::auth::Introspector::builder(
        server.uri(),
        "receiver",
        prepared_core::auth::ClientSecret::new("receiver-secret"),
    )
    .build()
    .expect("an introspector");
    let seen: Seen = Arc::default();
    let webhooks = Webhooks::builder()
        .authenticator(introspector)
        .tenant_for_client_id("prepared-ecc-1", "ecc-king-county")
        .on_caller_location(recorder(&seen))
        .build()
        .expect("builds");

    for (n, token) in ["opaque-a", "opaque-b", "opaque-a", "opaque-b"]
        .iter()
        .enumerate()
    {
        let answer = webhooks
            .handle(delivery_with_token(token, caller_location(2, n as u128)))
            .await;
        assert_eq!(answer.status(), 200);
    }
    let refused = webhooks
        .handle(delivery_with_token("opaque-c", caller_location(2, 9)))
        .await;
    assert_ne!(refused.status(), 200, "a token the server does not know");
    eventually_async("4 processed", || webhooks.stats().processed == 4).await;
    for (id, tenant, principal, _) in seen.lock().expect("lock").iter() {
        let (tenant_expected, principal_expected) = if id % 2 == 0 {
            ("ecc-king-county", "prepared-ecc-1")
        } else {
            ("prepared-ecc-2", "prepared-ecc-2")
        };
        assert_eq!(tenant.as_deref(), Some(tenant_expected), "event {id}");
        assert_eq!(principal, principal_expected, "event {id}");
    }
}
