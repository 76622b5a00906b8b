//! The fuzz targets' invariants on stable, as ordinary tests: every input in
//! `fuzz/regressions/<target>` (inputs that once broke an invariant) and `fuzz/seeds/<target>`
//! goes through the same checks the fuzzer runs (`fuzz/invariants/<target>.rs`, shared by path).
//! So CI keeps the regressions even where no nightly toolchain runs the fuzzer.

use std::path::{Path, PathBuf};

#[path = "../../fuzz/invariants/flow_source.rs"]
mod flow_source;
#[path = "../../fuzz/invariants/problem.rs"]
mod problem;
#[path = "../../fuzz/invariants/settings.rs"]
mod settings;
#[path = "../../fuzz/invariants/sse.rs"]
mod sse;

fn inputs(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut files = Vec::new();
    for kind in ["regressions", "seeds"] {
        let Ok(entries) = std::fs::read_dir(root.join(kind).join(target)) else {
            continue;
        };
        files.extend(entries.flatten().map(|e| e.path()).filter(|p| p.is_file()));
    }
    files.sort();
    files
}

/// Replays every input; a failing one is named (its panic message says which invariant).
fn replay(target: &str, check: fn(&[u8])) {
    let files = inputs(target);
    assert!(
        files
            .iter()
            .any(|f| f.to_string_lossy().contains("/regressions/")),
        "no regression inputs for {target}: the fuzz folder moved?"
    );
    for file in &files {
        let data = std::fs::read(file).unwrap();
        if std::panic::catch_unwind(|| check(&data)).is_err() {
            panic!("{} breaks an invariant of {target}", file.display());
        }
    }
}

#[test]
fn fuzz_regressions_flow_source() {
    replay("flow_source", flow_source::check);
}

#[test]
fn fuzz_regressions_problem() {
    replay("problem", problem::check);
}

#[test]
fn fuzz_regressions_settings() {
    replay("settings", settings::check);
}

#[test]
fn fuzz_regressions_sse() {
    replay("sse", sse::check);
}
