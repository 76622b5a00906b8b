//! Errors of the API client, typed so commands can branch on a status (404 → "no such flow"), and
//! a default translation into the operator-facing [`Error`] with the fix in it.

use std::time::Duration;

use super::problem::Problem;
use crate::error::{Error, Exit};
use crate::settings::duration::format_duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// The TCP/TLS connection could not be made: nothing reached the server.
    Connect,
    Timeout,
    /// The request went out but its answer was cut off mid-body: it may have been processed.
    Cut,
    Other,
}

impl TransportKind {
    pub fn of(e: &reqwest::Error) -> Self {
        if e.is_connect() {
            TransportKind::Connect
        } else if e.is_timeout() {
            TransportKind::Timeout
        } else {
            TransportKind::Other
        }
    }
}

#[derive(Debug)]
pub enum ApiError {
    Transport {
        method: String,
        url: String,
        server: String,
        kind: TransportKind,
        detail: String,
        timeout: Duration,
    },
    Status {
        method: String,
        url: String,
        status: u16,
        problem: Problem,
        location: Option<String>,
        username: String,
        password_given: bool,
        /// Where the password came from, when the client knows.
        password_from: Option<String>,
        /// Set when an unavailable server (502/503/504) was retried this long before giving up.
        retried_for: Option<Duration>,
    },
    Decode {
        method: String,
        url: String,
        detail: String,
    },
    /// The server sent more than kestractl holds at once (items of a list, levels of a tree):
    /// a real Kestra this large needs a narrower request, which `hint` names.
    Limit {
        url: String,
        detail: String,
        hint: String,
    },
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The request went out but whether it was carried out is unknown: the server (or a proxy)
    /// answered 502/503/504, or the answer was cut off.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            ApiError::Status { status, .. } => matches!(status, 502..=504),
            ApiError::Transport { kind, .. } => {
                matches!(kind, TransportKind::Cut | TransportKind::Other)
            }
            ApiError::Decode { .. } | ApiError::Limit { .. } => false,
        }
    }

    /// Marks an unavailable-server answer as the last of retries that lasted `waited`.
    pub fn retried_for(mut self, waited: Duration) -> Self {
        if let ApiError::Status { retried_for, .. } = &mut self {
            *retried_for = Some(waited);
        }
        self
    }

    pub fn problem(&self) -> Option<&Problem> {
        match self {
            ApiError::Status { problem, .. } => Some(problem),
            _ => None,
        }
    }
}

/// The hint for a refused or missing password. Shared by every command that talks to the API.
pub fn auth_hint(password_given: bool) -> String {
    if password_given {
        "check the password (from --password-stdin, KESTRACTL_PASSWORD or the keyring: \
         `kestractl auth status` says which) and the username (--username, KESTRACTL_USERNAME or \
         the context: `kestractl config show`); `kestractl auth login` stores a new one"
            .into()
    } else {
        "store the password in the OS keyring once with `kestractl auth login`, or give it with \
         --password-stdin (e.g. `kestractl … --password-stdin < pwfile`) or, in CI, \
         KESTRACTL_PASSWORD"
            .into()
    }
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Transport {
                url,
                server,
                kind,
                detail,
                timeout,
                ..
            } => {
                let (reason, hint) = match kind {
                    TransportKind::Connect => (
                        detail,
                        format!(
                            "is Kestra running and listening at {server}? Check the server URL \
                             (--server, KESTRACTL_SERVER or `kestractl config show`)"
                        ),
                    ),
                    TransportKind::Timeout => (
                        format!("no answer within {} (--timeout)", format_duration(timeout)),
                        "the server may be starting or overloaded; retry, or raise --timeout"
                            .into(),
                    ),
                    TransportKind::Cut => (
                        detail,
                        "the request reached the server, which may have carried it out: check \
                         its effect (e.g. `kestractl executions`, `kestractl flows list`) before \
                         running it again"
                            .into(),
                    ),
                    TransportKind::Other => (
                        detail,
                        "check the server URL and that it speaks HTTP(S)".into(),
                    ),
                };
                Error::unreachable(&url, &reason, hint)
            }
            ApiError::Decode {
                method,
                url,
                detail,
            } => Error::server(
                format!("{method} {url} returned an answer kestractl cannot read: {detail}"),
                "is the server URL a Kestra API (not a proxy page)? `kestractl server info` checks it",
            ),
            ApiError::Limit { url, detail, hint } => {
                Error::server(format!("stopped reading {url}: {detail}"), hint)
            }
            ApiError::Status {
                method,
                url,
                status,
                problem,
                location,
                username,
                password_given,
                password_from,
                retried_for,
            } => {
                let said = problem.summary();
                let said = if said.is_empty() {
                    String::new()
                } else {
                    format!(": {said}")
                };
                match status {
                    502..=504 => Error::server(
                        match retried_for {
                            Some(waited) => format!(
                                "Kestra stayed unavailable (HTTP {status} on {method} {url}) for {}{said}",
                                format_duration(waited)
                            ),
                            None => format!(
                                "Kestra was unavailable (HTTP {status} on {method} {url}){said}"
                            ),
                        },
                        if retried_for.is_some() {
                            "it may be restarting or overloaded: `kestractl status` (or `kestractl \
                             server info`) tells when it answers again; then run the command \
                             again, or give it longer with --timeout"
                        } else {
                            "this request is not repeated automatically (it may have been carried \
                             out); check its effect before running it again, once Kestra answers"
                        },
                    ),
                    300..=399 => Error::server(
                        format!(
                            "{method} {url} was redirected (HTTP {status}) to {}",
                            location.as_deref().unwrap_or("another place")
                        ),
                        "point --server at Kestra itself, not at a login proxy or a redirecting address",
                    ),
                    401 => Error::auth(
                        if password_given {
                            format!(
                                "Kestra refused the credentials of {username} (HTTP 401 on {method} {url})"
                            )
                        } else {
                            format!(
                                "Kestra requires a password and none was given (HTTP 401 on {method} {url})"
                            )
                        },
                        match (password_given, password_from) {
                            (true, Some(from)) => format!(
                                "the password came from {from}: check it, and the username \
                                 (--username, KESTRACTL_USERNAME or the context: `kestractl config \
                                 show`); `kestractl auth login` stores a new one"
                            ),
                            (given, _) => auth_hint(given),
                        },
                    ),
                    403 => Error::auth(
                        format!("{username} may not do this (HTTP 403 on {method} {url}){said}"),
                        "use an account with the needed permissions",
                    ),
                    404 => Error::not_found(
                        format!("not found (HTTP 404 on {method} {url}){said}"),
                        "check the names you gave; `kestractl server info` shows the server version and tenant",
                    ),
                    // `TenantValidationFilter`: Kestra OSS serves one tenant.
                    400 if said.contains("Tenant must be 'main'") => Error::rejected(
                        format!("Kestra refused the tenant of {method} {url} (HTTP 400){said}"),
                        "Kestra OSS has one tenant, `main`: drop --tenant (or \
                               KESTRACTL_TENANT, or the context's tenant), or set it to main",
                        Exit::Error,
                    ),
                    // Commands that know the route give a sharper hint; this one used to be
                    // empty, which left the operator with Kestra's words and no next step.
                    400 | 409 | 415 | 422 => Error::rejected(
                        format!("Kestra rejected {method} {url} (HTTP {status}){said}"),
                        "Kestra's reason is above: fix what it names; if it is about the \
                         request itself, check the server's version with `kestractl server \
                         info` (kestractl speaks Kestra 1.3 and 2.x)",
                        Exit::Error,
                    ),
                    _ => Error::server(
                        format!("Kestra failed on {method} {url} (HTTP {status}){said}"),
                        if status >= 500 {
                            "the server had a problem; `kestractl status` and the Kestra logs say more".into()
                        } else {
                            String::new()
                        },
                    ),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16, password_given: bool) -> ApiError {
        ApiError::Status {
            method: "GET".into(),
            url: "http://localhost:8080/api/v1/main/flows".into(),
            status,
            problem: Problem::default(),
            location: None,
            username: "admin@kestra.io".into(),
            password_given,
            password_from: None,
            retried_for: None,
        }
    }

    #[test]
    fn status_codes_map_to_exit_codes() {
        assert_eq!(Error::from(status(401, true)).exit(), Exit::Auth);
        assert_eq!(Error::from(status(403, true)).exit(), Exit::Auth);
        assert_eq!(Error::from(status(404, true)).exit(), Exit::NotReady);
        assert_eq!(Error::from(status(422, true)).exit(), Exit::Error);
        assert_eq!(Error::from(status(500, true)).exit(), Exit::Error);
    }

    #[test]
    fn auth_messages_distinguish_missing_from_wrong() {
        let wrong = Error::from(status(401, true));
        assert!(
            wrong
                .to_string()
                .contains("refused the credentials of admin@kestra.io")
        );
        let missing = Error::from(status(401, false));
        assert!(missing.to_string().contains("none was given"));
        assert!(missing.hint().unwrap().contains("--password-stdin"));
    }

    #[test]
    fn unreachable_names_the_url() {
        let e = Error::from(ApiError::Transport {
            method: "GET".into(),
            url: "http://127.0.0.1:9/api/v1/configs".into(),
            server: "http://127.0.0.1:9/".into(),
            kind: TransportKind::Connect,
            detail: "Connection refused (os error 111)".into(),
            timeout: Duration::from_secs(3),
        });
        assert_eq!(
            e.to_string(),
            "cannot reach Kestra at http://127.0.0.1:9/api/v1/configs: Connection refused (os error 111)"
        );
        let e = Error::from(ApiError::Transport {
            method: "GET".into(),
            url: "http://10.255.255.1/api/v1/configs".into(),
            server: "http://10.255.255.1/".into(),
            kind: TransportKind::Timeout,
            detail: String::new(),
            timeout: Duration::from_secs(3),
        });
        assert!(e.to_string().contains("no answer within 3s"), "{e}");
    }
}
