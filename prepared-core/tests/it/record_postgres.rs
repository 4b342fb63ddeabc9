//! The PostgreSQL delivery log against a real PostgreSQL:
//! `DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo test -p prepared-core
//! --all-features --test it record_postgres -- --include-ignored`. Every test needs the server,
//! so each is `#[ignore]`d (a plain `cargo test` reports them as ignored), and each makes a
//! database of its own (`support::postgres::TestDatabase`), so they run in parallel. Where the
//! in-memory log can answer the same question, the PostgreSQL log's answer is compared with
//! it: the two must behave the same.

use std::time::{Duration, Instant};

use bytes::Bytes;
use prepared_core::record::{
    Backlog, DeliveryLog, DeliveryRecord, LogError, MemoryDeliveryLog, NewRecord, Outcome,
    PostgresConnectError, PostgresDeliveryLog, RecordFilter, RecordKey, RecordKeys, RecordStatus,
    SealedPayload,
};
use time::OffsetDateTime;
use time::macros::datetime;
use tokio::net::TcpListener;
use uuid::Uuid;

use crate::support::postgres::{Relayed, TestDatabase};
use crate::support::redis_server::free_port;

/// `seconds` after a fixed instant, in whole seconds (PostgreSQL keeps microseconds).
fn at(seconds: i64) -> OffsetDateTime {
    datetime!(2026-03-01 14:02 UTC) + time::Duration::seconds(seconds)
}

/// A `caller_location` of `incident` for `tenant`, received at `at(seconds)`.
fn delivery(key: &str, incident: u128, tenant: &str, seconds: i64) -> NewRecord {
    let mut record = NewRecord::received(
        key,
        "prepared-prod",
        at(seconds),
        SealedPayload::clear(Bytes::from(format!(r#"{{"key": "{key}"}}"#))),
    );
    record.kind = Some("caller_location".to_owned());
    record.incident_id = Some(Uuid::from_u128(incident));
    record.tenant = Some(tenant.to_owned());
    record
}

async fn log(database: &TestDatabase) -> PostgresDeliveryLog {
    PostgresDeliveryLog::connect(database.url())
        .await
        .expect("the log connects and migrates")
}

async fn insert(log: &impl DeliveryLog, record: &NewRecord) {
    log.insert(record).await.expect("inserts");
}

async fn get(log: &impl DeliveryLog, key: &str) -> DeliveryRecord {
    log.get(key)
        .await
        .expect("gets")
        .unwrap_or_else(|| panic!("{key} is on record"))
}

async fn keys(log: &impl DeliveryLog, filter: &RecordFilter) -> Vec<String> {
    log.find(filter)
        .await
        .expect("finds")
        .into_iter()
        .map(|record| record.dedup_key)
        .collect()
}

/// Both logs, for the operations whose results must be the same.
async fn on_both(postgres: &PostgresDeliveryLog, memory: &MemoryDeliveryLog, record: &NewRecord) {
    insert(postgres, record).await;
    insert(memory, record).await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set DATABASE_URL and run scripts/test.sh"]
async fn insert_then_get_round_trips_every_field_and_find_has_no_payload() {
    let database = TestDatabase::create().await;
    let log = log(&database).await;
    let keys = RecordKeys::new(RecordKey::new(&[7; 32]));

    let mut sealed = delivery("caller_location:1", 10, "ecc-king-county", 0);
    sealed.payload = keys
        .seal(&sealed.key, br#"{"phone": "+15551234567"}"#)
        .expect("seals");
    let mut invalid = NewRecord::received(
        "invalid:7c0c9a0e-5d4e-4b8e-9f55-2d0c8a6f1e01",
        "prepared-staging",
        at(1),
        SealedPayload::clear(Bytes::from_static(b"{not json")),
    );
    invalid.status = RecordStatus::Invalid;
    invalid.error = Some("expected a JSON object at line 1 column 2".to_owned());
    insert(&log, &sealed).await;
    insert(&log, &invalid).await;

    let stored = get(&log, &sealed.key).await;
    assert_eq!(stored, DeliveryRecord::from_new(&sealed));
    let payload = stored.payload.as_ref().expect("get reads the payload");
    assert_eq!(payload.key_id(), Some(RecordKey::new(&[7; 32]).id()));
    assert_eq!(payload.stored_bytes(), sealed.payload.stored_bytes());
    assert_eq!(
        keys.open(&sealed.key, payload).expect("opens"),
        &br#"{"phone": "+15551234567"}"#[..]
    );
    let stored = get(&log, &invalid.key).await;
    assert_eq!(stored, DeliveryRecord::from_new(&invalid));
    assert_eq!(stored.status, RecordStatus::Invalid);
    assert_eq!(stored.kind, None);
    assert_eq!(stored.incident_id, None);
    assert_eq!(
        stored.payload.and_then(|p| p.key_id().map(str::to_owned)),
        None
    );

    let found = log.find(&RecordFilter::new()).await.expect("finds");
    assert_eq!(found.len(), 2);
    assert!(found.iter().all(|record| record.payload.is_none()));
    let mut expected = DeliveryRecord::from_new(&sealed);
    expected.payload = None;
    assert_eq!(found[0], expected);
    assert_eq!(
        log.get("caller_location:unknown").await.expect("gets"),
        None
    );
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set DATABASE_URL and run scripts/test.sh"]
async fn a_redelivery_counts_and_revives_a_dead_letter_as_in_memory() {
    let database = TestDatabase::create().await;
    let log = log(&database).await;
    let memory = MemoryDeliveryLog::new(100);
    let first = delivery("caller_location:1", 10, "ecc", 0);
    on_both(&log, &memory, &first).await;

    let mut again = delivery("caller_location:1", 10, "ecc", 30);
    again.payload = SealedPayload::clear(Bytes::from_static(b"another body"));
    again.principal = "someone-else".to_owned();
    on_both(&log, &memory, &again).await;
    let stored = get(&log, &first.key).await;
    assert_eq!(stored.deliveries, 2);
    assert_eq!(stored.received_at, at(0), "the first reception is kept");
    assert_eq!(stored.last_received_at, at(30));
    assert_eq!(stored.principal, "prepared-prod");
    assert_eq!(stored.status, RecordStatus::Received);
    assert_eq!(stored.updated_at, at(0));
    assert_eq!(
        stored.payload,
        Some(first.payload.clone()),
        "the payload is stored once"
    );
    assert_eq!(stored, get(&memory, &first.key).await);

    let dead = Outcome::new(RecordStatus::DeadLettered, 5, Some("timeout".to_owned()));
    log.update(&first.key, &dead).await.expect("updates");
    assert_eq!(
        get(&log, &first.key).await.status,
        RecordStatus::DeadLettered
    );
    let third = delivery("caller_location:1", 10, "ecc", 60);
    insert(&log, &third).await;
    let revived = get(&log, &first.key).await;
    assert_eq!(revived.status, RecordStatus::Received);
    assert_eq!(revived.deliveries, 3);
    assert_eq!(revived.last_received_at, at(60));
    assert_eq!(revived.updated_at, at(60));
    assert_eq!(revived.attempts, 5, "the attempts are kept");
    assert_eq!(revived.last_error.as_deref(), Some("timeout"));

    // A redelivery of a processed record leaves its status and update time alone.
    let done = Outcome::new(RecordStatus::Processed, 1, None);
    log.update(&first.key, &done).await.expect("updates");
    let processed = get(&log, &first.key).await;
    insert(&log, &delivery("caller_location:1", 10, "ecc", 90)).await;
    let after = get(&log, &first.key).await;
    assert_eq!(after.status, RecordStatus::Processed);
    assert_eq!(after.updated_at, processed.updated_at);
    assert_eq!(after.deliveries, 4);
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set DATABASE_URL and run scripts/test.sh"]
async fn update_accumulates_attempts_and_keeps_the_last_error() {
    let database = TestDatabase::create().await;
    let log = log(&database).await;
    let record = delivery("caller_location:1", 10, "ecc", 0);
    insert(&log, &record).await;

    let before = OffsetDateTime::now_utc() - Duration::from_secs(5);
    let failed = Outcome::new(RecordStatus::Failed, 2, Some("callback: 500".to_owned()));
    log.update(&record.key, &failed).await.expect("updates");
    let stored = get(&log, &record.key).await;
    assert_eq!(stored.status, RecordStatus::Failed);
    assert_eq!(stored.attempts, 2);
    assert_eq!(stored.last_error.as_deref(), Some("callback: 500"));
    assert!(
        stored.updated_at > before,
        "updated now: {}",
        stored.updated_at
    );

    let processed = Outcome::new(RecordStatus::Processed, 1, None);
    log.update(&record.key, &processed).await.expect("updates");
    let stored = get(&log, &record.key).await;
    assert_eq!(stored.status, RecordStatus::Processed);
    assert_eq!(stored.attempts, 3);
    assert_eq!(stored.last_error.as_deref(), Some("callback: 500"), "kept");
    assert_eq!(stored.deliveries, 1);
    assert_eq!(stored.received_at, at(0));

    let replaced = Outcome::new(RecordStatus::Failed, 4, Some("callback: 502".to_owned()));
    log.update(&record.key, &replaced).await.expect("updates");
    let stored = get(&log, &record.key).await;
    assert_eq!(stored.attempts, 7);
    assert_eq!(stored.last_error.as_deref(), Some("callback: 502"));

    let everything = log.find(&RecordFilter::new()).await.expect("finds");
    log.update("caller_location:unknown", &processed)
        .await
        .expect("an unknown key is ignored");
    assert_eq!(
        log.find(&RecordFilter::new()).await.expect("finds"),
        everything
    );
    assert_eq!(
        log.get("caller_location:unknown").await.expect("gets"),
        None
    );
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set DATABASE_URL and run scripts/test.sh"]
async fn find_applies_each_condition_alone_and_combined_oldest_first() {
    let database = TestDatabase::create().await;
    let log = log(&database).await;
    let memory = MemoryDeliveryLog::new(100);
    // Inserted out of order: `find` orders by first reception.
    let mut records = vec![
        delivery("e:5", 1, "ecc-a", 50),
        delivery("e:1", 1, "ecc-a", 10),
        delivery("e:3", 2, "ecc-b", 30),
        delivery("e:2", 1, "ecc-b", 20),
        delivery("e:4", 2, "ecc-a", 40),
        delivery("e:6", 3, "ecc-b", 60),
    ];
    records[0].kind = Some("incident_update".to_owned());
    records[2].kind = Some("incident_update".to_owned());
    for record in &records {
        on_both(&log, &memory, record).await;
    }
    let failed = Outcome::new(RecordStatus::Failed, 1, Some("boom".to_owned()));
    for key in ["e:2", "e:5", "e:6"] {
        log.update(key, &failed).await.expect("updates");
        memory.update(key, &failed).await.expect("updates");
    }

    let incident = |n| Uuid::from_u128(n);
    let cases = [
        (
            RecordFilter::new(),
            vec!["e:1", "e:2", "e:3", "e:4", "e:5", "e:6"],
        ),
        (
            RecordFilter::new().incident(incident(1)),
            vec!["e:1", "e:2", "e:5"],
        ),
        (
            RecordFilter::new().tenant("ecc-b"),
            vec!["e:2", "e:3", "e:6"],
        ),
        (
            RecordFilter::new().kind("incident_update"),
            vec!["e:3", "e:5"],
        ),
        (
            RecordFilter::new().status(RecordStatus::Failed),
            vec!["e:2", "e:5", "e:6"],
        ),
        (
            RecordFilter::new().status(RecordStatus::DeadLettered),
            vec![],
        ),
        (
            RecordFilter::new().since(at(30)),
            vec!["e:3", "e:4", "e:5", "e:6"],
        ),
        (RecordFilter::new().until(at(30)), vec!["e:1", "e:2"]),
        (
            RecordFilter::new().since(at(20)).until(at(50)),
            vec!["e:2", "e:3", "e:4"],
        ),
        (RecordFilter::new().limit(2), vec!["e:1", "e:2"]),
        (RecordFilter::new().limit(0), vec![]),
        (
            RecordFilter::new().tenant("ecc-a").incident(incident(1)),
            vec!["e:1", "e:5"],
        ),
        (
            RecordFilter::new()
                .tenant("ecc-b")
                .status(RecordStatus::Failed)
                .since(at(30)),
            vec!["e:6"],
        ),
        (
            RecordFilter::new()
                .kind("caller_location")
                .status(RecordStatus::Received)
                .limit(2),
            vec!["e:1", "e:4"],
        ),
        (
            RecordFilter::new()
                .incident(incident(2))
                .kind("incident_update")
                .tenant("ecc-b")
                .status(RecordStatus::Received)
                .since(at(0))
                .until(at(31)),
            vec!["e:3"],
        ),
        (RecordFilter::new().tenant("x' OR '1'='1"), vec![]),
    ];
    for (filter, expected) in cases {
        let found = keys(&log, &filter).await;
        assert_eq!(found, expected, "{filter:?}");
        assert_eq!(
            found,
            keys(&memory, &filter).await,
            "as in memory: {filter:?}"
        );
    }
    let in_postgres = log.find(&RecordFilter::new()).await.expect("finds");
    let in_memory = memory.find(&RecordFilter::new()).await.expect("finds");
    assert_eq!(in_postgres.len(), in_memory.len());
    for (mut postgres, memory) in in_postgres.into_iter().zip(in_memory) {
        // The update times differ: the server's clock against the process's.
        postgres.updated_at = memory.updated_at;
        assert_eq!(postgres, memory);
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set DATABASE_URL and run scripts/test.sh"]
async fn purge_removes_the_oldest_last_received_up_to_the_limit() {
    let database = TestDatabase::create().await;
    let log = log(&database).await;
    for n in 1..=6 {
        insert(&log, &delivery(&format!("e:{n}"), 1, "ecc", n * 10)).await;
    }
    // First received early, but received again late: it stays.
    insert(&log, &delivery("e:1", 1, "ecc", 100)).await;

    assert_eq!(log.purge(at(45), 0).await.expect("purges"), 0);
    assert_eq!(log.purge(at(45), 2).await.expect("purges"), 2);
    assert_eq!(
        keys(&log, &RecordFilter::new()).await,
        ["e:1", "e:4", "e:5", "e:6"]
    );
    assert_eq!(log.purge(at(45), 2).await.expect("purges"), 1);
    assert_eq!(log.purge(at(45), 2).await.expect("purges"), 0);
    assert_eq!(
        keys(&log, &RecordFilter::new()).await,
        ["e:1", "e:5", "e:6"]
    );
    assert_eq!(
        log.purge(at(60), 10).await.expect("purges"),
        1,
        "before, not at"
    );
    assert_eq!(keys(&log, &RecordFilter::new()).await, ["e:1", "e:6"]);
    assert_eq!(log.purge(at(1000), 10).await.expect("purges"), 2);
    assert!(keys(&log, &RecordFilter::new()).await.is_empty());
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set DATABASE_URL and run scripts/test.sh"]
async fn backlog_counts_dead_letters_and_the_oldest_unprocessed() {
    let database = TestDatabase::create().await;
    let log = log(&database).await;
    let memory = MemoryDeliveryLog::new(100);
    assert_eq!(log.backlog().await.expect("answers"), Backlog::new(0, None));

    let statuses = [
        ("e:invalid", 0, RecordStatus::Invalid),
        ("e:processed", 10, RecordStatus::Processed),
        ("e:dead-1", 20, RecordStatus::DeadLettered),
        ("e:failed", 30, RecordStatus::Failed),
        ("e:dead-2", 40, RecordStatus::DeadLettered),
        ("e:received", 50, RecordStatus::Received),
    ];
    for (key, seconds, status) in statuses {
        let record = delivery(key, 1, "ecc", seconds);
        on_both(&log, &memory, &record).await;
        if status != RecordStatus::Received {
            let outcome = Outcome::new(status, 1, None);
            log.update(key, &outcome).await.expect("updates");
            memory.update(key, &outcome).await.expect("updates");
        }
    }
    let backlog = log.backlog().await.expect("answers");
    assert_eq!(backlog, Backlog::new(2, Some(at(30))));
    assert_eq!(backlog, memory.backlog().await.expect("answers"));

    let processed = Outcome::new(RecordStatus::Processed, 1, None);
    log.update("e:failed", &processed).await.expect("updates");
    log.update("e:received", &processed).await.expect("updates");
    assert_eq!(log.backlog().await.expect("answers"), Backlog::new(2, None));
    log.ping().await.expect("pings");
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set DATABASE_URL and run scripts/test.sh"]
async fn migrations_are_idempotent_when_replicas_start_together() {
    let database = TestDatabase::create().await;
    let (first, second, third) = tokio::join!(
        PostgresDeliveryLog::connect(database.url()),
        PostgresDeliveryLog::connect(database.url()),
        PostgresDeliveryLog::connect(database.url()),
    );
    let first = first.expect("the first replica starts");
    second.expect("the second replica starts");
    third.expect("the third replica starts");
    insert(&first, &delivery("e:1", 1, "ecc", 0)).await;
    let again = log(&database).await;
    assert_eq!(
        keys(&again, &RecordFilter::new()).await,
        ["e:1"],
        "the rows are kept"
    );

    let client = database.client().await;
    let tables: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE tablename = 'prepared_deliveries'",
            &[],
        )
        .await
        .expect("queries")
        .get(0);
    assert_eq!(tables, 1);
    let versions: Vec<i32> = client
        .query(
            "SELECT version FROM prepared_schema_migrations ORDER BY version",
            &[],
        )
        .await
        .expect("queries")
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(versions, [1], "each migration recorded once");
    let indexes: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_indexes WHERE tablename = 'prepared_deliveries'",
            &[],
        )
        .await
        .expect("queries")
        .get(0);
    assert_eq!(indexes, 6, "the primary key and the five indexes");
    let refused = client
        .execute(
            "INSERT INTO prepared_deliveries (dedup_key, principal, received_at, \
             last_received_at, deliveries, status, updated_at, payload) \
             VALUES ('x', 'p', now(), now(), 1, 'lost', now(), '')",
            &[],
        )
        .await;
    assert!(refused.is_err(), "the status is checked");
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set DATABASE_URL and run scripts/test.sh"]
async fn connect_to_a_closed_port_or_a_silent_server_fails_fast() {
    let closed = format!("postgres://postgres:hunter2@127.0.0.1:{}/x", free_port());
    let started = Instant::now();
    let error = PostgresDeliveryLog::connect(&closed)
        .await
        .expect_err("nothing listens");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(error, PostgresConnectError::Connect(_)),
        "{error:?}"
    );
    assert!(!format!("{error} {error:?}").contains("hunter2"));

    // A server that accepts and never answers: the pool gives up on the connection.
    let silent = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let address = silent.local_addr().expect("an address");
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let started = Instant::now();
    let error = PostgresDeliveryLog::connect(&format!("postgres://postgres:hunter2@{address}/x"))
        .await
        .expect_err("nobody answers");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(error, PostgresConnectError::Connect(_)),
        "{error:?}"
    );
    holder.abort();

    let error = PostgresDeliveryLog::connect("mysql://nope")
        .await
        .expect_err("not a URL");
    assert!(matches!(error, PostgresConnectError::Url(_)), "{error:?}");
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set DATABASE_URL and run scripts/test.sh"]
async fn a_database_that_goes_away_is_unreachable_then_comes_back() {
    let database = TestDatabase::create().await;
    let mut relayed = Relayed::start(database.url()).await;
    let log = PostgresDeliveryLog::connect(&relayed.url)
        .await
        .expect("connects");
    insert(&log, &delivery("e:1", 1, "ecc", 0)).await;
    let debug = format!("{log:?}");
    assert!(
        debug.contains(database.name()) && !debug.contains("://"),
        "{debug}"
    );

    relayed.relay.abort();
    let _ = (&mut relayed.relay).await;
    let started = Instant::now();
    let error = log
        .insert(&delivery("e:2", 1, "ecc", 10))
        .await
        .expect_err("the database is gone");
    assert!(matches!(error, LogError::Unreachable(_)), "{error:?}");
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    let error = log.ping().await.expect_err("the database is gone");
    assert!(matches!(error, LogError::Unreachable(_)), "{error:?}");

    relayed.restart().await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while let Err(error) = log.insert(&delivery("e:2", 1, "ecc", 10)).await {
        assert!(
            Instant::now() < deadline,
            "the log never came back: {error:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    log.ping().await.expect("pings again");
    assert_eq!(keys(&log, &RecordFilter::new()).await, ["e:1", "e:2"]);
    relayed.relay.abort();
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set DATABASE_URL and run scripts/test.sh"]
async fn a_sealed_payload_is_not_in_clear_in_the_table() {
    let database = TestDatabase::create().await;
    let log = log(&database).await;
    let keys = RecordKeys::new(RecordKey::new(&[7; 32]));
    let body = br#"{"type": "caller_location", "caller": {"phone": "+15551234567"}}"#;
    let mut sealed = delivery("caller_location:sealed", 1, "ecc", 0);
    sealed.payload = keys.seal(&sealed.key, body).expect("seals");
    insert(&log, &sealed).await;
    // The contrast: a payload in clear is readable in the dump, so the dump shows payloads.
    let mut clear = delivery("caller_location:clear", 1, "ecc", 1);
    clear.payload = SealedPayload::clear(Bytes::from_static(b"+15557654321"));
    insert(&log, &clear).await;

    let client = database.client().await;
    let dump: Vec<(String, String, Option<String>)> = client
        .query(
            "SELECT dedup_key, t::text || encode(payload, 'escape'), key_id \
             FROM prepared_deliveries t ORDER BY received_at",
            &[],
        )
        .await
        .expect("dumps")
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect();
    assert_eq!(dump.len(), 2);
    let (_, sealed_row, key_id) = &dump[0];
    assert!(!sealed_row.contains("5551234567"), "{sealed_row}");
    assert!(!sealed_row.contains("phone"), "{sealed_row}");
    assert_eq!(key_id.as_deref(), Some(RecordKey::new(&[7; 32]).id()));
    let (_, clear_row, key_id) = &dump[1];
    assert!(clear_row.contains("5557654321"), "{clear_row}");
    assert_eq!(key_id, &None);

    let stored = get(&log, &sealed.key).await;
    let payload = stored.payload.expect("get reads the payload");
    assert_eq!(keys.open(&sealed.key, &payload).expect("opens"), &body[..]);
}
