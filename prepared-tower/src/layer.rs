//! [`PreparedWebhooksLayer`]: the one line an app adds.

use std::sync::Arc;

use prepared_core::Webhooks;
use tower_layer::Layer;

use crate::PreparedWebhooks;

/// Answers Prepared's deliveries on one path and passes every other request to the inner
/// service. See the [crate documentation](crate) for an example.
#[derive(Clone, Debug)]
pub struct PreparedWebhooksLayer {
    webhooks: Webhooks,
    path: Arc<str>,
}

impl PreparedWebhooksLayer {
    /// Serves `webhooks` on `path` (an exact match, e.g. `/webhooks/prepared`).
    pub fn new(webhooks: Webhooks, path: impl Into<Arc<str>>) -> Self {
        Self {
            webhooks,
            path: path.into(),
        }
    }
}

impl<S> Layer<S> for PreparedWebhooksLayer {
    type Service = PreparedWebhooks<S>;

    fn layer(&self, inner: S) -> Self::Service {
        PreparedWebhooks::new(inner, self.webhooks.clone(), Arc::clone(&self.path))
    }
}
