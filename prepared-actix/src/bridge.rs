//! Bridges actix-web's types (http 0.2) to the core's (http 1), and back.

use actix_web::dev::Payload;
use actix_web::http::header as actix_header;
use actix_web::{HttpRequest, HttpResponse};
use bytes::Bytes;
use futures_util::StreamExt;
use http_body::Frame;
use http_body_util::StreamBody;

/// The head of an actix request as the core's `http::request::Parts`: method, URI and headers
/// are copied (a few hundred bytes); the body is not touched.
///
pub(crate) fn head(request: &HttpRequest) -> http::request::Parts {
    let (mut head, ()) = http::Request::new(()).into_parts();
    // Every part came from a request actix parsed, under the same rules; should one still not
    // convert, an empty head fails authentication and is answered 401.
    let empty = || http::Request::new(()).into_parts().0;
    let (Ok(method), Ok(uri)) = (
        http::Method::from_bytes(request.method().as_str().as_bytes()),
        uri(request.uri()),
    ) else {
        return empty();
    };
    head.method = method;
    head.uri = uri;
    head.headers.reserve(request.headers().len());
    for (name, value) in request.headers() {
        let (Ok(name), Ok(value)) = (
            request_header_name(name),
            http::HeaderValue::from_bytes(value.as_bytes()),
        ) else {
            return empty();
        };
        head.headers.append(name, value);
    }
    head
}

/// The request target as an `http` 1 URI. A server sees the origin form (`/path?query`),
/// except in requests meant for a proxy; it is converted from its text, without formatting
/// the whole URI.
fn uri(uri: &actix_web::http::Uri) -> Result<http::Uri, http::uri::InvalidUri> {
    match (uri.scheme(), uri.path_and_query()) {
        (None, Some(origin_form)) => http::Uri::try_from(origin_form.as_str()),
        _ => http::Uri::try_from(uri.to_string()),
    }
}

/// The payload as an `http_body::Body`, so the core reads it under its size limit. Chunks
/// are passed through, not copied.
pub(crate) fn body(
    payload: Payload,
) -> StreamBody<
    impl futures_util::Stream<Item = Result<Frame<Bytes>, actix_web::error::PayloadError>>,
> {
    StreamBody::new(payload.map(|chunk| chunk.map(Frame::data)))
}

/// A core response as an actix response. Its headers are the core's own, valid under the
/// same rules in both `http` versions; should one still not convert, the answer is `500`, as
/// actix's response builder would give, and the header's name is logged (never its value).
pub(crate) fn response(response: http::Response<Bytes>) -> HttpResponse {
    let (head, body) = response.into_parts();
    let status = actix_web::http::StatusCode::from_u16(head.status.as_u16())
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut answer = HttpResponse::with_body(status, body);
    let headers = answer.headers_mut();
    for (name, value) in &head.headers {
        let (Ok(name), Ok(value)) = (header_name(name), header_value(value)) else {
            tracing::error!(header = %name, "a response header did not convert to actix-web's types");
            return HttpResponse::InternalServerError().finish();
        };
        headers.append(name, value);
    }
    answer.map_into_boxed_body()
}

/// The header names a delivery and its answer usually carry, paired across both `http`
/// versions' constants; any other name is parsed from its text.
const NAMES: [(actix_header::HeaderName, http::HeaderName); 12] = [
    (actix_header::HOST, http::header::HOST),
    (actix_header::AUTHORIZATION, http::header::AUTHORIZATION),
    (actix_header::CONTENT_TYPE, http::header::CONTENT_TYPE),
    (actix_header::CONTENT_LENGTH, http::header::CONTENT_LENGTH),
    (actix_header::USER_AGENT, http::header::USER_AGENT),
    (actix_header::ACCEPT, http::header::ACCEPT),
    (actix_header::ACCEPT_ENCODING, http::header::ACCEPT_ENCODING),
    (actix_header::CONNECTION, http::header::CONNECTION),
    (actix_header::CACHE_CONTROL, http::header::CACHE_CONTROL),
    (actix_header::RETRY_AFTER, http::header::RETRY_AFTER),
    (
        actix_header::WWW_AUTHENTICATE,
        http::header::WWW_AUTHENTICATE,
    ),
    (actix_header::ALLOW, http::header::ALLOW),
];

/// A request header's name as the core's.
fn request_header_name(
    name: &actix_header::HeaderName,
) -> Result<http::HeaderName, http::header::InvalidHeaderName> {
    match NAMES.iter().find(|(actix, _)| actix == name) {
        Some((_, core)) => Ok(core.clone()),
        None => http::HeaderName::from_bytes(name.as_str().as_bytes()),
    }
}

/// A response header's name as actix's.
fn header_name(
    name: &http::HeaderName,
) -> Result<actix_header::HeaderName, actix_header::InvalidHeaderName> {
    match NAMES.iter().find(|(_, core)| core == name) {
        Some((actix, _)) => Ok(actix.clone()),
        None => actix_header::HeaderName::from_bytes(name.as_str().as_bytes()),
    }
}

/// A header value as actix's; the two values every acknowledgement carries are static.
fn header_value(
    value: &http::HeaderValue,
) -> Result<actix_header::HeaderValue, actix_header::InvalidHeaderValue> {
    const STATIC: [&str; 2] = ["application/json", "no-store"];
    match STATIC.into_iter().find(|known| value == *known) {
        Some(known) => Ok(actix_header::HeaderValue::from_static(known)),
        None => actix_header::HeaderValue::from_bytes(value.as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::{NAMES, head, header_name, request_header_name, response};

    #[test]
    fn the_name_table_pairs_each_name_with_itself() {
        for (actix, core) in &NAMES {
            assert_eq!(actix.as_str(), core.as_str());
            assert_eq!(request_header_name(actix).unwrap(), *core);
            assert_eq!(header_name(core).unwrap(), *actix);
        }
    }

    #[test]
    fn the_head_keeps_method_target_and_every_header_value_in_order() {
        let request = TestRequest::post()
            .uri("/webhooks/prepared?tenant=a%20b&x=1")
            .insert_header(("Authorization", "Bearer abc.def"))
            .insert_header(("Content-Type", "application/json"))
            .append_header(("X-Trace", "one"))
            .append_header(("x-trace", "two, three"))
            .append_header(("X-Empty", ""))
            .append_header(("X-Latin", &b"caf\xe9"[..]))
            .to_http_request();

        let head = head(&request);

        assert_eq!(head.method, http::Method::POST);
        assert_eq!(head.uri, "/webhooks/prepared?tenant=a%20b&x=1");
        assert_eq!(head.headers.len(), 6);
        assert_eq!(head.headers["authorization"], "Bearer abc.def");
        assert_eq!(head.headers["content-type"], "application/json");
        let traces: Vec<_> = head.headers.get_all("x-trace").iter().collect();
        assert_eq!(traces, ["one", "two, three"]);
        assert_eq!(head.headers["x-empty"], "");
        assert_eq!(head.headers["x-latin"].as_bytes(), b"caf\xe9");
    }

    #[test]
    fn an_absolute_target_is_kept_whole() {
        let request = TestRequest::get()
            .uri("http://example.test:8080/webhooks/prepared?x=1")
            .to_http_request();

        assert_eq!(
            head(&request).uri,
            "http://example.test:8080/webhooks/prepared?x=1"
        );
    }

    #[test]
    fn the_response_keeps_status_headers_and_body() {
        let core = http::Response::builder()
            .status(http::StatusCode::UNAUTHORIZED)
            .header("www-authenticate", r#"Bearer error="invalid_token""#)
            .header("content-type", "application/json")
            .header("cache-control", "no-store")
            .header("vary", "one")
            .header("vary", "two")
            .body(bytes::Bytes::from_static(br#"{"error":"unauthorized"}"#))
            .unwrap();

        let answer = response(core);

        assert_eq!(answer.status(), actix_web::http::StatusCode::UNAUTHORIZED);
        let headers = answer.headers();
        assert_eq!(
            headers.get("www-authenticate").unwrap(),
            r#"Bearer error="invalid_token""#
        );
        assert_eq!(headers.get("content-type").unwrap(), "application/json");
        assert_eq!(headers.get("cache-control").unwrap(), "no-store");
        let vary: Vec<_> = headers.get_all("vary").collect();
        assert_eq!(vary, ["one", "two"]);
        let body = actix_web::body::to_bytes_limited(answer.into_body(), 1024);
        let body = futures_util::FutureExt::now_or_never(body)
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(body, &br#"{"error":"unauthorized"}"#[..]);
    }
}
