//! Validation of setting values, shared by flags, environment, `.env` and the config file, so one
//! value gets the same verdict and the same message wherever it was written.

use url::Url;

/// The text of a URL as messages may quote it: whatever precedes the last `@` of the authority
/// (`user:password`) is masked, even in text that is not a valid URL (`admin:pw@host:8080`
/// parses as scheme `admin`; `http://a:pw@host:99999` has a bad port), since it may be a password.
fn redact_userinfo(text: &str) -> String {
    let start = text.find("://").map_or(0, |i| i + 3);
    let end = text[start..]
        .find(['/', '?', '#', '\\'])
        .map_or(text.len(), |i| start + i);
    match text[start..end].rfind('@') {
        Some(at) => format!("{}***{}", &text[..start], &text[start + at..]),
        None => text.to_string(),
    }
}

/// A Kestra server URL: http(s), a host, optionally a path prefix (reverse proxy), no credentials,
/// no query. Returned without a trailing slash so routes can be appended.
pub fn server_url(text: &str) -> Result<Url, String> {
    let text = &server_of_ui_address(text).unwrap_or_else(|| text.to_string());
    let shown = redact_userinfo(text.trim());
    let trimmed = shown.as_str();
    let url = Url::parse(text.trim()).map_err(|e| {
        format!("`{trimmed}` is not a server URL ({e}); expected e.g. http://localhost:8080")
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "`{trimmed}` uses `{}`; a Kestra server URL must start with http:// or https://",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{trimmed}` has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        // Do not echo the URL: it may carry the password.
        return Err(
            "the server URL contains credentials; give the username with --username and the password \
             with --password-stdin or KESTRACTL_PASSWORD instead"
                .to_string(),
        );
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "`{trimmed}` has a query or fragment; give only scheme, host, port and an optional path"
        ));
    }
    let mut url = url;
    let path = url.path().trim_end_matches('/').to_string();
    url.set_path(&path);
    Ok(url)
}

/// A page of Kestra's UI pasted as the server (`http://host:8080/ui/main/flows/…`): the server is
/// what comes before `/ui`. `None` when `text` is no UI address.
pub fn server_of_ui_address(text: &str) -> Option<String> {
    let mut url = Url::parse(text.trim()).ok()?;
    let path = url.path().to_string();
    let at = if path == "/ui" || path.ends_with("/ui") {
        path.len() - "/ui".len()
    } else {
        path.find("/ui/")?
    };
    url.set_path(&path[..at]);
    url.set_query(None);
    url.set_fragment(None);
    Some(url.as_str().trim_end_matches('/').to_string())
}

/// Kestra's tenant id pattern (`^[a-z0-9][a-z0-9_-]*`); OSS always uses `main`.
pub fn tenant(text: &str) -> Result<(), String> {
    let mut chars = text.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{text}` is not a valid tenant: lower-case letters, digits, `_` and `-`, starting with a letter or digit (Kestra OSS uses `main`)"
        ))
    }
}

/// Kestra requires the Basic Auth username to be an e-mail address. `BasicAuthService` checks it
/// with `^[a-zA-Z0-9_!#$%&'*+/=?`{|}~^.-]+@[a-zA-Z0-9.-]+$` (ASCII only, the plain apostrophe,
/// exactly one `@`) and a limit of 256 UTF-16 units; a name it refuses leaves Kestra with no
/// credential, so it is refused here first.
pub fn username(text: &str) -> Result<(), String> {
    let local_ok = |c: char| c.is_ascii_alphanumeric() || "_!#$%&'*+/=?`{|}~^.-".contains(c);
    let domain_ok = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '-';
    let valid = text.encode_utf16().count() <= 256
        && text.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.is_empty()
                && local.chars().all(local_ok)
                && domain.chars().all(domain_ok)
        });
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{text}` is not a valid Kestra username: Kestra's Basic Auth requires an e-mail address such as admin@kestra.io (ASCII letters, digits and _!#$%&'*+/=?`{{|}}~^.- before the @)"
        ))
    }
}

/// Whether a host is this machine, where plain HTTP does not cross a network.
/// Whether `ip` is an address of this machine (a socket can be bound to it): traffic to it
/// stays on the machine.
pub fn is_local_address(ip: std::net::IpAddr) -> bool {
    ip.is_loopback() || std::net::UdpSocket::bind((ip, 0)).is_ok()
}

/// Whether `url` names this machine: a loopback name or address, or an address of one of its
/// interfaces (a name other than `localhost` is not resolved: it may be anywhere).
pub fn is_this_machine(url: &Url) -> bool {
    is_loopback(url)
        || match url.host() {
            Some(url::Host::Ipv4(ip)) => is_local_address(ip.into()),
            Some(url::Host::Ipv6(ip)) => is_local_address(ip.into()),
            _ => false,
        }
}

pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => {
            d.eq_ignore_ascii_case("localhost") || d.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_ui_address_gives_its_server() {
        for (pasted, server) in [
            (
                "http://localhost:8080/ui/main/flows/edit/company.team/hello?tab=topology",
                "http://localhost:8080/",
            ),
            (
                "https://kestra.example.com/kestra/ui/",
                "https://kestra.example.com/kestra",
            ),
            ("http://localhost:8080/ui", "http://localhost:8080/"),
        ] {
            assert_eq!(server_url(pasted).unwrap().as_str(), server, "{pasted}");
        }
        assert_eq!(server_of_ui_address("http://localhost:8080/api/v1"), None);
        assert_eq!(server_of_ui_address("http://localhost:8080/build"), None);
    }

    use super::*;

    #[test]
    fn server_urls() {
        assert_eq!(
            server_url("http://localhost:8080/").unwrap().as_str(),
            "http://localhost:8080/"
        );
        assert_eq!(
            server_url("https://example.com/kestra/").unwrap().as_str(),
            "https://example.com/kestra"
        );
        assert!(server_url("localhost:8080").is_err());
        assert!(server_url("ftp://x").unwrap_err().contains("http://"));
        let err = server_url("http://admin:s3cret@host").unwrap_err();
        assert!(!err.contains("s3cret"), "{err}");
        assert!(server_url("http://host/?a=b").is_err());
        assert!(
            server_url("not a url")
                .unwrap_err()
                .contains("not a server URL")
        );
    }

    /// Found by the `settings` fuzz target: a URL refused for another reason than its credentials
    /// (bad scheme, bad port, no `//`) was quoted whole, password included.
    #[test]
    fn refused_urls_never_quote_a_password() {
        for (text, shown) in [
            ("ftp://admin:s3cret@host", "`ftp://***@host` uses `ftp`"),
            (
                "http://admin:s3cret@host:99999/",
                "`http://***@host:99999/` is not",
            ),
            (
                "admin:s3cret@localhost:8080",
                "`***@localhost:8080` uses `admin`",
            ),
            ("://:s3cret@", "`://***@` is not a server URL"),
            ("http://admin:s3cret@", "`http://***@` is not a server URL"),
        ] {
            let err = server_url(text).unwrap_err();
            assert!(err.contains(shown), "{text}: {err}");
            assert!(!err.contains("s3cret"), "{text}: {err}");
        }
        // Without credentials the URL is quoted as given.
        assert!(
            server_url("ftp://host/a@b")
                .unwrap_err()
                .contains("`ftp://host/a@b`")
        );
    }

    #[test]
    fn tenants() {
        for ok in ["main", "t1", "a_b-c", "0x"] {
            assert!(tenant(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Main", "-x", "a b", "a/b"] {
            assert!(tenant(bad).is_err(), "{bad}");
        }
    }

    /// Kestra's own pattern's verdicts (checked with java.util.regex) plus its 256-unit limit.
    #[test]
    fn username_rule_matches_kestra_exactly() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/kestra/basic-auth-rules.json"
        );
        let rules: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for case in rules["usernames"].as_array().unwrap() {
            let value = case["value"].as_str().unwrap();
            let accepted =
                case["pattern"].as_bool().unwrap() && value.encode_utf16().count() <= 256;
            assert_eq!(username(value).is_ok(), accepted, "{value:?}");
        }
        assert!(username("o\u{2019}neil@x.io").is_err());
    }

    #[test]
    fn usernames_must_be_emails() {
        for ok in ["admin@kestra.io", "a.b+c@d-e.f", "o'neil@x.io"] {
            assert!(username(ok).is_ok(), "{ok}");
        }
        for bad in ["admin", "@x.io", "a@", "a b@x.io", "a@x_y.io"] {
            assert!(username(bad).is_err(), "{bad}");
        }
        assert!(username(&format!("{}@x.io", "a".repeat(260))).is_err());
    }

    #[test]
    fn loopback_hosts() {
        for (u, want) in [
            ("http://localhost:8080", true),
            ("http://127.0.0.1:8080", true),
            ("http://127.1.2.3", true),
            ("http://[::1]:8080", true),
            ("http://kestra.internal", false),
            ("http://10.0.0.5", false),
        ] {
            assert_eq!(is_loopback(&Url::parse(u).unwrap()), want, "{u}");
        }
    }
}
