//! Secret values whose `Debug` never shows them and that have no `Display`.

use std::fmt;
use std::sync::Arc;

#[cfg(feature = "oauth")]
macro_rules! secret {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(String);

        impl $name {
            /// Wraps a secret.
            pub fn new(secret: impl Into<String>) -> Self {
                Self(secret.into())
            }

            pub(crate) fn expose(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }
    };
}

/// A static Bearer token the partner issued to Prepared, with an optional label that says
/// whose it is (e.g. the dispatch center it was issued for). `Debug` shows the label, never
/// the token, and there is no `Display`.
///
/// ```
/// use prepared_core::auth::BearerToken;
///
/// let token = BearerToken::new("t0k3n-for-king-county").label("ecc-king-county");
/// assert_eq!(format!("{token:?}"), r#"BearerToken { label: Some("ecc-king-county"), token: [redacted] }"#);
/// ```
#[derive(Clone)]
pub struct BearerToken {
    token: String,
    label: Option<Arc<str>>,
}

impl BearerToken {
    /// Wraps a token, without a label.
    pub fn new(token: impl Into<String>) -> Self {
        Self {
            token: token.into(),
            label: None,
        }
    }

    /// Names whose token this is; deliveries it authenticates carry the label as their
    /// [`Principal`](super::Principal)'s, and as their tenant.
    pub fn label(mut self, label: impl Into<Arc<str>>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub(crate) fn expose(&self) -> &str {
        &self.token
    }

    pub(crate) fn shared_label(&self) -> Option<Arc<str>> {
        self.label.clone()
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerToken")
            .field("label", &self.label)
            .field("token", &crate::redact::Redacted)
            .finish()
    }
}

#[cfg(feature = "oauth")]
secret!(
    /// An OAuth client secret: the receiver's own (to call an introspection endpoint), or one
    /// a [`TokenEndpoint`](super::TokenEndpoint) client presents. `Debug` never shows it and
    /// there is no `Display`.
    ClientSecret
);

#[cfg(feature = "oauth")]
secret!(
    /// The shared secret of HS256-signed JWTs. `Debug` never shows it and there is no
    /// `Display`. Use at least 32 random bytes (RFC 7518 §3.2).
    JwtSecret
);
