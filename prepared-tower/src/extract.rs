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
use prepared_core::Webhooks;
use prepared_core::delivery::{ClaimedEvent, NotClaimed};

/// A verified, decoded event whose dedup claim this request holds.
#[derive(Debug)]
pub struct PreparedEvent(pub ClaimedEvent);

/// Why [`PreparedEvent`] did not reach the handler; answers with the pipeline's status
/// (`200` for a duplicate).
#[derive(Debug)]
pub struct PreparedEventRejection(pub NotClaimed);

impl<S> FromRequest<S> for PreparedEvent
where
    Webhooks: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = PreparedEventRejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let webhooks = Webhooks::from_ref(state);
        let (head, body) = request.into_parts();
        match webhooks.extract(&head, body).await {
            Ok(claimed) => Ok(Self(claimed)),
            Err(not_claimed) => Err(PreparedEventRejection(not_claimed)),
        }
    }
}

impl IntoResponse for PreparedEventRejection {
    fn into_response(self) -> Response {
        self.0.to_response().map(axum::body::Body::from)
    }
}
