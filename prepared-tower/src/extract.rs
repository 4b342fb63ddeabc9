//! [`PreparedEvent`]: an axum extractor for handlers that process events themselves.
//!
//! ```no_run
//! use axum::{Router, routing::post};
//! use prepared_core::{Event, Webhooks};
//! use prepared_tower::extract::PreparedEvent;
//!
//! async fn receive(PreparedEvent(claimed): PreparedEvent) -> &'static str {
//!     if let Event::CallerLocation(location) = claimed.event() {
//!         let _ = (location.lat, location.lng); // store it...
//!     }
//!     claimed.complete().await; // redeliveries are now duplicates
//!     "ok"
//! }
//!
//! # fn app(webhooks: Webhooks) -> Router {
//! Router::new().route("/webhooks/prepared", post(receive)).with_state(webhooks)
//! # }
//! ```
//!
//! The extractor runs the same checks as the layer (method, credentials before the body,
//! content type, size limit, decoding, dedup claim) and gets the [`Webhooks`] from the
//! router's state (`Webhooks: FromRef<S>`). A duplicate is answered `200` without running the
//! handler. The handler gets the event with its claim: it calls
//! [`complete`](ClaimedEvent::complete) once the event is safely handled; if it returns or
//! fails without doing so, the claim is released and Prepared's next delivery is processed.

use axum::extract::{FromRef, FromRequest, Request};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use prepared_core::Webhooks;
use prepared_core::delivery::{Accepted, ClaimedEvent, Rejection};

/// A verified, decoded event whose dedup claim this request holds.
#[derive(Debug)]
pub struct PreparedEvent(pub ClaimedEvent);

/// Why [`PreparedEvent`] did not reach the handler; answers with the pipeline's status.
#[derive(Debug)]
#[non_exhaustive]
pub enum PreparedEventRejection {
    /// The event was already processed: answered `200` so that Prepared stops retrying.
    Duplicate,
    /// The delivery was refused (`4xx`, or `503` with `Retry-After`).
    Rejected(Rejection),
}

impl<S> FromRequest<S> for PreparedEvent
where
    Webhooks: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = PreparedEventRejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let webhooks = Webhooks::from_ref(state);
        let result = async {
            let (head, body) = request.into_parts();
            webhooks.check_head(&head).await?;
            let body = webhooks.read_body(&head, body).await?;
            webhooks.claim(body).await
        }
        .await;
        match result {
            Ok(Some(claimed)) => Ok(Self(claimed)),
            Ok(None) => {
                webhooks.record_accepted(Accepted::Duplicate);
                Err(PreparedEventRejection::Duplicate)
            }
            Err(rejection) => {
                webhooks.record_rejection(&rejection);
                Err(PreparedEventRejection::Rejected(rejection))
            }
        }
    }
}

impl IntoResponse for PreparedEventRejection {
    fn into_response(self) -> Response {
        match self {
            Self::Duplicate => into_axum(Accepted::Duplicate.to_response()),
            Self::Rejected(rejection) => into_axum(rejection.to_response()),
        }
    }
}

fn into_axum(response: http::Response<Bytes>) -> Response {
    response.map(axum::body::Body::from)
}
