//! 16 MiB hostile inputs (Convex accepts args that large) thrown at
//! `canonicalize` and `Verifier::verify`.
//!
//! With default limits they must be refused as `too_large` before any parsing,
//! in time and memory independent of their content. With `max_bytes` raised to
//! let them in, nesting must stop at the depth cap at once, and everything else
//! must take linear time. Before timing, the binary prints each case's outcome
//! and peak heap use (from a counting global allocator).

use std::hint::black_box;
use std::time::Duration;

use callsign::{canonicalize, Key, KeySet, Limits, Verifier};
use callsign_benches::{reset_peak, CountingAlloc, AUDIENCE, FUNCTION, KEY, PEAK, TS_MS};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const SIZE: usize = 16 << 20;

/// `prefix`, then `unit` repeated, then `suffix`: as close to 16 MiB as fits.
fn fill(prefix: &str, unit: &str, suffix: &str) -> String {
    let mut s = String::with_capacity(SIZE);
    s.push_str(prefix);
    while s.len() + unit.len() + suffix.len() <= SIZE {
        s.push_str(unit);
    }
    s.push_str(suffix);
    s
}

fn cases() -> Vec<(&'static str, String)> {
    vec![
        ("deep_arrays", fill("{\"a\":", "[", "")),
        ("deep_objects", fill("", "{\"a\":", "")),
        ("escapes", fill("{\"a\":\"", "\\n", "\"}")),
        (
            "unicode_escapes",
            fill("{\"a\":\"", "\\ud83d\\ude00", "\"}"),
        ),
    ]
}

fn outcome<T>(r: callsign::Result<T>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(e) => e.code().as_str(),
    }
}

fn hostile(c: &mut Criterion) {
    let verifier =
        Verifier::new(&KeySet::from(Key::parse(KEY).expect("key")), AUDIENCE).expect("verifier");
    let default = Limits::default();
    let open = Limits {
        max_bytes: SIZE,
        ..Limits::default()
    };
    let open_verifier = verifier.clone().with_limits(open);
    let cases = cases();

    println!(
        "case             limits      call          outcome        peak heap (beyond the input)"
    );
    for (name, input) in &cases {
        let runs: [(&str, &str, &dyn Fn() -> &'static str); 4] = [
            ("default", "canonicalize", &|| {
                outcome(canonicalize(input, &default))
            }),
            ("default", "verify", &|| {
                outcome(verifier.verify(FUNCTION, input, TS_MS))
            }),
            ("16 MiB", "canonicalize", &|| {
                outcome(canonicalize(input, &open))
            }),
            ("16 MiB", "verify", &|| {
                outcome(open_verifier.verify(FUNCTION, input, TS_MS))
            }),
        ];
        for (limits, call, run) in runs {
            let live = reset_peak();
            let result = run();
            let peak = PEAK.load(std::sync::atomic::Ordering::Relaxed) - live;
            println!("{name:<16} {limits:<11} {call:<13} {result:<14} {peak} B");
        }
    }

    let mut group = c.benchmark_group("hostile_16MiB");
    group.sample_size(10);
    for (name, input) in &cases {
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function(BenchmarkId::new("verify_default_limits", name), |b| {
            b.iter(|| verifier.verify(FUNCTION, black_box(input), TS_MS).is_err())
        });
        group.bench_function(BenchmarkId::new("canonicalize_16MiB_limit", name), |b| {
            b.iter(|| canonicalize(black_box(input), &open).is_err())
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = hostile
}
criterion_main!(benches);
