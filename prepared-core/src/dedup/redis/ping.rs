//! The readiness round trip of [`RedisDedupStore`]: one `PING` under the operation timeout.

use std::time::Duration;

use super::{DedupError, RedisDedupStore, reconnects};

/// How long the second `PING` waits for the connection manager's new connection: enough for
/// a Redis that is up, short enough that a Redis that is down shows at once (the manager
/// backs off between its attempts).
const RECONNECT_WAIT: Duration = Duration::from_millis(250);

impl RedisDedupStore {
    /// Sends `PING` under the store's timeout, retrying once on a new connection when the
    /// connection dropped (as every operation does, but waiting at most 250 ms for it), so
    /// that a Redis that came back answers at the first probe and one that is gone fails it
    /// quickly.
    pub(crate) async fn ping_redis(&self) -> Result<(), DedupError> {
        let mut connection = self.connection.clone();
        let ping = async {
            let mut answer = redis::cmd("PING")
                .query_async::<String>(&mut connection)
                .await;
            if let Err(error) = &answer
                && reconnects(error)
            {
                let ping = redis::cmd("PING");
                let again = ping.query_async::<String>(&mut connection);
                if let Ok(second) = tokio::time::timeout(RECONNECT_WAIT, again).await {
                    answer = second;
                }
            }
            answer
        };
        match tokio::time::timeout(self.timeout, ping).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(DedupError::unavailable(
                "redis ping failed",
                Some(Box::new(error)),
            )),
            Err(_) => Err(DedupError::unavailable(
                format!("redis ping timed out after {:?}", self.timeout),
                None,
            )),
        }
    }
}
