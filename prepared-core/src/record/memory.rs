//! [`MemoryDeliveryLog`]: the newest records in memory, for a receiver with no database.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use time::OffsetDateTime;

use super::{
    Backlog, DeliveryLog, DeliveryRecord, LogFuture, NewRecord, Outcome, RecordFilter, RecordStatus,
};

/// A delivery log in memory: the newest `capacity` records, the oldest dropped first. The
/// default log of a receiver (10 000 records), so that the examples and tests need no
/// server; the records go with the process. Cheap to clone: clones share the records.
#[derive(Clone, Debug)]
pub struct MemoryDeliveryLog {
    state: Arc<Mutex<State>>,
}

#[derive(Debug)]
struct State {
    capacity: usize,
    records: HashMap<String, DeliveryRecord>,
    /// The keys in the order they were first recorded.
    order: VecDeque<String>,
}

impl Default for MemoryDeliveryLog {
    fn default() -> Self {
        Self::new(Self::DEFAULT_CAPACITY)
    }
}

impl MemoryDeliveryLog {
    /// How many records the default log keeps.
    pub const DEFAULT_CAPACITY: usize = 10_000;

    /// A log of the newest `capacity` records (at least one).
    pub fn new(capacity: usize) -> Self {
        let state = State {
            capacity: capacity.max(1),
            records: HashMap::new(),
            order: VecDeque::new(),
        };
        Self {
            state: Arc::new(Mutex::new(state)),
        }
    }

    /// How many records it holds.
    pub fn len(&self) -> usize {
        self.lock().records.len()
    }

    /// Whether it holds no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn matching(&self, filter: &RecordFilter) -> Vec<DeliveryRecord> {
        let state = self.lock();
        let limit = usize::try_from(filter.limit).unwrap_or(usize::MAX);
        let mut found: Vec<DeliveryRecord> = state
            .order
            .iter()
            .filter_map(|key| state.records.get(key))
            .filter(|record| filter.matches(record))
            .map(|record| DeliveryRecord {
                payload: None,
                ..record.clone()
            })
            .collect();
        found.sort_by_key(|record| record.received_at);
        found.truncate(limit);
        found
    }

    /// The state; a panic while it was held cannot leave a record half written (each change is
    /// one assignment), so a poisoned lock is used as it is.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl DeliveryLog for MemoryDeliveryLog {
    fn insert<'a>(&'a self, record: &'a NewRecord) -> LogFuture<'a, ()> {
        let mut state = self.lock();
        if let Some(known) = state.records.get_mut(&record.key) {
            known.redelivered(record.received_at);
        } else {
            if state.records.len() >= state.capacity
                && let Some(oldest) = state.order.pop_front()
            {
                state.records.remove(&oldest);
            }
            state
                .records
                .insert(record.key.clone(), DeliveryRecord::from_new(record));
            state.order.push_back(record.key.clone());
        }
        Box::pin(std::future::ready(Ok(())))
    }

    fn update<'a>(&'a self, key: &'a str, outcome: &'a Outcome) -> LogFuture<'a, ()> {
        if let Some(record) = self.lock().records.get_mut(key) {
            record.apply(outcome, OffsetDateTime::now_utc());
        }
        Box::pin(std::future::ready(Ok(())))
    }

    fn find<'a>(&'a self, filter: &'a RecordFilter) -> LogFuture<'a, Vec<DeliveryRecord>> {
        Box::pin(std::future::ready(Ok(self.matching(filter))))
    }

    fn get<'a>(&'a self, key: &'a str) -> LogFuture<'a, Option<DeliveryRecord>> {
        Box::pin(std::future::ready(Ok(self
            .lock()
            .records
            .get(key)
            .cloned())))
    }

    fn purge(&self, before: OffsetDateTime, limit: u32) -> LogFuture<'_, u64> {
        let mut state = self.lock();
        let State { records, order, .. } = &mut *state;
        let mut left = limit;
        order.retain(|key| {
            let expired = left > 0
                && records
                    .get(key)
                    .is_some_and(|record| record.last_received_at < before);
            if expired {
                records.remove(key);
                left -= 1;
            }
            !expired
        });
        Box::pin(std::future::ready(Ok(u64::from(limit - left))))
    }

    fn backlog(&self) -> LogFuture<'_, Backlog> {
        let state = self.lock();
        let dead_letters = state
            .records
            .values()
            .filter(|record| record.status == RecordStatus::DeadLettered)
            .count() as u64;
        let oldest_unprocessed = state
            .records
            .values()
            .filter(|record| matches!(record.status, RecordStatus::Received | RecordStatus::Failed))
            .map(|record| record.received_at)
            .min();
        Box::pin(std::future::ready(Ok(Backlog::new(
            dead_letters,
            oldest_unprocessed,
        ))))
    }
}
