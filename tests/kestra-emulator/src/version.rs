//! Which Kestra line the emulator impersonates. The two lines differ in routes
//! (`/actions/*`), error bodies (Micronaut JsonError vs RFC 9457), payload shapes and auth.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KestraVersion {
    V1_3,
    V2_0,
}

impl KestraVersion {
    /// The full version string reported by `/api/v1/configs`; the patch levels match the
    /// OpenAPI snapshots and the newest tags seen in the field (research §1.1).
    pub fn full(self) -> &'static str {
        match self {
            KestraVersion::V1_3 => "1.3.26",
            KestraVersion::V2_0 => "2.0.5",
        }
    }

    pub fn short(self) -> &'static str {
        match self {
            KestraVersion::V1_3 => "1.3",
            KestraVersion::V2_0 => "2.0",
        }
    }

    pub fn is_v2(self) -> bool {
        self == KestraVersion::V2_0
    }
}

impl fmt::Display for KestraVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unsupported Kestra version {0:?}: the emulator speaks 1.3 and 2.0")]
pub struct UnsupportedVersion(String);

impl FromStr for KestraVersion {
    type Err = UnsupportedVersion;

    /// Accepts "1.3", "2.0", full versions ("1.3.26", "2.0.5") and a leading `v` as in image tags.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let t = t.strip_prefix('v').unwrap_or(t);
        let mut parts = t.split('.');
        let major = parts.next().unwrap_or_default();
        let minor = parts.next().unwrap_or_default();
        let rest_ok = parts
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        match (major, minor, rest_ok) {
            ("1", "3", true) => Ok(KestraVersion::V1_3),
            ("2", "0", true) => Ok(KestraVersion::V2_0),
            _ => Err(UnsupportedVersion(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_short_and_full() {
        assert_eq!("1.3".parse::<KestraVersion>().unwrap(), KestraVersion::V1_3);
        assert_eq!(
            "1.3.26".parse::<KestraVersion>().unwrap(),
            KestraVersion::V1_3
        );
        assert_eq!("2.0".parse::<KestraVersion>().unwrap(), KestraVersion::V2_0);
        assert_eq!(
            "v2.0.5".parse::<KestraVersion>().unwrap(),
            KestraVersion::V2_0
        );
        assert!("1.2".parse::<KestraVersion>().is_err());
        assert!("2".parse::<KestraVersion>().is_err());
        assert_eq!(KestraVersion::V2_0.full(), "2.0.5");
    }
}
