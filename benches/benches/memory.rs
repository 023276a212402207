//! Memory growth over 1,000,000 verifications of one ~1 KB call.
//!
//! Not a timing benchmark: a counting global allocator records live heap bytes
//! at checkpoints. Live bytes must return to the same value after every
//! verification; anything that accumulates (a cache, a leak) shows up as
//! growth between checkpoints.
//!
//! `cargo bench -p callsign-benches --bench memory` (or `-- 100000` for fewer).

use std::hint::black_box;
use std::sync::atomic::Ordering;
use std::time::Instant;

use callsign::{Key, KeySet, Nonce, Signer, Verifier};
use callsign_benches::{
    payload, CountingAlloc, ALLOCS, AUDIENCE, FUNCTION, KEY, LIVE, NONCE, PEAK, TS_MS,
};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn main() {
    // `cargo bench` passes `--bench`; the first number given is the count.
    let total: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let key = Key::parse(KEY).expect("key");
    let nonce = Nonce::parse(NONCE).expect("nonce");
    let args = payload(1024);
    let signed = Signer::new(&key, AUDIENCE)
        .and_then(|s| s.sign_at(FUNCTION, &args, TS_MS, &nonce))
        .expect("sign")
        .signed_args;
    let verifier = Verifier::new(&KeySet::from(key), AUDIENCE).expect("verifier");

    println!("{} B signed args, {total} verifications", signed.len());
    println!("{:>10} {:>14} {:>14}", "done", "live - base", "peak - base");
    // One verification first, so one-time allocations are not counted as growth.
    verifier.verify(FUNCTION, &signed, TS_MS).expect("verify");
    let base = LIVE.load(Ordering::Relaxed);
    let allocs_before = ALLOCS.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let started = Instant::now();
    let mut next = 1;
    for done in 1..=total {
        let verified = verifier
            .verify(FUNCTION, black_box(&signed), TS_MS)
            .expect("verify");
        black_box(verified);
        if done == next || done == total {
            let live = LIVE.load(Ordering::Relaxed) as isize - base as isize;
            let peak = PEAK.load(Ordering::Relaxed) - base;
            println!("{done:>10} {live:>12} B {peak:>12} B");
            next *= 10;
        }
    }
    let elapsed = started.elapsed();
    let allocs = ALLOCS.load(Ordering::Relaxed) - allocs_before;
    println!(
        "{:.2} us per verification, {:.1} allocations per verification",
        elapsed.as_secs_f64() * 1e6 / total as f64,
        allocs as f64 / total as f64
    );
}
