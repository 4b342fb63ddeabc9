//! Secret values whose `Debug` never shows them and that have no `Display`.

use std::fmt;

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

secret!(
    /// A static Bearer token the partner issued to Prepared. `Debug` never shows it and there
    /// is no `Display`.
    BearerToken
);

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
