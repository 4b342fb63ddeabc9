//! A JWKS endpoint on loopback, for the issuers of a test.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::TestIssuer;

/// Serves a JWKS document on a free loopback port, at any path, until it is dropped or
/// [stopped](Self::stop): what a [`JwtValidator::jwks`](crate::auth::JwtValidator::jwks)
/// of a test points at.
///
/// ```
/// use prepared_core::auth::JwtValidator;
/// use prepared_core::testing::{JwksServer, TestIssuer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let issuer = TestIssuer::rs256();
/// let jwks = JwksServer::start(&[&issuer]).await?;
/// let validator = JwtValidator::jwks(jwks.url())
///     .issuer(TestIssuer::ISSUER)
///     .audience(TestIssuer::AUDIENCE)
///     .build()?;
///
/// let info = validator.validate(issuer.token().sign().as_bytes()).await?;
/// assert_eq!(info.client_id.as_deref(), Some("prepared"));
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct JwksServer {
    address: SocketAddr,
    document: Arc<Mutex<Value>>,
    task: JoinHandle<()>,
}

impl JwksServer {
    /// Starts serving the public keys of `issuers` (HS256 issuers have none to publish).
    ///
    /// # Errors
    ///
    /// When no loopback port can be bound.
    pub async fn start(issuers: &[&TestIssuer]) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let address = listener.local_addr()?;
        let document = Arc::new(Mutex::new(document(issuers)));
        let task = tokio::spawn(serve(listener, Arc::clone(&document)));
        Ok(Self {
            address,
            document,
            task,
        })
    }

    /// The URL of the document.
    pub fn url(&self) -> String {
        format!("http://{}/.well-known/jwks.json", self.address)
    }

    /// From now on, serves the keys of `issuers` instead, e.g. after a key rotation.
    pub fn publish(&self, issuers: &[&TestIssuer]) {
        *self.document.lock().unwrap_or_else(PoisonError::into_inner) = document(issuers);
    }

    /// Stops serving: connections are refused from now on, e.g. to test an outage.
    pub fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn document(issuers: &[&TestIssuer]) -> Value {
    let keys: Vec<Value> = issuers.iter().filter_map(|issuer| issuer.jwk()).collect();
    json!({ "keys": keys })
}

/// Answers every request on every connection with the current document; a connection's
/// task ends with the listener's, as each is spawned onto a [`tokio::task::JoinSet`].
async fn serve(listener: TcpListener, document: Arc<Mutex<Value>>) {
    let mut connections = tokio::task::JoinSet::new();
    while let Ok((stream, _)) = listener.accept().await {
        let document = Arc::clone(&document);
        let service = service_fn(move |_request| {
            let body = document
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .to_string();
            async move {
                let response = http::Response::builder()
                    .header(http::header::CONTENT_TYPE, "application/json")
                    .body(Full::new(Bytes::from(body)));
                Ok::<_, Infallible>(response.unwrap_or_default())
            }
        });
        connections.spawn(async move {
            // A client that goes away mid-request is no concern of the test's.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
