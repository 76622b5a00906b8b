//! Kestra error bodies (RFC 9457 problem+json, Micronaut's JsonError, HTML, text, junk) with an
//! The invariants are in `fuzz/invariants/problem.rs`, shared with the stable test that replays
//! `fuzz/regressions/problem` and `fuzz/seeds/problem` (tests/integration/fuzz_regressions.rs).
#![no_main]

#[path = "../invariants/problem.rs"]
mod invariants;

libfuzzer_sys::fuzz_target!(|data: &[u8]| invariants::check(data));
