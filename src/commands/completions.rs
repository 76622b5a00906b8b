//! `kestractl completions SHELL`: the shell's registration script. The shell then calls
//! `COMPLETE=<shell> kestractl -- words` for each completion, so contexts, states and the
//! server's names are live (`commands::complete`).

use clap_complete::env::EnvCompleter;

use crate::commands::{Ctx, Run};
use crate::error::{Error, Exit, Result};

/// Print a shell completion script (bash, zsh, fish, powershell, elvish)
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Examples:\n  kestractl completions bash > ~/.local/share/bash-completion/completions/kestractl\n  kestractl completions zsh > \"${fpath[1]}/_kestractl\"\n  kestractl completions fish > ~/.config/fish/completions/kestractl.fish"
)]
pub struct Args {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        let shell = self.shell;
        let completer: &dyn EnvCompleter = match shell {
            clap_complete::Shell::Bash => &clap_complete::env::Bash,
            clap_complete::Shell::Zsh => &clap_complete::env::Zsh,
            clap_complete::Shell::Fish => &clap_complete::env::Fish,
            clap_complete::Shell::PowerShell => &clap_complete::env::Powershell,
            clap_complete::Shell::Elvish => &clap_complete::env::Elvish,
            _ => {
                return Err(Error::usage(
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
}
