//! Which Kestra line the emulator impersonates. The two lines differ in routes
//! (`/actions/*`), error bodies (Micronaut JsonError vs RFC 9457), payload shapes and auth.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KestraVersion {
    /// Kestra 1.3 (LTS), as released (1.3.25/1.3.26).
    V1_3,
    /// Kestra 2.0, as released (2.0.5).
    V2_0,
    /// Kestra's development line after 2.0 (`2.1.0-SNAPSHOT`): what the released 2.0 does not
    /// have yet, such as the credential-change safeguards (`isBasicAuthManagedByConfig`,
    /// `currentPassword`).
    V2_1Dev,
}

impl KestraVersion {
    /// The full version string reported by `/api/v1/configs`; the patch levels match the
    /// OpenAPI snapshots and the newest tags seen in the field (research §1.1).
    pub fn full(self) -> &'static str {
        match self {
            KestraVersion::V1_3 => "1.3.26",
            KestraVersion::V2_0 => "2.0.5",
            KestraVersion::V2_1Dev => "2.1.0-SNAPSHOT",
        }
    }

    pub fn short(self) -> &'static str {
        match self {
            KestraVersion::V1_3 => "1.3",
            KestraVersion::V2_0 => "2.0",
            KestraVersion::V2_1Dev => "2.1-dev",
        }
    }

    /// The 2.x API (routes under `/actions/`, RFC 9457 errors, `ApiExecution` payloads).
    pub fn is_v2(self) -> bool {
        matches!(self, KestraVersion::V2_0 | KestraVersion::V2_1Dev)
    }

    /// The OpenAPI document this version's routes are checked against (the development line
    /// has no published one: 2.0's).
    pub fn spec_name(self) -> &'static str {
        match self {
            KestraVersion::V1_3 => "1.3",
            KestraVersion::V2_0 | KestraVersion::V2_1Dev => "2.0",
        }
    }

    /// Kestra's development line only: the Basic Auth credential can be changed through the
    /// API only when the config file does not own it (`isBasicAuthManagedByConfig` in
    /// `/configs`), and only with the current password in the body (`currentPassword`).
    pub fn guards_credential_changes(self) -> bool {
        self == KestraVersion::V2_1Dev
    }
}

impl fmt::Display for KestraVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unsupported Kestra version {0:?}: the emulator speaks 1.3, 2.0 and 2.1-dev")]
pub struct UnsupportedVersion(String);

impl FromStr for KestraVersion {
    type Err = UnsupportedVersion;

    /// Accepts "1.3", "2.0", full versions ("1.3.26", "2.0.5") and a leading `v` as in image tags;
    /// "2.1-dev" (or "2.1.0-SNAPSHOT", "develop") for the development line.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if matches!(t, "2.1-dev" | "2.1.0-SNAPSHOT" | "develop") {
            return Ok(KestraVersion::V2_1Dev);
        }
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
        assert_eq!(
            "2.1-dev".parse::<KestraVersion>().unwrap(),
            KestraVersion::V2_1Dev
        );
        assert!(KestraVersion::V2_1Dev.is_v2());
        assert!(!KestraVersion::V2_0.guards_credential_changes());
        assert_eq!(KestraVersion::V2_0.full(), "2.0.5");
    }
}
