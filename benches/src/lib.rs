//! Shared pieces of the callsign benchmarks: deterministic Convex-JSON
//! payloads and a counting allocator for the memory measurements.
//!
//! Payloads come from a fixed-seed generator so that every run, on every
//! machine, measures the same bytes; nothing here reads OS randomness.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

/// The audience every benchmark signs and verifies for.
pub const AUDIENCE: &str = "https://happy-otter-123.convex.cloud";
/// The function every benchmark signs and verifies.
pub const FUNCTION: &str = "messages:send";
/// A fixed root key (test material only).
pub const KEY: &str = "csk1_prod_000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
/// The signing time of every benchmark call.
pub const TS_MS: u64 = 1_700_000_000_000;
/// The nonce of every benchmark call.
pub const NONCE: &str = "00112233445566778899aabbccddeeff";

/// The payload sizes measured, as (label, approximate bytes).
pub const SIZES: [(&str, usize); 4] = [
    ("100B", 100),
    ("1KB", 1024),
    ("64KB", 64 * 1024),
    ("1MB", 1_000_000),
];

/// SplitMix64: a tiny, fixed-seed generator (not for secrets).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const WORDS: &[&str] = &[
    "hello",
    "world",
    "convex",
    "naïve",
    "café",
    "Grüße",
    "日本語",
    "emoji 🎉",
    "tab\\there",
    "line\\nbreak",
    "quote \\\"x\\\"",
    "slash\\/path",
    "\\u00e9t\\u00e9",
    "ok",
    "status",
    "ship it",
];

/// Appends one realistic "message" object, members in insertion (unsorted) order.
fn message(rng: &mut Rng, id: u64, out: &mut String) {
    let body: Vec<&str> = (0..3 + rng.below(8)).map(|_| rng.pick(WORDS)).collect();
    let tags: Vec<String> = (0..rng.below(4))
        .map(|_| format!("\"{}\"", rng.pick(WORDS)))
        .collect();
    let bytes: Vec<u8> = (0..8 + rng.below(40)).map(|_| rng.next() as u8).collect();
    let int64 = (rng.next() as i64).to_le_bytes();
    out.push_str(&format!(
        concat!(
            r#"{{"id":"msg_{:08x}","author":{{"name":"{}","verified":{},"karma":{}}},"#,
            r#""body":"{}","tags":[{}],"score":{},"createdAt":{},"#,
            r#""count":{{"$integer":"{}"}},"attachment":{{"$bytes":"{}"}},"replyTo":null}}"#
        ),
        id,
        rng.pick(WORDS),
        rng.below(2) == 1,
        rng.below(100_000),
        body.join(" "),
        tags.join(","),
        (rng.below(1_000_000) as f64) / 1000.0,
        TS_MS + rng.below(10_000_000),
        BASE64.encode(int64),
        BASE64.encode(bytes),
    ));
}

/// Convex-JSON args of about `target` bytes (never less), built from a fixed
/// seed: nested objects, arrays, unicode and escaped strings, floats,
/// integers, `$integer` and `$bytes` values.
pub fn payload(target: usize) -> String {
    let mut rng = Rng(0x00c0_ffee ^ target as u64);
    if target <= 128 {
        return r#"{"body":"héllo wörld","channel":"general","n":42,"ratio":0.25,"big":{"$integer":"AQAAAAAAAAA="}}"#.to_owned();
    }
    let mut out = String::with_capacity(target + 512);
    out.push_str(r#"{"channel":"general","page":{"cursor":"c_01","done":false},"messages":["#);
    let mut id = 0;
    // Leave room for the closing text below.
    while out.len() + 64 < target || id == 0 {
        if id > 0 {
            out.push(',');
        }
        message(&mut rng, id, &mut out);
        id += 1;
    }
    out.push_str(r#"],"count":"#);
    out.push_str(&id.to_string());
    out.push('}');
    out
}

/// Live and peak heap bytes seen by [`CountingAlloc`].
pub static LIVE: AtomicUsize = AtomicUsize::new(0);
/// Highest value [`LIVE`] reached since the last [`reset_peak`].
pub static PEAK: AtomicUsize = AtomicUsize::new(0);
/// Number of allocations made.
pub static ALLOCS: AtomicUsize = AtomicUsize::new(0);

/// A global allocator that forwards to [`System`] and counts live bytes, so
/// that a benchmark binary can report peak memory and growth without an
/// external profiler.
pub struct CountingAlloc;

// SAFETY: every call forwards to `System` with the caller's arguments; the
// counters are plain atomics and never affect the returned memory.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            record_alloc(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            record_alloc(new_size);
        }
        p
    }
}

fn record_alloc(size: usize) {
    ALLOCS.fetch_add(1, Ordering::Relaxed);
    let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

/// Sets the peak to the current live bytes and returns the latter.
pub fn reset_peak() -> usize {
    let live = LIVE.load(Ordering::Relaxed);
    PEAK.store(live, Ordering::Relaxed);
    live
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_deterministic_canonicalizable_and_near_their_size() {
        for (_, size) in SIZES {
            let p = payload(size);
            assert_eq!(p, payload(size));
            assert!(p.len() >= size * 9 / 10, "{}", p.len());
            assert!(p.len() < size + 1024, "{}", p.len());
            callsign::canonicalize(&p, &callsign::Limits::default()).unwrap();
        }
    }
}
