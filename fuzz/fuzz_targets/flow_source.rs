//! Flow files: the document splitter, the head parser, the `--namespace` rewrite and Kestra's id
//! The invariants are in `fuzz/invariants/flow_source.rs`, shared with the stable test that replays
//! `fuzz/regressions/flow_source` and `fuzz/seeds/flow_source` (tests/integration/fuzz_regressions.rs).
#![no_main]

#[path = "../invariants/flow_source.rs"]
mod invariants;

libfuzzer_sys::fuzz_target!(|data: &[u8]| invariants::check(data));
