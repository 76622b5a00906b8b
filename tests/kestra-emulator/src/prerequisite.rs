//! For the test suites (kestractl's and the emulator's own): a prerequisite that is missing.
//!
//! In CI (`CI` set) a missing prerequisite fails the test, naming it and what to install: a
//! green run never hides a test that did not run. Elsewhere the test is skipped, and the skip
//! is said on stderr and recorded, with its reason, in a log that `scripts/test` lists after
//! the run (nextest shows a passing test's output only on failure).

use std::io::Write;

/// The log of skipped tests: `KESTRACTL_SKIP_LOG`, else `skipped-tests.log` in the system's
/// temporary directory.
pub fn skip_log() -> std::path::PathBuf {
    std::env::var_os("KESTRACTL_SKIP_LOG")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("kestractl-skipped-tests.log"))
}

/// Called by a test whose prerequisite is missing, before it returns early. Panics in CI.
pub fn missing(what: &str) {
    let test = current_test();
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: {what} — CI must provide it (see .ci/run)"
    );
    eprintln!("SKIPPED: {test}: {what}");
    if let Ok(mut log) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(skip_log())
    {
        let _ = writeln!(log, "{test}: {what}");
    }
}

/// The running test's name: libtest names the thread after the test, except when it runs the
/// test on the main thread (one test thread, as under nextest); then it is the filter argument.
fn current_test() -> String {
    let thread = std::thread::current();
    match thread.name() {
        Some(name) if name != "main" => name.to_string(),
        _ => std::env::args()
            .skip(1)
            .find(|a| !a.starts_with('-'))
            .unwrap_or_else(|| "a test".into()),
    }
}
