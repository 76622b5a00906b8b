//! A strict stand-in for Kestra OSS's REST API (1.3 or 2.0), for kestractl's tests.
//!
//! [`start`] runs the API port (`/ping`, `/api/v1/**`) and the management port (`/health*`,
//! `/emulator/*`); [`start_in_background`] does the same on its own runtime for blocking tests.
//! See the crate README for what is and is not emulated.

pub mod basic_auth;
pub mod config;
pub mod control;
pub mod engine;
pub mod errors;
pub mod execution;
pub mod filters;
pub mod flow;
pub mod flow_outputs;
pub mod ids;
pub mod ion;
pub mod knobs;
pub mod params;
pub mod prerequisite;
pub mod router;
pub mod routes;
pub mod seed;
pub mod server;
pub mod sse;
pub mod store;
pub mod testkit;
pub mod timefmt;
pub mod validate;
pub mod version;

mod auth;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::{BasicAuth, Datasource, EmulatorConfig};
pub use control::{Control, RecordedRequest};
pub use knobs::{Knobs, Outcome};
pub use version::KestraVersion;

use server::AppState;
use store::{Backend, Store};

/// Everything needed to start an emulator.
#[derive(Debug, Clone)]
pub struct Options {
    pub version: KestraVersion,
    pub config: EmulatorConfig,
    pub api_bind: SocketAddr,
    pub management_bind: SocketAddr,
    /// Keep state in memory only, even if a datasource is configured.
    pub in_memory: bool,
    pub knobs: Knobs,
    /// A Basic Auth credential already in the settings store when the server starts, as the UI's
    /// setup page (or an earlier `POST /basicAuth`) leaves it. Written at start, before the
    /// config's credential (which, if set, wins as in Kestra).
    pub stored_basic_auth: Option<BasicAuth>,
}

impl Options {
    /// In-memory, both ports on 127.0.0.1 with OS-chosen numbers, the given Basic Auth credential.
    pub fn for_tests(version: KestraVersion, username: &str, password: &str) -> Self {
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        Options {
            version,
            config: EmulatorConfig {
                basic_auth: Some(BasicAuth {
                    username: username.to_string(),
                    password: password.to_string(),
                }),
                ..EmulatorConfig::default()
            },
            api_bind: loopback,
            management_bind: loopback,
            in_memory: true,
            knobs: Knobs::default(),
            stored_basic_auth: None,
        }
    }

    /// Like [`Options::for_tests`], but the credential was set up through the API, not the
    /// config file: it can be changed with `POST /api/v1/{tenant}/basicAuth`, and 2.0 reports
    /// `isBasicAuthManagedByConfig: false`. Start-up fails if the credential would not pass
    /// Kestra's validation (an email address; 8+ characters with a lower, an upper and a digit).
    pub fn for_tests_api_managed(version: KestraVersion, username: &str, password: &str) -> Self {
        let mut o = Options::for_tests(version, username, password);
        o.stored_basic_auth = o.config.basic_auth.take();
        o
    }
}

/// A running emulator on the caller's runtime.
pub struct Emulator {
    store: Store,
    api_addr: SocketAddr,
    management_addr: SocketAddr,
    control: Control,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Emulator {
    pub fn api_url(&self) -> String {
        format!("http://{}", self.api_addr)
    }

    pub fn management_url(&self) -> String {
        format!("http://{}", self.management_addr)
    }

    pub fn api_addr(&self) -> SocketAddr {
        self.api_addr
    }

    pub fn management_addr(&self) -> SocketAddr {
        self.management_addr
    }

    pub fn control(&self) -> Control {
        self.control.clone()
    }

    /// A Basic Auth credential is stored (from the config or set up through the API).
    pub fn basic_auth_initialized(&self) -> bool {
        basic_auth::is_initialized(&self.store)
    }

    /// Stop accepting, let in-flight requests finish, return when both servers are down.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        // Graceful shutdown waits for open connections; a log follow never ends on its own
        // (as in Kestra), so give in-flight requests a moment and then cut the rest.
        for mut t in self.tasks {
            if tokio::time::timeout(std::time::Duration::from_millis(500), &mut t)
                .await
                .is_err()
            {
                t.abort();
                let _ = t.await;
            }
        }
    }
}

async fn open_backend(opts: &Options) -> Result<Arc<dyn Backend>> {
    if opts.in_memory {
        return Ok(Arc::new(store::memory::MemoryBackend));
    }
    match &opts.config.datasource {
        Some(ds) => Ok(Arc::new(
            store::postgres::PostgresBackend::connect(ds, opts.version).await?,
        )),
        None => anyhow::bail!(
            "no datasource configured (datasources.postgres.url); configure one or run with --in-memory"
        ),
    }
}

/// Start both servers; returns once they accept connections.
pub async fn start(opts: Options) -> Result<Emulator> {
    let backend = open_backend(&opts).await?;
    let store = Store::open(backend).await?;
    basic_auth::init(
        &store,
        &opts.config,
        opts.stored_basic_auth.as_ref(),
        opts.knobs
            .password_min_length
            .unwrap_or(basic_auth::KESTRA_MIN_PASSWORD),
    )
    .await?;
    let control = Control::new(opts.knobs.clone());
    let state = Arc::new(AppState {
        version: opts.version,
        config: opts.config.clone(),
        control: control.clone(),
        store: store.clone(),
        uuid: ids::uuid_v4(),
        engine: Arc::new(engine::Registry::default()),
    });
    seed::seed(&state, opts.knobs.seed_executions).await?;
    engine::resume_unfinished(&state);

    let api = TcpListener::bind(opts.api_bind)
        .await
        .with_context(|| format!("cannot bind API port {}", opts.api_bind))?;
    let mgmt = TcpListener::bind(opts.management_bind)
        .await
        .with_context(|| format!("cannot bind management port {}", opts.management_bind))?;
    let api_addr = api.local_addr()?;
    let management_addr = mgmt.local_addr()?;

    let (tx, rx) = watch::channel(false);
    let mut tasks = Vec::new();
    for (listener, router) in [
        (api, server::api_router(state.clone())?),
        (mgmt, server::management_router(state.clone())),
    ] {
        let mut rx = rx.clone();
        tasks.push(tokio::spawn(async move {
            let stop = async move {
                while !*rx.borrow() {
                    if rx.changed().await.is_err() {
                        break;
                    }
                }
            };
            if let Err(e) = axum::serve(listener, router)
                .with_graceful_shutdown(stop)
                .await
            {
                eprintln!("kestra-emulator: server error: {e}");
            }
        }));
    }
    Ok(Emulator {
        store,
        api_addr,
        management_addr,
        control,
        shutdown: tx,
        tasks,
    })
}

/// An emulator on its own multi-thread runtime and thread; stops when dropped.
pub struct BackgroundEmulator {
    api_url: String,
    management_url: String,
    control: Control,
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BackgroundEmulator {
    pub fn api_url(&self) -> String {
        self.api_url.clone()
    }

    pub fn management_url(&self) -> String {
        self.management_url.clone()
    }

    pub fn control(&self) -> Control {
        self.control.clone()
    }
}

impl Drop for BackgroundEmulator {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub fn start_in_background(opts: Options) -> Result<BackgroundEmulator> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(String, String, Control)>>();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("kestra-emulator".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e.into()));
                    return;
                }
            };
            rt.block_on(async move {
                let emu = match start(opts).await {
                    Ok(e) => e,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok((emu.api_url(), emu.management_url(), emu.control())));
                // Wait for Drop on a blocking thread so the runtime keeps serving.
                let _ = tokio::task::spawn_blocking(move || stop_rx.recv()).await;
                emu.shutdown().await;
            });
        })
        .context("cannot spawn the emulator thread")?;
    let (api_url, management_url, control) = ready_rx
        .recv()
        .context("emulator thread ended before starting")??;
    Ok(BackgroundEmulator {
        api_url,
        management_url,
        control,
        stop: Some(stop_tx),
        thread: Some(thread),
    })
}

/// Every route of `v` that Kestra's published spec describes, as (method, OpenAPI path
/// template): the emulator serves exactly these (plus [`hidden_routes`]), from the one
/// declaration in `routes::table`.
pub fn served_routes(v: KestraVersion) -> Vec<(String, &'static str)> {
    routes::table(v)
        .into_iter()
        .filter(|d| d.hidden.is_none())
        .map(|d| (d.method.to_string(), d.template))
        .collect()
}

/// Routes Kestra serves that its spec file does not describe, with the source they come from:
/// hidden from the spec (`@Hidden`), or newer than the file (2.0's outputs routes, see
/// `routes::outputs`).
pub fn hidden_routes(v: KestraVersion) -> Vec<(String, &'static str, &'static str)> {
    routes::table(v)
        .into_iter()
        .filter_map(|d| {
            let h = d.hidden?;
            Some((d.method.to_string(), d.template, h.source))
        })
        .collect()
}

/// Routes served but not described by Kestra's OpenAPI file for `v`: `/ping` on the API port;
/// on 2.x the three outputs routes kestrapy 2.0.3 calls (`OutputController`, newer than the 2.0
/// spec file, see `routes::outputs`); the health, Prometheus and `/emulator/*` routes on the
/// management port.
pub fn unspecified_routes(v: KestraVersion) -> Vec<(&'static str, &'static str)> {
    let mut r = vec![("GET", "/ping")];
    if v.is_v2() {
        r.extend(routes::outputs::ROUTES.iter().map(|(p, _)| ("GET", *p)));
    }
    r.extend([
        ("GET", "/health"),
        ("GET", "/health/liveness"),
        ("GET", "/health/readiness"),
        ("GET", "/prometheus"),
        ("GET", "/emulator/requests"),
        ("DELETE", "/emulator/requests"),
        ("GET", "/emulator/knobs"),
        ("POST", "/emulator/knobs"),
    ]);
    r
}
