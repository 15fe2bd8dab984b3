//! [`Secret`]: a configured string (robot URL, signing secret, password, header value) that
//! `Debug` never prints.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A string that is never printed by `Debug`. Serialises as the plain string, because the
/// config must round-trip; do not serialise configs into logs.
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The secret itself; for building requests only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_value() {
        let s = Secret::new("SECabc123");
        assert_eq!(format!("{s:?}"), "\"***\"");
        assert_eq!(s.expose(), "SECabc123");
    }
}
