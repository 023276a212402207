//! A tiny driver for instruction counts: runs one operation of the
//! `throughput` bench on one payload a given number of times, so that
//! `valgrind --tool=callgrind` (or cachegrind) can count its instructions
//! deterministically, whatever else the machine is doing.
//!
//! ```sh
//! cargo build --release -p callsign-benches --example icount
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/examples/icount verify 64KB 11
//! ```
//!
//! Run it with 1 and with N + 1 iterations and divide the difference by N to
//! get the instructions of one operation without the set-up (payload
//! generation, key derivation, the signing of the verified call).
//! `benches/icount.sh` does exactly that for every operation and size.

use std::hint::black_box;

use callsign::{canonicalize, Key, KeySet, Limits, Nonce, Signer, Verifier};
use callsign_benches::{payload, AUDIENCE, FUNCTION, KEY, NONCE, SIZES, TS_MS};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: icount hmac_floor|hmac_canonical|canonicalize|peer_jcs|sign|verify 100B|1KB|64KB|1MB ITERATIONS";
    let [_, op, size, iterations] = args.as_slice() else {
        panic!("{usage}");
    };
    let size = SIZES
        .iter()
        .find(|(label, _)| label == size)
        .unwrap_or_else(|| panic!("{usage}"))
        .1;
    let iterations: usize = iterations.parse().expect("ITERATIONS is a number");

    let key = Key::parse(KEY).expect("bench key");
    let signer = Signer::new(&key, AUDIENCE).expect("signer");
    let verifier = Verifier::new(&KeySet::from(key), AUDIENCE).expect("verifier");
    let nonce = Nonce::parse(NONCE).expect("nonce");
    let limits = Limits::default();
    let hmac = Hmac::<Sha256>::new_from_slice(&[7u8; 32]).expect("any key length");
    let args = payload(size);
    let call = signer
        .sign_at(FUNCTION, &args, TS_MS, &nonce)
        .expect("payload signs");
    let signed = call.signed_args;
    // What `verify` MACs besides the short message head: the canonical args.
    let canonical = call.canonical_args;

    for _ in 0..iterations {
        match op.as_str() {
            "hmac_floor" => {
                let mut mac = hmac.clone();
                mac.update(black_box(args.as_bytes()));
                black_box(mac.finalize());
            }
            "hmac_canonical" => {
                let mut mac = hmac.clone();
                mac.update(black_box(canonical.as_bytes()));
                black_box(mac.finalize());
            }
            "canonicalize" => {
                black_box(canonicalize(black_box(&args), &limits).expect("canonical"));
            }
            "peer_jcs" => {
                black_box(serde_json_canonicalizer::pipe(black_box(&args)).expect("peer"));
            }
            "sign" => {
                black_box(
                    signer
                        .sign_at(FUNCTION, black_box(&args), TS_MS, &nonce)
                        .expect("sign"),
                );
            }
            "verify" => {
                black_box(
                    verifier
                        .verify(FUNCTION, black_box(&signed), TS_MS + 1)
                        .expect("verify"),
                );
            }
            _ => panic!("{usage}"),
        }
    }
}
