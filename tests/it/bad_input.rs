//! The bad-input matrix: hostile or malformed requests, sent over a raw socket through both
//! adapters, each with the status it must get. No callback may run for any of them, and the
//! receiver must serve the next valid delivery after each.

use std::time::Duration;

use crate::support::raw::{self, Part};
use crate::support::{FRAMEWORKS, PATH, Recorded, TOKEN, builder, eventually, serve};
use reqwest::{Client, StatusCode};

const LIMIT: usize = 64 * 1024;
const BODY_TIMEOUT: Duration = Duration::from_millis(300);

const ID: &str = "550e8400-e29b-41d4-a716-446655440004";
const INCIDENT: &str = "550e8400-e29b-41d4-a716-446655440000";

/// A request of the matrix and the status it must get.
struct Case {
    name: &'static str,
    parts: Vec<Part>,
    status: u16,
}

/// A request with the right token and content type, `Content-Length` from the body, unless
/// `replace` names header lines to drop (by their lowercase name prefix) and `add` others.
fn request(method: &str, path: &str, replace: &[&str], add: &[&str], body: &[u8]) -> Vec<Part> {
    let auth = format!("authorization: Bearer {TOKEN}");
    let length = format!("content-length: {}", body.len());
    let mut headers: Vec<&str> = vec![&auth, "content-type: application/json", &length];
    headers.retain(|line| !replace.iter().any(|name| line.starts_with(name)));
    headers.extend_from_slice(add);
    vec![
        Part::Bytes(raw::head(method, path, &headers)),
        Part::Bytes(body.to_vec()),
    ]
}

fn post(body: &[u8]) -> Vec<Part> {
    request("POST", PATH, &[], &[], body)
}

fn case(name: &'static str, parts: Vec<Part>, status: u16) -> Case {
    Case {
        name,
        parts,
        status,
    }
}

fn location(lat: &str, lng: &str) -> Vec<u8> {
    format!(r#"{{"type":"caller_location","id":"{ID}","incident_id":"{INCIDENT}","lat":{lat},"lng":{lng}}}"#)
        .into_bytes()
}

fn valid() -> Vec<u8> {
    location("37.7749", "-122.4194")
}

fn matrix() -> Vec<Case> {
    let token_line = format!("authorization: Bearer {TOKEN}");
    let big_token = format!("authorization: Bearer {}", "a".repeat(8 * 1024));
    let huge_token = format!("authorization: Bearer {}", "a".repeat(100 * 1024));
    let nested = format!("{}{}", "[".repeat(30_000), "]".repeat(30_000));
    let deep_latitude = location(&format!("{}1{}", "[".repeat(5_000), "]".repeat(5_000)), "2");
    let mut invalid_utf8 = format!(r#"{{"type":"caller_location","id":"{ID}","incident_id":"{INCIDENT}","lat":1,"lng":2,"source":""#).into_bytes();
    invalid_utf8.extend_from_slice(b"\xff\xfe\"}");
    let mut bom = b"\xef\xbb\xbf".to_vec();
    bom.extend_from_slice(&valid());
    let chunked_head = raw::head(
        "POST",
        PATH,
        &[
            &token_line,
            "content-type: application/json",
            "transfer-encoding: chunked",
        ],
    );
    let declared_50 = raw::head(
        "POST",
        PATH,
        &[
            &token_line,
            "content-type: application/json",
            "content-length: 500",
        ],
    );
    vec![
        // Authorization. Header lines the HTTP parser itself refuses (CR, NUL, obs-fold,
        // a space before the colon) get its 400 before our code runs.
        case("no Authorization", request("POST", PATH, &["authorization"], &[], &valid()), 401),
        case("empty Authorization", request("POST", PATH, &["authorization"], &["authorization:"], &valid()), 401),
        case("two Authorization headers, both right", request("POST", PATH, &[], &[&token_line], &valid()), 401),
        case("a right and a wrong Authorization", request("POST", PATH, &[], &["authorization: Bearer wrong"], &valid()), 401),
        case("Basic scheme", request("POST", PATH, &["authorization"], &["authorization: Basic dXNlcjpwYXNz"], &valid()), 401),
        case("Bearer without a token", request("POST", PATH, &["authorization"], &["authorization: Bearer"], &valid()), 401),
        case("token with a space inside", request("POST", PATH, &["authorization"], &["authorization: Bearer e2e-token 5b0c1f2d9a"], &valid()), 401),
        case("tab between scheme and token", request("POST", PATH, &["authorization"], &[&format!("authorization: Bearer\t{TOKEN}")], &valid()), 401),
        case("the token with a suffix", request("POST", PATH, &["authorization"], &[&format!("authorization: Bearer {TOKEN}x")], &valid()), 401),
        case("the token's prefix", request("POST", PATH, &["authorization"], &[&format!("authorization: Bearer {}", &TOKEN[..TOKEN.len() - 1])], &valid()), 401),
        case("non-ASCII token", request("POST", PATH, &["authorization"], &["authorization: Bearer t\u{f6}ken-\u{1f6a8}"], &valid()), 401),
        case("8 KiB token", request("POST", PATH, &["authorization"], &[&big_token], &valid()), 401),
        case("100 KiB token", request("POST", PATH, &["authorization"], &[&huge_token], &valid()), 401),
        case("Bearer scheme only in another header", request("POST", PATH, &["authorization"], &[&format!("x-authorization: Bearer {TOKEN}")], &valid()), 401),
        case("CR inside the Authorization value", request("POST", PATH, &["authorization"], &[&format!("authorization: Bearer {TOKEN}\rX-Injected: 1")], &valid()), 400),
        case("NUL inside the Authorization value", request("POST", PATH, &["authorization"], &[&format!("authorization: Bearer {TOKEN}\0")], &valid()), 400),
        case("obs-fold continuation line", request("POST", PATH, &["authorization"], &["authorization: Bearer", &format!(" {TOKEN}")], &valid()), 400),
        case("space before the colon", request("POST", PATH, &["authorization"], &[&format!("authorization : Bearer {TOKEN}")], &valid()), 400),
        case("Expect: 100-continue with a wrong token", vec![Part::Bytes(raw::head("POST", PATH, &["authorization: Bearer wrong", "content-type: application/json", "content-length: 200", "expect: 100-continue"]))], 401),
        // Method and path
        case("GET", request("GET", PATH, &[], &[], b""), 405),
        case("PUT", request("PUT", PATH, &[], &[], &valid()), 405),
        case("DELETE", request("DELETE", PATH, &[], &[], b""), 405),
        case("PATCH", request("PATCH", PATH, &[], &[], &valid()), 405),
        case("OPTIONS", request("OPTIONS", PATH, &[], &[], b""), 405),
        case("trailing slash", request("POST", "/webhooks/prepared/", &[], &[], &valid()), 404),
        case("another case", request("POST", "/WEBHOOKS/prepared", &[], &[], &valid()), 404),
        case("a sub-path", request("POST", "/webhooks/prepared/../admin", &[], &[], &valid()), 404),
        // Content type and encoding
        case("text/plain", request("POST", PATH, &["content-type"], &["content-type: text/plain"], &valid()), 415),
        case("no content type", request("POST", PATH, &["content-type"], &[], &valid()), 415),
        case("application/jsonx", request("POST", PATH, &["content-type"], &["content-type: application/jsonx"], &valid()), 415),
        case("form content type", request("POST", PATH, &["content-type"], &["content-type: application/x-www-form-urlencoded"], &valid()), 415),
        case("gzip-encoded", request("POST", PATH, &[], &["content-encoding: gzip"], &valid()), 415),
        // Size and timing
        case("declared over the limit", vec![Part::Bytes(raw::head("POST", PATH, &[&token_line, "content-type: application/json", &format!("content-length: {}", LIMIT + 1)]))], 413),
        case("chunked over the limit", vec![Part::Bytes(chunked_head.clone()), Part::Bytes(raw::chunked_over(LIMIT))], 413),
        case("body stalls after 10 bytes", vec![Part::Bytes(declared_50.clone()), Part::Bytes(valid()[..10].to_vec()), Part::Pause(BODY_TIMEOUT * 3)], 408),
        case("chunked body that stalls", vec![Part::Bytes(chunked_head), Part::Bytes(b"5\r\n{\"typ\r\n".to_vec()), Part::Pause(BODY_TIMEOUT * 3)], 408),
        // Body
        case("empty body", post(b""), 400),
        case("malformed JSON", post(br#"{"type": "caller_location","#), 400),
        case("a JSON array", post(b"[]"), 400),
        case("a JSON string", post(br#""caller_location""#), 400),
        case("null", post(b"null"), 400),
        case("30,000 nested arrays", post(nested.as_bytes()), 400),
        case("5,000 nested arrays as the latitude", post(&deep_latitude), 400),
        case("NaN latitude", post(&location("NaN", "2")), 400),
        case("Infinity longitude", post(&location("1", "Infinity")), 400),
        case("1e999 latitude", post(&location("1e999", "2")), 400),
        case("latitude 90.0001", post(&location("90.0001", "2")), 400),
        case("longitude -180.5", post(&location("1", "-180.5")), 400),
        case("latitude as a string", post(&location("\"37.7749\"", "2")), 400),
        case("id as a number", post(format!(r#"{{"type":"caller_location","id":4,"incident_id":"{INCIDENT}","lat":1,"lng":2}}"#).as_bytes()), 400),
        case("id not a UUID", post(format!(r#"{{"type":"caller_location","id":"4; DROP TABLE","incident_id":"{INCIDENT}","lat":1,"lng":2}}"#).as_bytes()), 400),
        case("duplicated id", post(format!(r#"{{"type":"caller_location","id":"{ID}","id":"{INCIDENT}","incident_id":"{INCIDENT}","lat":1,"lng":2}}"#).as_bytes()), 400),
        case("duplicated type", post(format!(r#"{{"type":"caller_location","type":"media","id":"{ID}","incident_id":"{INCIDENT}","lat":1,"lng":2}}"#).as_bytes()), 400),
        case("no discriminator", post(format!(r#"{{"id":"{ID}","incident_id":"{INCIDENT}","lat":1,"lng":2}}"#).as_bytes()), 400),
        case("invalid UTF-8 in a string", post(&invalid_utf8), 400),
        case("a byte order mark first", post(&bom), 400),
        case("trailing garbage", post(&[valid(), b" x".to_vec()].concat()), 400),
        case("two events in one body", post(&[valid(), valid()].concat()), 400),
        case("a body shorter than its Content-Length", vec![Part::Bytes(declared_50), Part::Bytes(valid()[..20].to_vec())], 408),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_get_their_status_and_run_nothing() {
    let cases = matrix();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    for framework in FRAMEWORKS {
        let recorded = Recorded::default();
        let webhooks = builder(&recorded)
            .body_limit(LIMIT)
            .body_timeout(BODY_TIMEOUT)
            .build()
            .expect("builds");
        let base = serve(framework, webhooks).await;
        let client = Client::new();
        for (n, case) in cases.iter().enumerate() {
            let status = raw::send(&base, &case.parts).await;
            assert_eq!(status, Some(case.status), "{framework:?} {}", case.name);
            // The next valid delivery (a new event each time) is served and processed.
            let id = uuid::Uuid::from_u128(n as u128 + 1);
            let body = format!(
                r#"{{"type":"caller_location","id":"{id}","incident_id":"{INCIDENT}","lat":37.7749,"lng":-122.4194}}"#
            );
            let response = client
                .post(format!("{base}{PATH}"))
                .bearer_auth(TOKEN)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("answers");
            assert_eq!(
                response.status(),
                StatusCode::OK,
                "{framework:?} after {}",
                case.name
            );
            eventually("the valid delivery processed", || {
                recorded.events().len() == n + 1
            })
            .await;
        }
        // Only the valid deliveries ran, one each.
        let ids: Vec<String> = recorded
            .events()
            .iter()
            .map(|event| event.dedup_key().as_str().to_owned())
            .collect();
        let expected: Vec<String> = (0..cases.len())
            .map(|n| format!("caller_location:{}", uuid::Uuid::from_u128(n as u128 + 1)))
            .collect();
        assert_eq!(ids, expected, "{framework:?}: nothing refused ran");
    }
}
