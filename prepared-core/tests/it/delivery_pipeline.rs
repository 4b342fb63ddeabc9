//! The delivery pipeline end to end, in-process: dedup, ack modes, retries, ordering,
//! backpressure, panics, shutdown.

use crate::support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::{bearer, caller_location, delivery};
use prepared_core::delivery::{AckMode, DeadLetter, DeadLetterReason, RetryPolicy};
use prepared_core::event::CallerLocation;
use prepared_core::{Event, Webhooks};
use tokio::sync::Notify;

fn fast_retries(attempts: u32) -> RetryPolicy {
    RetryPolicy::new(attempts, Duration::from_millis(1), Duration::from_millis(5))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_duplicates_run_the_callback_once() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let webhooks = Webhooks::builder()
        .authenticator(bearer())
        .on_caller_location(move |_location: CallerLocation| {
            let counted = Arc::clone(&counted);
            async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                counted.fetch_add(1, Ordering::SeqCst);
                Ok::<_, std::io::Error>(())
            }
        })
        .build()
        .expect("builds");

    let mut deliveries = Vec::new();
    for _ in 0..64 {
        let webhooks = webhooks.clone();
        deliveries.push(tokio::spawn(async move {
            webhooks
                .handle(delivery(caller_location(1, 1)))
                .await
                .status()
        }));
    }
    let mut statuses = HashMap::new();
    for delivery in deliveries {
        *statuses
            .entry(delivery.await.expect("no panic").as_u16())
            .or_insert(0) += 1;
    }
    assert_eq!(
        statuses.keys().filter(|s| ![200, 503].contains(*s)).count(),
        0,
        "{statuses:?}"
    );
    support::eventually_async("the callback ran", || calls.load(Ordering::SeqCst) == 1).await;
    // Prepared retries the 503s; once the first is done they are duplicates.
    let retry = webhooks.handle(delivery(caller_location(1, 1))).await;
    assert_eq!(retry.status(), 200);
    assert_eq!(support::body_json(retry).await["status"], "duplicate");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1, "exactly one callback");
}

#[tokio::test]
async fn after_processing_failure_answers_500_and_the_retry_is_processed() {
    let attempts = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&attempts);
    let webhooks = Webhooks::builder()
        .authenticator(bearer())
        .ack_mode(AckMode::AfterProcessing)
        .on_caller_location(move |_location: CallerLocation| {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            async move { if n == 0 { Err("database down") } else { Ok(()) } }
        })
        .build()
        .expect("builds");

    let first = webhooks.handle(delivery(caller_location(1, 7))).await;
    assert_eq!(first.status(), 500, "failure is not acknowledged");
    let retry = webhooks.handle(delivery(caller_location(1, 7))).await;
    assert_eq!(
        retry.status(),
        200,
        "the released claim lets the retry through"
    );
    assert_eq!(support::body_json(retry).await["status"], "processed");
    let again = webhooks.handle(delivery(caller_location(1, 7))).await;
    assert_eq!(support::body_json(again).await["status"], "duplicate");
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn failed_callbacks_are_retried_then_dead_lettered_with_the_raw_payload() {
    let letters: Arc<Mutex<Vec<DeadLetter>>> = Arc::default();
    let kept = Arc::clone(&letters);
    let attempts = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&attempts);
    let webhooks = Webhooks::builder()
        .authenticator(bearer())
        .retry_policy(fast_retries(3))
        .on_caller_location(move |_location: CallerLocation| {
            counted.fetch_add(1, Ordering::SeqCst);
            async { Err::<(), _>("always fails") }
        })
        .on_dead_letter(move |letter| {
            kept.lock().expect("lock").push(letter);
            async {}
        })
        .build()
        .expect("builds");

    let body = caller_location(2, 9);
    let response = webhooks.handle(delivery(body.clone())).await;
    assert_eq!(response.status(), 200, "immediate mode acknowledges first");
    support::eventually_async("dead-lettered", || letters.lock().expect("lock").len() == 1).await;
    let letter = letters.lock().expect("lock").pop().expect("a letter");
    assert_eq!(letter.raw, body);
    assert_eq!(letter.attempts, 3);
    assert_eq!(letter.reason, DeadLetterReason::RetriesExhausted);
    assert!(
        !format!("{letter:?}").contains("37.7749"),
        "the letter's Debug is redacted"
    );
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    let stats = webhooks.stats();
    assert_eq!((stats.callback_failures, stats.dead_lettered), (3, 1));

    // The claim was released: a redelivery runs the callback again.
    assert_eq!(webhooks.handle(delivery(body)).await.status(), 200);
    support::eventually_async("retried after redelivery", || {
        attempts.load(Ordering::SeqCst) == 6
    })
    .await;
}

#[tokio::test]
async fn a_panicking_callback_is_a_failure_and_the_worker_survives() {
    let attempts = Arc::new(AtomicU32::new(0));
    let done = Arc::new(AtomicU32::new(0));
    let (counted, finished) = (Arc::clone(&attempts), Arc::clone(&done));
    let webhooks = Webhooks::builder()
        .authenticator(bearer())
        .workers(1)
        .retry_policy(fast_retries(3))
        .on_caller_location(move |_location: CallerLocation| {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            let finished = Arc::clone(&finished);
            async move {
                assert!(n != 0, "the first attempt panics");
                finished.fetch_add(1, Ordering::SeqCst);
                Ok::<_, std::io::Error>(())
            }
        })
        .build()
        .expect("builds");

    assert_eq!(
        webhooks
            .handle(delivery(caller_location(3, 1)))
            .await
            .status(),
        200
    );
    assert_eq!(
        webhooks
            .handle(delivery(caller_location(3, 2)))
            .await
            .status(),
        200
    );
    support::eventually_async("both processed on the one worker", || {
        done.load(Ordering::SeqCst) == 2
    })
    .await;
    assert_eq!(webhooks.stats().callback_failures, 1);
}

/// A panic in the callback's own body (before it returns its future) is caught too, on the
/// delivery's first, inline attempt, and the event is retried.
#[tokio::test(flavor = "current_thread")]
async fn a_callback_that_panics_before_its_future_is_retried() {
    let calls = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&calls);
    let webhooks = Webhooks::builder()
        .authenticator(bearer())
        .retry_policy(fast_retries(3))
        .on_caller_location(move |_location: CallerLocation| {
            assert!(
                counted.fetch_add(1, Ordering::SeqCst) != 0,
                "the first call panics"
            );
            async { Ok::<_, std::io::Error>(()) }
        })
        .build()
        .expect("builds");

    let response = webhooks.handle(delivery(caller_location(4, 1))).await;
    assert_eq!(response.status(), 200);
    assert_eq!(support::body_json(response).await["status"], "queued");
    support::eventually_async("processed on the retry", || webhooks.stats().processed == 1).await;
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(webhooks.stats().callback_failures, 1);
    let redelivery = webhooks.handle(delivery(caller_location(4, 1))).await;
    assert_eq!(support::body_json(redelivery).await["status"], "duplicate");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_incidents_events_are_processed_in_arrival_order() {
    let seen: Arc<Mutex<HashMap<uuid::Uuid, Vec<uuid::Uuid>>>> = Arc::default();
    let recorder = Arc::clone(&seen);
    let webhooks = Webhooks::builder()
        .authenticator(bearer())
        .workers(4)
        .retry_policy(fast_retries(5))
        .on_caller_location(move |location: CallerLocation| {
            let recorder = Arc::clone(&recorder);
            async move {
                // Every third event fails once: retries must not reorder the incident.
                let fail_once = location.id.as_u128().is_multiple_of(3);
                let mut seen = recorder.lock().expect("lock");
                let events = seen.entry(location.incident_id).or_default();
                if fail_once && !events.contains(&location.id) {
                    events.push(location.id);
                    return Err("transient");
                }
                events.retain(|id| *id != location.id);
                events.push(location.id);
                Ok(())
            }
        })
        .build()
        .expect("builds");

    const INCIDENTS: u128 = 8;
    const PER_INCIDENT: u128 = 50;
    // Each incident's events are sent in order by one sender; incidents in parallel.
    let mut senders = Vec::new();
    for incident in 0..INCIDENTS {
        let webhooks = webhooks.clone();
        senders.push(tokio::spawn(async move {
            for n in 0..PER_INCIDENT {
                let id = incident * 1000 + n;
                let status = webhooks
                    .handle(delivery(caller_location(1000 + incident, id)))
                    .await
                    .status();
                assert_eq!(status, 200);
            }
        }));
    }
    for sender in senders {
        sender.await.expect("no panic");
    }
    support::eventually_async("every event processed", || {
        webhooks.stats().processed == u64::try_from(INCIDENTS * PER_INCIDENT).unwrap_or(0)
    })
    .await;
    let seen = seen.lock().expect("lock");
    for incident in 0..INCIDENTS {
        let order: Vec<u128> = seen[&uuid::Uuid::from_u128(1000 + incident)]
            .iter()
            .map(|id| id.as_u128())
            .collect();
        let expected: Vec<u128> = (0..PER_INCIDENT).map(|n| incident * 1000 + n).collect();
        assert_eq!(order, expected, "incident {incident} in arrival order");
    }
}

#[tokio::test]
async fn a_full_queue_answers_503_and_a_later_retry_succeeds() {
    let gate = Arc::new(Notify::new());
    let calls = Arc::new(AtomicUsize::new(0));
    let (waiting, counted) = (Arc::clone(&gate), Arc::clone(&calls));
    let webhooks = Webhooks::builder()
        .authenticator(bearer())
        .workers(1)
        .queue_capacity(2)
        .on_caller_location(move |_location: CallerLocation| {
            let (waiting, counted) = (Arc::clone(&waiting), Arc::clone(&counted));
            async move {
                waiting.notified().await;
                counted.fetch_add(1, Ordering::SeqCst);
                Ok::<_, std::io::Error>(())
            }
        })
        .build()
        .expect("builds");

    // One event blocks the worker, two fill the queue, the fourth is refused.
    let mut statuses = Vec::new();
    for id in 1..=4 {
        let response = webhooks.handle(delivery(caller_location(4, id))).await;
        if id == 1 {
            support::eventually_async("the worker took the first", || {
                webhooks.stats().queue_depth == 0
            })
            .await;
        }
        statuses.push((
            response.status().as_u16(),
            response.headers().get("retry-after").cloned(),
        ));
    }
    assert_eq!(
        statuses[..3].iter().map(|s| s.0).collect::<Vec<_>>(),
        [200, 200, 200]
    );
    assert_eq!(statuses[3].0, 503);
    assert_eq!(
        statuses[3]
            .1
            .as_ref()
            .map(|v| v.to_str().unwrap_or_default().to_owned())
            .as_deref(),
        Some("5")
    );

    for _ in 0..3 {
        gate.notify_one();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    support::eventually_async("the queue drained", || calls.load(Ordering::SeqCst) == 3).await;
    let retry = tokio::spawn({
        let webhooks = webhooks.clone();
        async move {
            webhooks
                .handle(delivery(caller_location(4, 4)))
                .await
                .status()
        }
    });
    assert_eq!(
        retry.await.expect("no panic"),
        200,
        "the refused event's claim was released"
    );
    gate.notify_one();
    support::eventually_async("the retried event ran", || {
        calls.load(Ordering::SeqCst) == 4
    })
    .await;
}

#[tokio::test]
async fn events_without_a_callback_are_acknowledged_and_counted() {
    let webhooks = Webhooks::builder()
        .authenticator(bearer())
        .build()
        .expect("builds");
    let response = webhooks.handle(delivery(caller_location(5, 1))).await;
    assert_eq!(support::body_json(response).await["status"], "unhandled");
    let unknown = webhooks
        .handle(delivery(
            &br#"{"type": "responder_joined", "id": "r-1"}"#[..],
        ))
        .await;
    assert_eq!(unknown.status(), 200, "an unknown event is never rejected");
    assert_eq!(webhooks.stats().unhandled, 2);
}

#[tokio::test]
async fn the_catch_all_gets_kinds_without_their_own_callback() {
    let names: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = Arc::clone(&names);
    let webhooks = Webhooks::builder()
        .authenticator(bearer())
        .ack_mode(AckMode::AfterProcessing)
        .on_caller_location(|_location: CallerLocation| async { Ok::<_, std::io::Error>(()) })
        .on_event(move |event: Event| {
            seen.lock()
                .expect("lock")
                .push(event.type_name().to_owned());
            async { Ok::<_, std::io::Error>(()) }
        })
        .build()
        .expect("builds");
    webhooks.handle(delivery(caller_location(6, 1))).await;
    webhooks
        .handle(delivery(
            &br#"{"type": "responder_joined", "id": "r-1"}"#[..],
        ))
        .await;
    webhooks
        .handle(delivery(include_str!("../../fixtures/note_created.json")))
        .await;
    assert_eq!(
        *names.lock().expect("lock"),
        ["responder_joined", "note_created"]
    );
}

#[tokio::test]
async fn shutdown_drains_the_queue_and_refuses_new_deliveries() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let webhooks = Webhooks::builder()
        .authenticator(bearer())
        .workers(2)
        .on_caller_location(move |_location: CallerLocation| {
            let counted = Arc::clone(&counted);
            async move {
                tokio::time::sleep(Duration::from_millis(5)).await;
                counted.fetch_add(1, Ordering::SeqCst);
                Ok::<_, std::io::Error>(())
            }
        })
        .build()
        .expect("builds");
    for id in 0..20 {
        assert_eq!(
            webhooks
                .handle(delivery(caller_location(7 + id % 2, id)))
                .await
                .status(),
            200
        );
    }
    let report = webhooks.shutdown(Duration::from_secs(5)).await;
    assert!(report.drained_in_time, "{report:?}");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        20,
        "every queued event was processed"
    );
    assert_eq!(report.dead_lettered, 0);
    let late = webhooks.handle(delivery(caller_location(7, 99))).await;
    assert_eq!(
        late.status(),
        503,
        "a delivery after shutdown is refused, for Prepared to retry"
    );
}

#[tokio::test]
async fn shutdown_past_its_deadline_dead_letters_what_is_left() {
    let letters = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&letters);
    let webhooks = Webhooks::builder()
        .authenticator(bearer())
        .workers(1)
        .on_caller_location(|_location: CallerLocation| async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            Ok::<_, std::io::Error>(())
        })
        .on_dead_letter(move |letter| {
            assert_eq!(letter.reason, DeadLetterReason::Shutdown);
            counted.fetch_add(1, Ordering::SeqCst);
            async {}
        })
        .build()
        .expect("builds");
    for id in 0..5 {
        webhooks.handle(delivery(caller_location(8, id))).await;
    }
    let report = webhooks.shutdown(Duration::from_millis(300)).await;
    assert!(!report.drained_in_time);
    assert!(report.dead_lettered >= 2, "{report:?}");
    assert_eq!(letters.load(Ordering::SeqCst) as u64, report.dead_lettered);
    assert_eq!(report.left_unprocessed, 0);
}

/// A memory store whose `complete` fails while `failing` is set, as when the dedup store is
/// cut off right after a callback succeeded.
struct CompleteFails {
    store: prepared_core::dedup::MemoryDedupStore,
    failing: std::sync::atomic::AtomicBool,
    completes: AtomicUsize,
}

impl prepared_core::dedup::DedupStore for CompleteFails {
    fn claim<'a>(
        &'a self,
        key: &'a prepared_core::DedupKey,
    ) -> prepared_core::dedup::DedupFuture<'a, prepared_core::dedup::Claim> {
        self.store.claim(key)
    }

    fn complete<'a>(
        &'a self,
        key: &'a prepared_core::DedupKey,
        token: &'a prepared_core::dedup::ClaimToken,
    ) -> prepared_core::dedup::DedupFuture<'a, ()> {
        self.completes.fetch_add(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) {
            return Box::pin(async {
                Err(prepared_core::dedup::DedupError::unavailable(
                    "cut off", None,
                ))
            });
        }
        self.store.complete(key, token)
    }

    fn release<'a>(
        &'a self,
        key: &'a prepared_core::DedupKey,
        token: &'a prepared_core::dedup::ClaimToken,
    ) -> prepared_core::dedup::DedupFuture<'a, ()> {
        self.store.release(key, token)
    }
}

/// The callback succeeded but the store could not record it: the completion is retried in
/// the background, and once the store answers, a redelivery is a duplicate (not a second
/// run, and not a `503` until the claim expires).
#[tokio::test]
async fn a_completion_the_store_refused_is_retried_until_it_lands() {
    let store = Arc::new(CompleteFails {
        store: prepared_core::dedup::MemoryDedupStore::default(),
        failing: std::sync::atomic::AtomicBool::new(true),
        completes: AtomicUsize::new(0),
    });
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let webhooks = Webhooks::builder()
        .authenticator(bearer())
        .dedup_store(Arc::clone(&store))
        .ack_mode(AckMode::AfterProcessing)
        .on_caller_location(move |_location: CallerLocation| {
            counted.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, std::io::Error>(()) }
        })
        .build()
        .expect("builds");

    let first = webhooks.handle(delivery(caller_location(5, 1))).await;
    assert_eq!(
        first.status(),
        200,
        "processed: the answer does not wait for the store"
    );
    let while_down = webhooks.handle(delivery(caller_location(5, 1))).await;
    assert_eq!(
        while_down.status(),
        503,
        "still claimed, not done: in flight"
    );

    store.failing.store(false, Ordering::SeqCst);
    support::eventually_async("the completion is retried", || {
        store.completes.load(Ordering::SeqCst) >= 2
    })
    .await;
    let after = webhooks.handle(delivery(caller_location(5, 1))).await;
    assert_eq!(support::body_json(after).await["status"], "duplicate");
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the callback ran once");
}

#[tokio::test(flavor = "current_thread")]
async fn a_callback_that_waits_is_answered_at_once_and_keeps_its_incidents_order() {
    let gate = Arc::new(Notify::new());
    let seen: Arc<Mutex<Vec<u128>>> = Arc::default();
    let (waiting, recorder) = (Arc::clone(&gate), Arc::clone(&seen));
    let webhooks = Webhooks::builder()
        .authenticator(bearer())
        .on_caller_location(move |location: CallerLocation| {
            let (waiting, recorder) = (Arc::clone(&waiting), Arc::clone(&recorder));
            async move {
                // The first event waits for the gate; the others finish at once.
                if location.id.as_u128() == 1 {
                    waiting.notified().await;
                }
                recorder.lock().expect("lock").push(location.id.as_u128());
                Ok::<_, std::io::Error>(())
            }
        })
        .build()
        .expect("builds");

    let first = webhooks.handle(delivery(caller_location(8, 1))).await;
    assert_eq!(support::body_json(first).await["status"], "queued");
    // The incident's lane is busy with the first event: the second waits behind it, although
    // its callback would finish at once.
    let second = webhooks.handle(delivery(caller_location(8, 2))).await;
    assert_eq!(support::body_json(second).await["status"], "queued");
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(
        seen.lock().expect("lock").is_empty(),
        "nothing ran past the gate"
    );

    gate.notify_one();
    support::eventually_async("both processed", || webhooks.stats().processed == 2).await;
    assert_eq!(*seen.lock().expect("lock"), [1, 2], "arrival order");

    let third = webhooks.handle(delivery(caller_location(8, 3))).await;
    assert_eq!(support::body_json(third).await["status"], "queued");
    support::eventually_async("the third processed", || webhooks.stats().processed == 3).await;
    assert_eq!(*seen.lock().expect("lock"), [1, 2, 3]);
}
