//! The HTTP client for Kestra's REST API.
//!
//! - `Authorization: Basic` on every call, no cookie store (Kestra enforces CSRF on cookie-authed
//!   writes; the header bypasses it), no redirects (a redirect means a proxy or login page, and
//!   following it could carry the credentials elsewhere).
//! - One deadline per call (`--timeout`) covering every attempt, so a dead server fails in time.
//! - Bounded retry with exponential backoff: any request whose connection could not be made (it
//!   never reached the server), and idempotent requests on 502/503/504.
//! - Basic Auth is refused over plain http to a non-loopback host unless explicitly allowed.
//!
//! The routes are reached through one handler per resource (octocrab's shape), each defined in
//! its resource's module so this file imports none of them: `client.flows()`, `executions()`,
//! `triggers()`, `kv(namespace)`, `nsfiles(namespace)`, `basic_auth()`. A handler borrows the
//! client, so every call still goes through its deadline, retries and credentials; it holds what
//! all its calls share (a namespace), so a caller names it once; and it hides the route
//! differences between the versions Kestra serves. A handler is `Copy` and its calls take it by
//! value, so a call's future borrows the client rather than the temporary handler
//! (`try_join!(client.flows().list(ns), client.flows().export(ns, budget))` compiles).

use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;
use url::Url;

use super::error::{ApiError, TransportKind};
use super::model::{Configuration, LoginConfiguration};
use super::problem;
use super::routes::{self, ApiVersion, ServerVersion};
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::settings::validate::is_this_machine;

/// How to pace retries. There is no attempt limit: the call's deadline (`--timeout`) bounds
/// them, so a Kestra restart (tens of seconds of refused connections and 503s) is ridden out
/// when the operator's timeout allows it, and a dead server fails in time.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    /// At most this many attempts; `None`: as many as the deadline allows.
    pub max_attempts: Option<u32>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            first_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(2),
            max_attempts: None,
        }
    }
}

impl RetryPolicy {
    /// One attempt: for checks that report the server's state as it is now (`auth status`,
    /// `doctor`), where riding out an outage would only delay the answer "down".
    pub fn single_attempt() -> Self {
        RetryPolicy {
            max_attempts: Some(1),
            ..RetryPolicy::default()
        }
    }

    /// Backoff before attempt `n + 1` (n ≥ 1): doubling, capped, with ±25% jitter so many clients
    /// do not retry in lockstep.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let base = self
            .first_backoff
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1).min(16)))
            .min(self.max_backoff);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let jitter = f64::from(nanos % 1000) / 1000.0 * 0.5 - 0.25;
        base.mul_f64(1.0 + jitter)
    }
}

/// Told once per outage that a call is being retried ("Kestra unavailable (HTTP 503) at …;
/// retrying for up to 27 s"), so a long wait is never silent. The command layer decides where
/// it goes (stderr, above a progress bar).
pub type RetryNotice = std::sync::Arc<dyn Fn(&str) + Send + Sync>;

/// Notices closer together than this are one outage: concurrent calls do not repeat it.
const NOTICE_EVERY: Duration = Duration::from_secs(5);

/// Whether a failed call may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// The connection was never made: nothing reached the server.
    NothingSent,
    /// The server (or a proxy) is unavailable (502/503/504), or the connection broke after the
    /// request was sent: safe only for an idempotent request.
    IfIdempotent,
    No,
}

#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub server: Url,
    pub tenant: String,
    pub username: String,
    pub password: Option<Secret>,
    pub timeout: Duration,
    pub allow_insecure_http: bool,
}

/// What a server is, learned from `/api/v1/configs`.
#[derive(Debug, Clone)]
pub struct Discovery {
    pub config: Configuration,
    pub version: Option<ServerVersion>,
    pub api: ApiVersion,
}

/// Whether the credentials work, proved on a protected route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialCheck {
    Valid,
    /// Authenticated, but the user may not read flows (EE RBAC); the password itself is right.
    ValidForbidden,
    Refused,
    /// No password to check.
    Missing,
}

/// A request body, kept as data so a retry can rebuild it.
#[derive(Debug, Clone)]
pub enum Body {
    /// Bytes with their content type.
    Bytes(&'static str, Vec<u8>),
    /// `multipart/form-data`: (part name, file name for file parts, content). No parts at all is
    /// still a (valid, empty) multipart body.
    Multipart(Vec<(String, Option<String>, Vec<u8>)>),
}

/// A request, kept as data so it can be sent again on retry.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Body>,
    pub idempotent: bool,
    pub authenticated: bool,
    /// A streamed answer (SSE): no deadline on the whole response, only on connecting.
    pub stream: bool,
    /// The media type the route produces, sent as `Accept`. Kestra's router (Micronaut) drops a
    /// route whose declared `produces` the Accept header does not name, so each call names
    /// exactly what its route produces (docs/kestra-compatibility.md).
    pub accept: &'static str,
    /// Headers a route reads parameters from (the KV store's `ttl` and `description`).
    pub headers: Vec<(&'static str, String)>,
}

/// What most routes produce (Micronaut's default `produces`).
pub const JSON: &str = "application/json";
/// The follow routes.
pub const EVENT_STREAM: &str = "text/event-stream";

impl Request {
    pub fn get(path: impl Into<String>) -> Self {
        Request {
            method: Method::GET,
            path: path.into(),
            query: Vec::new(),
            body: None,
            idempotent: true,
            authenticated: true,
            stream: false,
            accept: JSON,
            headers: Vec::new(),
        }
    }

    /// A request with a body.
    pub fn with_body(
        method: Method,
        path: impl Into<String>,
        body: Body,
        idempotent: bool,
    ) -> Self {
        Request {
            method,
            body: Some(body),
            idempotent,
            ..Request::get(path)
        }
    }

    /// A route whose declared `produces` is not JSON (the export ZIP, the kill route's
    /// `text/json`).
    pub fn accepting(mut self, media_type: &'static str) -> Self {
        self.accept = media_type;
        self
    }

    pub fn header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn anonymous(mut self) -> Self {
        self.authenticated = false;
        self
    }

    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }
}

pub struct KestraClient {
    http: reqwest::Client,
    server: Url,
    tenant: String,
    username: String,
    password: Option<Secret>,
    timeout: Duration,
    retry: RetryPolicy,
    notice: Option<RetryNotice>,
    last_notice: std::sync::Mutex<Option<Instant>>,
    discovery: OnceCell<Discovery>,
    /// Whether the server answered anything (any status) in this run: a server that never did
    /// is not waited for (a wrong address or port fails at once); one that did is ridden out
    /// through a restart.
    answered: std::sync::atomic::AtomicBool,
    /// Where the password came from (`environment KESTRACTL_PASSWORD`, the keyring entry, …),
    /// named in the hint when the server refuses it.
    password_source: Option<String>,
}

impl KestraClient {
    /// Names where the password came from, for the hint of a refusal.
    pub fn with_password_source(mut self, source: String) -> Self {
        self.password_source = Some(source);
        self
    }

    pub fn new(cfg: ClientConfig) -> Result<Self> {
        if cfg.password.is_some()
            && cfg.server.scheme() == "http"
            && !is_this_machine(&cfg.server)
            && !cfg.allow_insecure_http
        {
            return Err(Error::insecure_http(
                cfg.server.host_str().unwrap_or_default(),
            ));
        }
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("kestractl/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(cfg.timeout.min(Duration::from_secs(10)));
        // A server on this machine is reached directly: a proxy from the environment
        // (HTTP_PROXY, ALL_PROXY…) would otherwise see the credentials of a plain-HTTP call.
        if is_this_machine(&cfg.server) {
            builder = builder.no_proxy();
        }
        let http = builder
            .build()
            .map_err(|e| anyhow::anyhow!("cannot build the HTTP client: {e}"))?;
        Ok(KestraClient {
            http,
            server: cfg.server,
            tenant: cfg.tenant,
            username: cfg.username,
            password: cfg.password,
            timeout: cfg.timeout,
            retry: RetryPolicy::default(),
            notice: None,
            last_notice: std::sync::Mutex::new(None),
            discovery: OnceCell::new(),
            answered: std::sync::atomic::AtomicBool::new(false),
            password_source: None,
        })
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Where to say that calls are being retried.
    pub fn with_retry_notice(mut self, notice: RetryNotice) -> Self {
        self.notice = Some(notice);
        self
    }

    /// The time a call (with every retry) is given.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    pub fn server(&self) -> &Url {
        &self.server
    }

    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    pub fn username(&self) -> &str {
        &self.username
    }

    pub fn has_password(&self) -> bool {
        self.password.is_some()
    }

    /// The absolute URL of an API path (the server URL may carry a reverse-proxy prefix).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.server.as_str().trim_end_matches('/'), path)
    }

    fn build(&self, req: &Request, remaining: Duration) -> reqwest::RequestBuilder {
        let mut b = self
            .http
            .request(req.method.clone(), self.url(&req.path))
            .header(ACCEPT, HeaderValue::from_static(req.accept));
        if !req.stream {
            b = b.timeout(remaining);
        }
        if !req.query.is_empty() {
            b = b.query(&req.query);
        }
        for (name, value) in &req.headers {
            b = b.header(*name, value);
        }
        if req.authenticated
            && let Some(pw) = &self.password
        {
            b = b.basic_auth(&self.username, Some(pw.expose()));
        }
        match &req.body {
            Some(Body::Bytes(content_type, bytes)) => {
                b = b.header(CONTENT_TYPE, *content_type).body(bytes.clone());
            }
            Some(Body::Multipart(parts)) => {
                let mut form = reqwest::multipart::Form::new();
                for (name, file_name, bytes) in parts {
                    let mut part = reqwest::multipart::Part::bytes(bytes.clone());
                    if let Some(f) = file_name {
                        part = part.file_name(f.clone());
                        if let Ok(p) = part.mime_str("application/octet-stream") {
                            part = p;
                        } else {
                            continue;
                        }
                    }
                    form = form.part(name.clone(), part);
                }
                b = b.multipart(form);
            }
            None => {}
        }
        b
    }

    fn context(&self, req: &Request) -> (String, String) {
        (req.method.to_string(), self.url(&req.path))
    }

    /// Sends a request with retries within the call's deadline; returns the response only if it
    /// is a 2xx.
    pub async fn send(&self, req: &Request) -> Result<reqwest::Response, ApiError> {
        self.send_until(req, Instant::now() + self.timeout).await
    }

    /// [`send`](Self::send) with a deadline of the caller's: a sequence of calls that form one
    /// operation (a create, then the read that tells whether it landed) shares one deadline.
    pub async fn send_until(
        &self,
        req: &Request,
        deadline: Instant,
    ) -> Result<reqwest::Response, ApiError> {
        let (method, url) = self.context(req);
        let first = Instant::now();
        let mut attempt = 0;
        // What the last attempt met: reported if the deadline passes while waiting to retry
        // (a refused connection says more than "no answer").
        let mut last_error: Option<ApiError> = None;
        loop {
            attempt += 1;
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(last_error.unwrap_or_else(|| {
                    self.transport_error(
                        req,
                        TransportKind::Timeout,
                        "no answer before the deadline".into(),
                    )
                }));
            }
            let sent = Instant::now();
            // -vv: what goes out, without a header value or a byte of the body.
            tracing::trace!(
                "{method} {url} query {:?} accept {} body {}",
                req.query
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .collect::<Vec<_>>(),
                req.accept,
                match &req.body {
                    Some(Body::Bytes(ct, b)) => format!("{ct}, {} bytes", b.len()),
                    Some(Body::Multipart(parts)) => format!("multipart, {} parts", parts.len()),
                    None => "none".into(),
                }
            );
            // A stream has no deadline on its body, but its answer (the headers) has one.
            let outcome =
                match tokio::time::timeout(remaining, self.build(req, remaining).send()).await {
                    Ok(outcome) => outcome,
                    Err(_) => {
                        return Err(self.transport_error(
                            req,
                            TransportKind::Timeout,
                            "no answer before the deadline".into(),
                        ));
                    }
                };
            let (retry, wait, why) = match outcome {
                Ok(resp) => {
                    self.answered
                        .store(true, std::sync::atomic::Ordering::SeqCst);
                    let status = resp.status();
                    tracing::trace!(
                        "answer: {} {}, content-type {:?}, length {:?}",
                        status.as_u16(),
                        status.canonical_reason().unwrap_or_default(),
                        resp.headers()
                            .get(CONTENT_TYPE)
                            .and_then(|v| v.to_str().ok()),
                        resp.content_length()
                    );
                    tracing::debug!(
                        "{method} {} -> {} in {} ms (attempt {attempt})",
                        resp.url(),
                        status.as_u16(),
                        sent.elapsed().as_millis()
                    );
                    if status.is_success() {
                        return Ok(resp);
                    }
                    if !is_unavailable(status) {
                        return Err(self.status_error(req, resp, None).await);
                    }
                    let wait = retry_after(&resp);
                    let why = format!("unavailable (HTTP {})", status.as_u16());
                    let retrying =
                        self.may_retry(req, Retry::IfIdempotent, wait, attempt, deadline);
                    // Retried until the deadline: the error says for how long.
                    let waited = (attempt > 1 || retrying).then(|| first.elapsed());
                    let err = self.status_error(req, resp, waited).await;
                    if !retrying {
                        return Err(err);
                    }
                    last_error = Some(err);
                    (Retry::IfIdempotent, wait, why)
                }
                Err(e) => {
                    let kind = TransportKind::of(&e);
                    tracing::debug!(
                        "{method} {url} failed after {} ms (attempt {attempt}): {kind:?}",
                        sent.elapsed().as_millis()
                    );
                    let retry = match kind {
                        // A connection that was never made carried nothing: safe to retry
                        // whatever the method.
                        TransportKind::Connect => Retry::NothingSent,
                        // The deadline is spent (each attempt gets what remains of it).
                        TransportKind::Timeout => Retry::No,
                        // Reset or cut after the request went out: it may have been processed.
                        TransportKind::Cut | TransportKind::Other => Retry::IfIdempotent,
                    };
                    let err = self.transport_error(req, kind, describe_transport(&e));
                    // Nothing ever answered at this address in this run: a wrong address or
                    // port, or a server that is down; waiting the whole --timeout would only
                    // delay saying so.
                    let never_answered = kind == TransportKind::Connect
                        && !self.answered.load(std::sync::atomic::Ordering::SeqCst);
                    if never_answered || !self.may_retry(req, retry, None, attempt, deadline) {
                        return Err(err);
                    }
                    last_error = Some(err);
                    (
                        retry,
                        None,
                        format!("not reachable ({})", describe_transport(&e)),
                    )
                }
            };
            let wait = wait.unwrap_or_else(|| self.retry.backoff(attempt));
            self.tell_retrying(&why, deadline);
            tracing::debug!("retrying in {} ms ({retry:?})", wait.as_millis());
            tokio::time::sleep(wait).await;
        }
    }

    /// Whether attempt `attempt + 1` is allowed and fits before the deadline.
    fn may_retry(
        &self,
        req: &Request,
        retry: Retry,
        wait: Option<Duration>,
        attempt: u32,
        deadline: Instant,
    ) -> bool {
        let allowed = match retry {
            Retry::NothingSent => true,
            Retry::IfIdempotent => req.idempotent,
            Retry::No => false,
        };
        let wait = wait.unwrap_or_else(|| self.retry.backoff(attempt));
        allowed
            && self.retry.max_attempts.is_none_or(|n| attempt < n)
            && Instant::now() + wait < deadline
    }

    /// Says once per outage that calls are being retried, and until when.
    fn tell_retrying(&self, why: &str, deadline: Instant) {
        let Some(notice) = &self.notice else { return };
        let Ok(mut last) = self.last_notice.lock() else {
            return;
        };
        let now = Instant::now();
        if last.is_some_and(|t| now.duration_since(t) < NOTICE_EVERY) {
            return;
        }
        *last = Some(now);
        let left = deadline.saturating_duration_since(now).as_secs().max(1);
        notice(&format!(
            "Kestra {why} at {}; retrying for up to {left} s (--timeout)",
            crate::settings::display_url(&self.server)
        ));
    }

    fn transport_error(&self, req: &Request, kind: TransportKind, detail: String) -> ApiError {
        let (method, url) = self.context(req);
        ApiError::Transport {
            method,
            url,
            server: crate::settings::display_url(&self.server),
            kind,
            detail,
            timeout: self.timeout,
        }
    }

    /// `retried_for`: how long an unavailable server was retried before giving up.
    async fn status_error(
        &self,
        req: &Request,
        resp: reqwest::Response,
        retried_for: Option<Duration>,
    ) -> ApiError {
        let (method, url) = self.context(req);
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let content_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        // Only the first part of an error body is read (an endless one would never end).
        let mut body = Vec::new();
        let mut resp = resp;
        while let Ok(Some(chunk)) = resp.chunk().await {
            let room = MAX_ERROR_BODY.saturating_sub(body.len());
            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if body.len() >= MAX_ERROR_BODY {
                break;
            }
        }
        ApiError::Status {
            method,
            url,
            status,
            problem: problem::parse(content_type.as_deref(), &body),
            location,
            username: self.username.clone(),
            password_given: self.password.is_some() && req.authenticated,
            password_from: self.password_source.clone(),
            retried_for,
        }
    }

    /// Opens a server-sent-events stream: the answer's headers within the deadline, the body for
    /// as long as the server keeps it open.
    pub async fn open_stream(
        &self,
        path: &str,
        query: &[(String, String)],
    ) -> Result<reqwest::Response, ApiError> {
        let mut req = Request::get(path).accepting(EVENT_STREAM);
        req.query = query.to_vec();
        req.stream = true;
        self.send(&req).await
    }

    /// Sends and decodes a JSON answer.
    pub async fn json<T: DeserializeOwned>(&self, req: &Request) -> Result<T, ApiError> {
        self.json_until(req, Instant::now() + self.timeout).await
    }

    /// [`json`](Self::json) within the caller's deadline.
    pub async fn json_until<T: DeserializeOwned>(
        &self,
        req: &Request,
        deadline: Instant,
    ) -> Result<T, ApiError> {
        let mut attempt = 0;
        let (content_type, body) = loop {
            attempt += 1;
            let resp = self.send_until(req, deadline).await?;
            let content_type = resp
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            match read_capped(resp, MAX_JSON_BODY).await {
                Ok(body) => break (content_type, body),
                Err(ReadError::TooLarge(cap)) => {
                    let (method, url) = self.context(req);
                    return Err(ApiError::Decode {
                        method,
                        url,
                        detail: format!(
                            "the answer is larger than {}, more than any Kestra answer kestractl asks for; it was not read",
                            mib(cap)
                        ),
                    });
                }
                // The answer was cut off (connection reset mid-body): the server may have done
                // the work, so only an idempotent request is sent again.
                Err(ReadError::Transport(e))
                    if self.may_retry(req, Retry::IfIdempotent, None, attempt, deadline) =>
                {
                    tracing::debug!("answer cut off ({}); retrying", describe_transport(&e));
                    tokio::time::sleep(self.retry.backoff(attempt)).await;
                }
                Err(ReadError::Transport(e)) => {
                    return Err(self.transport_error(
                        req,
                        TransportKind::Cut,
                        format!("the answer was cut off: {}", describe_transport(&e)),
                    ));
                }
            }
        };
        if let Some(too_much) = crate::sanitize::too_heavy(&body) {
            let (method, url) = self.context(req);
            return Err(ApiError::Decode {
                method,
                url,
                detail: format!("{too_much}; it was not decoded"),
            });
        }
        // Every string cleaned of escape sequences and bidi overrides as it is decoded.
        crate::sanitize::decode(&body).map_err(|e| {
            let (method, url) = self.context(req);
            // Valid JSON of the wrong shape (a list item without `id`): serde's own words name
            // the field. Describing the body instead said "the server said: {…}" and hid it.
            let valid_json = serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_ok();
            let detail = if valid_json {
                format!("unexpected JSON: {e}")
            } else {
                problem::parse(content_type.as_deref(), &body)
                    .non_json
                    .unwrap_or_else(|| e.to_string())
            };
            ApiError::Decode {
                method,
                url,
                detail,
            }
        })
    }

    /// `GET /api/v1/configs`, with credentials when we have them (2.0 requires them; 1.x answers
    /// anyone).
    pub async fn configuration(&self) -> Result<Configuration, ApiError> {
        self.json(&Request::get(routes::CONFIGS)).await
    }

    /// `GET /api/v1/configs/login`: public on 2.0, absent on 1.x.
    pub async fn login_configuration(&self) -> Result<LoginConfiguration, ApiError> {
        self.json(&Request::get(routes::CONFIGS_LOGIN).anonymous())
            .await
    }

    /// Learns the server's version once and caches it for the rest of the command.
    pub async fn discover(&self) -> Result<&Discovery, ApiError> {
        self.discovery
            .get_or_try_init(|| async {
                let config = self.configuration().await?;
                let version = config.version.as_deref().and_then(ServerVersion::parse);
                // An unparseable version (a development build) gets the newest routes.
                let api = version.as_ref().map_or(ApiVersion::V2, ServerVersion::api);
                Ok(Discovery {
                    config,
                    version,
                    api,
                })
            })
            .await
    }

    /// Proves the credentials on a route that always needs them.
    pub async fn check_credentials(&self) -> Result<CredentialCheck, ApiError> {
        if self.password.is_none() {
            return Ok(CredentialCheck::Missing);
        }
        match self
            .send(&Request::get(routes::credential_probe(&self.tenant)))
            .await
        {
            Ok(_) => Ok(CredentialCheck::Valid),
            Err(ApiError::Status { status: 401, .. }) => Ok(CredentialCheck::Refused),
            Err(ApiError::Status { status: 403, .. }) => Ok(CredentialCheck::ValidForbidden),
            Err(e) => Err(e),
        }
    }
}

/// How much of an answer is read, at most: the server is not trusted to end what it sends.
/// Generous for a real Kestra (a page of 200 executions, a flow of several MiB), small enough
/// that an endless answer cannot exhaust the machine: with its decoded form (at most
/// `sanitize::MAX_DECODED`) and a cleaned copy, one answer stays well under 256 MiB.
pub const MAX_JSON_BODY: usize = 32 << 20;
/// An error answer's body: only its first part is needed to say what went wrong.
const MAX_ERROR_BODY: usize = 1 << 20;

/// Why a capped read stopped.
#[derive(Debug)]
pub enum ReadError {
    TooLarge(usize),
    Transport(reqwest::Error),
}

/// Reads an answer's body, refusing more than `cap` bytes (a `Content-Length` over it is refused
/// before anything is read).
pub async fn read_capped(mut resp: reqwest::Response, cap: usize) -> Result<Vec<u8>, ReadError> {
    if resp.content_length().is_some_and(|n| n > cap as u64) {
        return Err(ReadError::TooLarge(cap));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(ReadError::Transport)? {
        if body.len() + chunk.len() > cap {
            return Err(ReadError::TooLarge(cap));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Hands an answer's body to `sink` chunk by chunk as it arrives, so memory stays one chunk
/// whatever its size; waiting longer than `idle` for the next chunk ends it. Returns the bytes
/// read.
pub async fn stream_body(
    mut resp: reqwest::Response,
    idle: Duration,
    sink: &mut dyn FnMut(&[u8]) -> Result<(), crate::error::Error>,
) -> Result<u64, StreamError> {
    let mut read = 0u64;
    loop {
        let chunk = match tokio::time::timeout(idle, resp.chunk()).await {
            Err(_) => return Err(StreamError::Idle(idle)),
            Ok(Err(e)) => return Err(StreamError::Transport(describe_transport(&e))),
            Ok(Ok(None)) => return Ok(read),
            Ok(Ok(Some(chunk))) => chunk,
        };
        read += chunk.len() as u64;
        sink(&chunk).map_err(StreamError::Sink)?;
    }
}

/// Why [`stream_body`] stopped early.
#[derive(Debug)]
pub enum StreamError {
    /// No chunk for this long.
    Idle(Duration),
    Transport(String),
    /// What the sink said (a full disk, a closed pipe, enough read).
    Sink(crate::error::Error),
}

impl StreamError {
    /// The operator's error for the download of `what` from `url`.
    pub fn into_error(self, url: &str, what: &str) -> crate::error::Error {
        match self {
            StreamError::Idle(idle) => crate::error::Error::unreachable(
                url,
                &format!(
                    "the server sent nothing of {what} for {}",
                    crate::settings::duration::format_duration(idle)
                ),
                "try again, or raise --timeout",
            ),
            StreamError::Transport(detail) => crate::error::Error::unreachable(
                url,
                &format!("the download of {what} was cut off: {detail}"),
                "try again",
            ),
            StreamError::Sink(e) => e,
        }
    }
}

/// "64 MiB" and the like.
pub fn mib(bytes: usize) -> String {
    format!("{} MiB", bytes >> 20)
}

/// The server, or a proxy in front of it, is temporarily unable to answer.
fn is_unavailable(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT
    )
}

fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    let secs: u64 = resp
        .headers()
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs.min(10)))
}

/// The innermost cause of a transport error, which is the useful one ("Connection refused").
fn describe_transport(e: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = Some(e);
    let mut last = e.to_string();
    while let Some(s) = source {
        last = s.to_string();
        source = s.source();
    }
    // Never echo a URL with credentials; reqwest errors carry our URL, which has none.
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(server: &str, password: Option<&str>, allow: bool) -> ClientConfig {
        ClientConfig {
            server: Url::parse(server).unwrap(),
            tenant: "main".into(),
            username: "admin@kestra.io".into(),
            password: password.map(Secret::new),
            timeout: Duration::from_secs(5),
            allow_insecure_http: allow,
        }
    }

    #[test]
    fn refuses_basic_auth_over_plain_http_to_remote_hosts() {
        let err = KestraClient::new(cfg("http://kestra.internal:8080", Some("pw"), false))
            .err()
            .unwrap();
        assert_eq!(err.kind(), crate::error::Kind::InsecureHttp);
        assert!(err.hint().unwrap().contains("--allow-insecure-http"));
        assert!(KestraClient::new(cfg("http://kestra.internal:8080", Some("pw"), true)).is_ok());
        assert!(KestraClient::new(cfg("https://kestra.internal", Some("pw"), false)).is_ok());
        assert!(KestraClient::new(cfg("http://127.0.0.1:8080", Some("pw"), false)).is_ok());
        assert!(KestraClient::new(cfg("http://kestra.internal:8080", None, false)).is_ok());
        // An address of another machine is not this machine, whatever a setting says.
        let err = KestraClient::new(cfg("http://203.0.113.5:8080", Some("pw"), false))
            .err()
            .unwrap();
        assert_eq!(err.kind(), crate::error::Kind::InsecureHttp);
        assert!(KestraClient::new(cfg("http://[::1]:8080", Some("pw"), false)).is_ok());
    }

    #[test]
    fn urls_keep_a_proxy_prefix() {
        let c = KestraClient::new(cfg("https://example.com/kestra", None, false)).unwrap();
        assert_eq!(
            c.url("/api/v1/configs"),
            "https://example.com/kestra/api/v1/configs"
        );
        let c = KestraClient::new(cfg("http://localhost:8080/", None, false)).unwrap();
        assert_eq!(c.url("/ping"), "http://localhost:8080/ping");
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = RetryPolicy::default();
        let b1 = p.backoff(1);
        assert!(p.backoff(u32::MAX) <= Duration::from_millis(2500));
        let b3 = p.backoff(3);
        assert!(b1 >= Duration::from_millis(150) && b1 <= Duration::from_millis(250));
        assert!(b3 >= Duration::from_millis(600) && b3 <= Duration::from_millis(1000));
        assert!(p.backoff(20) <= Duration::from_millis(2500));
    }
}
