//! Static Bearer tokens: the RFC 6750 header parser, rotation, the challenge and redaction.

use http::StatusCode;
use prepared_core::auth::{
    AuthError, Authenticator, BearerToken, Principal, StaticBearer, bearer_token,
};

fn headers(values: &[&[u8]]) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    for value in values {
        headers.append(
            "authorization",
            http::HeaderValue::from_bytes(value).expect("a header value"),
        );
    }
    headers
}

/// `Authorization` header values, and what the parser makes of them.
type Case = (
    &'static [&'static [u8]],
    Result<Option<&'static [u8]>, &'static str>,
);

#[test]
fn the_parser_takes_rfc_6750_credentials_only() {
    let cases: &[Case] = &[
        (&[], Ok(None)),
        (&[b"Bearer abc"], Ok(Some(b"abc"))),
        (&[b"bearer abc"], Ok(Some(b"abc"))),
        (&[b"BEARER abc"], Ok(Some(b"abc"))),
        (&[b"Bearer    abc"], Ok(Some(b"abc"))),
        (&[b"Bearer a-b.c_d~e+f/g=="], Ok(Some(b"a-b.c_d~e+f/g=="))),
        (&[b"Bearer eyJ.eyJ.sig"], Ok(Some(b"eyJ.eyJ.sig"))),
        (&[b"Bearer abc", b"Bearer abc"], Err("duplicate_header")),
        (&[b"Basic dXNlcjpwYXNz"], Err("not_bearer")),
        (&[b"Bearerabc"], Err("not_bearer")),
        (&[b"Token abc"], Err("not_bearer")),
        (&[b"Bearer"], Err("malformed_header")),
        (&[b""], Err("malformed_header")),
        (&[b"Bearer "], Err("malformed_header")),
        (&[b"Bearer a b"], Err("malformed_header")),
        (&[b"Bearer abc "], Err("malformed_header")),
        (&[b"Bearer a=b"], Err("malformed_header")),
        (&[b"Bearer ="], Err("malformed_header")),
        (&[b"Bearer =="], Err("malformed_header")),
        (&[b"Bearer a=="], Ok(Some(b"a=="))),
        (&[b"Bearer ab\"c"], Err("malformed_header")),
        (&[b"Bearer \xc3\xa9t\xc3\xa9"], Err("malformed_header")),
        (&[b"Bearer \tabc"], Err("malformed_header")),
    ];
    for (values, expected) in cases {
        assert_eq!(
            bearer_token(&headers(values)),
            *expected,
            "for {:?}",
            values
                .iter()
                .map(|v| String::from_utf8_lossy(v))
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn every_byte_is_judged_by_the_b64token_grammar() {
    // RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b);
    for byte in 0..=u8::MAX {
        let value = [b"Bearer a".as_slice(), &[byte], b"z"].concat();
        // Bytes a header value cannot hold (controls but tab) never reach the parser.
        let Ok(value) = http::HeaderValue::from_bytes(&value) else {
            continue;
        };
        let mut headers = http::HeaderMap::new();
        headers.insert("authorization", value);
        let expected = if allowed(byte) {
            Ok(Some(&[b'a', byte, b'z'][..]))
        } else {
            Err("malformed_header")
        };
        assert_eq!(bearer_token(&headers), expected, "for byte {byte:#04x}");
    }
}

fn head(authorization: Option<&str>) -> http::request::Parts {
    let mut builder = http::Request::post("/webhooks/prepared");
    if let Some(value) = authorization {
        builder = builder.header("authorization", value);
    }
    builder.body(()).expect("a request").into_parts().0
}

#[tokio::test]
async fn every_token_of_a_rotation_is_accepted_and_nothing_else() {
    let auth = StaticBearer::new([BearerToken::new("old-token"), BearerToken::new("new-token")]);
    assert_eq!(
        auth.authenticate(&head(Some("Bearer old-token"))).await,
        Ok(Principal::StaticToken {
            index: 0,
            label: None
        })
    );
    assert_eq!(
        auth.authenticate(&head(Some("bearer new-token"))).await,
        Ok(Principal::StaticToken {
            index: 1,
            label: None
        })
    );
    for refused in [
        "Bearer new-token2",
        "Bearer new-toke",
        "Bearer NEW-TOKEN",
        "Bearer old",
    ] {
        assert_eq!(
            auth.authenticate(&head(Some(refused))).await,
            Err(AuthError::Invalid {
                reason: "unknown_token"
            }),
            "{refused}"
        );
    }
    assert_eq!(
        auth.authenticate(&head(None)).await,
        Err(AuthError::Missing)
    );
    let none = StaticBearer::new([]);
    assert!(none.check(&head(Some("Bearer anything"))).is_err());
}

#[test]
fn refusals_are_401_with_an_rfc_6750_challenge_and_no_retry_after() {
    let missing = AuthError::Missing;
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        missing.www_authenticate().expect("a challenge"),
        r#"Bearer realm="prepared-webhooks""#
    );
    let invalid = StaticBearer::new([BearerToken::new("right")])
        .check(&head(Some("Bearer wrong")))
        .expect_err("refused");
    assert_eq!(invalid.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        invalid.www_authenticate().expect("a challenge"),
        r#"Bearer realm="prepared-webhooks", error="invalid_token""#
    );
    assert_eq!(invalid.retry_after(), None);
    assert_eq!(invalid.reason(), "unknown_token");
}

#[test]
fn tokens_never_show_in_debug() {
    let token = BearerToken::new("super-secret-token");
    let auth = StaticBearer::new([token.clone()]);
    for shown in [
        format!("{token:?}"),
        format!("{auth:?}"),
        format!("{auth:#?}"),
    ] {
        assert!(!shown.contains("super-secret"), "{shown}");
    }
}

/// Each dispatch center's token yields its own label, whatever the order or the number of
/// tokens: one center's token is never reported as another's.
#[tokio::test]
async fn each_labelled_token_yields_its_own_label() {
    let centers: Vec<(String, String)> = (0..8)
        .map(|n| (format!("ecc-{n}"), format!("token-of-ecc-{n}")))
        .collect();
    let auth = StaticBearer::new(
        centers
            .iter()
            .map(|(label, token)| BearerToken::new(token.as_str()).label(label.as_str())),
    );
    for (index, (label, token)) in centers.iter().enumerate() {
        let principal = auth
            .authenticate(&head(Some(&format!("Bearer {token}"))))
            .await
            .expect("accepted");
        assert_eq!(principal.label(), Some(label.as_str()));
        assert_eq!(principal.name(), *label);
        assert!(matches!(principal, Principal::StaticToken { index: i, .. } if i == index));
    }
    let unlabelled = StaticBearer::new([BearerToken::new("plain")]);
    let principal = unlabelled
        .authenticate(&head(Some("Bearer plain")))
        .await
        .expect("accepted");
    assert_eq!(
        (principal.label(), principal.name()),
        (None, "token-0".to_owned())
    );
}
