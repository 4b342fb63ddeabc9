//! The example receivers' configuration contract (README.md, "Example receivers"): which
//! environment variables choose what, and which combinations are refused at start-up.

use std::collections::HashMap;

use prepared_core::delivery::AckMode;
use prepared_webhooks::ReceiverConfig;

fn config(vars: &[(&str, &str)]) -> Result<ReceiverConfig, String> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    ReceiverConfig::from_vars(|name| vars.get(name).cloned()).map_err(|error| error.to_string())
}

#[test]
fn the_defaults_need_no_variable() {
    let config = config(&[]).expect("defaults");
    assert_eq!(config.bind.to_string(), "127.0.0.1:3000");
    assert_eq!(config.ack_mode, AckMode::Immediate);
    assert!(config.redis_url.is_none());
    assert!(config.token_endpoint().is_none());
    assert!(format!("{config:?}").contains("bearer"));
}

#[test]
fn every_auth_mode_is_chosen_by_prepared_auth() {
    let jwt = config(&[
        ("PREPARED_AUTH", "jwt"),
        ("PREPARED_JWT_SECRET", "a-secret-of-at-least-32-bytes-long!"),
        (
            "PREPARED_JWT_AUDIENCE",
            "https://cad.test/webhooks/prepared",
        ),
        ("PREPARED_REQUIRED_SCOPES", "incident_events, cad_incidents"),
    ]);
    assert!(jwt.is_ok(), "{jwt:?}");
    let jwks = config(&[
        ("PREPARED_AUTH", "jwt"),
        ("PREPARED_JWKS_URL", "https://auth.test/jwks.json"),
        (
            "PREPARED_JWT_AUDIENCE",
            "https://cad.test/webhooks/prepared",
        ),
    ]);
    assert!(jwks.is_ok(), "{jwks:?}");
    let introspection = config(&[
        ("PREPARED_AUTH", "introspection"),
        ("PREPARED_INTROSPECTION_URL", "https://auth.test/introspect"),
        ("PREPARED_INTROSPECTION_CLIENT_ID", "receiver"),
        ("PREPARED_INTROSPECTION_CLIENT_SECRET", "secret"),
    ]);
    assert!(introspection.is_ok(), "{introspection:?}");
    let endpoint = config(&[("PREPARED_AUTH", "token_endpoint")]).expect("defaults");
    assert!(endpoint.token_endpoint().is_some());
}

#[test]
fn settings_that_cannot_work_stop_the_receiver_with_a_message() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("PREPARED_BIND", "localhost")], "PREPARED_BIND"),
        (&[("PREPARED_ACK_MODE", "later")], "PREPARED_ACK_MODE"),
        (&[("PREPARED_AUTH", "magic")], "PREPARED_AUTH must be"),
        (
            &[("PREPARED_AUTH", "jwt"), ("PREPARED_JWT_AUDIENCE", "a")],
            "PREPARED_JWT_SECRET or PREPARED_JWKS_URL",
        ),
        (
            &[
                ("PREPARED_AUTH", "jwt"),
                ("PREPARED_JWT_SECRET", "a-secret-of-at-least-32-bytes-long!"),
            ],
            "PREPARED_JWT_AUDIENCE",
        ),
        (
            &[
                ("PREPARED_AUTH", "jwt"),
                ("PREPARED_JWT_SECRET", "short"),
                ("PREPARED_JWT_AUDIENCE", "a"),
            ],
            "at least 32",
        ),
        (
            &[("PREPARED_AUTH", "introspection")],
            "PREPARED_INTROSPECTION_URL",
        ),
    ];
    for (vars, message) in cases {
        let error = config(vars).expect_err("refused");
        assert!(error.contains(message), "{vars:?}: {error}");
    }
}
