//! [`AuthServerClient`]: how the receiver reaches an authorization server (JWKS, RFC 7662
//! introspection): reqwest, every call under a timeout, no redirects, a bounded answer.

use std::time::Duration;

use bytes::BytesMut;

/// The largest answer read from an authorization server. A JWKS or an introspection answer
/// is a few KiB; anything larger is refused instead of buffered.
const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// An HTTP client for authorization servers. Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct AuthServerClient {
    client: reqwest::Client,
    timeout: Duration,
}

/// Why an authorization server did not give a usable answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UpstreamError {
    /// No answer within the timeout.
    #[error("no answer within the timeout")]
    Timeout,
    /// The connection failed or broke.
    #[error("the request failed: {0}")]
    Request(#[source] reqwest::Error),
    /// An answer with a status other than `200`.
    #[error("answered {0}")]
    Status(http::StatusCode),
    /// An answer larger than [`MAX_RESPONSE_BYTES`].
    #[error("the answer is larger than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge,
}

impl UpstreamError {
    /// A short name for tracing and metrics, prefixed by the caller (`jwks_`,
    /// `introspection_`).
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Request(_) => "unreachable",
            Self::Status(status) if status.is_server_error() => "server_error",
            Self::Status(_) => "refused",
            Self::TooLarge => "answer_too_large",
        }
    }
}

impl AuthServerClient {
    /// A client whose every call, from connecting to the last byte of the answer, takes at
    /// most `timeout`.
    pub(crate) fn new(timeout: Duration) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeout)
            .build()
            // Building fails only when the TLS backend cannot start; a client without the
            // builder's settings still gets the timeout below.
            .unwrap_or_else(|_| reqwest::Client::new());
        Self { client, timeout }
    }

    /// Sends `request` and reads the answer. Only a `200` answer is `Ok`: a `4xx` or `5xx`
    /// means the server cannot vouch for anything now.
    pub(crate) async fn execute(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, UpstreamError> {
        match tokio::time::timeout(self.timeout, self.send(request)).await {
            Ok(result) => result,
            Err(_) => Err(UpstreamError::Timeout),
        }
    }

    /// `GET url` with `Accept: application/json`.
    pub(crate) async fn get_json(&self, url: &str) -> Result<Vec<u8>, UpstreamError> {
        let request = http::Request::get(url)
            .header(http::header::ACCEPT, "application/json")
            .body(Vec::new());
        match request {
            Ok(request) => self.execute(request).await.map(http::Response::into_body),
            Err(_) => Err(UpstreamError::Status(http::StatusCode::BAD_REQUEST)),
        }
    }

    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, UpstreamError> {
        let request = reqwest::Request::try_from(request).map_err(UpstreamError::Request)?;
        let mut response = self
            .client
            .execute(request)
            .await
            .map_err(UpstreamError::Request)?;
        let status = response.status();
        if status != http::StatusCode::OK {
            return Err(UpstreamError::Status(status));
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(UpstreamError::Request)? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(UpstreamError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        let mut answer = http::Response::new(body.to_vec());
        *answer.status_mut() = status;
        *answer.headers_mut() = std::mem::take(response.headers_mut());
        Ok(answer)
    }
}

/// `oauth2` sends its requests (introspection) through this client.
impl<'c> oauth2::AsyncHttpClient<'c> for AuthServerClient {
    type Error = UpstreamError;
    type Future = std::pin::Pin<
        Box<dyn Future<Output = Result<oauth2::HttpResponse, UpstreamError>> + Send + 'c>,
    >;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(self.execute(request))
    }
}
