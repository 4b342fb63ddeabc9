//! The checks on a delivery's head and the read of its body, before anything is decoded.

use std::sync::Arc;

use bytes::Bytes;
use http::request::Parts;
use http::{Method, header};
use time::OffsetDateTime;

use super::body::{is_json, read_limited};
use super::callbacks::BoxError;
use super::{Rejection, Webhooks};
use crate::auth::{AuthError, Principal};
use crate::readiness::Dependency;

impl Webhooks {
    /// Who sent the delivery and when, once its head passed [`check_head`](Self::check_head);
    /// the tenant goes into the current span.
    pub(super) async fn sender(&self, head: &Parts) -> Result<Sender, Rejection> {
        let received_at = OffsetDateTime::now_utc();
        let principal = self.check_head(head).await?;
        let tenant = self.inner.tenants.of(&principal);
        if let Some(tenant) = &tenant {
            tracing::Span::current().record("tenant", &**tenant);
        }
        Ok(Sender {
            principal,
            tenant,
            received_at,
        })
    }

    /// The checks on the request head, before any body byte is read: the method, the
    /// credentials, the content type and encoding, and a declared `Content-Length` over the
    /// limit. Answers who the delivery was authenticated as.
    pub async fn check_head(&self, head: &Parts) -> Result<Principal, Rejection> {
        if head.method != Method::POST {
            return Err(Rejection::MethodNotAllowed);
        }
        let principal = self.authenticate(head).await?;
        let headers = &head.headers;
        let content_type = headers.get(header::CONTENT_TYPE);
        if !content_type.is_some_and(|value| is_json(value.as_bytes())) {
            return Err(Rejection::UnsupportedMediaType);
        }
        // Prepared sends plain JSON; an encoded body (gzip, ...) is not read as JSON.
        let encoded = headers
            .get_all(header::CONTENT_ENCODING)
            .iter()
            .any(|value| {
                !value
                    .as_bytes()
                    .trim_ascii()
                    .eq_ignore_ascii_case(b"identity")
            });
        if encoded {
            return Err(Rejection::UnsupportedMediaType);
        }
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        if declared.is_some_and(|length| length > self.inner.body_limit as u64) {
            return Err(Rejection::PayloadTooLarge {
                limit: self.inner.body_limit,
            });
        }
        Ok(principal)
    }

    /// Who the request head's credentials belong to, by the receiver's authenticator
    /// (`401`/`403`/`503` otherwise). For middleware that hands the [`Principal`] to a
    /// handler of the application's own, e.g. `prepared_tower::AuthenticateLayer`.
    pub async fn authenticate(&self, head: &Parts) -> Result<Principal, Rejection> {
        let principal = self.inner.authenticator.authenticate(head).await;
        principal.map_err(|error| {
            if let AuthError::Unavailable { reason, .. } = &error {
                let failures = &self.inner.processor.counters.failures;
                failures.record(Dependency::AuthorizationServer, reason, &error);
            }
            Rejection::from(error)
        })
    }

    /// Reads the body, stopping as soon as it exceeds the limit (`413`) without buffering the
    /// rest, or when it does not arrive within the body timeout (`408`).
    pub(super) async fn read_body<B>(&self, body: B) -> Result<Bytes, Rejection>
    where
        B: http_body::Body,
        B::Error: Into<BoxError>,
    {
        let timeout = self.inner.body_timeout;
        tokio::time::timeout(timeout, read_limited(body, self.inner.body_limit))
            .await
            .unwrap_or(Err(Rejection::BodyTimeout { timeout }))
    }

    /// The body size limit in bytes.
    pub fn body_limit(&self) -> usize {
        self.inner.body_limit
    }
}

/// Who sent a delivery, and when: what its head told before the body was read.
pub(super) struct Sender {
    pub(super) principal: Principal,
    pub(super) tenant: Option<Arc<str>>,
    pub(super) received_at: OffsetDateTime,
}
