//! [`Scopes`]: a set of OAuth scopes.

use std::fmt;

/// A set of OAuth scopes, e.g. Prepared's `cad_incidents` and `incident_events`.
///
/// Parsed from the space-delimited form of RFC 6749 §3.3 (`"cad_incidents incident_events"`),
/// which is also how it displays.
///
/// ```
/// use prepared_core::auth::Scopes;
///
/// let granted = Scopes::parse("incident_events cad_incidents");
/// assert!(granted.contains_all(&Scopes::parse("cad_incidents")));
/// assert_eq!(granted.to_string(), "incident_events cad_incidents");
/// ```
#[derive(Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Scopes(Vec<String>);

impl Scopes {
    /// The scopes of a space-delimited list; repeated and empty entries are dropped.
    pub fn parse(list: &str) -> Self {
        Self::from_iter(list.split(' '))
    }

    /// Whether every scope of `required` is here.
    pub fn contains_all(&self, required: &Scopes) -> bool {
        required.0.iter().all(|scope| self.contains(scope))
    }

    /// Whether `scope` is here.
    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|granted| granted == scope)
    }

    /// Whether there is no scope.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The scopes, in their first order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl<S: AsRef<str>> FromIterator<S> for Scopes {
    fn from_iter<I: IntoIterator<Item = S>>(scopes: I) -> Self {
        let mut set = Self::default();
        set.extend(scopes);
        set
    }
}

impl<S: AsRef<str>> Extend<S> for Scopes {
    /// Adds the scopes not here yet; empty ones are dropped.
    fn extend<I: IntoIterator<Item = S>>(&mut self, scopes: I) {
        for scope in scopes {
            let scope = scope.as_ref();
            if !scope.is_empty() && !self.contains(scope) {
                self.0.push(scope.to_owned());
            }
        }
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(&self.0).finish()
    }
}
