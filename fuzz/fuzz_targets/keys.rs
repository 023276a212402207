//! Fuzz target `keys`: see `callsign_fuzz::keys` for the invariants it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| callsign_fuzz::keys(data));
