//! [`Webhooks::handle_replay`]: a replay asked for over HTTP, by an operator or the
//! `deliveries` tool, behind a credential of its own.

use std::future::Future;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};

use super::body::{is_json, read_limited};
use super::callbacks::BoxError;
use super::rejection::json_response;
use super::replay::{Replay, ReplayError};
use super::{Rejection, Webhooks};

/// The largest replay request body: a list of keys or a filter.
const REPLAY_BODY_LIMIT: usize = 256 * 1024;

impl Webhooks {
    /// Answers a replay request: `POST` with a JSON [`Replay`] body, e.g.
    /// `{"keys": ["caller_location:…"]}`, `{"filter": {"status": "dead_lettered"}}` or
    /// `{"filter": {"tenant": "ecc-a"}, "force": true}`, authenticated by the
    /// [replay authenticator](super::WebhooksBuilder::replay_authenticator) (never by the
    /// webhook credentials). Answers `200` with the [`ReplayReport`](super::ReplayReport) as
    /// JSON once the replay is done; `404` when the receiver has no replay authenticator;
    /// `401`/`403` for wrong credentials; `400` for a body that is not a replay; `503` when the
    /// delivery log or the dedup store fails. Mount it on a route of its own, e.g.
    /// `POST /admin/replay` (`prepared_tower::ReplayService`, `prepared_actix::replay_route`).
    pub fn handle_replay<B>(
        &self,
        request: Request<B>,
    ) -> impl Future<Output = Response<Bytes>> + use<B>
    where
        B: http_body::Body,
        B::Error: Into<BoxError>,
    {
        let this = self.clone();
        async move {
            let (head, body) = request.into_parts();
            let Some(authenticator) = &this.inner.replay_authenticator else {
                return error(StatusCode::NOT_FOUND, "not_found", "replay is not enabled");
            };
            if head.method != Method::POST {
                return Rejection::MethodNotAllowed.to_response();
            }
            if let Err(refused) = authenticator.authenticate(&head).await {
                return Rejection::from(refused).to_response();
            }
            let content_type = head.headers.get(header::CONTENT_TYPE);
            if !content_type.is_some_and(|value| is_json(value.as_bytes())) {
                return Rejection::UnsupportedMediaType.to_response();
            }
            let body = match read_limited(body, REPLAY_BODY_LIMIT).await {
                Ok(body) => body,
                Err(rejection) => return rejection.to_response(),
            };
            let replay: Replay = match serde_json::from_slice(&body) {
                Ok(replay) => replay,
                Err(refused) => {
                    let message = format!("not a replay request: {refused}");
                    return error(StatusCode::BAD_REQUEST, "bad_request", &message);
                }
            };
            match this.replay(&replay).await {
                Ok(report) => {
                    let body = serde_json::to_vec(&report).unwrap_or_default();
                    json_response(StatusCode::OK, body)
                }
                Err(ReplayError::NoDeliveryLog) => error(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    "the receiver has no delivery log",
                ),
                Err(failed) => {
                    tracing::warn!(error = %failed, "replay failed");
                    let message = failed.to_string();
                    error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", &message)
                }
            }
        }
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response<Bytes> {
    let body = serde_json::json!({ "error": code, "message": message });
    json_response(status, body.to_string())
}
