//! [`EntrySettler`]: how the durable queue settles a processed entry's claim, and retries
//! when Redis fails.

use std::time::Duration;

use futures_util::future::BoxFuture;

use super::scripts::HELD_BY_OTHER;
use super::{Entry, RedisStreamQueue};
use crate::dedup::DedupError;
use crate::delivery::queue::Job;
use crate::delivery::settle::{SETTLE_WINDOW, Settle, Settler};

/// Settles the claim of one entry's job: a completion also acknowledges the entry, in the
/// same script; a release (the event is dead-lettered) only releases the claim, and the
/// worker acknowledges the entry after the dead-letter hook.
#[derive(Clone)]
pub(super) struct EntrySettler {
    queue: RedisStreamQueue,
    lane: usize,
    stream: String,
    id: String,
}

impl EntrySettler {
    pub(super) fn new(queue: &RedisStreamQueue, entry: &Entry) -> Self {
        Self {
            queue: queue.clone(),
            lane: entry.lane,
            stream: entry.stream.clone(),
            id: entry.entry.id.clone(),
        }
    }

    /// One attempt; both operations are safe to repeat.
    async fn attempt(&self, claim_key: &str, how: Settle, token: &str) -> Result<(), DedupError> {
        let store = self.queue.store();
        match how {
            Settle::Complete => {
                let mut invocation = self.queue.scripts.complete_and_ack.prepare_invoke();
                invocation
                    .key(claim_key)
                    .key(&self.stream)
                    .arg(token)
                    .arg(store.retention_ms())
                    .arg(&self.queue.group)
                    .arg(&self.id);
                let answer: i64 = store.invoke("complete and ack", &invocation).await?;
                if answer == HELD_BY_OTHER {
                    tracing::warn!(
                        id = %self.id,
                        "the claim expired and another delivery took the event over; \
                         it was not marked done by the expired claim"
                    );
                }
            }
            Settle::Release => {
                let mut invocation = store.scripts().release.prepare_invoke();
                invocation.key(claim_key).arg(token);
                let _: i64 = store.invoke("release", &invocation).await?;
            }
        }
        Ok(())
    }
}

impl Settler for EntrySettler {
    fn settle<'a>(&'a self, job: &'a Job, how: Settle) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let claim_key = self.queue.claim_key(self.lane, job.key());
            let token = job.token.to_string();
            let Err(error) = self.attempt(&claim_key, how, &token).await else {
                return;
            };
            tracing::warn!(event = %job.key(), ?how, %error, "could not settle the claim; retrying in the background");
            let settler = self.clone();
            let key = job.key().clone();
            tokio::spawn(async move {
                let started = tokio::time::Instant::now();
                let mut backoff = Duration::from_millis(100);
                loop {
                    tokio::time::sleep(backoff).await;
                    match settler.attempt(&claim_key, how, &token).await {
                        Ok(()) => {
                            tracing::info!(event = %key, ?how, "claim settled after a retry");
                            return;
                        }
                        Err(error) if started.elapsed() >= SETTLE_WINDOW => {
                            tracing::error!(event = %key, ?how, %error, "gave up settling the claim; it will expire");
                            return;
                        }
                        Err(_) => backoff = (backoff * 2).min(Duration::from_secs(5)),
                    }
                }
            });
        })
    }
}
