//! [`Webhooks::readiness`]: the receiver's dependencies checked for a readiness probe (see
//! [`crate::readiness`]).

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use super::Webhooks;
use crate::dedup::DedupError;
use crate::readiness::{CheckStatus, Dependency, Readiness};

/// How long a passing round trip is reused.
const PASSED_FOR: Duration = Duration::from_secs(1);
/// How long a failing round trip is reused: short, so a replica is ready soon after its
/// dependency returns.
const FAILED_FOR: Duration = Duration::from_millis(250);
/// The longest a probe waits for a dependency, whatever its own timeout.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// The outcomes of the round trips to the dependencies.
#[derive(Clone, Copy, Debug)]
struct Probed {
    dedup_store: CheckStatus,
    durable_queue: Option<CheckStatus>,
    authorization_server: Option<CheckStatus>,
    delivery_log: Option<CheckStatus>,
}

impl Probed {
    fn passed(&self) -> bool {
        [
            Some(self.dedup_store),
            self.durable_queue,
            self.authorization_server,
            self.delivery_log,
        ]
        .into_iter()
        .flatten()
        .all(CheckStatus::is_ok)
    }
}

/// The last round trips and when they were made; the lock makes concurrent probes share one.
#[derive(Default)]
pub(super) struct ProbeCache {
    last: Mutex<Option<(Instant, Probed)>>,
}

impl Webhooks {
    /// Whether this replica can take deliveries now, check by check (see
    /// [`crate::readiness`] for the checks and their caching). Serve it on `GET /ready`
    /// with `prepared_tower::ReadinessService` or `prepared_actix::readiness_route`, or
    /// answer [`Readiness::to_response`] from a route of your own.
    pub async fn readiness(&self) -> Readiness {
        let probed = self.probed().await;
        let mut report = Readiness::default();
        report.insert(
            "receiver",
            if self.is_accepting() {
                CheckStatus::Ok
            } else {
                CheckStatus::ShuttingDown
            },
        );
        report.insert(Dependency::DedupStore.as_str(), probed.dedup_store);
        if let Some(status) = probed.durable_queue {
            report.insert(Dependency::DurableQueue.as_str(), status);
        }
        if let Some(status) = probed.authorization_server {
            report.insert(Dependency::AuthorizationServer.as_str(), status);
        }
        if let Some(status) = probed.delivery_log {
            report.insert(Dependency::DeliveryLog.as_str(), status);
        }
        if let Some(fill) = self.inner.queue.as_ref().and_then(|queue| queue.fill()) {
            report.insert("queue", fill.status());
            report.queue = Some(fill);
        }
        report
    }

    /// The round trips, from the cache when it is recent enough.
    async fn probed(&self) -> Probed {
        let mut last = self.inner.probes.last.lock().await;
        if let Some((at, probed)) = *last {
            let reuse = if probed.passed() {
                PASSED_FOR
            } else {
                FAILED_FOR
            };
            if at.elapsed() < reuse {
                return probed;
            }
        }
        let probed = self.probe().await;
        *last = Some((Instant::now(), probed));
        probed
    }

    /// One round trip to each dependency, all at once, each within [`PROBE_TIMEOUT`].
    async fn probe(&self) -> Probed {
        let dedup = async {
            let answer = tokio::time::timeout(PROBE_TIMEOUT, self.inner.processor.dedup.ping());
            match answer.await {
                Ok(Ok(())) => CheckStatus::Ok,
                Ok(Err(DedupError::Full { .. })) => CheckStatus::Full,
                Ok(Err(_)) | Err(_) => CheckStatus::Unreachable,
            }
        };
        let queue = async {
            let ping = self.inner.queue.as_ref().and_then(|queue| queue.ping())?;
            Some(
                tokio::time::timeout(PROBE_TIMEOUT, ping)
                    .await
                    .unwrap_or(CheckStatus::Unreachable),
            )
        };
        let server = async {
            let check = self.inner.authenticator.authorization_server();
            tokio::time::timeout(PROBE_TIMEOUT, check)
                .await
                .unwrap_or(Some(CheckStatus::Unreachable))
        };
        let log = async {
            let recorder = self.inner.processor.recorder.as_ref()?;
            let answer = tokio::time::timeout(PROBE_TIMEOUT, recorder.log().ping()).await;
            Some(match answer {
                Ok(Ok(())) => CheckStatus::Ok,
                Ok(Err(_)) | Err(_) => CheckStatus::Unreachable,
            })
        };
        let (dedup_store, durable_queue, authorization_server, delivery_log) =
            tokio::join!(dedup, queue, server, log);
        Probed {
            dedup_store,
            durable_queue,
            authorization_server,
            delivery_log,
        }
    }
}
