//! [`TokenRequest`]: a client-credentials token request, parsed from the request head and
//! body, not yet checked.

use base64::Engine;
use http::header;
use serde::Deserialize;

use super::TokenRequestError;
use crate::auth::ClientSecret;

/// A token request as the client sent it: a form (RFC 6749 §4.4.2) or a JSON body (how
/// Prepared's own client sends it), with the client's credentials from HTTP Basic
/// authentication (RFC 6749 §2.3.1, each part form-urlencoded) or from the body.
///
/// ```
/// use prepared_core::auth::TokenRequest;
///
/// let (head, ()) = http::Request::post("/oauth/token")
///     .header("content-type", "application/json")
///     .body(())
///     .unwrap()
///     .into_parts();
/// let body = br#"{"client_id": "prepared", "client_secret": "s3cret",
///                 "grant_type": "client_credentials", "scope": "incident_events"}"#;
/// let request = TokenRequest::parse(&head, body).unwrap();
/// assert_eq!(request.client_id, "prepared");
/// assert_eq!(request.scope.as_deref(), Some("incident_events"));
/// assert!(!format!("{request:?}").contains("s3cret"));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct TokenRequest {
    /// `grant_type`.
    pub grant_type: String,
    /// The client's id.
    pub client_id: String,
    /// The client's secret.
    pub client_secret: ClientSecret,
    /// `scope`, space-delimited, when the client asked for one.
    pub scope: Option<String>,
}

/// The parameters of the body; each at most once.
#[derive(Default, Deserialize)]
struct Parameters {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    scope: Option<String>,
}

impl TokenRequest {
    /// Parses a token request. Errors are the RFC 6749 §5.2 answers: `invalid_request` for
    /// a malformed request, `invalid_client` when the client did not authenticate.
    pub fn parse(head: &http::request::Parts, body: &[u8]) -> Result<Self, TokenRequestError> {
        if head.method != http::Method::POST {
            return Err(TokenRequestError::MethodNotAllowed);
        }
        let basic = basic_credentials(&head.headers)?;
        let parameters = parameters(head, body)?;
        let grant_type = parameters
            .grant_type
            .ok_or(TokenRequestError::InvalidRequest("grant_type is missing"))?;
        let (client_id, client_secret) =
            match (basic, parameters.client_id, parameters.client_secret) {
                (Some(_), _, Some(_)) => {
                    return Err(TokenRequestError::InvalidRequest(
                        "more than one client authentication method",
                    ));
                }
                (Some((id, _)), Some(body_id), None) if body_id != id => {
                    return Err(TokenRequestError::InvalidRequest(
                        "client_id differs from the authenticated client",
                    ));
                }
                (Some((id, secret)), _, None) => (id, secret),
                (None, Some(id), Some(secret)) => (id, secret),
                (None, _, _) => return Err(TokenRequestError::InvalidClient),
            };
        Ok(Self {
            grant_type,
            client_id,
            client_secret: ClientSecret::new(client_secret),
            scope: parameters.scope,
        })
    }
}

/// The client id and secret of an `Authorization: Basic` header, if there is one.
fn basic_credentials(
    headers: &http::HeaderMap,
) -> Result<Option<(String, String)>, TokenRequestError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(TokenRequestError::InvalidRequest(
            "more than one Authorization header",
        ));
    }
    let value = value.as_bytes();
    let encoded = match value.split_at_checked(6) {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case(b"basic ") => rest.trim_ascii(),
        _ => return Err(TokenRequestError::InvalidClient),
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| TokenRequestError::InvalidClient)?;
    let decoded = String::from_utf8(decoded).map_err(|_| TokenRequestError::InvalidClient)?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or(TokenRequestError::InvalidClient)?;
    match (form_decode(id), form_decode(secret)) {
        (Some(id), Some(secret)) if !id.is_empty() => Ok(Some((id, secret))),
        _ => Err(TokenRequestError::InvalidClient),
    }
}

/// `application/x-www-form-urlencoded` decoding of one value: `+` is a space, `%XX` a byte.
fn form_decode(value: &str) -> Option<String> {
    let spaced = value.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|decoded| decoded.into_owned())
}

/// The body's parameters, from a form or a JSON object.
fn parameters(head: &http::request::Parts, body: &[u8]) -> Result<Parameters, TokenRequestError> {
    let content_type = head
        .headers
        .get(header::CONTENT_TYPE)
        .map(|value| value.as_bytes())
        .unwrap_or_default();
    let essence = content_type
        .split(|b| *b == b';')
        .next()
        .unwrap_or_default()
        .trim_ascii();
    if essence.eq_ignore_ascii_case(b"application/x-www-form-urlencoded") {
        form_parameters(body)
    } else if essence.eq_ignore_ascii_case(b"application/json") {
        serde_json::from_slice(body).map_err(|_| {
            TokenRequestError::InvalidRequest(
                "the body is not a JSON object of string parameters, each at most once",
            )
        })
    } else {
        Err(TokenRequestError::InvalidRequest(
            "send application/x-www-form-urlencoded or application/json",
        ))
    }
}

fn form_parameters(body: &[u8]) -> Result<Parameters, TokenRequestError> {
    if std::str::from_utf8(body).is_err() {
        return Err(TokenRequestError::InvalidRequest("the form is not UTF-8"));
    }
    let mut parameters = Parameters::default();
    for (name, value) in form_urlencoded::parse(body) {
        let slot = match &*name {
            "grant_type" => &mut parameters.grant_type,
            "client_id" => &mut parameters.client_id,
            "client_secret" => &mut parameters.client_secret,
            "scope" => &mut parameters.scope,
            // RFC 6749 §3.2: unknown parameters are ignored.
            _ => continue,
        };
        if slot.replace(value.into_owned()).is_some() {
            return Err(TokenRequestError::InvalidRequest("a parameter is repeated"));
        }
    }
    Ok(parameters)
}
