//! `kestractl auth login`: a password verified against the server, then stored in the keyring
//! for the current context.

use std::io::IsTerminal;

use super::server_of;
use crate::commands::{Ctx, Run};
use crate::credentials::source::read_password_line;
use crate::error::{Error, Exit, Result};
use crate::kestra::{ClientConfig, CredentialCheck, KestraClient};
use crate::secret::Secret;
use crate::settings::Settings;

const LONG: &str = "Verify a password against the server, then store it in the OS \
keyring.\n\n\
The password is read from the terminal without echo, or from the first line of stdin with \
--password-stdin (it is never an argument). It is checked on a protected API route first: a \
refused password exits 4 and nothing is stored. The entry is keyed by the context, the username \
and the server (service `kestractl`, user `<context>/<username>@<server>`), so give the same \
--context/--server/--username (or none) to the commands that should use it.";

/// Verify a password against the server, then store it in the OS keyring (prompts on a terminal)
#[derive(Debug, Clone, clap::Args)]
#[command(
    long_about = LONG,
    after_help = "Examples:\n  kestractl auth login\n  printf '%s\\n' \"$PASSWORD\" | kestractl auth login --password-stdin"
)]
pub struct Args {}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        login(ctx).await
    }
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
    // No spinner draws over the prompt.
    let _paused = crate::output::progress::pause_all();
    let pw = rpassword::prompt_password(prompt).map_err(|e| {
        // Ctrl-C at the prompt: the read is interrupted (the signal is caught, so it does not
        // end the process by itself); it ends the command like Ctrl-C anywhere (exit 130).
        if e.kind() == std::io::ErrorKind::Interrupted {
            eprintln!();
            return Error::interrupted("nothing was stored");
        }
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
