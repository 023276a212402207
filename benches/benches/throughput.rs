//! Canonicalize, sign and verify on realistic Convex args of ~100 B, 1 KB,
//! 64 KB and 1 MB, next to the floor (a raw HMAC-SHA256 of as many bytes) and
//! the peer (`serde_json_canonicalizer` on the same input).
//!
//! Every function in a group has the same throughput denominator (the
//! payload's length; for `verify`, the signed args' length), so criterion's
//! MB/s figures compare directly.

use std::hint::black_box;
use std::time::Duration;

use callsign::{canonicalize, Key, KeySet, Limits, Nonce, Signer, Verifier};
use callsign_benches::{payload, AUDIENCE, FUNCTION, KEY, NONCE, SIZES, TS_MS};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

fn throughput(c: &mut Criterion) {
    let key = Key::parse(KEY).expect("bench key");
    let signer = Signer::new(&key, AUDIENCE).expect("signer");
    let verifier = Verifier::new(&KeySet::from(key), AUDIENCE).expect("verifier");
    let nonce = Nonce::parse(NONCE).expect("nonce");
    let limits = Limits::default();
    let hmac = Hmac::<Sha256>::new_from_slice(&[7u8; 32]).expect("any key length");

    for (label, size) in SIZES {
        let args = payload(size);
        let signed = signer
            .sign_at(FUNCTION, &args, TS_MS, &nonce)
            .expect("payload signs")
            .signed_args;
        let mut group = c.benchmark_group(label);
        if size >= 64 * 1024 {
            group.sample_size(20);
        }
        group.throughput(Throughput::Bytes(args.len() as u64));
        group.bench_function(BenchmarkId::new("hmac_floor", args.len()), |b| {
            b.iter(|| {
                let mut mac = hmac.clone();
                mac.update(black_box(args.as_bytes()));
                mac.finalize()
            })
        });
        group.bench_function(BenchmarkId::new("canonicalize", args.len()), |b| {
            b.iter(|| canonicalize(black_box(&args), &limits).expect("canonical"))
        });
        group.bench_function(BenchmarkId::new("peer_jcs", args.len()), |b| {
            b.iter(|| serde_json_canonicalizer::pipe(black_box(&args)).expect("peer"))
        });
        group.bench_function(BenchmarkId::new("sign", args.len()), |b| {
            b.iter(|| {
                signer
                    .sign_at(FUNCTION, black_box(&args), TS_MS, &nonce)
                    .expect("sign")
            })
        });
        group.throughput(Throughput::Bytes(signed.len() as u64));
        group.bench_function(BenchmarkId::new("verify", signed.len()), |b| {
            b.iter(|| {
                verifier
                    .verify(FUNCTION, black_box(&signed), TS_MS + 1)
                    .expect("verify")
            })
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = throughput
}
criterion_main!(benches);
