//! `kestractl nsfiles get`: a file's content on standard output (streamed when piped; text made
//! inert on a terminal).

use std::io::{IsTerminal, Write};

use super::{NsfilePath, missing};
use crate::commands::{Ctx, Run};
use crate::error::{Error, Exit, Result, stdout_error};
use crate::kestra::nsfiles::server_path;

/// Write a file's content to standard output
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Examples:\n  kestractl nsfiles get company.team scripts/etl.py\n  kestractl nsfiles get company.team data/model.bin > model.bin"
)]
pub struct Args {
    #[command(flatten)]
    pub file: NsfilePath,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        get(ctx, &self.file).await
    }
}

/// The most of a namespace file shown on a terminal (piped, any size streams through).
const MAX_ON_TERMINAL: usize = 16 << 20;

async fn get(ctx: &Ctx, p: &NsfilePath) -> Result<Exit> {
    crate::commands::namespace_arg(&p.namespace, "check the namespace")?;
    let path = server_path(&p.path);
    let client = ctx.kestra().await?;
    let stats = client
        .nsfiles(&p.namespace)
        .stats(&path)
        .await
        .map_err(|e| missing(&p.namespace, &path, e))?;
    if stats.is_directory() {
        return Err(Error::usage(
            format!("{path} of {} is a folder", p.namespace),
            format!(
                "`kestractl nsfiles list {} {}` lists it",
                p.namespace, p.path
            ),
        ));
    }
    let resp = client
        .nsfiles(&p.namespace)
        .open(&path)
        .await
        .map_err(|e| missing(&p.namespace, &path, e))?;
    let url = resp.url().to_string();
    let what = format!("{path} of {}", p.namespace);
    let terminal = std::io::stdout().is_terminal();
    if !terminal {
        // Piped or redirected: the bytes as they are, a chunk at a time.
        let mut stdout = std::io::stdout().lock();
        crate::kestra::client::stream_body(resp, client.timeout(), &mut |chunk| {
            stdout.write_all(chunk).map_err(stdout_error)
        })
        .await
        .map_err(|e| e.into_error(&url, &what))?;
        return stdout.flush().map_err(stdout_error).map(|()| Exit::Ok);
    }
    // On a terminal: text only, and made inert (an escape sequence in a file would act on
    // the terminal); a file too large to read on screen is better redirected.
    let mut text = Vec::new();
    crate::kestra::client::stream_body(resp, client.timeout(), &mut |chunk| {
        if text.len() + chunk.len() > MAX_ON_TERMINAL {
            return Err(Error::usage(
                format!(
                    "{what} is larger than {} MiB and standard output is a terminal",
                    MAX_ON_TERMINAL >> 20
                ),
                "redirect it to a file: `kestractl nsfiles get NS PATH > FILE`",
            ));
        }
        text.extend_from_slice(chunk);
        Ok(())
    })
    .await
    .map_err(|e| e.into_error(&url, &what))?;
    let Ok(text) = String::from_utf8(text) else {
        return Err(Error::usage(
            format!("{path} is binary and standard output is a terminal"),
            "redirect it to a file: `kestractl nsfiles get NS PATH > FILE`",
        ));
    };
    ctx.out.print(&ctx.out.outside_text(&text))?;
    Ok(Exit::Ok)
}
