//! Fuzz target `canonicalize`: see `callsign_fuzz::canonicalize` for the invariants it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| callsign_fuzz::canonicalize(data));
