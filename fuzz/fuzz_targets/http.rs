//! Fuzz target `http`: see `callsign_fuzz::http` for the invariants it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| callsign_fuzz::http(data));
