//! Fuzz target `verify`: see `callsign_fuzz::verify` for the invariants it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| callsign_fuzz::verify(data));
