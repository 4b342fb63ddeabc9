//! The readiness round trip of [`RedisStreamQueue`]: a `PING` to its store's Redis.

use super::RedisStreamQueue;
use crate::readiness::CheckStatus;

impl RedisStreamQueue {
    /// `Ok` when the Redis of the queue (its dedup store's) answers `PING` under the store's
    /// timeout.
    pub(super) async fn ping(&self) -> CheckStatus {
        match self.store.ping_redis().await {
            Ok(()) => CheckStatus::Ok,
            Err(_) => CheckStatus::Unreachable,
        }
    }
}
