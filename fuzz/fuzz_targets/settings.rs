//! Settings parsers on arbitrary text: the config file (TOML), `.env`, durations, server URLs,
//! The invariants are in `fuzz/invariants/settings.rs`, shared with the stable test that replays
//! `fuzz/regressions/settings` and `fuzz/seeds/settings` (tests/integration/fuzz_regressions.rs).
#![no_main]

#[path = "../invariants/settings.rs"]
mod invariants;

libfuzzer_sys::fuzz_target!(|data: &[u8]| invariants::check(data));
