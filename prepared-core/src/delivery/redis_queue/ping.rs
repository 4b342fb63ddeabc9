//! The readiness round trip of [`RedisStreamQueue`]: one `PING` on its connection.

use std::time::Duration;

use super::RedisStreamQueue;
use crate::readiness::CheckStatus;

/// How long the queue's Redis may take to answer a readiness `PING`.
const PING_TIMEOUT: Duration = Duration::from_secs(1);

impl RedisStreamQueue {
    /// `Ok` when the queue's Redis answers `PING` within a second (tried twice when the
    /// first attempt finds the connection dropped, as the connection manager reconnects).
    pub(super) async fn ping(&self) -> CheckStatus {
        let mut connection = self.connection.clone();
        let ping = async {
            for _ in 0..2 {
                let answer: Result<String, redis::RedisError> =
                    redis::cmd("PING").query_async(&mut connection).await;
                match answer {
                    Ok(_) => return CheckStatus::Ok,
                    Err(error) if error.is_io_error() || error.is_unrecoverable_error() => {}
                    Err(_) => return CheckStatus::Unreachable,
                }
            }
            CheckStatus::Unreachable
        };
        tokio::time::timeout(PING_TIMEOUT, ping)
            .await
            .unwrap_or(CheckStatus::Unreachable)
    }
}
