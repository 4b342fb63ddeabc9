//! Reading a request body under a size limit, without buffering past it.

use bytes::Bytes;
use http_body::Body;
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::{BoxError, Rejection};

/// Reads `body` to its end, or stops as soon as it exceeds `limit` bytes.
pub(crate) async fn read_limited<B>(body: B, limit: usize) -> Result<Bytes, Rejection>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<LengthLimitError>() => Err(Rejection::PayloadTooLarge { limit }),
        Err(_) => Err(Rejection::BodyRead),
    }
}

/// Whether a `Content-Type` is JSON: `application/json`, any case, parameters allowed.
pub(crate) fn is_json(content_type: &[u8]) -> bool {
    // What Prepared sends, compared at once.
    if content_type == b"application/json" {
        return true;
    }
    let essence = content_type
        .split(|b| *b == b';')
        .next()
        .unwrap_or_default();
    essence
        .trim_ascii()
        .eq_ignore_ascii_case(b"application/json")
}

#[cfg(test)]
mod tests {
    use super::is_json;

    #[test]
    fn json_is_recognised_in_any_case_and_with_parameters() {
        for json in [
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
            "application/json;charset=UTF-8",
            " application/json ",
            "application/json;",
        ] {
            assert!(is_json(json.as_bytes()), "{json:?}");
        }
        for other in [
            "",
            "application/jsonx",
            "application/json-patch+json",
            "text/json",
            "application/x-www-form-urlencoded",
            "application /json",
            "; application/json",
        ] {
            assert!(!is_json(other.as_bytes()), "{other:?}");
        }
    }
}
