//! Fuzz target `envelope`: see `callsign_fuzz::envelope` for the invariants it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| callsign_fuzz::envelope(data));
