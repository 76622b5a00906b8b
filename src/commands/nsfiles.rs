//! `kestractl nsfiles push|list|get|delete`: a namespace's files through Kestra's API. `push` is
//! also what `flows deploy` runs for a `_files/` folder ([`push`]).

use std::io::{IsTerminal, Write};

use serde::Serialize;

use super::Ctx;
use crate::cli::{NsfilePath, NsfilesCommand, NsfilesPushArgs};
use crate::error::{Error, Exit, Result, stdout_error};
use crate::kestra::ApiError;
use crate::kestra::nsfiles::{RemoteFile, server_path};
use crate::nsfiles;
use crate::nsfiles::push::{self, PushReport};
use crate::output::progress::Progress;
use crate::output::{self, Output, Render, confirm};

pub async fn run(ctx: &Ctx, cmd: NsfilesCommand) -> Result<Exit> {
    match cmd {
        NsfilesCommand::Push(args) => push_command(ctx, &args).await,
        NsfilesCommand::List {
            namespace,
            path,
            quiet,
        } => list(ctx, &namespace, path.as_deref(), quiet).await,
        NsfilesCommand::Get(p) => get(ctx, &p).await,
        NsfilesCommand::Delete(p) => delete(ctx, &p).await,
    }
}

impl Render for PushReport {
    fn human(&self, out: &Output) -> Result<()> {
        out.table(&["FILE", "PATH", "ACTION"], &self.rows(out))?;
        self.show_failures(out);
        if out.format == output::Format::Table {
            out.print(&format!("{}\n", self.totals()))
        } else {
            out.note(&self.totals());
            Ok(())
        }
    }
}

async fn push_command(ctx: &Ctx, args: &NsfilesPushArgs) -> Result<Exit> {
    super::namespace_arg(&args.namespace, "check the namespace")?;
    let local = nsfiles::discover(&args.dir)?;
    let client = ctx.kestra().await?;
    let progress = Progress::new();
    let report = push::push(
        client,
        &args.namespace,
        &local,
        &push::Options {
            prune: args.prune,
            dry_run: args.dry_run,
            fail_fast: args.fail_fast,
            concurrency: usize::from(args.concurrency),
            yes: ctx.global.yes,
        },
        &progress,
        &ctx.out,
    )
    .await?;
    progress.finish();
    ctx.out.emit(&report)?;
    Ok(if report.failed() {
        Exit::Error
    } else {
        Exit::Ok
    })
}

/// `nsfiles list`: the files under a folder.
#[derive(Serialize)]
#[serde(transparent)]
struct FileList {
    #[serde(skip)]
    namespace: String,
    files: Vec<RemoteFile>,
    #[serde(skip)]
    quiet: bool,
}

impl Render for FileList {
    fn human(&self, out: &Output) -> Result<()> {
        if self.quiet {
            let paths: String = self.files.iter().map(|f| format!("{}\n", f.path)).collect();
            return out.print(&paths);
        }
        if self.files.is_empty() {
            out.note(&format!("no files in namespace {}", self.namespace));
            return Ok(());
        }
        let now = time::OffsetDateTime::now_utc();
        let rows: Vec<Vec<String>> = self
            .files
            .iter()
            .map(|f| {
                let updated = f
                    .updated
                    .and_then(|ms| {
                        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
                            .ok()
                    })
                    .and_then(|t| {
                        t.format(&time::format_description::well_known::Rfc3339)
                            .ok()
                    });
                vec![
                    f.path.clone(),
                    f.size.to_string(),
                    out.time_cell(updated.as_deref(), now),
                ]
            })
            .collect();
        out.table(&["PATH", "SIZE", "UPDATED"], &rows)?;
        let bytes: u64 = self.files.iter().map(|f| f.size).sum();
        out.note(&format!(
            "{}, {bytes} bytes",
            output::count(self.files.len(), "file")
        ));
        Ok(())
    }
}

fn no_such(namespace: &str, path: &str) -> Error {
    Error::not_found(
        format!("there is no {path} in namespace {namespace}"),
        format!("`kestractl nsfiles list {namespace}` lists its files"),
    )
}

fn missing(namespace: &str, path: &str, e: ApiError) -> Error {
    if e.status() == Some(404) {
        no_such(namespace, path)
    } else {
        e.into()
    }
}

async fn list(ctx: &Ctx, namespace: &str, under: Option<&str>, quiet: bool) -> Result<Exit> {
    super::namespace_arg(namespace, "check the namespace")?;
    let client = ctx.kestra().await?;
    let dir = under.map_or_else(|| "/".to_string(), server_path);
    let files = client
        .nsfile_tree(namespace, &dir)
        .await
        .map_err(|e| missing(namespace, &dir, e))?;
    ctx.out.emit(&FileList {
        namespace: namespace.into(),
        files,
        quiet,
    })?;
    Ok(Exit::Ok)
}

async fn get(ctx: &Ctx, p: &NsfilePath) -> Result<Exit> {
    super::namespace_arg(&p.namespace, "check the namespace")?;
    let path = server_path(&p.path);
    let client = ctx.kestra().await?;
    let stats = client
        .nsfile_stats(&p.namespace, &path)
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
        .nsfile_open(&p.namespace, &path)
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

/// The most of a namespace file shown on a terminal (piped, any size streams through).
const MAX_ON_TERMINAL: usize = 16 << 20;

async fn delete(ctx: &Ctx, p: &NsfilePath) -> Result<Exit> {
    super::namespace_arg(&p.namespace, "check the namespace")?;
    let path = server_path(&p.path);
    if path == "/" {
        return Err(Error::usage(
            "kestractl does not delete a namespace's whole file tree at once",
            "delete its folders one by one, or push an empty folder with --prune",
        ));
    }
    let client = ctx.kestra().await?;
    // Kestra answers 200 for a path that does not exist: it is checked first, so a typo says so.
    let stats = client
        .nsfile_stats(&p.namespace, &path)
        .await
        .map_err(|e| missing(&p.namespace, &path, e))?;
    let what = if stats.is_directory() {
        let inside = client.nsfile_tree(&p.namespace, &path).await?.len();
        format!(
            "folder {path} of {} and the {} under it",
            p.namespace,
            output::count(inside, "file")
        )
    } else {
        format!("{path} of {}", p.namespace)
    };
    if !ctx.global.yes {
        confirm(
            &format!("Delete {what}?"),
            "deleting namespace files",
            "nothing was deleted",
        )
        .await?;
    }
    client.nsfile_delete(&p.namespace, &path).await?;
    ctx.out.note(&format!("Deleted {what}"));
    Ok(Exit::Ok)
}
