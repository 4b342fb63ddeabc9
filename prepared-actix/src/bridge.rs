//! Bridges actix-web's types (http 0.2) to the core's (http 1), and back.

use actix_web::dev::Payload;
use actix_web::{HttpRequest, HttpResponse};
use bytes::Bytes;
use futures_util::StreamExt;
use http_body::Frame;
use http_body_util::StreamBody;
use prepared_core::Webhooks;

/// The head of an actix request as the core's `http::request::Parts`: method, URI and headers
/// are copied (a few hundred bytes); the body is not touched.
///
/// The parts are filled in place rather than through `http::request::Builder`, whose every
/// call moves the whole head (a profile of the route under load showed those copies).
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
            http::HeaderName::from_bytes(name.as_str().as_bytes()),
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
        let (Ok(name), Ok(value)) = (
            actix_web::http::header::HeaderName::from_bytes(name.as_str().as_bytes()),
            actix_web::http::header::HeaderValue::from_bytes(value.as_bytes()),
        ) else {
            tracing::error!(header = %name, "a response header did not convert to actix-web's types");
            return HttpResponse::InternalServerError().finish();
        };
        headers.append(name, value);
    }
    answer.map_into_boxed_body()
}

/// The `Webhooks` in `app_data`.
pub(crate) fn webhooks(request: &HttpRequest) -> Option<Webhooks> {
    request.app_data::<Webhooks>().cloned()
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::{head, response};

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
