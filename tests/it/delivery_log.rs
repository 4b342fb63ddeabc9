//! The delivery log end to end: replay over HTTP through both adapters behind the admin
//! credential, and the example receivers' variables (`PREPARED_DATABASE_URL`,
//! `PREPARED_RECORD_KEY`, `PREPARED_ADMIN_TOKEN`) against a real PostgreSQL.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use prepared_core::auth::{BearerToken, StaticBearer};
use prepared_core::delivery::RetryPolicy;
use prepared_core::event::CallerLocation;
use prepared_core::record::{DeliveryLog, PostgresDeliveryLog, RecordFilter, RecordStatus};
use prepared_core::testing::Sample;
use prepared_webhooks::{REPLAY_PATH, ReceiverConfig};
use serde_json::json;

use crate::support::postgres::TestDatabase;
use crate::support::{FRAMEWORKS, PATH, TOKEN, serve};

const ADMIN: &str = "admin-token-7c1e94";

async fn post(client: &reqwest::Client, url: &str, token: &str, body: &[u8]) -> u16 {
    client
        .post(url)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .expect("answered")
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_replayed_over_http_behind_the_admin_token_in_both_frameworks() {
    let client = reqwest::Client::new();
    for framework in FRAMEWORKS {
        let broken = Arc::new(AtomicBool::new(true));
        let ran = Arc::new(AtomicUsize::new(0));
        let webhooks = prepared_core::Webhooks::builder()
            .authenticator(StaticBearer::new([BearerToken::new(TOKEN)]))
            .replay_authenticator(StaticBearer::new([BearerToken::new(ADMIN)]))
            .retry_policy(RetryPolicy::new(
                2,
                Duration::from_millis(1),
                Duration::from_millis(2),
            ))
            .on_caller_location({
                let (broken, ran) = (Arc::clone(&broken), Arc::clone(&ran));
                move |_: CallerLocation| {
                    let failing = broken.load(Ordering::SeqCst);
                    if !failing {
                        ran.fetch_add(1, Ordering::SeqCst);
                    }
                    async move {
                        match failing {
                            true => Err(std::io::Error::other("bug")),
                            false => Ok(()),
                        }
                    }
                }
            })
            .build()
            .expect("builds");
        let base = serve(framework, webhooks.clone()).await;
        let sample = Sample::caller_location();
        assert_eq!(
            post(&client, &format!("{base}{PATH}"), TOKEN, &sample.body()).await,
            200
        );
        crate::support::eventually("dead-lettered", || webhooks.stats().dead_lettered == 1).await;

        broken.store(false, Ordering::SeqCst);
        let replay = format!("{base}{REPLAY_PATH}");
        let body = json!({"filter": {"status": "dead_lettered"}}).to_string();
        assert_eq!(
            post(&client, &replay, TOKEN, body.as_bytes()).await,
            401,
            "{framework:?}: Prepared's token"
        );
        let answer = client
            .post(&replay)
            .bearer_auth(ADMIN)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .expect("answered");
        assert_eq!(answer.status(), 200, "{framework:?}");
        let report: serde_json::Value = answer.json().await.expect("a report");
        assert_eq!(report["processed"], 1, "{framework:?}: {report}");
        assert_eq!(ran.load(Ordering::SeqCst), 1, "{framework:?}");
        // Replayed once: a second request finds nothing dead-lettered.
        let again = client
            .post(&replay)
            .bearer_auth(ADMIN)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("answered");
        let again: serde_json::Value = again.json().await.expect("a report");
        assert_eq!(again["processed"], 0, "{framework:?}: {again}");
    }
}

fn config(vars: &[(&str, &str)]) -> ReceiverConfig {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    ReceiverConfig::from_vars(|name| vars.get(name).cloned()).expect("a configuration")
}

#[test]
fn a_record_key_that_is_not_32_bytes_of_base64_stops_the_receiver() {
    for key in ["not base64!", "AAAA"] {
        let refused = ReceiverConfig::from_vars(|name| {
            (name == "PREPARED_RECORD_KEY").then(|| key.to_owned())
        });
        let message = refused.expect_err("refused").to_string();
        assert!(message.contains("PREPARED_RECORD_KEY"), "{message}");
    }
    let debug = format!(
        "{:?}",
        config(&[
            (
                "PREPARED_DATABASE_URL",
                "postgres://prepared:hunter2-secret@db:5432/prepared"
            ),
            ("PREPARED_ADMIN_TOKEN", "admin-secret-value"),
        ])
    );
    assert!(
        !debug.contains("hunter2-secret") && !debug.contains("admin-secret-value"),
        "{debug}"
    );
    assert!(debug.contains("db:5432/prepared"), "{debug}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: set DATABASE_URL and run scripts/test.sh"]
async fn prepared_database_url_records_every_delivery_in_postgres_encrypted_in_both_frameworks() {
    let database = TestDatabase::create().await;
    let client = reqwest::Client::new();
    let key = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
    let config = config(&[
        ("PREPARED_WEBHOOK_TOKEN", &format!("ecc-a:{TOKEN}")),
        ("PREPARED_DATABASE_URL", database.url()),
        ("PREPARED_RECORD_KEY", key),
        ("PREPARED_ADMIN_TOKEN", ADMIN),
    ]);
    let log = PostgresDeliveryLog::connect(database.url())
        .await
        .expect("connects");
    let mut sent = Vec::new();
    for framework in FRAMEWORKS {
        let webhooks = config
            .webhooks_builder()
            .await
            .expect("a builder")
            .build()
            .expect("builds");
        let base = serve(framework, webhooks).await;
        let sample = Sample::incident_metadata();
        assert_eq!(
            post(&client, &format!("{base}{PATH}"), TOKEN, &sample.body()).await,
            200
        );
        assert_eq!(
            post(&client, &format!("{base}{PATH}"), TOKEN, b"{}").await,
            400
        );
        sent.push(sample);
    }
    for sample in &sent {
        let key = sample.dedup_key();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let record = loop {
            match log.get(key.as_str()).await.expect("gets") {
                Some(record) if record.status == RecordStatus::Processed => break record,
                _ => assert!(
                    tokio::time::Instant::now() < deadline,
                    "{key} not processed"
                ),
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(record.tenant.as_deref(), Some("ecc-a"));
        assert!(record.payload.expect("a payload").is_encrypted());
    }
    let invalid = log
        .find(&RecordFilter::new().status(RecordStatus::Invalid))
        .await
        .expect("finds");
    assert_eq!(invalid.len(), 2, "the 400s are on record too: {invalid:?}");
}
