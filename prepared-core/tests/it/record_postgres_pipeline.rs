//! The pipeline with its delivery log in PostgreSQL: the shared scenarios of
//! `record_pipeline`, an outage under `BeforeAck`, and the table as an attacker with a dump
//! would see it. Every test needs PostgreSQL (`DATABASE_URL`) and makes a database of its own.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use prepared_core::Webhooks;
use prepared_core::event::{CallerLocation, IncidentMetadata};
use prepared_core::record::{DeliveryLog, PostgresDeliveryLog, RecordStatus};
use prepared_core::testing::Sample;

use crate::record_pipeline::{
    every_outcome_is_recorded, keys, record_with_status,
    replay_after_a_fix_runs_exactly_the_dead_letters,
};
use crate::support::postgres::{Relayed, TestDatabase};
use crate::support::{bearer, delivery};

async fn log(database: &TestDatabase) -> PostgresDeliveryLog {
    PostgresDeliveryLog::connect(database.url())
        .await
        .expect("connects")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: set DATABASE_URL and run scripts/test.sh"]
async fn every_outcome_is_recorded_in_postgres() {
    let database = TestDatabase::create().await;
    every_outcome_is_recorded(Arc::new(log(&database).await)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: set DATABASE_URL and run scripts/test.sh"]
async fn replay_after_a_fix_in_postgres() {
    let database = TestDatabase::create().await;
    replay_after_a_fix_runs_exactly_the_dead_letters(Arc::new(log(&database).await)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: set DATABASE_URL and run scripts/test.sh"]
async fn before_ack_with_the_database_unreachable_answers_503_and_loses_nothing() {
    let database = TestDatabase::create().await;
    let mut relayed = Relayed::start(database.url()).await;
    let log = PostgresDeliveryLog::connect(&relayed.url)
        .await
        .expect("connects");
    let calls = Arc::new(AtomicUsize::new(0));
    let webhooks = Webhooks::builder()
        .authenticator(bearer())
        .delivery_log(log.clone())
        .record_keys(keys())
        .on_caller_location({
            let calls = Arc::clone(&calls);
            move |_: CallerLocation| {
                calls.fetch_add(1, Ordering::SeqCst);
                async {}
            }
        })
        .build()
        .expect("builds");
    let samples: Vec<Sample> = (0..5).map(|_| Sample::caller_location()).collect();

    relayed.relay.abort();
    let _ = (&mut relayed.relay).await;
    for sample in &samples {
        let refused = webhooks.handle(delivery(sample.body())).await;
        assert_eq!(refused.status(), 503, "nothing is acknowledged unrecorded");
        assert!(refused.headers().contains_key("retry-after"));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    let ready = webhooks.readiness().await;
    assert_eq!(
        ready.check("delivery_log"),
        Some(prepared_core::readiness::CheckStatus::Unreachable)
    );

    relayed.restart().await;
    // Prepared's retries, until the database is back.
    for sample in &samples {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while webhooks.handle(delivery(sample.body())).await.status() != 200 {
            assert!(tokio::time::Instant::now() < deadline, "never acknowledged");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    for sample in &samples {
        let key = sample.dedup_key();
        let record = record_with_status(&log, key.as_str(), RecordStatus::Processed).await;
        assert_eq!((record.deliveries, record.attempts), (1, 1), "{record:?}");
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        samples.len(),
        "each event once"
    );
    relayed.relay.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: set DATABASE_URL and run scripts/test.sh"]
async fn a_dump_of_the_table_holds_no_phone_number_or_coordinate_when_a_key_is_set() {
    let database = TestDatabase::create().await;
    let log = log(&database).await;
    let webhooks = Webhooks::builder()
        .authenticator(bearer())
        .delivery_log(log.clone())
        .record_keys(keys())
        .on_caller_location(|_: CallerLocation| async {})
        .on_incident_metadata(|_: IncidentMetadata| async {})
        .build()
        .expect("builds");
    let location = Sample::caller_location();
    let metadata = Sample::incident_metadata();
    for sample in [&location, &metadata] {
        assert_eq!(webhooks.handle(delivery(sample.body())).await.status(), 200);
        record_with_status(&log, sample.dedup_key().as_str(), RecordStatus::Processed).await;
    }
    let client = database.client().await;
    let rows = client
        .query(
            "SELECT row_to_json(d)::text, encode(payload, 'escape') FROM prepared_deliveries d",
            &[],
        )
        .await
        .expect("dumps");
    assert_eq!(rows.len(), 2);
    let dump: String = rows
        .iter()
        .flat_map(|row| [row.get::<_, String>(0), row.get::<_, String>(1)])
        .collect();
    let phone = "5555550123";
    let hex = |text: &str| text.bytes().map(|b| format!("{b:02x}")).collect::<String>();
    for secret in [phone, "37.7749", "-122.4194"] {
        assert!(!dump.contains(secret), "{secret} in clear in the dump");
        assert!(!dump.contains(&hex(secret)), "{secret} as hex in the dump");
    }
    assert!(dump.contains("caller_location"), "the kind stays in clear");
    // The payload reads back with the key.
    let record = log
        .get(location.dedup_key().as_str())
        .await
        .expect("gets")
        .expect("recorded");
    let payload = record.payload.expect("a payload");
    assert_eq!(
        keys()
            .open(location.dedup_key().as_str(), &payload)
            .expect("opens"),
        location.body()
    );
}
