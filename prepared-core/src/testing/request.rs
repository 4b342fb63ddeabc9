//! A delivery request as Prepared sends it.

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, header};
use http_body_util::Full;

/// A webhook delivery request: `POST /webhooks/prepared` with `Content-Type:
/// application/json`, the given body and, once you add it, `Authorization: Bearer <token>`.
///
/// [`build`](Self::build) gives an `http::Request<Full<Bytes>>`, which a tower service (and so
/// an axum router) takes as it is; for actix-web's `TestRequest`, copy [`headers`](Self::headers)
/// and [`body`](Self::body).
///
/// ```
/// use prepared_core::testing::{Sample, WebhookRequest};
///
/// let request = Sample::media().request().bearer("token-for-tests").build();
/// assert_eq!(request.uri(), "/webhooks/prepared");
/// assert_eq!(request.headers()["authorization"], "Bearer token-for-tests");
///
/// let without_type = WebhookRequest::new("{}").without_content_type().build();
/// assert!(without_type.headers().get("content-type").is_none());
/// ```
#[derive(Clone, Debug)]
pub struct WebhookRequest {
    method: Method,
    path: String,
    headers: http::HeaderMap,
    body: Bytes,
}

impl WebhookRequest {
    /// A delivery of `body`, with no credentials yet.
    pub fn new(body: impl Into<Bytes>) -> Self {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Self {
            method: Method::POST,
            path: "/webhooks/prepared".to_owned(),
            headers,
            body: body.into(),
        }
    }

    /// Adds `Authorization: Bearer <token>`, replacing any earlier one.
    ///
    /// # Panics
    ///
    /// When `token` holds a character a header cannot (a control character).
    pub fn bearer(self, token: &str) -> Self {
        self.header(header::AUTHORIZATION, &format!("Bearer {token}"))
    }

    /// Sets the header `name` to `value`, replacing any earlier one.
    ///
    /// # Panics
    ///
    /// When `value` holds a character a header cannot (a control character).
    pub fn header(mut self, name: HeaderName, value: &str) -> Self {
        let value = HeaderValue::from_str(value)
            .unwrap_or_else(|_| panic!("not a valid value for the header `{name}`"));
        self.headers.insert(name, value);
        self
    }

    /// Removes the `Content-Type` header, e.g. to test the `415` answer.
    pub fn without_content_type(mut self) -> Self {
        self.headers.remove(header::CONTENT_TYPE);
        self
    }

    /// Sends it to `path` instead of `/webhooks/prepared`.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Sends it with `method` instead of `POST`.
    pub fn method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    /// The headers the request will carry.
    pub fn headers(&self) -> &http::HeaderMap {
        &self.headers
    }

    /// The body the request will carry.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The request.
    ///
    /// # Panics
    ///
    /// When the path is not a valid URI path.
    pub fn build(self) -> http::Request<Full<Bytes>> {
        let mut request = http::Request::new(Full::new(self.body));
        *request.method_mut() = self.method;
        *request.uri_mut() = self
            .path
            .parse()
            .unwrap_or_else(|_| panic!("not a valid request path: {}", self.path));
        *request.headers_mut() = self.headers;
        request
    }

    /// The request's head only, for [`Webhooks::check_head`](crate::Webhooks::check_head) or an
    /// [`Authenticator`](crate::auth::Authenticator).
    pub fn head(self) -> http::request::Parts {
        self.build().into_parts().0
    }
}
