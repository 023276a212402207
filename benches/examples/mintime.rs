//! Minimum-of-many wall-clock times of the `throughput` operations: on a
//! shared machine the minimum over thousands of short runs is far steadier
//! than a mean (a run that was descheduled is never the minimum). A quick
//! check between callgrind counts and the criterion bench. `hmac_signed` is
//! the floor for `verify`: a raw HMAC-SHA256 of as many bytes as the signed
//! args it takes.
//!
//! `cargo run --release -p callsign-benches --example mintime -- 64KB [RUNS]`

use std::hint::black_box;
use std::time::Instant;

use callsign::{canonicalize, Key, KeySet, Limits, Nonce, Signer, Verifier};
use callsign_benches::{payload, AUDIENCE, FUNCTION, KEY, NONCE, SIZES, TS_MS};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let label = args.get(1).map_or("64KB", String::as_str);
    let runs: usize = args
        .get(2)
        .map_or(2000, |n| n.parse().expect("RUNS is a number"));
    let size = SIZES
        .iter()
        .find(|(l, _)| *l == label)
        .expect("a size of SIZES")
        .1;
    let key = Key::parse(KEY).expect("bench key");
    let signer = Signer::new(&key, AUDIENCE).expect("signer");
    let verifier = Verifier::new(&KeySet::from(key), AUDIENCE).expect("verifier");
    let nonce = Nonce::parse(NONCE).expect("nonce");
    let limits = Limits::default();
    let hmac = Hmac::<Sha256>::new_from_slice(&[7u8; 32]).expect("any key length");
    let args = payload(size);
    let signed = signer
        .sign_at(FUNCTION, &args, TS_MS, &nonce)
        .expect("payload signs")
        .signed_args;

    type Op<'a> = (&'a str, Box<dyn Fn() + 'a>);
    let ops: [Op; 6] = [
        (
            "hmac_floor",
            Box::new(|| {
                let mut mac = hmac.clone();
                mac.update(black_box(args.as_bytes()));
                black_box(mac.finalize());
            }),
        ),
        (
            "hmac_signed",
            Box::new(|| {
                let mut mac = hmac.clone();
                mac.update(black_box(signed.as_bytes()));
                black_box(mac.finalize());
            }),
        ),
        (
            "canonicalize",
            Box::new(|| {
                black_box(canonicalize(black_box(&args), &limits).expect("canonical"));
            }),
        ),
        (
            "peer_jcs",
            Box::new(|| {
                black_box(serde_json_canonicalizer::pipe(black_box(&args)).expect("peer"));
            }),
        ),
        (
            "sign",
            Box::new(|| {
                black_box(
                    signer
                        .sign_at(FUNCTION, black_box(&args), TS_MS, &nonce)
                        .expect("sign"),
                );
            }),
        ),
        (
            "verify",
            Box::new(|| {
                black_box(
                    verifier
                        .verify(FUNCTION, black_box(&signed), TS_MS + 1)
                        .expect("verify"),
                );
            }),
        ),
    ];
    // Interleaved rounds, so that every operation sees the same machine.
    let mut times = vec![Vec::with_capacity(runs); ops.len()];
    let per_round = (runs / 20).max(1);
    for _ in 0..20 {
        for (i, (_, op)) in ops.iter().enumerate() {
            let reps = if ops[i].0 == "peer_jcs" {
                per_round / 4 + 1
            } else {
                per_round
            };
            for _ in 0..reps {
                let start = Instant::now();
                op();
                times[i].push(start.elapsed().as_nanos() as f64);
            }
        }
    }
    let floor = min(&times[0]);
    let by_name =
        |name: &str| min(&times[ops.iter().position(|(n, _)| *n == name).expect("an op")]);
    println!(
        "{label}: {} bytes, signed {} bytes",
        args.len(),
        signed.len()
    );
    for (i, (name, _)) in ops.iter().enumerate() {
        let m = min(&times[i]);
        let mut sorted = times[i].clone();
        sorted.sort_by(f64::total_cmp);
        let median = sorted[sorted.len() / 2];
        println!(
            "{name:>13}: min {:>10.1} µs  median {:>10.1} µs  min/floor {:>5.2}",
            m / 1000.0,
            median / 1000.0,
            m / floor
        );
    }
    // The two ratios of issue 16's native targets, from the minimums above.
    println!(
        "{label}: peer_jcs / canonicalize {:.1}x, verify / hmac_signed {:.2}x",
        by_name("peer_jcs") / by_name("canonicalize"),
        by_name("verify") / by_name("hmac_signed")
    );
}

fn min(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}
