//! [`PreparedEvent`]: the extractor, for handlers that process events themselves.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError};
use prepared_core::delivery::{Accepted, ClaimedEvent, Rejection};

use crate::bridge;

/// A verified, decoded event whose dedup claim this request holds.
///
/// Reads the [`Webhooks`](prepared_core::Webhooks) from `app_data`; checks the method and the
/// credentials before reading the payload, then the content type, the size limit, decoding
/// and the dedup claim. A duplicate is answered `200` without running the handler.
///
/// The handler calls [`complete`](ClaimedEvent::complete) once the event is safely handled;
/// if it returns or fails without doing so, the claim is released and Prepared's next
/// delivery of the event is processed.
///
/// ```no_run
/// use actix_web::HttpResponse;
/// use prepared_actix::PreparedEvent;
///
/// async fn receive(PreparedEvent(claimed): PreparedEvent) -> HttpResponse {
///     // ... store claimed.event() ...
///     claimed.complete().await;
///     HttpResponse::Ok().finish()
/// }
/// ```
#[derive(Debug)]
pub struct PreparedEvent(pub ClaimedEvent);

/// Why [`PreparedEvent`] did not reach the handler; answers with the pipeline's status.
#[derive(Debug)]
#[non_exhaustive]
pub enum PreparedEventError {
    /// The event was already processed: answered `200` so that Prepared stops retrying.
    Duplicate,
    /// The delivery was refused (`4xx`, or `503` with `Retry-After`).
    Rejected(Rejection),
    /// No `Webhooks` in `app_data`: a mistake in the app's setup (`500`).
    NotConfigured,
}

impl fmt::Display for PreparedEventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Duplicate => f.write_str("duplicate delivery"),
            Self::Rejected(rejection) => rejection.fmt(f),
            Self::NotConfigured => f.write_str("no prepared_core::Webhooks in app_data"),
        }
    }
}

impl ResponseError for PreparedEventError {
    fn status_code(&self) -> actix_web::http::StatusCode {
        let status = match self {
            Self::Duplicate => http::StatusCode::OK,
            Self::Rejected(rejection) => rejection.status(),
            Self::NotConfigured => http::StatusCode::INTERNAL_SERVER_ERROR,
        };
        actix_web::http::StatusCode::from_u16(status.as_u16())
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Duplicate => bridge::response(Accepted::Duplicate.to_response()),
            Self::Rejected(rejection) => bridge::response(rejection.to_response()),
            Self::NotConfigured => HttpResponse::InternalServerError().finish(),
        }
    }
}

impl FromRequest for PreparedEvent {
    type Error = PreparedEventError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let webhooks = bridge::webhooks(request);
        let head = bridge::head(request);
        let payload = payload.take();
        Box::pin(async move {
            let webhooks = webhooks.ok_or(PreparedEventError::NotConfigured)?;
            let result = async {
                webhooks.check_head(&head).await?;
                let body = webhooks.read_body(&head, bridge::body(payload)).await?;
                webhooks.claim(body).await
            }
            .await;
            match result {
                Ok(Some(claimed)) => Ok(Self(claimed)),
                Ok(None) => {
                    webhooks.record_accepted(Accepted::Duplicate);
                    Err(PreparedEventError::Duplicate)
                }
                Err(rejection) => {
                    webhooks.record_rejection(&rejection);
                    Err(PreparedEventError::Rejected(rejection))
                }
            }
        })
    }
}
