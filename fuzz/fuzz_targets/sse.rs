//! The server-sent events parser on arbitrary bytes, fed in pieces.
//! The invariants are in `fuzz/invariants/sse.rs`, shared with the stable test that replays
//! `fuzz/regressions/sse` and `fuzz/seeds/sse` (tests/integration/fuzz_regressions.rs).
#![no_main]

#[path = "../invariants/sse.rs"]
mod invariants;

libfuzzer_sys::fuzz_target!(|data: &[u8]| invariants::check(data));
