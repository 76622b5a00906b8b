//! Version-aware API paths. Kestra 2.0 moved single-execution actions under `/actions/` and
//! dropped the legacy flat query parameters; 1.x keeps both. Everything tenant-scoped lives under
//! `/api/v1/{tenant}` (OSS: `main`, since 0.23).

use std::fmt;

/// A parsed Kestra version (`2.0.5`, `1.3.26`, `2.1.0-SNAPSHOT`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerVersion {
    pub raw: String,
    pub major: u32,
    pub minor: u32,
}

impl ServerVersion {
    pub fn parse(raw: &str) -> Option<Self> {
        let core = raw.trim().trim_start_matches('v');
        let mut parts = core.split(['.', '-']);
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some(ServerVersion {
            raw: raw.trim().to_string(),
            major,
            minor,
        })
    }

    pub fn api(&self) -> ApiVersion {
        if self.major >= 2 {
            ApiVersion::V2
        } else {
            ApiVersion::V1
        }
    }

    /// Versions kestractl is built and tested against.
    pub fn is_supported(&self) -> bool {
        (self.major == 1 && self.minor >= 3) || self.major == 2
    }
}

impl fmt::Display for ServerVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// The route family a server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    /// Kestra 1.x (1.3 LTS): `/{id}/kill`, legacy flat query parameters accepted.
    V1,
    /// Kestra 2.x: `/{id}/actions/kill`, only `filters[...]` queries.
    V2,
}

impl ApiVersion {
    pub fn label(self) -> &'static str {
        match self {
            ApiVersion::V1 => "1.x",
            ApiVersion::V2 => "2.x",
        }
    }
}

/// Percent-encodes one path segment (namespaces and ids are restricted by Kestra, but a user can
/// still type anything on the command line; it must not change the route).
pub fn segment(s: &str) -> String {
    // `.` and `..` would be resolved away by the URL parser, moving the request to another
    // route: written percent-encoded, they stay a segment.
    if s == "." || s == ".." {
        return s.replace('.', "%2E");
    }
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub const CONFIGS: &str = "/api/v1/configs";
/// 2.0's public subset of the configuration, for the login page.
pub const CONFIGS_LOGIN: &str = "/api/v1/configs/login";

pub fn tenant_base(tenant: &str) -> String {
    format!("/api/v1/{}", segment(tenant))
}

/// A cheap route that needs valid credentials on every version: the configuration endpoint may
/// answer anonymous callers (1.x), so it proves nothing about a password.
pub fn credential_probe(tenant: &str) -> String {
    format!("{}/flows/distinct-namespaces", tenant_base(tenant))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        let v = ServerVersion::parse("2.0.5").unwrap();
        assert_eq!((v.major, v.minor, v.api()), (2, 0, ApiVersion::V2));
        assert!(v.is_supported());
        let v = ServerVersion::parse("1.3.26").unwrap();
        assert_eq!(v.api(), ApiVersion::V1);
        assert!(v.is_supported());
        let v = ServerVersion::parse("v2.1.0-SNAPSHOT").unwrap();
        assert_eq!((v.major, v.minor), (2, 1));
        assert!(!ServerVersion::parse("0.20.3").unwrap().is_supported());
        assert!(ServerVersion::parse("develop").is_none());
        assert!(ServerVersion::parse("").is_none());
    }

    #[test]
    fn segments_are_encoded() {
        assert_eq!(segment("company.team"), "company.team");
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
        assert_eq!(segment(".."), "%2E%2E");
        assert_eq!(segment("."), "%2E");
        assert_eq!(segment("a..b"), "a..b");
        assert_eq!(
            credential_probe("main"),
            "/api/v1/main/flows/distinct-namespaces"
        );
    }
}
