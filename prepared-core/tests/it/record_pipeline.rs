//! The delivery log written by the pipeline: every outcome, duplicates counted, the record
//! policies, encryption, replay and the replay route. The scenarios are shared with
//! `record_postgres_pipeline`, which runs them against PostgreSQL.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use prepared_core::Webhooks;
use prepared_core::auth::{BearerToken, StaticBearer};
use prepared_core::delivery::Delivery;
use prepared_core::delivery::{RecordPolicy, Replay, RetryPolicy};
use prepared_core::event::{CallerLocation, IncidentMetadata};
use prepared_core::record::{
    Backlog, DeliveryLog, DeliveryRecord, LogError, LogFuture, MemoryDeliveryLog, NewRecord,
    Outcome, RecordFilter, RecordKey, RecordKeys, RecordStatus,
};
use prepared_core::testing::Sample;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::support::{self, bearer, delivery};

pub(crate) fn keys() -> RecordKeys {
    RecordKeys::new(RecordKey::new(&[7; 32]))
}

fn fast_retries(attempts: u32) -> RetryPolicy {
    RetryPolicy::new(attempts, Duration::from_millis(1), Duration::from_millis(5))
}

/// Waits until the record of `key` has `status`, and returns it.
pub(crate) async fn record_with_status(
    log: &dyn DeliveryLog,
    key: &str,
    status: RecordStatus,
) -> DeliveryRecord {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let record = log.get(key).await.expect("the log answers");
        match record {
            Some(record) if record.status == status => return record,
            other => assert!(
                tokio::time::Instant::now() < deadline,
                "{key} never became {status}: {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Every outcome on record: processed, dead-lettered (with attempts and the last error),
/// invalid; a duplicate counted on its record, not stored twice.
pub(crate) async fn every_outcome_is_recorded(log: Arc<dyn DeliveryLog>) {
    let webhooks = Webhooks::builder()
        .authenticator(StaticBearer::new([
            BearerToken::new(support::TOKEN).label("ecc-a")
        ]))
        .delivery_log(Arc::clone(&log))
        .record_keys(keys())
        .retry_policy(fast_retries(3))
        .on_caller_location(|_: CallerLocation| async {})
        .on_incident_metadata(|_: IncidentMetadata| async {
            Err::<(), _>(std::io::Error::other("the CAD is down"))
        })
        .build()
        .expect("builds");
    let location = Sample::caller_location();
    let metadata = Sample::incident_metadata();
    let key = location.dedup_key();
    assert_eq!(
        webhooks.handle(delivery(location.body())).await.status(),
        200
    );
    record_with_status(&*log, key.as_str(), RecordStatus::Processed).await;
    // Prepared's redelivery of what was processed: a duplicate.
    assert_eq!(
        webhooks.handle(delivery(location.body())).await.status(),
        200
    );
    assert_eq!(
        webhooks.handle(delivery(metadata.body())).await.status(),
        200
    );
    let invalid = webhooks
        .handle(delivery(r#"{"type": "caller_location"}"#))
        .await;
    assert_eq!(invalid.status(), 400);

    let processed = record_with_status(&*log, key.as_str(), RecordStatus::Processed).await;
    assert_eq!(processed.kind.as_deref(), Some("caller_location"));
    assert_eq!(processed.incident_id, Some(location.incident_id()));
    assert_eq!(processed.tenant.as_deref(), Some("ecc-a"));
    assert_eq!(processed.principal, "ecc-a");
    assert_eq!((processed.deliveries, processed.attempts), (2, 1));
    assert!(processed.last_received_at >= processed.received_at);
    let payload = processed.payload.as_ref().expect("get reads the payload");
    assert!(payload.is_encrypted());
    assert_eq!(
        keys().open(key.as_str(), payload).expect("opens"),
        location.body()
    );

    let metadata_key = metadata.dedup_key();
    let dead = record_with_status(&*log, metadata_key.as_str(), RecordStatus::DeadLettered).await;
    assert_eq!((dead.deliveries, dead.attempts), (1, 3));
    assert!(
        dead.last_error
            .as_deref()
            .is_some_and(|e| e.contains("the CAD is down")),
        "{dead:?}"
    );

    let invalid = log
        .find(&RecordFilter::new().status(RecordStatus::Invalid))
        .await
        .expect("finds");
    assert_eq!(invalid.len(), 1, "{invalid:?}");
    assert!(invalid[0].dedup_key.starts_with("invalid:"));
    assert!(
        invalid[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("id")),
        "{invalid:?}"
    );
    assert_eq!(invalid[0].tenant.as_deref(), Some("ecc-a"));

    let all = log.find(&RecordFilter::new()).await.expect("finds");
    assert_eq!(all.len(), 3, "a duplicate is not a second record: {all:?}");
    assert!(
        all.iter().all(|record| record.payload.is_none()),
        "find reads no payload"
    );
    let stats = webhooks.stats();
    assert!(stats.records_written >= 6, "{stats:?}");
    assert_eq!(stats.record_write_failures, 0);
}

/// A bug fails every caller location; once it is fixed, requeueing the dead letters runs each
/// exactly once, in per-incident order, and leaves what was processed alone.
pub(crate) async fn replay_after_a_fix_runs_exactly_the_dead_letters(log: Arc<dyn DeliveryLog>) {
    let broken = Arc::new(AtomicBool::new(true));
    let ran: Arc<Mutex<Vec<(Uuid, Uuid, u32)>>> = Arc::default();
    let webhooks = Webhooks::builder()
        .authenticator(bearer())
        .delivery_log(Arc::clone(&log))
        .record_keys(keys())
        .retry_policy(fast_retries(2))
        .on_caller_location({
            let (broken, ran) = (Arc::clone(&broken), Arc::clone(&ran));
            move |location: CallerLocation, delivery: Delivery| {
                let (broken, ran) = (Arc::clone(&broken), Arc::clone(&ran));
                async move {
                    if broken.load(Ordering::SeqCst) {
                        return Err(std::io::Error::other("bug"));
                    }
                    let attempt = delivery.attempt();
                    ran.lock()
                        .expect("lock")
                        .push((location.incident_id, location.id, attempt));
                    Ok(())
                }
            }
        })
        .on_incident_metadata(|_: IncidentMetadata| async {})
        .build()
        .expect("builds");
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let failing: Vec<Sample> = [a, b, a, b, a]
        .into_iter()
        .map(|incident| Sample::caller_location().incident(incident))
        .collect();
    let fine = Sample::incident_metadata().incident(a);
    for sample in failing.iter().chain([&fine]) {
        assert_eq!(webhooks.handle(delivery(sample.body())).await.status(), 200);
        // Distinct reception times, so "oldest first" is the order sent.
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    for sample in &failing {
        let key = sample.dedup_key();
        record_with_status(&*log, key.as_str(), RecordStatus::DeadLettered).await;
    }
    record_with_status(&*log, fine.dedup_key().as_str(), RecordStatus::Processed).await;

    broken.store(false, Ordering::SeqCst);
    let report = webhooks.requeue_dead_letters().await.expect("replays");
    assert_eq!(
        (report.processed, report.dead_lettered),
        (5, 0),
        "{report:?}"
    );
    let ran = ran.lock().expect("lock").clone();
    assert_eq!(ran.len(), 5, "each dead letter ran once: {ran:?}");
    for incident in [a, b] {
        let sent: Vec<Uuid> = failing
            .iter()
            .filter(|sample| sample.incident_id() == incident)
            .map(|sample| {
                sample.json()["id"]
                    .as_str()
                    .expect("an id")
                    .parse()
                    .expect("a uuid")
            })
            .collect();
        let replayed: Vec<Uuid> = ran
            .iter()
            .filter(|(i, _, _)| *i == incident)
            .map(|(_, id, _)| *id)
            .collect();
        assert_eq!(replayed, sent, "incident {incident} in order");
    }
    for sample in &failing {
        let key = sample.dedup_key();
        let record = record_with_status(&*log, key.as_str(), RecordStatus::Processed).await;
        assert_eq!(
            record.attempts, 3,
            "two failed attempts and the replay: {record:?}"
        );
    }
    let fine_record = log
        .get(fine.dedup_key().as_str())
        .await
        .expect("gets")
        .expect("recorded");
    assert_eq!(
        fine_record.attempts, 1,
        "the processed event did not run again"
    );

    let again = webhooks.requeue_dead_letters().await.expect("replays");
    assert_eq!(
        again.processed, 0,
        "nothing is dead-lettered any more: {again:?}"
    );
    let keys: Vec<String> = failing
        .iter()
        .map(|s| s.dedup_key().as_str().to_owned())
        .collect();
    let done = webhooks
        .replay(&Replay::keys(keys.clone()))
        .await
        .expect("replays");
    assert_eq!((done.skipped_done, done.processed), (5, 0), "{done:?}");
    let forced = webhooks
        .replay(&Replay::keys(keys[..1].to_vec()).force())
        .await
        .expect("replays");
    assert_eq!(forced.processed, 1, "{forced:?}");
    let missing = webhooks
        .replay(&Replay::keys(["caller_location:nope"]))
        .await
        .expect("replays");
    assert_eq!(missing.not_found, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_outcome_is_recorded_in_memory() {
    every_outcome_is_recorded(Arc::new(MemoryDeliveryLog::default())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_after_a_fix_in_memory() {
    replay_after_a_fix_runs_exactly_the_dead_letters(Arc::new(MemoryDeliveryLog::default())).await;
}

/// A memory log that refuses every write while `down` is set.
#[derive(Clone, Default)]
struct Switchable {
    log: MemoryDeliveryLog,
    down: Arc<AtomicBool>,
}

impl Switchable {
    fn check(&self) -> Result<(), LogError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(LogError::Unreachable("switched off".into()));
        }
        Ok(())
    }
}

impl DeliveryLog for Switchable {
    fn insert<'a>(&'a self, record: &'a NewRecord) -> LogFuture<'a, ()> {
        match self.check() {
            Ok(()) => self.log.insert(record),
            Err(error) => Box::pin(std::future::ready(Err(error))),
        }
    }
    fn update<'a>(&'a self, key: &'a str, outcome: &'a Outcome) -> LogFuture<'a, ()> {
        match self.check() {
            Ok(()) => self.log.update(key, outcome),
            Err(error) => Box::pin(std::future::ready(Err(error))),
        }
    }
    fn find<'a>(&'a self, filter: &'a RecordFilter) -> LogFuture<'a, Vec<DeliveryRecord>> {
        self.log.find(filter)
    }
    fn get<'a>(&'a self, key: &'a str) -> LogFuture<'a, Option<DeliveryRecord>> {
        self.log.get(key)
    }
    fn purge(&self, before: OffsetDateTime, limit: u32) -> LogFuture<'_, u64> {
        self.log.purge(before, limit)
    }
    fn backlog(&self) -> LogFuture<'_, Backlog> {
        self.log.backlog()
    }
    fn ping(&self) -> LogFuture<'_, ()> {
        Box::pin(std::future::ready(self.check()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn before_ack_answers_503_while_the_log_is_down_and_loses_nothing_after() {
    let log = Switchable::default();
    let webhooks = Webhooks::builder()
        .authenticator(bearer())
        .delivery_log(log.clone())
        .on_caller_location(|_: CallerLocation| async {})
        .build()
        .expect("builds");
    let sample = Sample::caller_location();
    log.down.store(true, Ordering::SeqCst);
    let refused = webhooks.handle(delivery(sample.body())).await;
    assert_eq!(refused.status(), 503);
    assert!(refused.headers().contains_key("retry-after"));
    let ready = webhooks.readiness().await;
    assert!(!ready.ready, "{ready:?}");
    assert_eq!(
        ready.check("delivery_log"),
        Some(prepared_core::readiness::CheckStatus::Unreachable)
    );
    assert_eq!(webhooks.stats().processed, 0, "nothing ran unrecorded");
    assert_eq!(webhooks.stats().dependency_failures.delivery_log, 1);

    log.down.store(false, Ordering::SeqCst);
    // Prepared's retry.
    assert_eq!(webhooks.handle(delivery(sample.body())).await.status(), 200);
    let record =
        record_with_status(&log, sample.dedup_key().as_str(), RecordStatus::Processed).await;
    assert_eq!(
        record.deliveries, 1,
        "the refused delivery was never recorded nor claimed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn best_effort_answers_while_the_log_is_down_and_counts_the_failures() {
    let log = Switchable::default();
    let webhooks = Webhooks::builder()
        .authenticator(bearer())
        .delivery_log(log.clone())
        .record_policy(RecordPolicy::BestEffort)
        .on_caller_location(|_: CallerLocation| async {})
        .build()
        .expect("builds");
    log.down.store(true, Ordering::SeqCst);
    let sample = Sample::caller_location();
    assert_eq!(webhooks.handle(delivery(sample.body())).await.status(), 200);
    support::eventually_within(
        "the failed writes are counted",
        Duration::from_secs(10),
        || webhooks.stats().record_write_failures >= 2,
    )
    .await;
    assert!(log.log.is_empty());
    assert_eq!(webhooks.stats().processed, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_delivery_log_nothing_is_recorded_and_replay_says_so() {
    let webhooks = Webhooks::builder()
        .authenticator(bearer())
        .without_delivery_log()
        .build()
        .expect("builds");
    let sample = Sample::caller_location();
    assert_eq!(webhooks.handle(delivery(sample.body())).await.status(), 200);
    assert_eq!(webhooks.stats().records_written, 0);
    assert!(webhooks.requeue_dead_letters().await.is_err());
    let ready = webhooks.readiness().await;
    assert_eq!(ready.check("delivery_log"), None, "{ready:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_purges_only_what_is_older_than_the_window() {
    let log = MemoryDeliveryLog::default();
    let now = OffsetDateTime::now_utc();
    for (key, age_days) in [("old", 31), ("older", 40), ("new", 1)] {
        let mut record = new_record(key);
        record.received_at = now - time::Duration::days(age_days);
        log.insert(&record).await.expect("inserts");
    }
    let cutoff = now - time::Duration::days(30);
    assert_eq!(log.purge(cutoff, 1).await.expect("purges"), 1);
    assert_eq!(log.purge(cutoff, 10).await.expect("purges"), 1);
    assert_eq!(log.purge(cutoff, 10).await.expect("purges"), 0);
    let left: Vec<String> = log
        .find(&RecordFilter::new())
        .await
        .expect("finds")
        .into_iter()
        .map(|r| r.dedup_key)
        .collect();
    assert_eq!(left, ["new"]);
}

fn new_record(key: &str) -> NewRecord {
    let payload = prepared_core::record::SealedPayload::clear(Bytes::from_static(b"{}"));
    NewRecord::received(key, "token-0", OffsetDateTime::now_utc(), payload)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_replay_route_needs_its_own_credential_and_a_replay_body() {
    let log = MemoryDeliveryLog::default();
    let without = Webhooks::builder()
        .authenticator(bearer())
        .delivery_log(log.clone())
        .build()
        .expect("builds");
    let request = |token: &str, body: &'static str| {
        http::Request::post("/admin/replay")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from_static(body.as_bytes())))
            .expect("a request")
    };
    let dead_letters = r#"{"filter": {"status": "dead_lettered"}}"#;
    assert_eq!(
        without
            .handle_replay(request("admin-token-123", dead_letters))
            .await
            .status(),
        404
    );

    let webhooks = Webhooks::builder()
        .authenticator(bearer())
        .replay_authenticator(StaticBearer::new([BearerToken::new("admin-token-123")]))
        .delivery_log(log.clone())
        .build()
        .expect("builds");
    let webhook_token = webhooks
        .handle_replay(request(support::TOKEN, dead_letters))
        .await;
    assert_eq!(
        webhook_token.status(),
        401,
        "Prepared's token is not an admin's"
    );
    assert!(webhook_token.headers().contains_key("www-authenticate"));
    let bad = webhooks
        .handle_replay(request("admin-token-123", r#"{"everything": true}"#))
        .await;
    assert_eq!(bad.status(), 400);
    let ok = webhooks
        .handle_replay(request("admin-token-123", dead_letters))
        .await;
    assert_eq!(ok.status(), 200);
    let report = support::body_json(ok).await;
    assert_eq!(report["processed"], 0, "{report}");
    let keys = webhooks
        .handle_replay(request(
            "admin-token-123",
            r#"{"keys": ["caller_location:x"], "force": true}"#,
        ))
        .await;
    assert_eq!(support::body_json(keys).await["not_found"], 1);
}
