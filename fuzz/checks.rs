//! The properties the fuzz targets check, one function per target.
//!
//! This file is shared: each `cargo fuzz` target (`fuzz/fuzz_targets/<target>.rs`) calls one
//! of these functions on libFuzzer's input, and the corpus replay test
//! (`prepared-core/tests/fuzz_corpus.rs`) calls the same function on every committed input,
//! so a property is written once and a corpus file means the same thing in both. Both
//! include this file with `#[path]` (it is a module, not a crate: a crate of its own would
//! have to become a dev-dependency of `prepared-core`). It therefore uses only crates that
//! both sides have: `prepared-core` (feature `oauth`), `http`, `serde_json`, `base64` and
//! `std`; that is also why the inputs are plain bytes in the small, readable formats
//! documented on each function rather than `arbitrary` structures (the replay test could not
//! decode those, and a readable corpus can be reviewed and extended by hand).
//!
//! Each function returns normally for every legitimate outcome, errors included, and panics
//! (a finding) only when the library breaks a promise of its documentation.

use std::fmt::Write as _;
use std::future::Future;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

use base64::Engine as _;
use http::{HeaderValue, Method, StatusCode, header};
use prepared_core::auth::{
    AuthError, Authenticator, BearerToken, ClientCredentials, ClientSecret, JwtSecret,
    JwtValidator, Principal, Scopes, StaticBearer, TokenEndpoint, TokenRequest, TokenRequestError,
    bearer_token,
};
use prepared_core::{DecodeError, Event, Timestamp};
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// decode_event
// ---------------------------------------------------------------------------------------------

/// `decode_event`: the input is a webhook body, as is.
///
/// - [`Event::decode`] never panics; an error answers `400` and names its field with
///   identifier characters only (it never quotes the payload).
/// - A decoded event serializes (`serde_json::to_vec`) and decodes again into an equal event
///   with the same kind, name, scope, incident, `created_at` and dedup key, and serializing
///   that gives the same bytes again (`decode(encode(e)) == e`).
/// - `format!("{event:?}")` works, and its output does not depend on the redacted values
///   (coordinates, a note's text and metadata values, a media link and extra values, the
///   hidden digits of a caller's phone number, an unknown event's payload).
pub(crate) fn decode_event(data: &[u8]) {
    let event = match Event::decode(data) {
        Ok(event) => event,
        Err(error) => return check_decode_error(&error),
    };
    let name = event.type_name().to_owned();
    let debug = format!("{event:?}");
    check_redaction(&event, &debug);

    let encoded = serde_json::to_vec(&event)
        .unwrap_or_else(|error| panic!("a decoded `{name}` event does not serialize: {error}"));
    let again = Event::decode(&encoded).unwrap_or_else(|error| {
        panic!("a decoded `{name}` event, serialized, does not decode again: {error}")
    });
    assert_eq!(again, event, "decode(encode(e)) != e for a `{name}` event");
    assert_eq!(again.kind(), event.kind());
    assert_eq!(again.type_name(), event.type_name());
    assert_eq!(again.scope(), event.scope());
    assert_eq!(again.incident_id(), event.incident_id());
    assert_eq!(again.created_at(), event.created_at());
    assert_eq!(again.dedup_key(), event.dedup_key(), "`{name}`: dedup key");
    let twice = serde_json::to_vec(&again).ok();
    assert_eq!(
        twice.as_deref(),
        Some(&encoded[..]),
        "`{name}`: encoding is not stable"
    );
}

fn check_decode_error(error: &DecodeError) {
    assert_eq!(error.status(), StatusCode::BAD_REQUEST, "{error}");
    let message = error.to_string();
    assert!(!message.is_empty());
    match error {
        DecodeError::MissingField { field, .. }
        | DecodeError::InvalidField { field, .. }
        | DecodeError::DuplicateField { field, .. } => {
            let is_path = |b: u8| b.is_ascii_alphanumeric() || b"_.[]?".contains(&b);
            assert!(
                !field.is_empty() && field.bytes().all(is_path),
                "a decode error names a field that is not a field path: {message}"
            );
        }
        _ => {}
    }
}

/// Checks that `debug` (the event's `Debug` output) stays the same when every redacted value
/// of the event is replaced by another one.
fn check_redaction(event: &Event, debug: &str) {
    let mut other = event.clone();
    match &mut other {
        Event::NoteCreated(note) => {
            if let Some(text) = &mut note.note {
                // Same length: `Debug` shows the size of the note.
                *text = other_text(text);
            }
            if let Some(metadata) = &mut note.metadata {
                metadata.values_mut().for_each(|value| *value = Value::Null);
            }
        }
        Event::LocationUpdated(location) => {
            location.latitude = other_number(location.latitude);
            location.longitude = other_number(location.longitude);
        }
        Event::CallerLocation(location) => {
            location.lat = other_number(location.lat);
            location.lng = other_number(location.lng);
        }
        Event::Media(media) => {
            if let Some(url) = &mut media.url {
                *url = format!("{url}/other");
            }
            media
                .extra
                .values_mut()
                .for_each(|value| *value = Value::Null);
        }
        Event::IncidentMetadata(incident) => {
            // `Debug` shows the last two characters of a number of eight or more, and the
            // number of characters.
            let number: Vec<char> = incident.caller_phone_number.expose().chars().collect();
            let shown = if number.len() >= 8 { 2 } else { 0 };
            let hidden = number.len() - shown;
            let mut replaced: String = number[..hidden]
                .iter()
                .map(|c| if *c == '0' { '1' } else { '0' })
                .collect();
            replaced.extend(&number[hidden..]);
            incident.caller_phone_number = prepared_core::event::CallerPhoneNumber::new(replaced);
        }
        Event::Unknown(unknown) => {
            // The payload is an object, so it holds `"`, which the name's `Debug` escapes:
            // the payload cannot show up by chance.
            assert!(
                !debug.contains(unknown.raw().get()),
                "Debug of an unknown event shows its payload"
            );
        }
        _ => {}
    }
    assert_eq!(
        format!("{other:?}"),
        debug,
        "Debug of a `{}` event shows a redacted value",
        event.type_name()
    );
}

/// A string of the same length in bytes as `text`, different from it.
fn other_text(text: &str) -> String {
    let filler = if text.starts_with('x') { "y" } else { "x" };
    filler.repeat(text.len())
}

/// A valid coordinate different from `value`.
fn other_number(value: f64) -> f64 {
    if value == 1.5 { 2.5 } else { 1.5 }
}

// ---------------------------------------------------------------------------------------------
// timestamp
// ---------------------------------------------------------------------------------------------

/// `timestamp`: the input is the text to parse; input that is not UTF-8 is skipped (a JSON
/// string is always UTF-8).
///
/// - [`Timestamp::parse`], `str::parse` and deserializing a JSON string agree.
/// - A parsed timestamp is in UTC; its `Display` form (`Debug` too) works, ends with ` UTC`,
///   is what it serializes to, and parses back to the same instant.
pub(crate) fn timestamp(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = Timestamp::parse(text);
    assert_eq!(
        text.parse::<Timestamp>(),
        parsed,
        "FromStr != Timestamp::parse"
    );
    let from_json = serde_json::from_value::<Timestamp>(Value::String(text.to_owned()));
    assert_eq!(
        from_json.as_ref().ok(),
        parsed.as_ref().ok(),
        "Deserialize != Timestamp::parse"
    );
    let Ok(timestamp) = parsed else {
        return;
    };
    let nanos = timestamp.unix_timestamp_nanos();
    assert!(
        timestamp.to_offset_date_time().offset().is_utc(),
        "{nanos} ns is not kept in UTC"
    );
    let mut display = String::new();
    write!(display, "{timestamp}")
        .unwrap_or_else(|_| panic!("Display fails for a parsed timestamp ({nanos} ns)"));
    assert!(display.ends_with(" UTC"), "Display form {display:?}");
    assert_eq!(
        Timestamp::parse(&display),
        Ok(timestamp),
        "the Display form {display:?} does not parse back"
    );
    assert_eq!(
        serde_json::to_string(&timestamp).ok(),
        Some(format!("\"{display}\"")),
        "serialization != Display"
    );
    assert_eq!(format!("{timestamp:?}"), format!("Timestamp({display})"));
    assert_eq!(
        Timestamp::try_from(timestamp.to_offset_date_time()),
        Ok(timestamp)
    );
}

// ---------------------------------------------------------------------------------------------
// authorization_header
// ---------------------------------------------------------------------------------------------

/// The tokens of the [`StaticBearer`] under test; the second has every token68 character.
pub(crate) const STATIC_TOKENS: [&str; 2] = ["old-token", "Zm9v.Bar-baz_~+/019=="];

/// The HS256 secret of the [`JwtValidator`] under test and of the token endpoint.
const JWT_SECRET: &str = "fuzz-signing-secret-of-at-least-32-bytes";
const ISSUER: &str = "https://cad.example.com";
const AUDIENCE: &str = "https://cad.example.com/webhooks/prepared";

/// `authorization_header`: the input is the `Authorization` header values, one per line
/// (`\n`); an empty input is a request without the header. A value
/// [`HeaderValue::from_bytes`] refuses is left out (a server never sees it). The request is
/// checked as given, then with `Bearer ` and with `Basic ` put before every value.
///
/// - [`bearer_token`] follows RFC 6750 §2.1: none for no header, `duplicate_header` for
///   several; otherwise the token of `Bearer` (any case), one or more spaces and a token68,
///   `not_bearer` for another scheme and `malformed_header` for anything else (compared with
///   a reference implementation of the grammar).
/// - [`StaticBearer::check`] answers accordingly (the index of a configured token,
///   `unknown_token` for another, the header's error otherwise; always `401` when refused);
///   a [`JwtValidator`] answers the header's error likewise, and for a token either accepts
///   it or refuses it with `401`/`403`, never with `503`.
/// - [`TokenRequest::parse`] of a form body without credentials reads the client's
///   credentials from `Basic`: `invalid_request` for several headers, `invalid_client` for no
///   header or an unusable one; an accepted client id is not empty and comes back the same
///   after encoding it again; `Debug` never shows the secret.
pub(crate) fn authorization_header(data: &[u8]) {
    let lines: Vec<&[u8]> = if data.is_empty() {
        Vec::new()
    } else {
        data.split(|b| *b == b'\n').collect()
    };
    let prefixes: &[&[u8]] = if lines.is_empty() {
        &[b""]
    } else {
        &[b"", b"Bearer ", b"Basic "]
    };
    for prefix in prefixes {
        let values: Vec<HeaderValue> = lines
            .iter()
            .filter_map(|line| HeaderValue::from_bytes(&[prefix, *line].concat()).ok())
            .collect();
        check_authorization(&values);
    }
}

fn check_authorization(values: &[HeaderValue]) {
    let head = request_head(
        &Method::POST,
        values,
        Some("application/x-www-form-urlencoded"),
    );

    let token = bearer_token(&head.headers);
    match values {
        [] => assert_eq!(token, Ok(None), "no Authorization header"),
        [value] => assert_eq!(
            token.map(Option::unwrap_or_default),
            reference_bearer_token(value.as_bytes()),
            "bearer_token({:?})",
            String::from_utf8_lossy(value.as_bytes())
        ),
        _ => assert_eq!(
            token,
            Err("duplicate_header"),
            "several Authorization headers"
        ),
    }

    let expected = match token {
        Ok(None) => Err(AuthError::Missing),
        Err(reason) => Err(AuthError::Invalid { reason }),
        Ok(Some(token)) => match STATIC_TOKENS.iter().position(|t| t.as_bytes() == token) {
            Some(index) => Ok(Principal::StaticToken { index, label: None }),
            None => Err(AuthError::Invalid {
                reason: "unknown_token",
            }),
        },
    };
    let checked = static_bearer().check(&head);
    assert_eq!(checked, expected, "StaticBearer::check");
    if let Err(error) = &checked {
        assert_eq!(error.status(), StatusCode::UNAUTHORIZED);
        assert!(error.www_authenticate().is_some());
    }

    if let Some(result) = poll_once(jwt_validator().authenticate(&head)) {
        match (token, result) {
            (Ok(Some(_)), Ok(_)) => {}
            (Ok(Some(_)), Err(error)) => assert!(
                matches!(error.status().as_u16(), 401 | 403),
                "JwtValidator refused a token with {error:?}"
            ),
            (_, result) => assert_eq!(result, expected, "JwtValidator on a bad header"),
        }
    }

    let parsed = TokenRequest::parse(&head, b"grant_type=client_credentials");
    match (values, parsed) {
        ([], parsed) => assert_eq!(parsed.err(), Some(TokenRequestError::InvalidClient)),
        ([value], Ok(request)) => check_basic(value, &request),
        ([_], Err(error)) => assert_eq!(error, TokenRequestError::InvalidClient),
        (_, parsed) => assert_eq!(
            parsed.err(),
            Some(TokenRequestError::InvalidRequest(
                "more than one Authorization header"
            ))
        ),
    }
}

/// RFC 6750 §2.1, as `bearer_token` documents it: `Bearer` (any case), `1*SP`, then a
/// token68 (RFC 7235 §2.1: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`).
/// Returns the token, or the reason `bearer_token` gives.
fn reference_bearer_token(value: &[u8]) -> Result<&[u8], &'static str> {
    if value.is_empty() {
        return Err("malformed_header");
    }
    let (scheme, rest) = match value.iter().position(|b| *b == b' ') {
        Some(space) => value.split_at(space),
        None => (value, &b""[..]),
    };
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return Err("not_bearer");
    }
    let token = &rest[rest.iter().take_while(|b| **b == b' ').count()..];
    let padding = token.iter().rev().take_while(|b| **b == b'=').count();
    let characters = &token[..token.len() - padding];
    let is_token68 = |b: &u8| b.is_ascii_alphanumeric() || b"-._~+/".contains(b);
    if characters.is_empty() || !characters.iter().all(is_token68) {
        return Err("malformed_header");
    }
    Ok(token)
}

/// A token request whose client authenticated with HTTP Basic.
fn check_basic(value: &HeaderValue, request: &TokenRequest) {
    let value = value.as_bytes();
    assert!(
        value.len() > 6 && value[..6].eq_ignore_ascii_case(b"basic "),
        "client credentials taken from a non-Basic header"
    );
    assert!(!request.client_id.is_empty(), "an empty client id");
    assert_eq!(request.grant_type, "client_credentials");
    assert_eq!(request.scope, None);
    check_secret_not_in_debug(request);

    // RFC 6749 §2.3.1: each part form-urlencoded, then base64.
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        percent_encode(&request.client_id),
        percent_encode("a secret")
    ));
    let values = [HeaderValue::from_str(&format!("Basic {encoded}"))
        .unwrap_or_else(|_| panic!("base64 is a valid header value"))];
    let head = request_head(
        &Method::POST,
        &values,
        Some("application/x-www-form-urlencoded"),
    );
    let again = TokenRequest::parse(&head, b"grant_type=client_credentials")
        .unwrap_or_else(|error| panic!("a re-encoded client id is refused: {error}"));
    assert_eq!(again.client_id, request.client_id, "the client id changed");
}

/// Every byte but ASCII letters and digits as `%XX`.
fn percent_encode(text: &str) -> String {
    let mut encoded = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() {
            encoded.push(char::from(byte));
        } else {
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    encoded
}

/// `Debug` of a token request does not change with its secret.
fn check_secret_not_in_debug(request: &TokenRequest) {
    let debug = format!("{request:?}");
    let mut other = TokenRequest::parse(
        &request_head(&Method::POST, &[], Some("application/json")),
        br#"{"grant_type": "g", "client_id": "c", "client_secret": "another secret"}"#,
    )
    .unwrap_or_else(|error| panic!("a valid JSON token request is refused: {error}"));
    other.grant_type.clone_from(&request.grant_type);
    other.client_id.clone_from(&request.client_id);
    other.scope.clone_from(&request.scope);
    assert_eq!(format!("{other:?}"), debug, "Debug shows the client secret");
}

fn static_bearer() -> &'static StaticBearer {
    static BEARER: OnceLock<StaticBearer> = OnceLock::new();
    BEARER.get_or_init(|| StaticBearer::new(STATIC_TOKENS.map(BearerToken::new)))
}

fn jwt_validator() -> &'static JwtValidator {
    static VALIDATOR: OnceLock<JwtValidator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        JwtValidator::hs256(JwtSecret::new(JWT_SECRET))
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .build()
            .unwrap_or_else(|error| panic!("the validator builds: {error}"))
    })
}

// ---------------------------------------------------------------------------------------------
// token_request
// ---------------------------------------------------------------------------------------------

/// The one client of the token endpoint under test.
pub(crate) const CLIENT_ID: &str = "prepared";
/// Its secret.
pub(crate) const CLIENT_SECRET: &str = "s3cret-for-the-fuzzer";
/// Its scopes.
const CLIENT_SCOPES: [&str; 2] = ["cad_incidents", "incident_events"];
/// Wrong secrets before `429` (the endpoint's default).
const MAX_FAILURES: usize = 5;

/// The `Content-Type` of a token request, chosen by the first byte of its line (modulo 8, so
/// `0` to `7` pick them in order); `7` takes the rest of the line as the header value.
const CONTENT_TYPES: [Option<&str>; 7] = [
    None,
    Some("application/x-www-form-urlencoded"),
    Some("application/json"),
    Some("application/x-www-form-urlencoded; charset=UTF-8"),
    Some("Application/JSON ; charset=utf-8"),
    Some("text/plain"),
    Some("multipart/form-data; boundary=x"),
];

/// `token_request`: the input is a small text request, line by line (`\n`):
///
/// ```text
/// POST                      the method (an input whose method is invalid is skipped)
/// 23                        the content type (see CONTENT_TYPES), then optionally how many
///                           times (1 to 9) the request is sent to the same endpoint
/// Basic cHJlcGFyZWQ6eA==    zero or more Authorization values, up to an empty line
///
/// {"grant_type": ...}       the body: the rest of the input
/// ```
///
/// A header value [`HeaderValue::from_bytes`] refuses is left out. The request goes to
/// [`TokenRequest::parse`] and, as many times as asked, to the [`TokenEndpoint::respond`] of a
/// fresh endpoint with one client ([`CLIENT_ID`], [`CLIENT_SECRET`], both Prepared scopes).
///
/// - `respond` never panics and answers `200`, `400`, `401`, `405`, `413`, `429` or `500`,
///   with RFC 6749's headers and JSON body (an `error` code of §5.2 when refused).
/// - It answers what `parse` says: a refused request gets that error's status and code every
///   time; `405` exactly when the method is not `POST`; an unsupported grant or an unknown
///   client every time; the client with a wrong secret `401` five times, then `429`; with
///   the right secret `200` every time, or `400 invalid_scope` every time.
/// - An issued token is accepted by the endpoint's validator, as the client, with the scopes
///   the answer names: the requested ones (which the client must have), or all of the
///   client's scopes when it asked for none.
/// - A parsed request's `Debug` never shows the secret.
pub(crate) fn token_request(data: &[u8]) {
    let mut input = data;
    let Ok(method) = Method::from_bytes(next_line(&mut input)) else {
        return;
    };
    let content_type_line = next_line(&mut input);
    let (content_type, repeats) = match content_type_line.first() {
        None => (None, 1),
        Some(selector) if usize::from(*selector) % 8 == 7 => {
            (HeaderValue::from_bytes(&content_type_line[1..]).ok(), 1)
        }
        Some(selector) => {
            let content_type =
                CONTENT_TYPES[usize::from(*selector) % 8].map(HeaderValue::from_static);
            let repeats = match content_type_line.get(1) {
                Some(digit @ b'1'..=b'9') => usize::from(digit - b'0'),
                _ => 1,
            };
            (content_type, repeats)
        }
    };
    let mut authorization = Vec::new();
    while !input.is_empty() {
        let line = next_line(&mut input);
        if line.is_empty() {
            break;
        }
        authorization.extend(HeaderValue::from_bytes(line).ok());
    }
    let body = input;

    let mut head = request_head(&method, &authorization, None);
    if let Some(content_type) = content_type {
        head.headers.insert(header::CONTENT_TYPE, content_type);
    }

    let parsed = TokenRequest::parse(&head, body);
    if let Ok(request) = &parsed {
        check_secret_not_in_debug(request);
        assert_eq!(method, Method::POST, "a request parsed from {method}");
    }
    let endpoint = token_endpoint();
    let mut first_status = None;
    for attempt in 0..repeats {
        let response = endpoint.respond(&head, body);
        let status = response.status();
        let answer = check_token_response(&response);
        assert_eq!(
            status == StatusCode::METHOD_NOT_ALLOWED,
            method != Method::POST,
            "{status} for {method}"
        );
        match &parsed {
            Err(error) => {
                assert_eq!(status, error.status(), "respond != parse: {error}");
                assert_eq!(answer["error"], error.code(), "respond != parse: {error}");
            }
            Ok(request) if request.grant_type != "client_credentials" => {
                assert_eq!(status, StatusCode::BAD_REQUEST, "an unsupported grant");
                assert_eq!(answer["error"], "unsupported_grant_type");
            }
            Ok(request) if request.client_id != CLIENT_ID => {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "an unknown client");
            }
            Ok(request) => {
                let first = *first_status.get_or_insert(status);
                let expected = match first.as_u16() {
                    // A wrong secret: 401, until too many.
                    401 if attempt >= MAX_FAILURES => StatusCode::TOO_MANY_REQUESTS,
                    401 => StatusCode::UNAUTHORIZED,
                    200 | 400 => first,
                    _ => panic!("the client got {first} for its request"),
                };
                assert_eq!(status, expected, "attempt {attempt} of the client");
                if status == StatusCode::OK {
                    check_issued_token(&endpoint, request, &answer);
                } else if status == StatusCode::BAD_REQUEST {
                    assert_eq!(answer["error"], "invalid_scope");
                }
            }
        }
    }
}

/// The line before the next `\n` (or the rest of the input), consumed.
fn next_line<'a>(input: &mut &'a [u8]) -> &'a [u8] {
    let (line, rest) = match input.iter().position(|b| *b == b'\n') {
        Some(end) => (&input[..end], &input[end + 1..]),
        None => (*input, &b""[..]),
    };
    *input = rest;
    line
}

/// Checks the status, headers and body common to every answer; returns the body.
fn check_token_response<B: AsRef<[u8]>>(response: &http::Response<B>) -> Value {
    let status = response.status();
    assert!(
        matches!(status.as_u16(), 200 | 400 | 401 | 405 | 413 | 429 | 500),
        "the token endpoint answered {status}"
    );
    let headers = response.headers();
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(headers[header::PRAGMA], "no-cache");
    let answer: Value = serde_json::from_slice(response.body().as_ref())
        .unwrap_or_else(|error| panic!("a {status} answer that is not JSON: {error}"));
    assert!(
        answer.is_object(),
        "a {status} answer that is not an object"
    );
    if status == StatusCode::OK {
        return answer;
    }
    let code = answer["error"].as_str().unwrap_or_default();
    assert!(
        matches!(
            code,
            "invalid_request"
                | "invalid_client"
                | "unsupported_grant_type"
                | "invalid_scope"
                | "server_error"
        ),
        "a {status} answer with error {code:?}"
    );
    assert!(answer["error_description"].is_string());
    match status.as_u16() {
        401 => {
            assert_eq!(code, "invalid_client");
            assert!(headers.contains_key(header::WWW_AUTHENTICATE));
        }
        405 => assert_eq!(headers[header::ALLOW], "POST"),
        429 => {
            assert_eq!(code, "invalid_client");
            assert!(headers.contains_key(header::RETRY_AFTER));
        }
        _ => {}
    }
    answer
}

/// A `200` answer: its token is accepted by the endpoint's validator, as the client, with
/// the scopes the answer names.
fn check_issued_token(endpoint: &TokenEndpoint, request: &TokenRequest, answer: &Value) {
    assert_eq!(answer["token_type"], "Bearer");
    assert_eq!(answer["expires_in"], 3600);
    let scope = answer["scope"].as_str().unwrap_or_default();
    let granted = Scopes::parse(scope);
    let client_scopes: Scopes = CLIENT_SCOPES.into_iter().collect();
    match &request.scope {
        None => assert_eq!(granted, client_scopes, "the default scopes"),
        Some(asked) => assert_eq!(granted, Scopes::parse(asked), "the requested scopes"),
    }
    assert!(
        client_scopes.contains_all(&granted),
        "a scope beyond the client's"
    );

    let token = answer["access_token"].as_str().unwrap_or_default();
    let values = [HeaderValue::from_str(&format!("Bearer {token}"))
        .unwrap_or_else(|_| panic!("an access token that is not a header value"))];
    let head = request_head(&Method::POST, &values, Some("application/json"));
    let validator = endpoint.validator();
    let Some(result) = poll_once(validator.authenticate(&head)) else {
        return;
    };
    match result {
        Ok(Principal::Jwt(info)) => {
            assert_eq!(info.client_id.as_deref(), Some(CLIENT_ID));
            assert_eq!(info.subject.as_deref(), Some(CLIENT_ID));
            assert_eq!(info.scopes.to_string(), scope, "the token's scopes");
        }
        other => panic!("the validator refuses an issued token: {other:?}"),
    }
}

/// A fresh endpoint (the failure counts are per endpoint, so every input starts from zero).
fn token_endpoint() -> TokenEndpoint {
    TokenEndpoint::builder(JwtSecret::new(JWT_SECRET), ISSUER, AUDIENCE)
        .client(
            ClientCredentials::new(CLIENT_ID, ClientSecret::new(CLIENT_SECRET))
                .scopes(CLIENT_SCOPES),
        )
        .build()
        .unwrap_or_else(|error| panic!("the token endpoint builds: {error}"))
}

// ---------------------------------------------------------------------------------------------
// shared
// ---------------------------------------------------------------------------------------------

/// A request head with `method`, the given `Authorization` values and `content_type`.
fn request_head(
    method: &Method,
    authorization: &[HeaderValue],
    content_type: Option<&'static str>,
) -> http::request::Parts {
    let (mut head, ()) = http::Request::new(()).into_parts();
    head.method = method.clone();
    head.uri = http::Uri::from_static("/oauth/token");
    for value in authorization {
        head.headers.append(header::AUTHORIZATION, value.clone());
    }
    if let Some(content_type) = content_type {
        head.headers
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    head
}

/// Polls `future` once: the validators with a secret key finish without waiting. `None` if
/// it would wait (then there is nothing to check).
fn poll_once<F: Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}
