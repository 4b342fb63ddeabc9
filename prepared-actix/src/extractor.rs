//! [`PreparedEvent`]: the extractor, for handlers that process events themselves.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError};
use prepared_core::Webhooks;
use prepared_core::delivery::{ClaimedEvent, NotClaimed};

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
    /// A duplicate (`200`) or a refused delivery (`4xx`, or `503` with `Retry-After`).
    NotClaimed(NotClaimed),
    /// No `Webhooks` in `app_data`: a mistake in the app's setup (`500`).
    NotConfigured,
}

impl fmt::Display for PreparedEventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotClaimed(not_claimed) => not_claimed.fmt(f),
            Self::NotConfigured => f.write_str("no prepared_core::Webhooks in app_data"),
        }
    }
}

impl ResponseError for PreparedEventError {
    fn status_code(&self) -> actix_web::http::StatusCode {
        let status = match self {
            Self::NotClaimed(not_claimed) => not_claimed.status(),
            Self::NotConfigured => http::StatusCode::INTERNAL_SERVER_ERROR,
        };
        actix_web::http::StatusCode::from_u16(status.as_u16())
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::NotClaimed(not_claimed) => bridge::response(not_claimed.to_response()),
            Self::NotConfigured => HttpResponse::InternalServerError().finish(),
        }
    }
}

impl FromRequest for PreparedEvent {
    type Error = PreparedEventError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let webhooks = request.app_data::<Webhooks>().cloned();
        let head = bridge::head(request);
        let payload = payload.take();
        Box::pin(async move {
            let webhooks = webhooks.ok_or(PreparedEventError::NotConfigured)?;
            let claimed = webhooks.extract(&head, bridge::body(payload)).await;
            claimed.map(Self).map_err(PreparedEventError::NotClaimed)
        })
    }
}
