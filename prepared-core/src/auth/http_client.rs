//! [`AuthServerClient`]: how the receiver reaches an authorization server (JWKS, RFC 7662
//! introspection): reqwest, every call under a timeout, no redirects, a bounded answer.

use std::time::Duration;

use bytes::BytesMut;

/// The largest answer read from an authorization server. A JWKS or an introspection answer
/// is a few KiB; anything larger is refused instead of buffered.
const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// The longest OAuth `error` code kept from a refusal; real codes (RFC 6749 §5.2, RFC 7662
/// §2.3) are under 30 characters.
const MAX_ERROR_CODE_CHARS: usize = 64;

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
    #[error("answered {status}")]
    Status {
        /// The answer's status.
        status: http::StatusCode,
        /// For a `4xx`, the OAuth `error` code of its body (RFC 6749 §5.2), e.g.
        /// `invalid_client`: only that short field, never the body.
        oauth_error: Option<String>,
    },
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
            Self::Status { status, .. } if status.is_server_error() => "server_error",
            Self::Status { .. } => "refused",
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
            Err(_) => Err(UpstreamError::Status {
                status: http::StatusCode::BAD_REQUEST,
                oauth_error: None,
            }),
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
            // A 4xx usually says why (wrong receiver credentials, a token the server will not
            // introspect): its `error` code tells a misconfiguration from an outage.
            let oauth_error = if status.is_client_error() {
                read_body(&mut response)
                    .await
                    .ok()
                    .and_then(|body| oauth_error_code(&body))
            } else {
                None
            };
            return Err(UpstreamError::Status {
                status,
                oauth_error,
            });
        }
        let body = read_body(&mut response).await?;
        let mut answer = http::Response::new(body);
        *answer.status_mut() = status;
        *answer.headers_mut() = std::mem::take(response.headers_mut());
        Ok(answer)
    }
}

/// The body of `response`, at most [`MAX_RESPONSE_BYTES`].
async fn read_body(response: &mut reqwest::Response) -> Result<Vec<u8>, UpstreamError> {
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(UpstreamError::Request)? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(UpstreamError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.to_vec())
}

/// The `error` field of an OAuth error body (RFC 6749 §5.2), when it is a short code of the
/// characters the RFC allows (`%x20-21 / %x23-5B / %x5D-7E`); anything else is not kept, so
/// that no free text of the server's reaches a log.
fn oauth_error_code(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        error: String,
    }
    let code = serde_json::from_slice::<ErrorBody>(body).ok()?.error;
    let allowed = |c: char| matches!(c, '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e');
    (!code.is_empty() && code.len() <= MAX_ERROR_CODE_CHARS && code.chars().all(allowed))
        .then_some(code)
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
