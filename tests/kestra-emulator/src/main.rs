//! `kestra-emulator`: accepts Kestra's container command line (`server standalone
//! [--worker-thread=N …]`), reads the same configuration files, prints Kestra-like start-up lines
//! and serves until SIGTERM/SIGINT.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use kestra_emulator::{EmulatorConfig, KestraVersion, Knobs, Options, Outcome};

#[derive(Debug, Parser)]
#[command(
    name = "kestra-emulator",
    version,
    about = "Kestra OSS API emulator (1.3 / 2.0) for tests"
)]
struct Cli {
    /// Kestra's command words (`server standalone`); anything else is ignored.
    words: Vec<String>,
    /// Configuration file(s), merged after MICRONAUT_CONFIG_FILES (later wins).
    #[arg(short = 'c', long = "config")]
    config: Vec<PathBuf>,
    /// Kestra line to impersonate: 1.3 or 2.0 (full versions accepted).
    #[arg(long, env = "KESTRA_EMULATOR_VERSION", default_value = "2.0")]
    kestra_version: String,
    /// Keep state in memory even if a datasource is configured.
    #[arg(long, env = "KESTRA_EMULATOR_IN_MEMORY", value_parser = clap::builder::BoolishValueParser::new(), num_args = 0..=1, default_missing_value = "true", default_value = "false")]
    in_memory: bool,
    /// API port (default: micronaut.server.port, else 8080).
    #[arg(long, env = "KESTRA_EMULATOR_API_PORT")]
    api_port: Option<u16>,
    /// Management port (default: endpoints.all.port, else 8081).
    #[arg(long, env = "KESTRA_EMULATOR_MANAGEMENT_PORT")]
    management_port: Option<u16>,
    /// Address both ports bind to.
    #[arg(long, env = "KESTRA_EMULATOR_BIND", default_value = "0.0.0.0")]
    bind: IpAddr,
    /// The next N API requests answer 503.
    #[arg(long, env = "KESTRA_EMULATOR_FAIL_FIRST", default_value_t = 0)]
    fail_first: u32,
    /// Added to every API response, in milliseconds.
    #[arg(long, env = "KESTRA_EMULATOR_LATENCY_MS", default_value_t = 0)]
    latency_ms: u64,
    /// Simulated run time of each execution, in milliseconds.
    #[arg(
        long,
        env = "KESTRA_EMULATOR_EXECUTION_DURATION_MS",
        default_value_t = 0
    )]
    execution_duration_ms: u64,
    /// Force every execution to end SUCCESS, WARNING or FAILED.
    #[arg(long, env = "KESTRA_EMULATOR_EXECUTION_OUTCOME")]
    execution_outcome: Option<String>,
    /// Executions generated at start-up.
    #[arg(long, env = "KESTRA_EMULATOR_SEED_EXECUTIONS", default_value_t = 0)]
    seed_executions: u32,
    /// /health stays DOWN this long after start, in milliseconds.
    #[arg(long, env = "KESTRA_EMULATOR_READY_DELAY_MS", default_value_t = 0)]
    ready_delay_ms: u64,
    /// A follow stream with no event for this long ends with an error (Kestra: one hour).
    #[arg(long, env = "KESTRA_EMULATOR_SSE_IDLE_TIMEOUT_MS")]
    sse_idle_timeout_ms: Option<u64>,
    /// Refuse Basic Auth passwords shorter than this (Kestra: 8), as a stricter Kestra would.
    #[arg(long, env = "KESTRA_EMULATOR_PASSWORD_MIN_LENGTH")]
    password_min_length: Option<usize>,
}

/// Our own long flags; any other `--flag[=value]` is a Kestra server flag and is ignored.
const OWN_FLAGS: &[&str] = &[
    "--config",
    "--kestra-version",
    "--in-memory",
    "--api-port",
    "--management-port",
    "--bind",
    "--fail-first",
    "--latency-ms",
    "--execution-duration-ms",
    "--execution-outcome",
    "--seed-executions",
    "--ready-delay-ms",
    "--sse-idle-timeout-ms",
    "--password-min-length",
    "--help",
    "--version",
];

fn filter_args(args: Vec<String>) -> (Vec<String>, Vec<String>) {
    let mut keep = Vec::new();
    let mut ignored = Vec::new();
    for a in args {
        let name = a.split('=').next().unwrap_or_default();
        let ours = !a.starts_with("--") || OWN_FLAGS.contains(&name);
        let short_ours =
            a.starts_with('-') && !a.starts_with("--") && matches!(name, "-c" | "-h" | "-V");
        if ours || short_ours || !a.starts_with('-') {
            keep.push(a);
        } else {
            ignored.push(a);
        }
    }
    (keep, ignored)
}

fn log(level: &str, msg: &str) {
    let ts = kestra_emulator::timefmt::fmt_instant(kestra_emulator::timefmt::now_ms());
    println!("{ts} {level:<5} main io.kestra.cli.App {msg}");
}

fn config_paths(cli: &Cli) -> Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    // The image launcher writes $KESTRA_CONFIGURATION to a file and points
    // MICRONAUT_CONFIG_FILES at it, replacing any value the user set.
    if let Ok(inline) = std::env::var("KESTRA_CONFIGURATION") {
        if !inline.trim().is_empty() {
            let p = std::env::temp_dir().join(format!(
                "kestra-emulator-{}-application.yml",
                std::process::id()
            ));
            std::fs::write(&p, inline)
                .context("cannot write KESTRA_CONFIGURATION to a temp file")?;
            paths.push(p);
        }
    } else if let Ok(files) = std::env::var("MICRONAUT_CONFIG_FILES") {
        paths.extend(
            files
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(PathBuf::from),
        );
    }
    paths.extend(cli.config.iter().cloned());
    Ok(paths)
}

async fn run(cli: Cli) -> Result<()> {
    let version: KestraVersion = cli.kestra_version.parse()?;
    let paths = config_paths(&cli)?;
    let config = if paths.is_empty() {
        EmulatorConfig::default()
    } else {
        EmulatorConfig::from_files(&paths)?
    };
    let outcome = cli
        .execution_outcome
        .as_deref()
        .map(str::parse::<Outcome>)
        .transpose()?;
    let api_port = cli.api_port.or(config.server_port).unwrap_or(8080);
    let mgmt_port = cli
        .management_port
        .or(config.management_port)
        .unwrap_or(8081);
    let in_memory = cli.in_memory || config.datasource.is_none();
    log(
        "INFO",
        &format!(
            "Starting Kestra {} (emulator) server standalone",
            version.full()
        ),
    );
    if !paths.is_empty() {
        let list: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        log(
            "INFO",
            &format!("Loaded configuration from [{}]", list.join(", ")),
        );
    }
    if in_memory {
        log("INFO", "Repository: memory (state is lost on exit)");
    } else {
        log(
            "INFO",
            &format!(
                "Repository: {} / queue: {}",
                config.repository_type.as_deref().unwrap_or("postgres"),
                config.queue_type.as_deref().unwrap_or("postgres")
            ),
        );
    }
    let opts = Options {
        version,
        config,
        api_bind: SocketAddr::new(cli.bind, api_port),
        management_bind: SocketAddr::new(cli.bind, mgmt_port),
        in_memory,
        knobs: Knobs {
            fail_first: cli.fail_first,
            latency: Duration::from_millis(cli.latency_ms),
            execution_duration: Duration::from_millis(cli.execution_duration_ms),
            execution_outcome: outcome,
            seed_executions: cli.seed_executions,
            ready_delay: Duration::from_millis(cli.ready_delay_ms),
            sse_idle_timeout: cli.sse_idle_timeout_ms.map(Duration::from_millis),
            password_min_length: cli.password_min_length,
        },
        // The binary has no preset: an API-set credential is whatever its database holds.
        stored_basic_auth: None,
    };
    let emu = kestra_emulator::start(opts).await?;
    // Checked after start: a credential set up through the API earlier is in the database, not
    // the config, and a config credential that fails validation is not stored at all.
    if !emu.basic_auth_initialized() {
        log(
            "WARN",
            "No basic authentication configured (kestra.server.basic-auth) nor set up through the API: every API call but the first setup (POST /api/v1/{tenant}/basicAuth) will be refused",
        );
    }
    let host = if cli.bind.is_unspecified() {
        "0.0.0.0".to_string()
    } else {
        cli.bind.to_string()
    };
    log(
        "INFO",
        &format!(
            "Server Running: http://{host}:{}, Management server on port http://{host}:{}/health",
            emu.api_addr().port(),
            emu.management_addr().port()
        ),
    );
    // With a start-up delay, say exactly when /health turns UP: benchmarks measure how soon a
    // client notices.
    let remaining = emu.control().warming_remaining();
    if !remaining.is_zero() {
        tokio::spawn(async move {
            tokio::time::sleep(remaining).await;
            log("INFO", "Ready: /health reports UP from now on");
        });
    }
    wait_for_signal().await;
    log("INFO", "Shutting down");
    emu.shutdown().await;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn main() -> ExitCode {
    let (args, ignored) = filter_args(std::env::args().collect());
    let cli = Cli::parse_from(args);
    for a in ignored {
        log("INFO", &format!("Ignoring Kestra option {a}"));
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kestra-emulator: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log("ERROR", &format!("Server startup failed: {e:#}"));
            ExitCode::from(1)
        }
    }
}
