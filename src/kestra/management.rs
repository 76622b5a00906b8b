//! Kestra's management port: Micronaut's `/health` and the Prometheus text at `/prometheus`.
//!
//! A stack kestractl starts asks Basic Auth on this port (`endpoints.all.basic-auth`, see
//! `stack::kestra_config`), so every call sends the credential when one is known. The port is on
//! this machine (published on 127.0.0.1 only): never through a proxy.

use std::time::Duration;

use crate::error::{Error, Kind, Result};
use crate::secret::Secret;

/// Micronaut's Prometheus endpoint produces the text exposition format 0.0.4; an Accept header
/// that does not name it is refused (406) like any other route.
const PROMETHEUS_ACCEPT: &str = "text/plain";

/// The most of a `/health` answer read (Micronaut's is a few hundred bytes).
const MAX_HEALTH: usize = 64 << 10;
/// The most of the Prometheus text read (Kestra's is tens of KiB; one per meter and tag set).
const MAX_PROMETHEUS: usize = 16 << 20;

/// The management port's answer to `/health`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// The `status` field: `UP`, `DOWN`, `UNKNOWN`.
    Status(String),
    /// 401: the port asks a credential that was not sent or not accepted.
    Refused,
}

impl Health {
    pub fn is_up(&self) -> bool {
        matches!(self, Health::Status(s) if s == "UP")
    }

    /// What a report shows: the status, or why there is none.
    pub fn label(&self) -> &str {
        match self {
            Health::Status(s) => s,
            Health::Refused => "credential refused",
        }
    }
}

pub struct Management {
    http: reqwest::Client,
    base: String,
    credential: Option<(String, Secret)>,
}

impl Management {
    /// `base` is the management URL (`http://127.0.0.1:8081`); `credential` the Basic Auth user
    /// and password the port asks, if known.
    pub fn new(
        base: &str,
        credential: Option<(String, Secret)>,
        timeout: Duration,
    ) -> Result<Self> {
        // The management port is this machine's stack's: its credential never goes elsewhere,
        // nor in plain HTTP over a network.
        let on_this_machine =
            url::Url::parse(base).is_ok_and(|u| crate::settings::validate::is_this_machine(&u));
        if credential.is_some() && !on_this_machine {
            return Err(Error::insecure_http(base));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("kestractl/", env!("CARGO_PKG_VERSION")))
            .timeout(timeout)
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::other(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            credential,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        let req = self.http.get(self.url(path));
        match &self.credential {
            Some((user, password)) => req.basic_auth(user, Some(password.expose())),
            None => req,
        }
    }

    /// `None` when nothing answers (refused, timed out).
    pub async fn health(&self) -> Option<Health> {
        let resp = self
            .get("/health")
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .ok()?;
        if resp.status() == reqwest::StatusCode::UNAUTHORIZED {
            return Some(Health::Refused);
        }
        #[derive(serde::Deserialize)]
        struct Answer {
            status: Option<String>,
        }
        // Only a small answer is read: Micronaut's is a few hundred bytes, and an endless one
        // must not grow the process.
        let status = super::client::read_capped(resp, MAX_HEALTH)
            .await
            .ok()
            .and_then(|body| crate::sanitize::decode::<Answer>(&body).ok())
            .and_then(|a| a.status)
            // Micronaut answers DOWN with 503 and a body; anything else unreadable is not UP.
            .unwrap_or_else(|| "DOWN".into());
        Some(Health::Status(status))
    }

    /// The Prometheus text, as served.
    pub async fn prometheus(&self) -> Result<String> {
        let url = self.url("/prometheus");
        let resp = self
            .get("/prometheus")
            .header(reqwest::header::ACCEPT, PROMETHEUS_ACCEPT)
            .send()
            .await
            .map_err(|e| {
                Error::unreachable(
                    &url,
                    &e.without_url().to_string(),
                    "is Kestra running? `kestractl status` shows the stack; the management port \
                     is KESTRA_MANAGEMENT_PORT",
                )
            })?;
        let status = resp.status();
        if status == reqwest::StatusCode::UNAUTHORIZED {
            let why = if self.credential.is_some() {
                "refused the credential"
            } else {
                "asks a credential and none is known here"
            };
            return Err(Error::new(
                Kind::Auth,
                format!("Kestra's management port ({url}) {why}"),
                "a stack started by kestractl asks the Basic Auth credential of its config file \
                 there; run `kestractl start` once to render it (Kestra 2.0 refuses \
                 /prometheus to everyone until it is marked non-sensitive)",
            ));
        }
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err(Error::new(
                Kind::NotFound,
                format!("Kestra does not serve Prometheus metrics at {url}"),
                "the Prometheus endpoint needs Micronaut's Prometheus registry, which Kestra's \
                 image ships; check KESTRA_MANAGEMENT_PORT points at the management port",
            ));
        }
        if !status.is_success() {
            return Err(Error::new(
                Kind::Server,
                format!("Kestra's management port answered {status} for {url}"),
                "see `kestractl logs` for Kestra's side",
            ));
        }
        let body = super::client::read_capped(resp, MAX_PROMETHEUS)
            .await
            .map_err(|e| match e {
                super::client::ReadError::TooLarge(cap) => Error::server(
                    format!(
                        "Kestra's metrics at {url} are larger than {}; they were not read",
                        super::client::mib(cap)
                    ),
                    "check KESTRA_MANAGEMENT_PORT points at this stack's management port",
                ),
                super::client::ReadError::Transport(e) => Error::unreachable(
                    &url,
                    &e.without_url().to_string(),
                    "the answer was cut off; try again",
                ),
            })?;
        Ok(String::from_utf8_lossy(&body).into_owned())
    }
}
