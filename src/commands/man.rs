//! `kestractl man [--dir DIR]`: the man pages, generated from this command line's definitions.

use std::path::PathBuf;

use crate::commands::{Ctx, Run};
use crate::error::{Error, Exit, Result};
use crate::output::man;

/// Print the man page (roff), generated from this command line's definitions
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Examples:\n  kestractl man > ~/.local/share/man/man1/kestractl.1\n  kestractl man --dir ~/.local/share/man/man1   # kestractl-flows-deploy(1), …"
)]
pub struct Args {
    /// Write every page (kestractl.1 and one per command) into this folder instead
    #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub dir: Option<PathBuf>,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        let cmd = crate::commands::command();
        let Some(dir) = self.dir else {
            let page = man::main_page(&cmd)
                .map_err(|e| anyhow::anyhow!("cannot render the man page: {e}"))?;
            ctx.out.print(&String::from_utf8_lossy(&page))?;
            return Ok(Exit::Ok);
        };
        let pages =
            man::pages(&cmd).map_err(|e| anyhow::anyhow!("cannot render the man pages: {e}"))?;
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("cannot create", &dir, e))?;
        for (name, text) in &pages {
            crate::fsutil::write_atomic(&dir.join(name), text, Some(0o644))?;
        }
        ctx.out.note(&format!(
            "wrote {} to {}",
            crate::output::count(pages.len(), "man page"),
            dir.display()
        ));
        Ok(Exit::Ok)
    }
}
