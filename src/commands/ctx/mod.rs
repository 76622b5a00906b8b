//! The context every command runs in: the global flags, the output, and what a command may need
//! (settings, the password, the keyring, the API clients, the Docker Engine), each built on first
//! use so commands that do not need the network (help, `config`) never touch it.

mod stack;

pub use stack::{StackStart, StartOptions};

use std::path::PathBuf;

use tokio::sync::OnceCell;

use crate::cli::GlobalArgs;
use crate::credentials::source::{Password, given_password, resolve_password};
use crate::credentials::store::{self, Availability};
use crate::error::Result;
use crate::kestra::client::RetryPolicy;
use crate::kestra::{ClientConfig, KestraClient};
use crate::output::Output;
use crate::settings::stack::{StackFlags, StackSettings};
use crate::settings::{self, ConfigFile, DotEnv, FlagValues, Layers, Settings};
use crate::stack::engine::Engine;

/// The files settings are read from, loaded once per command.
struct Loaded {
    config: ConfigFile,
    config_path: PathBuf,
    dotenv: DotEnv,
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
        let from_that_dotenv = given.is_some_and(|p| {
            matches!(
                p.source,
                crate::credentials::source::PasswordSource::DotEnv(_)
            )
        });
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
