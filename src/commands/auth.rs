//! `kestractl auth`: credentials in the OS keyring (login, logout, status, show), moving
//! plain-text passwords into it (import-env, import-kestractl), and rotation of the managed
//! stack's credentials (rotate). The keyring itself is `secrets::store`; rotation is
//! `secrets::rotate`.

use std::io::IsTerminal;
use std::path::PathBuf;

use serde::Serialize;

use super::Ctx;
use crate::cli::{AuthCommand, AuthShowArgs, ImportEnvArgs, ImportKestractlArgs, RotateArgs};
use crate::error::{Error, Exit, Result};
use crate::kestra::{ClientConfig, CredentialCheck, KestraClient};
use crate::output::confirm;
use crate::output::progress::Progress;
use crate::rotation::api as rotate_api;
use crate::rotation::local::{self as rotate, Kind, Target};
use crate::secret::Secret;
use crate::secrets::import::{self, BASIC_AUTH_KEY, DB_KEY};
use crate::secrets::source::read_password_line;
use crate::secrets::store::{self, Availability, Keyring};
use crate::settings::config_file::{ConfigFile, Context};
use crate::settings::stack::{StackFlags, StackSettings};
use crate::settings::{self, Settings};

pub async fn run(ctx: &Ctx, cmd: AuthCommand) -> Result<Exit> {
    match cmd {
        AuthCommand::Login => login(ctx).await,
        AuthCommand::Logout => logout(ctx).await,
        AuthCommand::Status => status(ctx).await,
        AuthCommand::Show(args) => show(ctx, &args).await,
        AuthCommand::ImportEnv(args) => import_env(ctx, &args).await,
        AuthCommand::ImportKestractl(args) => import_kestractl(ctx, &args).await,
        AuthCommand::Rotate(args) => rotate_cmd(ctx, &args).await,
    }
}

fn server_of(s: &Settings) -> String {
    settings::display_url(&s.server.value)
}

/// The managed stack's Postgres entry.
fn db_entry_of(stack: &StackSettings) -> String {
    store::db_entry(&stack.kestra_container.value, &stack.db_user.value)
}

/// Reads the password to log in with: stdin with `--password-stdin`, else a prompt on the
/// terminal. Never an argument, never the environment.
fn read_login_password(ctx: &Ctx, s: &Settings) -> Result<Secret> {
    if ctx.global.password_stdin {
        let stdin = std::io::stdin();
        let mut lock = stdin.lock();
        return read_password_line(&mut lock);
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::usage(
            "there is no terminal to ask for the password on",
            "pipe it in: `kestractl auth login --password-stdin < pwfile` (or `printf '%s' \"$PW\" | …`)",
        ));
    }
    let prompt = format!("Password for {} at {}: ", s.username.value, server_of(s));
    let pw = rpassword::prompt_password(prompt).map_err(|e| {
        Error::usage(
            format!("cannot read the password from the terminal: {e}"),
            "use --password-stdin",
        )
    })?;
    if pw.is_empty() {
        return Err(Error::usage(
            "no password was typed",
            "type the password, or pipe it with --password-stdin",
        ));
    }
    Ok(Secret::new(pw))
}

async fn login(ctx: &Ctx) -> Result<Exit> {
    let s = ctx.settings().await?;
    // The keyring first: no point asking for a password that cannot be stored.
    let keyring = ctx.keyring().await?.require()?.clone();
    let entry = ctx.basic_auth_entry().await?;
    let password = read_login_password(ctx, s)?;
    let client = KestraClient::new(ClientConfig {
        server: s.server.value.clone(),
        tenant: s.tenant.value.clone(),
        username: s.username.value.clone(),
        password: Some(password.clone()),
        timeout: s.timeout.value,
        allow_insecure_http: s.allow_insecure_http.value,
    })?;
    match client.check_credentials().await {
        Ok(CredentialCheck::Valid | CredentialCheck::ValidForbidden) => {}
        Ok(_) => {
            return Err(Error::auth(
                format!(
                    "Kestra at {} refused the password of {}; nothing was stored",
                    server_of(s),
                    s.username.value
                ),
                "check the password, and the username (--username, KESTRACTL_USERNAME or \
                       the context: `kestractl config show`)",
            ));
        }
        Err(e) => {
            ctx.out
                .note("nothing was stored: the password could not be verified");
            return Err(e.into());
        }
    }
    let replaced = keyring.get(&entry).await?.is_some();
    keyring.set(&entry, &password).await?;
    ctx.out.print(&format!(
        "Logged in as {} at {} (context {}): the password is verified and {} the {} entry `{entry}`.\n",
        s.username.value,
        server_of(s),
        s.context.value,
        if replaced { "replaces" } else { "is stored in" },
        keyring.backend().describe(),
    ))?;
    Ok(Exit::Ok)
}

async fn logout(ctx: &Ctx) -> Result<Exit> {
    let keyring = ctx.keyring().await?.require()?;
    let entry = ctx.basic_auth_entry().await?;
    let removed = keyring.delete(&entry).await?;
    let pending = keyring.delete(&store::pending_entry(&entry)).await?;
    let text = if removed || pending {
        format!(
            "Removed `{entry}` from the {}; commands now need --password-stdin or KESTRACTL_PASSWORD (or `kestractl auth login`).\n",
            keyring.backend().describe()
        )
    } else {
        format!(
            "Nothing to remove: the {} has no entry `{entry}`.\n",
            keyring.backend().describe()
        )
    };
    ctx.out.print(&text)?;
    Ok(Exit::Ok)
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct KeyringReport {
    /// `ready`, `disabled` or `unavailable`.
    state: &'static str,
    backend: Option<&'static str>,
    detail: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusReport {
    context: String,
    server: String,
    username: String,
    entry: String,
    keyring: KeyringReport,
    /// Whether the keyring holds a password for the entry (`null`: no usable keyring).
    stored: Option<bool>,
    /// Whether a rotation left a pending entry.
    pending: Option<bool>,
    /// The managed stack's Postgres password entry (`null`: the stack settings do not resolve).
    database: Option<EntryReport>,
    /// Where a command would take the password from: `stdin`, `environment`, `keyring`,
    /// `dotenv`, or `null` for none.
    source: Option<&'static str>,
    source_detail: Option<String>,
    /// `valid`, `valid-no-permission`, `refused`, `missing` or `unverified`.
    credentials: &'static str,
    /// Why the credentials could not be verified.
    error: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct EntryReport {
    entry: String,
    /// Whether the keyring holds it (`null`: no usable keyring).
    stored: Option<bool>,
    /// Whether a rotation left a pending entry next to it.
    pending: Option<bool>,
}

/// Whether the keyring holds an entry and a rotation's pending entry next to it.
async fn stored_and_pending(
    keyring: Option<&Keyring>,
    entry: &str,
) -> Result<(Option<bool>, Option<bool>)> {
    Ok(match keyring {
        Some(k) => (
            Some(k.get(entry).await?.is_some()),
            Some(k.get(&store::pending_entry(entry)).await?.is_some()),
        ),
        None => (None, None),
    })
}

async fn status(ctx: &Ctx) -> Result<Exit> {
    let s = ctx.settings().await?;
    let entry = ctx.basic_auth_entry().await?;
    let availability = ctx.keyring().await?;
    let (stored, pending) = stored_and_pending(availability.keyring(), &entry).await?;
    // Only a stack setting that does not resolve leaves this out: `start` and `status` say why.
    let database = match ctx.stack_settings(&StackFlags::default()).await {
        Ok(stack) => {
            let entry = db_entry_of(&stack);
            let (stored, pending) = stored_and_pending(availability.keyring(), &entry).await?;
            Some(EntryReport {
                entry,
                stored,
                pending,
            })
        }
        Err(_) => None,
    };
    let password = ctx.password().await?;
    let (credentials, error) = if password.is_none() {
        ("missing", None)
    } else {
        match ctx.kestra_probe().await?.check_credentials().await {
            Ok(CredentialCheck::Valid) => ("valid", None),
            Ok(CredentialCheck::ValidForbidden) => ("valid-no-permission", None),
            Ok(CredentialCheck::Refused) => ("refused", None),
            Ok(CredentialCheck::Missing) => ("missing", None),
            Err(e) => ("unverified", Some(Error::from(e).to_string())),
        }
    };
    let report = StatusReport {
        context: s.context.value.clone(),
        server: server_of(s),
        username: s.username.value.clone(),
        entry: entry.clone(),
        keyring: KeyringReport {
            state: match availability {
                Availability::Ready(_) => "ready",
                Availability::Disabled => "disabled",
                Availability::Unavailable(_) => "unavailable",
            },
            backend: availability.keyring().map(|k| k.backend().id()),
            detail: availability.summary(),
        },
        stored,
        pending,
        database,
        source: password.map(|p| p.source.kind()),
        source_detail: password.map(|p| p.source.to_string()),
        credentials,
        error,
    };
    let exit = match credentials {
        "valid" | "valid-no-permission" => Exit::Ok,
        "unverified" => Exit::Error,
        _ => Exit::Auth,
    };
    if ctx.out.is_structured() {
        ctx.out.structured(&report)?;
        return Ok(exit);
    }
    let yes_no = |v: Option<bool>| match v {
        Some(true) => "yes",
        Some(false) => "no",
        None => "-",
    };
    let mut fields = vec![
        ("Context", report.context.clone()),
        ("Server", report.server.clone()),
        ("Username", report.username.clone()),
        ("Keyring", report.keyring.detail.clone()),
        ("Entry", report.entry.clone()),
        ("Stored", yes_no(report.stored).to_string()),
    ];
    let interrupted = "yes (an interrupted rotation; the next `auth rotate` clears it)";
    if report.pending == Some(true) {
        fields.push(("Pending", interrupted.into()));
    }
    if let Some(db) = &report.database {
        fields.push((
            "Postgres entry",
            format!("{} (stored: {})", db.entry, yes_no(db.stored)),
        ));
        if db.pending == Some(true) {
            fields.push((
                "Postgres pending",
                interrupted.replace("auth rotate", "auth rotate --db"),
            ));
        }
    }
    fields.push((
        "Password from",
        report
            .source_detail
            .clone()
            .unwrap_or_else(|| "nowhere (no password found)".into()),
    ));
    fields.push((
        "Credentials",
        match &report.error {
            Some(e) => format!("unverified: {e}"),
            None => report.credentials.to_string(),
        },
    ));
    ctx.out.record(&fields)?;
    Ok(exit)
}

async fn show(ctx: &Ctx, args: &AuthShowArgs) -> Result<Exit> {
    if !args.reveal {
        return Err(Error::usage(
            "`auth show` prints a password and needs --reveal",
            "`kestractl auth show --reveal` prints it to stdout (asking first on a terminal); \
             `kestractl auth status` says whether one is stored without showing it",
        ));
    }
    let keyring = ctx.keyring().await?.require()?;
    let entry = if args.db {
        db_entry_of(&ctx.stack_settings(&StackFlags::default()).await?)
    } else {
        ctx.basic_auth_entry().await?
    };
    let Some(secret) = keyring.get(&entry).await? else {
        return Err(Error::not_found(
            format!(
                "the {} has no entry `{entry}`",
                keyring.backend().describe()
            ),
            if args.db {
                "`kestractl start` stores the stack's Postgres password (and `auth import-env` \
                 moves KESTRA_DB_PASSWORD there)"
            } else {
                "store one with `kestractl auth login` (a first `kestractl start` generates and \
                 stores one); check --context/--server/--username with `kestractl auth status`"
            },
        ));
    };
    if std::io::stdout().is_terminal()
        && !ctx.global.yes
        && !confirm(
            &format!("Print the password of `{entry}` on this terminal? Type `yes`: "),
            "`auth show --reveal` shows a password",
        )?
    {
        return Err(Error::usage(
            "nothing was shown",
            "answer `yes`, or pass --yes",
        ));
    }
    ctx.out.print(&format!("{}\n", secret.expose()))?;
    Ok(Exit::Ok)
}

/// Entries written so far, with what they held before, to put back if a later step fails.
struct Undo<'a> {
    keyring: &'a Keyring,
    written: Vec<(String, Option<Secret>)>,
}

impl<'a> Undo<'a> {
    fn new(keyring: &'a Keyring) -> Self {
        Undo {
            keyring,
            written: Vec::new(),
        }
    }

    /// Stores `secret` in `entry`; returns what it replaced (`None`: new, `Some(same)`: unchanged).
    async fn set(&mut self, entry: &str, secret: &Secret) -> Result<Option<Secret>> {
        let previous = self.keyring.get(entry).await?;
        if previous.as_ref() != Some(secret) {
            self.keyring.set(entry, secret).await?;
            self.written.push((entry.to_string(), previous.clone()));
        }
        Ok(previous)
    }

    /// Puts every entry back as it was; the first error is returned after trying them all.
    async fn revert(self) -> Result<()> {
        let mut first = None;
        for (entry, previous) in self.written.into_iter().rev() {
            let result = match previous {
                Some(p) => self.keyring.set(&entry, &p).await,
                None => self.keyring.delete(&entry).await.map(|_| ()),
            };
            if let Err(e) = result {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// After a failure: revert, and say so in the error.
    async fn fail(self, e: Error) -> Error {
        match self.revert().await {
            Ok(()) => e,
            Err(undo) => Error::keyring(
                format!("{e}; and putting the keyring back failed too: {undo}"),
                e.hint().unwrap_or_default(),
            ),
        }
    }
}

fn replaced_word(previous: &Option<Secret>, new: &Secret) -> &'static str {
    match previous {
        None => "stored",
        Some(p) if p == new => "unchanged",
        Some(_) => "replaced",
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ImportedRow {
    variable: &'static str,
    entry: String,
    /// `stored`, `replaced` or `unchanged`.
    action: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ImportEnvReport {
    file: String,
    imported: Vec<ImportedRow>,
    rewritten: bool,
    backup: Option<String>,
}

/// `--rewrite-env` on a symbolic link would replace the link with a regular file and leave the
/// passwords in its target while saying they are gone: refused before anything changes, naming
/// the file to give instead.
fn refuse_linked_dotenv(path: &std::path::Path) -> Result<()> {
    let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if !is_link {
        return Ok(());
    }
    let target = std::fs::canonicalize(path).map_or_else(
        |_| "the file it points to".to_string(),
        |t| t.display().to_string(),
    );
    Err(Error::unsafe_(
        format!(
            "{} is a symbolic link: rewriting it would replace the link and leave the passwords \
             in {target}; nothing was changed",
            path.display()
        ),
        format!("name the real file: kestractl auth import-env --rewrite-env --file {target}"),
    ))
}

async fn import_env(ctx: &Ctx, args: &ImportEnvArgs) -> Result<Exit> {
    let path = &args.file;
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::settings(
                format!("there is no {}", path.display()),
                "run it where the seed's .env is, or name the file with --file",
            ));
        }
        Err(e) => return Err(Error::io("cannot read", path, e)),
    };
    // Everything is checked before anything changes.
    let values = import::parse_dotenv(&text, path)?;
    let pick = |k: &str| {
        values
            .get(k)
            .filter(|v| !v.trim().is_empty())
            .map(|v| Secret::new(v.clone()))
    };
    let basic = pick(BASIC_AUTH_KEY);
    let db = pick(DB_KEY);
    if basic.is_none() && db.is_none() {
        ctx.out.print(&format!(
            "Nothing to import: {} has neither {BASIC_AUTH_KEY} nor {DB_KEY}.\n",
            path.display()
        ))?;
        return Ok(Exit::Ok);
    }
    let rewritten = if args.rewrite_env {
        refuse_linked_dotenv(path)?;
        Some(import::rewrite_dotenv(
            &text,
            path,
            &[BASIC_AUTH_KEY, DB_KEY],
        )?)
    } else {
        None
    };
    let mut items = Vec::new();
    let stack = ctx.stack_settings(&StackFlags::default()).await?;
    if let Some(b) = basic {
        // The seed's password is the local stack's: it goes to the stack's own entry (the one
        // `start` reads), never over the entry of whatever server the current context names.
        items.push((BASIC_AUTH_KEY, ctx.stack_basic_auth_entry(&stack).await?, b));
    }
    if let Some(d) = db {
        items.push((DB_KEY, db_entry_of(&stack), d));
    }
    let keyring = ctx.keyring().await?.require()?;

    let mut undo = Undo::new(keyring);
    let mut rows = Vec::new();
    for (variable, entry, secret) in &items {
        match undo.set(entry, secret).await {
            Ok(previous) => rows.push(ImportedRow {
                variable,
                entry: entry.clone(),
                action: replaced_word(&previous, secret),
            }),
            Err(e) => return Err(undo.fail(e).await),
        }
    }
    let mut backup = None;
    if let Some(new_text) = &rewritten {
        let backup_path = import::backup_path(path);
        if let Err(e) = crate::fsutil::write_atomic(&backup_path, text.as_bytes(), Some(0o600)) {
            return Err(undo.fail(e).await);
        }
        if let Err(e) = crate::fsutil::write_atomic(path, new_text.as_bytes(), Some(0o600)) {
            let _ = std::fs::remove_file(&backup_path);
            return Err(undo.fail(e).await);
        }
        backup = Some(backup_path.display().to_string());
    }
    let report = ImportEnvReport {
        file: path.display().to_string(),
        imported: rows,
        rewritten: rewritten.is_some(),
        backup,
    };
    if ctx.out.is_structured() {
        ctx.out.structured(&report)?;
        return Ok(Exit::Ok);
    }
    let mut text_out = String::new();
    for r in &report.imported {
        text_out.push_str(&format!(
            "{} → {} keyring entry `{}` ({})\n",
            r.variable,
            keyring.backend().describe(),
            r.entry,
            r.action
        ));
    }
    match &report.backup {
        Some(b) => text_out.push_str(&format!(
            "{} no longer holds them (0600); the original is kept as {b} (0600): delete it once you are sure.\n",
            report.file
        )),
        None => text_out.push_str(&format!(
            "{} still holds them in plain text: remove those lines (or run again with --rewrite-env).\n",
            report.file
        )),
    }
    ctx.out.print(&text_out)?;
    Ok(Exit::Ok)
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ContextRow {
    context: String,
    server: Option<String>,
    username: Option<String>,
    /// `created`, `replaced`, `unchanged` or `skipped`.
    action: &'static str,
    /// `stored`, `replaced`, `unchanged`, or `none` (their context had no password).
    password: &'static str,
    reason: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ImportKestractlReport {
    file: String,
    config_file: String,
    contexts: Vec<ContextRow>,
    current_context: Option<String>,
    source_deleted: bool,
}

fn kestractl_file(ctx: &Ctx, args: &ImportKestractlArgs) -> Result<PathBuf> {
    if let Some(f) = &args.file {
        return Ok(f.clone());
    }
    let home = ctx
        .env("HOME")
        .filter(|h| !h.trim().is_empty())
        .ok_or_else(|| {
            Error::settings(
                "HOME is not set, so the official kestractl's config cannot be found",
                "name it with --file",
            )
        })?;
    let home = PathBuf::from(home);
    let current = home.join(".kestractl").join("config.yaml");
    // Older builds of the official kestractl used ~/.kestra/config.yaml.
    let older = home.join(".kestra").join("config.yaml");
    Ok(if !current.exists() && older.exists() {
        older
    } else {
        current
    })
}

async fn import_kestractl(ctx: &Ctx, args: &ImportKestractlArgs) -> Result<Exit> {
    let path = kestractl_file(ctx, args)?;
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::settings(
                format!(
                    "there is no official kestractl config at {}",
                    path.display()
                ),
                "name it with --file",
            ));
        }
        Err(e) => return Err(Error::io("cannot read", &path, e)),
    };
    let parsed = import::parse_kestractl(&text, &path)?;
    let config_path = ctx.config_path()?;
    let mut config = ConfigFile::load(&config_path)?;

    // The plan, before anything changes.
    let mut rows: Vec<ContextRow> = parsed
        .skipped
        .iter()
        .map(|s| ContextRow {
            context: s.name.clone(),
            server: None,
            username: None,
            action: "skipped",
            password: "none",
            reason: Some(s.reason.clone()),
        })
        .collect();
    let mut to_apply = Vec::new();
    for c in &parsed.contexts {
        let wanted = Context {
            server: Some(c.server.clone()),
            tenant: c.tenant.clone(),
            username: c.username.clone(),
        };
        let action = match config.contexts.get(&c.name) {
            None => "created",
            Some(existing) if *existing == wanted => "unchanged",
            Some(_) if args.overwrite => "replaced",
            Some(_) => {
                rows.push(ContextRow {
                    context: c.name.clone(),
                    server: Some(c.server.clone()),
                    username: c.username.clone(),
                    action: "skipped",
                    password: "none",
                    reason: Some(
                        "a context of this name exists with other settings (--overwrite replaces it)"
                            .into(),
                    ),
                });
                continue;
            }
        };
        to_apply.push((c, wanted, action));
    }
    let skipped = rows.len();
    if args.delete_source && skipped > 0 {
        return Err(Error::usage(
            format!(
                "not deleting {}: {skipped} of its contexts cannot be imported (see below); nothing was changed",
                path.display()
            ),
            "run without --delete-source to import the rest; their file keeps what could not be imported",
        ));
    }
    let needs_keyring = to_apply.iter().any(|(c, _, _)| c.password.is_some());
    let keyring = if needs_keyring {
        Some(ctx.keyring().await?.require()?)
    } else {
        None
    };

    let mut undo = keyring.map(Undo::new);
    for (c, wanted, action) in &to_apply {
        let mut password = "none";
        if let (Some(secret), Some(u), Some(username)) = (&c.password, undo.as_mut(), &c.username) {
            let entry = store::basic_auth_entry(&c.name, username, &c.server);
            match u.set(&entry, secret).await {
                Ok(previous) => password = replaced_word(&previous, secret),
                Err(e) => {
                    let e = match undo.take() {
                        Some(u) => u.fail(e).await,
                        None => e,
                    };
                    return Err(e);
                }
            }
        }
        config.contexts.insert(c.name.clone(), wanted.clone());
        rows.push(ContextRow {
            context: c.name.clone(),
            server: Some(c.server.clone()),
            username: c.username.clone(),
            action,
            password,
            reason: None,
        });
    }
    if config.current_context.is_none()
        && let Some(d) = &parsed.default_context
        && config.contexts.contains_key(d)
    {
        config.current_context = Some(d.clone());
    }
    if !to_apply.is_empty()
        && let Err(e) = config.save(&config_path)
    {
        return Err(match undo {
            Some(u) => u.fail(e).await,
            None => e,
        });
    }
    let mut source_deleted = false;
    if args.delete_source {
        match std::fs::remove_file(&path) {
            Ok(()) => source_deleted = true,
            Err(e) => ctx.out.warn(&format!(
                "everything was imported, but {} could not be deleted: {e}",
                path.display()
            )),
        }
    }
    rows.sort_by(|a, b| a.context.cmp(&b.context));
    let report = ImportKestractlReport {
        file: path.display().to_string(),
        config_file: config_path.display().to_string(),
        contexts: rows,
        current_context: config.current_context.clone(),
        source_deleted,
    };
    if ctx.out.is_structured() {
        ctx.out.structured(&report)?;
        return Ok(Exit::Ok);
    }
    let table: Vec<Vec<String>> = report
        .contexts
        .iter()
        .map(|r| {
            vec![
                r.context.clone(),
                r.server.clone().unwrap_or_default(),
                r.username.clone().unwrap_or_default(),
                r.action.to_string(),
                r.password.to_string(),
                r.reason.clone().unwrap_or_default(),
            ]
        })
        .collect();
    ctx.out.table(
        &[
            "CONTEXT", "SERVER", "USERNAME", "ACTION", "PASSWORD", "NOTE",
        ],
        &table,
    )?;
    ctx.out.note(&format!(
        "Contexts are in {}; passwords{}. {}",
        report.config_file,
        keyring.map_or_else(
            || " (none to import)".to_string(),
            |k| format!(" are in the {}", k.backend().describe())
        ),
        if report.source_deleted {
            format!("{} was deleted.", report.file)
        } else {
            format!(
                "{} was left as it is (it still holds the passwords in plain text; --delete-source removes it once all of it is imported).",
                report.file
            )
        }
    ));
    Ok(Exit::Ok)
}

/// Plain-text places that would bring the old password back at the next `kestractl start`.
fn rotation_conflicts(ctx: &Ctx, s: &Settings, kind: Kind) -> Vec<String> {
    let mut found = Vec::new();
    let env_set = |k: &str| ctx.env(k).is_some_and(|v| !v.is_empty());
    let dot = |k: &str| {
        s.dotenv
            .get(k)
            .and(s.dotenv.path.as_ref())
            .map(|p| format!("{k} in {}", p.display()))
    };
    let keys: &[&str] = match kind {
        Kind::BasicAuth => {
            if ctx.global.password_stdin {
                found.push("--password-stdin (rotate generates the password itself)".into());
            }
            &["KESTRACTL_PASSWORD", BASIC_AUTH_KEY]
        }
        Kind::Database => &[DB_KEY],
    };
    for k in keys {
        if env_set(k) {
            found.push(format!("the environment variable {k}"));
        }
        if let Some(d) = dot(k) {
            found.push(d);
        }
    }
    found
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DryRun {
    dry_run: bool,
    kind: Kind,
    container: String,
    entry: String,
    steps: Vec<DryRunStep>,
}

#[derive(Debug, Serialize)]
struct DryRunStep {
    step: &'static str,
    action: &'static str,
}

async fn rotate_cmd(ctx: &Ctx, args: &RotateArgs) -> Result<Exit> {
    let kind = if args.db {
        Kind::Database
    } else {
        Kind::BasicAuth
    };
    let wait_timeout = args.wait_timeout;
    let s = ctx.settings().await?;
    let stack = ctx.stack_settings(&StackFlags::default()).await?;
    // The keyring entry follows the resolved server: it must be this stack's.
    let server = &s.server.value;
    let local = stack.local_url();
    let ours = server.port_or_known_default() == Some(stack.http_port.value)
        && (crate::settings::validate::is_loopback(server)
            || server.host_str() == Some(stack.bind.value.to_string().as_str()));
    if !ours {
        if kind == Kind::Database {
            return Err(Error::rotation(
                format!(
                    "the server of this command ({}) is not the stack kestractl manages here \
                     ({local}), and only that stack's Postgres password can be rotated",
                    server_of(s)
                ),
                format!(
                    "rotate the local stack's with `--server {local}` (or a context pointing at \
                     it). Nothing was changed"
                ),
            ));
        }
        return rotate_through_api(ctx, s, args).await;
    }
    let conflicts = rotation_conflicts(ctx, s, kind);
    if !conflicts.is_empty() {
        return Err(Error::rotation(
            format!(
                "not rotating: {} would put the old password back at the next `kestractl start`",
                conflicts.join(", ")
            ),
            "move plain-text passwords into the keyring (`kestractl auth import-env \
                   --rewrite-env`) or unset them, then rotate; nothing was changed",
        ));
    }
    let keyring = ctx.keyring().await?.require()?;
    let engine = ctx.engine().await?;
    let progress = Progress::new();
    // The stack's own entry, as `start` keeps it.
    let basic_entry = ctx.stack_basic_auth_entry(&stack).await?;
    let target = Target {
        engine,
        keyring,
        stack: &stack,
        username: &s.username.value,
        tenant: &s.tenant.value,
        basic_entry,
        db_entry: db_entry_of(&stack),
        wait_timeout,
        progress: &progress,
    };
    if args.dry_run {
        progress.step("preflight: checking the stack");
        let checked = rotate::preflight(&target, kind).await;
        progress.finish();
        checked?;
        let report = DryRun {
            dry_run: true,
            kind,
            container: stack.kestra_container.value.clone(),
            entry: match kind {
                Kind::BasicAuth => target.basic_entry.clone(),
                Kind::Database => target.db_entry.clone(),
            },
            steps: rotate::plan(kind)
                .into_iter()
                .map(|(step, action)| DryRunStep {
                    step: step.name(),
                    action,
                })
                .collect(),
        };
        return print_dry_run(ctx, &report, args.db);
    }
    let result = rotate::rotate(&target, kind).await;
    progress.finish();
    let report = result?;
    for n in &report.notes {
        ctx.out.note(&format!("note: {n}"));
    }
    if ctx.out.is_structured() {
        ctx.out.structured(&report)?;
        return Ok(Exit::Ok);
    }
    let text = match kind {
        Kind::BasicAuth => format!(
            "Rotated the Basic Auth password of {}: Kestra ({}) accepts only the new one, and the \
             keyring entry `{}` holds it.\nOther API clients (scripts, CI secrets, saved browser \
             logins) need the new password: `kestractl auth show --reveal` prints it.\n",
            s.username.value, report.container, report.entry
        ),
        Kind::Database => format!(
            "Rotated the Postgres password of role {}: Kestra ({}) runs on the new one, and the \
             keyring entry `{}` holds it.\n",
            stack.db_user.value, report.container, report.entry
        ),
    };
    ctx.out.print(&text)?;
    Ok(Exit::Ok)
}

/// `auth rotate` for a server kestractl does not run: through its API, when its credential was
/// set up through the UI or API (`secrets::rotate_api`).
async fn rotate_through_api(ctx: &Ctx, s: &Settings, args: &RotateArgs) -> Result<Exit> {
    let conflicts = rotation_conflicts(ctx, s, Kind::BasicAuth);
    if !conflicts.is_empty() {
        return Err(Error::rotation(
            format!(
                "not rotating: the next command would take its password from {} instead of \
                 the new one in the keyring",
                conflicts.join(", ")
            ),
            "store the current password with `kestractl auth login` and unset the others \
                   (or `kestractl auth import-env --rewrite-env`), then rotate; nothing was \
                   changed",
        ));
    }
    let keyring = ctx.keyring().await?.require()?;
    let progress = Progress::new();
    let target = rotate_api::ApiTarget {
        client: ClientConfig {
            server: s.server.value.clone(),
            tenant: s.tenant.value.clone(),
            username: s.username.value.clone(),
            password: None,
            timeout: s.timeout.value,
            allow_insecure_http: s.allow_insecure_http.value,
        },
        keyring,
        entry: ctx.basic_auth_entry().await?,
        progress: &progress,
    };
    if args.dry_run {
        progress.step("preflight: checking the server");
        let checked = rotate_api::preflight(&target).await;
        progress.finish();
        checked?;
        let report = DryRun {
            dry_run: true,
            kind: Kind::BasicAuth,
            container: String::new(),
            entry: target.entry.clone(),
            steps: rotate_api::plan()
                .into_iter()
                .map(|(step, action)| DryRunStep {
                    step: step.name(),
                    action,
                })
                .collect(),
        };
        return print_dry_run(ctx, &report, false);
    }
    let result = rotate_api::rotate(&target).await;
    progress.finish();
    let report = result?;
    if ctx.out.is_structured() {
        ctx.out.structured(&report)?;
        return Ok(Exit::Ok);
    }
    ctx.out.print(&format!(
        "Rotated the Basic Auth password of {} on {} through its API: it accepts only the new \
         one, and the keyring entry `{}` holds it.\nOther API clients (scripts, CI secrets, saved \
         browser logins) need the new password: `kestractl auth show --reveal` prints it.\n",
        report.username, report.server, report.entry
    ))?;
    Ok(Exit::Ok)
}

fn print_dry_run(ctx: &Ctx, report: &DryRun, db: bool) -> Result<Exit> {
    if ctx.out.is_structured() {
        ctx.out.structured(report)?;
        return Ok(Exit::Ok);
    }
    let mut text = format!(
        "Dry run: preflight passed; `kestractl auth rotate{}` would:\n",
        if db { " --db" } else { "" }
    );
    for (i, st) in report.steps.iter().enumerate().skip(1) {
        text.push_str(&format!("  {i}. {}: {}\n", st.step, st.action));
    }
    text.push_str("Nothing was changed.\n");
    ctx.out.print(&text)?;
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn undo_puts_every_entry_back_as_it_was() {
        let k = Keyring::mock();
        k.set("a", &Secret::new("old-a")).await.unwrap();
        let mut undo = Undo::new(&k);
        let prev = undo.set("a", &Secret::new("new-a")).await.unwrap();
        assert_eq!(replaced_word(&prev, &Secret::new("new-a")), "replaced");
        let prev = undo.set("b", &Secret::new("new-b")).await.unwrap();
        assert_eq!(replaced_word(&prev, &Secret::new("new-b")), "stored");
        // Writing the same value again is not a change and is not undone.
        let prev = undo.set("a", &Secret::new("new-a")).await.unwrap();
        assert_eq!(replaced_word(&prev, &Secret::new("new-a")), "unchanged");
        let e = undo
            .fail(Error::settings("the .env could not be written", "fix it"))
            .await;
        assert!(e.to_string().contains(".env"));
        assert_eq!(k.get("a").await.unwrap().unwrap().expose(), "old-a");
        assert!(k.get("b").await.unwrap().is_none());
    }
}
