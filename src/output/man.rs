//! Man pages: `kestractl(1)` and one per command (`kestractl-flows-deploy(1)`, …), each with
//! the sections a man page reader looks for: NAME, SYNOPSIS, DESCRIPTION, OPTIONS, COMMANDS,
//! EXAMPLES, ENVIRONMENT, FILES, EXIT STATUS, SEE ALSO. Rendering is pure: a clap command in,
//! roff text out.

use std::io::Write;

/// The environment kestractl reads, for the ENVIRONMENT section.
const ENVIRONMENT: &[(&str, &str)] = &[
    ("KESTRACTL_SERVER", "the Kestra server URL (--server)"),
    (
        "KESTRACTL_CONTEXT",
        "the context of the config file to use (--context)",
    ),
    (
        "KESTRACTL_TENANT",
        "the tenant of the API paths (--tenant); OSS uses main",
    ),
    ("KESTRACTL_USERNAME", "the Basic Auth username (--username)"),
    (
        "KESTRACTL_PASSWORD",
        "the password, for CI; elsewhere the OS keyring (kestractl auth login) or --password-stdin",
    ),
    (
        "KESTRACTL_TIMEOUT",
        "the deadline of each API call (--timeout)",
    ),
    (
        "KESTRACTL_KEYRING",
        "auto (default) or none, to never touch the OS keyring",
    ),
    ("KESTRACTL_CONFIG_DIR", "where the config file lives"),
    (
        "KESTRACTL_DATA_DIR",
        "where the stack's rendered files live",
    ),
    (
        "KESTRACTL_LOG",
        "a log filter for -v output (e.g. kestractl=trace)",
    ),
    ("NO_COLOR", "no colours when set to a non-empty value"),
    ("DOCKER_HOST", "the Docker Engine to manage the stack with"),
    (
        "KESTRA_HTTP_PORT, KESTRA_MANAGEMENT_PORT, KESTRA_IMAGE, …",
        "the stack's settings, also read from a .env in the working directory (README, Configuration)",
    ),
];

const FILES: &[(&str, &str)] = &[
    (
        "~/.config/kestractl/config.toml",
        "contexts: server, tenant, username, image (never a password)",
    ),
    (
        "~/.local/share/kestractl/NAME/secrets/",
        "the stack's rendered Kestra configuration and Postgres password (0700)",
    ),
    (
        "./.env",
        "the stack's settings in an ops repository (KESTRA_* variables)",
    ),
];

const EXIT_STATUS: &[(&str, &str)] = &[
    ("0", "success"),
    ("1", "an error"),
    ("2", "a usage error, or a question answered no"),
    ("3", "not ready, or not found"),
    ("4", "authentication refused or missing"),
    ("5", "invalid input (flows, inputs, a damaged archive)"),
    ("6", "an execution that did not succeed"),
    ("7", "a port or container name the stack needs is taken"),
    (
        "8",
        "changes pending: the server differs from the folder (flows diff)",
    ),
    ("130", "interrupted (Ctrl-C)"),
];

/// Text made safe for roff: backslashes escaped, a leading `.` or `'` neutralised.
fn roff(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// The example lines of a command's help (after `Examples:`, up to a blank line).
fn examples(cmd: &clap::Command) -> Vec<String> {
    let text = cmd
        .get_after_help()
        .map(|t| t.to_string())
        .unwrap_or_default();
    let long = cmd
        .get_long_about()
        .map(|t| t.to_string())
        .unwrap_or_default();
    for source in [text, long] {
        if let Some((_, rest)) = source.split_once("Examples:\n") {
            return rest
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(|l| l.trim().to_string())
                .collect();
        }
    }
    Vec::new()
}

fn table(out: &mut Vec<u8>, heading: &str, rows: &[(&str, &str)]) -> std::io::Result<()> {
    writeln!(out, ".SH \"{heading}\"")?;
    for (term, what) in rows {
        writeln!(out, ".TP\n\\fB{}\\fR\n{}", roff(term), roff(what))?;
    }
    Ok(())
}

/// One page: `name` is the page's name (`kestractl-flows-deploy`), `parent` the page it belongs to.
fn page(cmd: &clap::Command, name: &str, parent: Option<&str>) -> std::io::Result<Vec<u8>> {
    let named = cmd.clone().name(name.to_string());
    let man = clap_mangen::Man::new(named)
        .title(name.to_ascii_uppercase())
        .section("1")
        .source(format!("kestractl {}", env!("CARGO_PKG_VERSION")))
        .manual("kestractl manual");
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    if cmd.get_subcommands().any(|s| s.get_name() != "help") {
        man.render_subcommands_section(&mut out)?;
    }
    let lines = examples(cmd);
    if !lines.is_empty() {
        writeln!(out, ".SH EXAMPLES")?;
        for l in lines {
            writeln!(out, ".nf\n{}\n.fi", roff(&l))?;
        }
    }
    table(&mut out, "ENVIRONMENT", ENVIRONMENT)?;
    table(&mut out, "FILES", FILES)?;
    table(&mut out, "EXIT STATUS", EXIT_STATUS)?;
    writeln!(out, ".SH \"SEE ALSO\"")?;
    let mut see = vec!["kestractl(1)".to_string()];
    if let Some(p) = parent.filter(|p| *p != "kestractl") {
        see.push(roff(&format!("{p}(1)")));
    }
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        see.push(roff(&format!("{name}-{}(1)", sub.get_name())));
    }
    if name == "kestractl" {
        see.remove(0);
    }
    writeln!(out, "{}", see.join(", "))?;
    Ok(out)
}

/// Every page: `kestractl.1` and one per command path, as (file name, roff text).
pub fn pages(root: &clap::Command) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    fn walk(
        cmd: &clap::Command,
        name: &str,
        parent: Option<&str>,
        out: &mut Vec<(String, Vec<u8>)>,
    ) -> std::io::Result<()> {
        out.push((format!("{name}.1"), page(cmd, name, parent)?));
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            walk(sub, &format!("{name}-{}", sub.get_name()), Some(name), out)?;
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(root, "kestractl", None, &mut out)?;
    Ok(out)
}

/// The main page alone, for `kestractl man` without a directory.
pub fn main_page(root: &clap::Command) -> std::io::Result<Vec<u8>> {
    page(root, "kestractl", None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roff_neutralises_what_it_would_read_as_requests() {
        assert_eq!(roff(".hidden"), "\\&.hidden");
        assert_eq!(roff("a\\b"), "a\\eb");
        assert_eq!(roff("--yes"), "\\-\\-yes");
    }

    #[test]
    fn a_page_per_command_with_every_section() {
        // A small command line of the same shape (the real one is checked through the binary).
        let root = clap::Command::new("kestractl").subcommand(
            clap::Command::new("flows").subcommand(
                clap::Command::new("deploy")
                    .about("Deploy every flow of a folder")
                    .arg(clap::Arg::new("path").help("Folder of flows"))
                    .after_help(
                        "Examples:\n  kestractl flows deploy flows/\n\nInherited flags: --server",
                    ),
            ),
        );
        let pages = pages(&root).unwrap();
        let names: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "kestractl.1",
                "kestractl-flows.1",
                "kestractl-flows-deploy.1"
            ]
        );
        let deploy = pages
            .iter()
            .find(|(n, _)| n == "kestractl-flows-deploy.1")
            .map(|(_, p)| String::from_utf8_lossy(p).into_owned())
            .unwrap();
        for section in [
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH DESCRIPTION",
            ".SH OPTIONS",
            ".SH EXAMPLES",
            ".SH \"ENVIRONMENT\"",
            ".SH \"FILES\"",
            ".SH \"EXIT STATUS\"",
            ".SH \"SEE ALSO\"",
        ] {
            assert!(deploy.contains(section), "{section}: {deploy}");
        }
        assert!(deploy.contains("kestractl flows deploy flows/"), "{deploy}");
        assert!(deploy.contains("kestractl\\-flows(1)"), "{deploy}");
    }
}
