//! Commands orchestrate: each reads its arguments, calls the library operations below it
//! (`stack::up`/`down`, `flows`, `rotation`, the `kestra` client) and renders the result. A group
//! that grows gets one file per subcommand (`auth/`, `executions/`, `stack/`). Clients are built
//! lazily through [`Ctx`], so commands that do not need the network (help, `config`) never touch
//! it.

pub mod args;
pub mod auth;
pub mod backup;
pub mod complete;
pub mod config;
pub mod doctor;
pub mod executions;
pub mod flows;
pub mod kv;
pub mod manifest;
pub mod metrics;
pub mod nsfiles;
pub mod server;
pub mod stack;
pub mod triggers;

mod root;
pub use root::{Cli, Command};

/// A command: its arguments (clap's derive, with its help, examples and completers on the
/// fields, in the command's own file), how it meets Ctrl-C, and what it does with them.
pub trait Run {
    /// How the command meets Ctrl-C (applied in one place: `signals::run`).
    fn interrupt(&self) -> Interrupt {
        Interrupt::STOP
    }

    /// Runs it; `Ok` carries the exit code of a success (`flows diff` with changes pending: 8).
    async fn run(self, ctx: &Ctx) -> Result<Exit>;
}

/// A group of commands, one line each: `Deploy(deploy::Args)` names the command and the file that
/// holds its arguments and its [`Run`]. The group is a clap subcommand enum and runs, and meets
/// Ctrl-C, as the command chosen.
macro_rules! group {
    ($(#[$meta:meta])* pub enum $name:ident {
        $( $(#[$vmeta:meta])* $variant:ident($args:ty) ),* $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, clap::Subcommand)]
        pub enum $name {
            $( $(#[$vmeta])* $variant($args), )*
        }

        impl $crate::commands::Run for $name {
            fn interrupt(&self) -> $crate::signals::Interrupt {
                match self {
                    $( Self::$variant(a) => $crate::commands::Run::interrupt(a), )*
                }
            }

            async fn run(
                self,
                ctx: &$crate::commands::Ctx,
            ) -> $crate::error::Result<$crate::error::Exit> {
                match self {
                    $( Self::$variant(a) => $crate::commands::Run::run(a, ctx).await, )*
                }
            }
        }
    };
}
pub(crate) use group;

/// The command line with its completers (the config's contexts, the server's names).
pub fn command() -> clap::Command {
    complete::attach(root::command())
}

use std::path::PathBuf;

use tokio::sync::OnceCell;

use crate::cli::GlobalArgs;
use crate::error::{Exit, Result};
use crate::kestra::client::RetryPolicy;
use crate::kestra::{ClientConfig, KestraClient};
use crate::output::Output;
use crate::secrets::source::{Password, given_password, resolve_password};
use crate::secrets::store::{self, Availability};
use crate::settings::stack::{StackFlags, StackSettings};
use crate::settings::{self, ConfigFile, DotEnv, FlagValues, Layers, Settings};
use crate::signals::Interrupt;
use crate::stack::engine::Engine;

/// The files settings are read from, loaded once per command.
struct Loaded {
    config: ConfigFile,
    config_path: PathBuf,
    dotenv: DotEnv,
}

/// A namespace given on the command line, checked with Kestra's rule before any request.
pub fn namespace_arg(namespace: &str, hint: &str) -> Result<()> {
    crate::flows::source::check_namespace(namespace)
        .map_err(|m| crate::error::Error::usage(m, hint))
}

/// Reads an environment variable; a function so tests and callers can substitute a map.
type EnvLookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// What every command may need, built on first use.
pub struct Ctx {
    pub global: GlobalArgs,
    pub out: Output,
    env: EnvLookup,
    loaded: OnceCell<Loaded>,
    settings: OnceCell<Settings>,
    given_password: OnceCell<Option<Password>>,
    password: OnceCell<Option<Password>>,
    keyring: OnceCell<Availability>,
    kestra: OnceCell<KestraClient>,
    kestra_probe: OnceCell<KestraClient>,
    engine: OnceCell<Engine>,
    /// Notices already said this command (settings are resolved more than once).
    said: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl Ctx {
    pub fn new(global: GlobalArgs) -> Self {
        let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let out = Output::new(global.output, global.no_color, no_color_env);
        Ctx {
            global,
            out,
            env: Box::new(|k| std::env::var(k).ok()),
            loaded: OnceCell::new(),
            settings: OnceCell::new(),
            given_password: OnceCell::new(),
            password: OnceCell::new(),
            keyring: OnceCell::new(),
            kestra: OnceCell::new(),
            kestra_probe: OnceCell::new(),
            engine: OnceCell::new(),
            said: std::sync::Mutex::new(std::collections::HashSet::new()),
        }
    }

    pub fn env(&self, key: &str) -> Option<String> {
        (self.env)(key)
    }

    pub fn config_path(&self) -> Result<PathBuf> {
        Ok(settings::config_file::config_dir(&*self.env)?.join(settings::config_file::FILE_NAME))
    }

    /// `.env` of the working directory (a missing file is empty).
    pub fn dotenv(&self) -> Result<DotEnv> {
        DotEnv::load(std::path::Path::new(".env"))
    }

    pub fn flag_values(&self) -> FlagValues {
        let g = &self.global;
        FlagValues {
            context: g.context.clone(),
            server: g.server.clone(),
            tenant: g.tenant.clone(),
            username: g.username.clone(),
            timeout: g.timeout.clone(),
            allow_insecure_http: g.allow_insecure_http,
        }
    }

    async fn loaded(&self) -> Result<&Loaded> {
        self.loaded
            .get_or_try_init(|| async {
                let config_path = self.config_path()?;
                Ok::<_, crate::error::Error>(Loaded {
                    config: ConfigFile::load(&config_path)?,
                    config_path,
                    dotenv: self.dotenv()?,
                })
            })
            .await
    }

    pub async fn settings(&self) -> Result<&Settings> {
        let loaded = self.loaded().await?;
        self.settings
            .get_or_try_init(|| async {
                let flags = self.flag_values();
                let resolved = settings::resolve(&Layers {
                    flags: &flags,
                    env: &*self.env,
                    dotenv: &loaded.dotenv,
                    config: &loaded.config,
                    config_path: &loaded.config_path,
                })?;
                for w in &resolved.warnings {
                    self.out.warn(w);
                }
                Ok::<_, crate::error::Error>(resolved)
            })
            .await
    }

    /// Stack settings with the given `start` flags (other commands pass the defaults). What a
    /// `.env` picked that matters is said once per command.
    pub async fn stack_settings(&self, flags: &StackFlags) -> Result<StackSettings> {
        let loaded = self.loaded().await?;
        let cwd = std::env::current_dir()
            .map_err(|e| crate::error::Error::io("cannot read the working directory", ".", e))?;
        let api_flags = self.flag_values();
        let stack = settings::stack::resolve_stack(
            &Layers {
                flags: &api_flags,
                env: &*self.env,
                dotenv: &loaded.dotenv,
                config: &loaded.config,
                config_path: &loaded.config_path,
            },
            flags,
            &cwd,
        )?;
        if let Ok(mut said) = self.said.lock() {
            for notice in &stack.notices {
                if said.insert(notice.clone()) {
                    self.out.warn(notice);
                }
            }
        }
        Ok(stack)
    }

    /// The Docker Engine, connected and pinged on first use.
    pub async fn engine(&self) -> Result<&Engine> {
        self.engine
            .get_or_try_init(|| async { Engine::connect(self.env("DOCKER_HOST").as_deref()).await })
            .await
    }

    /// The OS keyring (`KESTRACTL_KEYRING`), found on first use; see [`store`].
    pub async fn keyring(&self) -> Result<&Availability> {
        self.keyring
            .get_or_try_init(|| async {
                let choice = store::Choice::parse(self.env("KESTRACTL_KEYRING").as_deref())?;
                let timeout =
                    store::timeout_from(self.env("KESTRACTL_KEYRING_TIMEOUT").as_deref())?;
                Ok::<_, crate::error::Error>(store::open(choice, timeout).await)
            })
            .await
    }

    /// The keyring entry of the Basic Auth password for the resolved context, username, server.
    pub async fn basic_auth_entry(&self) -> Result<String> {
        let s = self.settings().await?;
        Ok(store::basic_auth_entry(
            &s.context.value,
            &s.username.value,
            &settings::display_url(&s.server.value),
        ))
    }

    /// The local stack's keyring entry for its Basic Auth password: the context's name and
    /// username, and the stack's own URL. It is never another server's entry, whatever server
    /// the current context points at.
    pub async fn stack_basic_auth_entry(&self, stack: &StackSettings) -> Result<String> {
        let s = self.settings().await?;
        Ok(store::basic_auth_entry(
            &s.context.value,
            &s.username.value,
            &stack.local_url(),
        ))
    }

    /// The password given explicitly for this run (`--password-stdin`, `KESTRACTL_PASSWORD`),
    /// read at most once (stdin can only be read once).
    pub async fn given_password(&self) -> Result<Option<&Password>> {
        let pw = self
            .given_password
            .get_or_try_init(|| async {
                let stdin = std::io::stdin();
                let mut lock = stdin.lock();
                given_password(self.global.password_stdin, &mut lock, &*self.env)
            })
            .await?;
        Ok(pw.as_ref())
    }

    /// The password for API calls: given (`--password-stdin`, `KESTRACTL_PASSWORD`), else the
    /// keyring, else the seed's variables.
    pub async fn password(&self) -> Result<Option<&Password>> {
        let settings = self.settings().await?;
        let pw = self
            .password
            .get_or_try_init(|| async {
                let given = self.given_password().await?.cloned();
                let keyring = match given {
                    Some(_) => None,
                    None => Some(self.keyring().await?),
                };
                let entry = self.basic_auth_entry().await?;
                let (mut pw, mut problem) =
                    resolve_password(given.clone(), keyring, &entry, &*self.env, &settings.dotenv)
                        .await;
                // An entry stored under another loopback spelling before they were made one.
                if pw.is_none()
                    && let Some(literal) = store::literal_basic_auth_entry(
                        &settings.context.value,
                        &settings.username.value,
                        &settings::display_url(&settings.server.value),
                    )
                {
                    (pw, problem) =
                        resolve_password(given, keyring, &literal, &*self.env, &settings.dotenv)
                            .await;
                }
                if let Some(w) = pw.as_ref().and_then(|p| p.warning.as_ref()) {
                    self.out.warn(w);
                }
                if let Some(problem) = problem {
                    self.out.warn(&problem);
                }
                Ok::<_, crate::error::Error>(pw)
            })
            .await?;
        Ok(pw.as_ref())
    }

    /// The API client of the resolved settings: calls ride out an outage until `--timeout`.
    pub async fn kestra(&self) -> Result<&KestraClient> {
        self.kestra
            .get_or_try_init(|| self.new_client(RetryPolicy::default()))
            .await
    }

    /// A client that tries each call once: for commands that report the server's state as it is
    /// now (`auth status`, `doctor`), so a server that is down is said at once.
    pub async fn kestra_probe(&self) -> Result<&KestraClient> {
        self.kestra_probe
            .get_or_try_init(|| self.new_client(RetryPolicy::single_attempt()))
            .await
    }

    /// The API client of the local stack, with the password its running configuration holds
    /// (what Kestra checks), else the one given for this run.
    pub async fn local_stack_client(&self, stack: &StackSettings) -> Result<KestraClient> {
        use crate::stack::{files, kestra_config};
        let settings = self.settings().await?;
        let password = match files::read_config(&stack.secrets_dir)
            .as_deref()
            .and_then(kestra_config::basic_auth_password_of)
        {
            Some(p) => Some(p),
            None => self.password().await?.map(|p| p.secret.clone()),
        };
        crate::stack::local_api::local_client(
            stack,
            &settings.tenant.value,
            &settings.username.value,
            password,
            std::time::Duration::from_secs(10),
        )
    }

    async fn new_client(&self, retry: RetryPolicy) -> Result<KestraClient> {
        let s = self.settings().await?;
        let given = self.password().await?;
        // A password the same `.env` holds is its own secret; any other would follow the file.
        let from_that_dotenv = given
            .is_some_and(|p| matches!(p.source, crate::secrets::source::PasswordSource::DotEnv(_)));
        if given.is_some() && !s.server_vouched && !from_that_dotenv {
            return Err(crate::error::Error::settings(
                format!(
                    "the server {} comes from {}, and kestractl sends no password to a server a \
                     .env names unless it is the selected context's own",
                    settings::display_url(&s.server.value),
                    s.server.source
                ),
                "give the server explicitly (--server or KESTRACTL_SERVER), or add a context for \
                 it (`kestractl config add NAME --server URL`) and select it",
            ));
        }
        let password = given.map(|p| p.secret.clone());
        let client = KestraClient::new(ClientConfig {
            server: s.server.value.clone(),
            tenant: s.tenant.value.clone(),
            username: s.username.value.clone(),
            password,
            timeout: s.timeout.value,
            allow_insecure_http: s.allow_insecure_http.value,
        })?;
        let client = match given {
            Some(p) => client.with_password_source(p.source.to_string()),
            None => client,
        };
        // A long wait on an unavailable server is never silent.
        Ok(client
            .with_retry(retry)
            .with_retry_notice(std::sync::Arc::new(|message: &str| {
                crate::output::Output::warn_line(message)
            })))
    }
}

/// `kestractl version`: this tool's, and the server's when it answers in time (`--version`
/// stays offline).
#[derive(serde::Serialize)]
struct VersionReport {
    version: &'static str,
    server: Option<ServerVersion>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ServerVersion {
    url: String,
    /// `None` when the server did not answer (`reason` says why).
    version: Option<String>,
    edition: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

impl crate::output::Render for VersionReport {
    fn human(&self, out: &crate::output::Output) -> Result<()> {
        let mut text = format!("kestractl {}\n", self.version);
        if let Some(s) = &self.server {
            text.push_str(&match (&s.version, &s.reason) {
                (Some(v), _) => format!(
                    "Kestra {v}{} at {}\n",
                    s.edition
                        .as_deref()
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default(),
                    s.url
                ),
                (None, Some(why)) => format!("Kestra at {}: {why}\n", s.url),
                (None, None) => format!("Kestra at {}: no version reported\n", s.url),
            });
        }
        out.print(&text)
    }
}

/// The server's version, asked once with a short deadline (a version command does not wait on
/// a server that is down).
async fn server_version(ctx: &Ctx) -> Option<ServerVersion> {
    let client = ctx.kestra_probe().await.ok()?;
    let url = settings::display_url(client.server());
    let asked = tokio::time::timeout(std::time::Duration::from_secs(3), client.discover()).await;
    Some(match asked {
        Ok(Ok(d)) => ServerVersion {
            url,
            version: d.config.version.clone(),
            edition: d.config.edition.clone(),
            reason: None,
        },
        Ok(Err(e)) => ServerVersion {
            url,
            version: None,
            edition: None,
            reason: Some(crate::error::Error::from(e).message().to_string()),
        },
        Err(_) => ServerVersion {
            url,
            version: None,
            edition: None,
            reason: Some("no answer within 3 s".into()),
        },
    })
}

/// How each command meets Ctrl-C (`signals::run` applies it).
pub fn interrupt(command: &Command) -> Interrupt {
    use crate::cli::AuthCommand;
    match command {
        // `start --attach`: Ctrl-C stops the stack cleanly.
        Command::Start(a) | Command::Restart(a) if a.attach => Interrupt::Handled,
        Command::Start(_) | Command::Restart(_) => Interrupt::Stop {
            after: "what was created so far is left as it is: `kestractl start` again finishes \
                    the job, `kestractl status` shows the state",
        },
        Command::Stop(_) => Interrupt::Stop {
            after: "`kestractl stop` again finishes stopping",
        },
        Command::Flows(cmd) => cmd.interrupt(),
        // They put things back before they stop.
        Command::Backup(_) | Command::Restore(_) | Command::Upgrade(_) => Interrupt::Handled,
        Command::Executions(cmd) => cmd.interrupt(),
        // Kestra would hold one password and the keyring another.
        Command::Auth(AuthCommand::Rotate(_)) => Interrupt::FinishFirst {
            warning: "interrupt received: the rotation finishes (or rolls back) first, so that \
                      exactly one password works and the keyring holds it; it stops right after",
            done: "the rotation had already completed; `kestractl auth status` shows the \
                   credential in use",
        },
        // The keyring would hold the passwords while `.env`, not yet rewritten, still does.
        Command::Auth(AuthCommand::ImportEnv(_)) => Interrupt::FinishFirst {
            warning: "interrupt received: the import finishes (or, on an error, undoes its \
                      keyring writes) first, so the keyring and .env never disagree; it stops \
                      right after",
            done: "the import had already completed; `kestractl auth status` shows where the \
                   password comes from",
        },
        _ => Interrupt::STOP,
    }
}

/// Runs one command to completion.
pub async fn run(ctx: &Ctx, command: Command) -> Result<Exit> {
    match command {
        Command::Start(args) => stack::start::run(ctx, &args).await,
        Command::Status(args) => stack::status::run(ctx, &args).await,
        Command::Logs(args) => stack::logs::run(ctx, &args).await,
        Command::Stop(args) => stack::stop::run(ctx, &args).await,
        Command::Restart(args) => {
            stack::stop::keeping_everything(ctx).await?;
            stack::start::run(ctx, &args).await
        }
        Command::Compose => stack::compose::run(ctx).await,
        Command::Manifest(args) => manifest::run(ctx, &args).await,
        Command::Metrics(args) => metrics::run(ctx, &args).await,
        Command::Backup(args) => backup::run(ctx, &args).await,
        Command::Restore(args) => backup::restore::run(ctx, &args).await,
        Command::Upgrade(args) => backup::upgrade::run(ctx, &args).await,
        Command::Doctor => doctor::run(ctx).await,
        Command::Completions { shell } => {
            use clap_complete::env::EnvCompleter;
            // The registration script: the shell calls `COMPLETE=<shell> kestractl -- words` for
            // each completion, so contexts, states and the server's names are live.
            let completer: &dyn EnvCompleter = match shell {
                clap_complete::Shell::Bash => &clap_complete::env::Bash,
                clap_complete::Shell::Zsh => &clap_complete::env::Zsh,
                clap_complete::Shell::Fish => &clap_complete::env::Fish,
                clap_complete::Shell::PowerShell => &clap_complete::env::Powershell,
                clap_complete::Shell::Elvish => &clap_complete::env::Elvish,
                _ => {
                    return Err(crate::error::Error::usage(
                        format!("no completion for {shell}"),
                        "use bash, zsh, fish, powershell or elvish",
                    ));
                }
            };
            let mut text = Vec::new();
            completer
                .write_registration("COMPLETE", "kestractl", "kestractl", "kestractl", &mut text)
                .map_err(|e| anyhow::anyhow!("cannot write the completion script: {e}"))?;
            ctx.out.print(&String::from_utf8_lossy(&text))?;
            Ok(Exit::Ok)
        }
        Command::Man { dir } => {
            let cmd = self::command();
            let Some(dir) = dir else {
                let page = crate::output::man::main_page(&cmd)
                    .map_err(|e| anyhow::anyhow!("cannot render the man page: {e}"))?;
                ctx.out.print(&String::from_utf8_lossy(&page))?;
                return Ok(Exit::Ok);
            };
            let pages = crate::output::man::pages(&cmd)
                .map_err(|e| anyhow::anyhow!("cannot render the man pages: {e}"))?;
            std::fs::create_dir_all(&dir)
                .map_err(|e| crate::error::Error::io("cannot create", &dir, e))?;
            for (name, text) in &pages {
                let path = dir.join(name);
                crate::fsutil::write_atomic(&path, text, Some(0o644))?;
            }
            ctx.out.note(&format!(
                "wrote {} to {}",
                crate::output::count(pages.len(), "man page"),
                dir.display()
            ));
            Ok(Exit::Ok)
        }
        Command::Version => {
            ctx.out.emit(&VersionReport {
                version: env!("CARGO_PKG_VERSION"),
                server: server_version(ctx).await,
            })?;
            Ok(Exit::Ok)
        }
        Command::Flows(cmd) => cmd.run(ctx).await,
        Command::Executions(cmd) => cmd.run(ctx).await,
        Command::Kv(cmd) => kv::run(ctx, cmd).await,
        Command::Nsfiles(cmd) => nsfiles::run(ctx, cmd).await,
        Command::Triggers(cmd) => triggers::run(ctx, cmd).await,
        Command::Server(cmd) => server::run(ctx, cmd).await,
        Command::Config(cmd) => config::run(ctx, cmd).await,
        Command::Auth(cmd) => auth::run(ctx, cmd).await,
    }
}
