//! The differential check of `benches/diffcheck.sh`: the core in the work
//! tree against the core at an earlier revision (`callsign_old`), on generated
//! and mutated args. canonicalize, sign and verify must agree exactly:
//! canonical text, claims, error code and message. Optimizations of the core
//! must not change any of them.
use std::fmt::Write as _;

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
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
}

const NAMES: &[&str] = &[
    "",
    " ",
    "a",
    "aa",
    "ab",
    "b",
    "z",
    "A",
    "Z",
    "~",
    "_a",
    "_d",
    "_callsign",
    "_callsigm",
    "abcdefgh",
    "abcdefghi",
    "abcdefgi",
    "abcdefghijklmnopq",
    "abcdefghijklmnoq",
    "$x",
    "$bytes",
    "$integer",
    "$float",
    "__proto__",
    "\\u005f_proto__",
    "q\\\"",
    "k\\u0061",
    "\\u0024bytes",
    "\\n",
    "é",
    "a b",
    "\\\\",
    "x\\/y",
];
const NUMS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "0.5",
    "1.0",
    "1e2",
    "1E2",
    "1e+21",
    "1e21",
    "1e-7",
    "123456789012345",
    "1234567890123456",
    "12345678901234567",
    "9007199254740993",
    "0.1",
    "0.30000000000000004",
    "5e-324",
    "0.000001",
    "0.0000001",
    "1e400",
    "-1e-400",
    "100",
    "-0.0",
    "0e0",
    "01",
    "1.",
    ".5",
    "-",
    "1e",
    "1e+",
    "299.533",
    "1700007839621",
];
const PIECES: &[&str] = &[
    "a",
    "hello",
    "x y",
    "é",
    "日本",
    "😀",
    "\u{2028}",
    "/",
    "\\/",
    "\\\"",
    "\\\\",
    "\\n",
    "\\t",
    "\\b",
    "\\f",
    "\\r",
    "\\u0000",
    "\\u001f",
    "\\u000b",
    "\\u000B",
    "\\u000a",
    "\\u00e9",
    "\\u00E9",
    "\\u0041",
    "\\ud83d\\ude00",
    "\\ud800",
    "\\udc00",
    "\\ud800\\u0041",
    "\\x",
    "\u{1}",
    "\u{7f}",
    "\\u12",
    "abcdefghijklmnopqrstuvwxyz",
];
const B64: &[&str] = &[
    "",
    "AQ==",
    "AQI=",
    "AQID",
    "AQ=",
    "AQI",
    "AQJ=",
    "A===",
    "====",
    "eWAkDBN1RdE=",
    "AQAAAAAAAAA=",
    "AAAAAAAA+H8=",
    "AAAAAAAA8H8=",
    "AAAAAAAA8P8=",
    "AAAAAAAAAIA=",
    "AQAAAAAA+H8=",
    "AAAAAAAA+D8=",
    "AAAAAAAAAAA=",
    "xBpOa3bLs54pp+FwzNHgnAJsoBXHKzsjY377BYHV6jRPjflD5di6xn/VLT4=",
    "iwpS8uM7ES+lQA==",
    "AQ\\u003d\\u003d",
    "+/+/",
    "-_-_",
];

fn ws(r: &mut Rng, out: &mut String, p: u64) {
    if r.below(p) == 0 {
        out.push_str([" ", "\t", "\n", "\r", "  "][r.below(5) as usize]);
    }
}

fn value(r: &mut Rng, depth: u32, out: &mut String, p: u64) {
    ws(r, out, p);
    match r.below(if depth > 5 { 5 } else { 8 }) {
        0 => out.push_str(r.pick(&["true", "false", "null", "tru", "nul"])),
        1 => out.push_str(r.pick(NUMS)),
        2 | 3 => {
            out.push('"');
            for _ in 0..r.below(4) {
                out.push_str(r.pick(PIECES));
            }
            out.push('"');
        }
        4 => {
            let n = r.pick(&["$bytes", "$integer", "$float", "\\u0024bytes", "$x"]);
            out.push_str("{");
            ws(r, out, p);
            let _ = write!(out, "\"{n}\"");
            ws(r, out, p);
            out.push(':');
            ws(r, out, p);
            let _ = write!(out, "\"{}\"", r.pick(B64));
            ws(r, out, p);
            out.push('}');
        }
        5 | 6 => {
            out.push('[');
            let n = r.below(4);
            for i in 0..n {
                if i > 0 {
                    out.push(',');
                }
                value(r, depth + 1, out, p);
                ws(r, out, p);
            }
            if n == 0 {
                ws(r, out, p);
            }
            out.push(']');
        }
        _ => object(r, depth + 1, out, p),
    }
}

/// A name near the 1024-byte limit: plain, or with an escape, a `$`, a
/// non-ASCII character or a quote-like byte at one end.
fn long_name(r: &mut Rng) -> String {
    let len = 1016 + r.below(16) as usize;
    let mut name = "k".repeat(len);
    match r.below(6) {
        0 => name.push_str("\\u0061"),
        1 => name.insert(0, '$'),
        2 => name.push('é'),
        3 => name.insert_str(r.below(len as u64) as usize, "\\n"),
        _ => {}
    }
    name
}

/// A value nested `levels` deep in arrays or objects (a chain near the depth
/// limits), around an ordinary value.
fn nest(r: &mut Rng, levels: u32, out: &mut String, p: u64) {
    let kinds: Vec<bool> = (0..levels).map(|_| r.below(2) == 0).collect();
    for &object in &kinds {
        out.push_str(if object { "{\"a\":" } else { "[" });
    }
    value(r, 6, out, p);
    for &object in kinds.iter().rev() {
        out.push(if object { '}' } else { ']' });
    }
}

fn object(r: &mut Rng, depth: u32, out: &mut String, p: u64) {
    out.push('{');
    let n = r.below(6);
    let mut names: Vec<String> = (0..n)
        .map(|_| {
            if r.below(200) == 0 {
                long_name(r)
            } else {
                r.pick(NAMES).to_owned()
            }
        })
        .collect();
    if r.below(2) == 0 {
        names.sort();
    }
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        ws(r, out, p);
        let _ = write!(out, "\"{name}\"");
        ws(r, out, p);
        out.push(':');
        if depth == 1 && r.below(100) == 0 {
            let levels = [58, 60, 61, 62, 63, 125, 126, 127, 128][r.below(9) as usize];
            nest(r, levels, out, p);
        } else {
            value(r, depth, out, p);
        }
        ws(r, out, p);
    }
    if n == 0 {
        ws(r, out, p);
    }
    out.push('}');
}

fn mutate(r: &mut Rng, text: &str) -> String {
    const BYTES: &[u8] = b"\"\\{}[],:0159-+eE.$= A/aZ_\x01\t";
    let mut b = text.as_bytes().to_vec();
    for _ in 0..r.below(4) {
        if b.is_empty() {
            break;
        }
        let at = r.below(b.len() as u64) as usize;
        let c = BYTES[r.below(BYTES.len() as u64) as usize];
        match r.below(4) {
            0 => b[at] = c,
            1 => b.insert(at, c),
            2 => {
                b.remove(at);
            }
            _ => {
                if at + 1 < b.len() {
                    b.swap(at, at + 1)
                }
            }
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

fn show<T: std::fmt::Debug>(r: &Result<T, impl std::fmt::Display + HasCode>) -> String {
    match r {
        Ok(v) => format!("ok {v:?}"),
        Err(e) => format!("err {} {}", e.code_str(), e),
    }
}
trait HasCode {
    fn code_str(&self) -> &'static str;
}
impl HasCode for callsign::Error {
    fn code_str(&self) -> &'static str {
        self.code().as_str()
    }
}
impl<T: HasCode> HasCode for &T {
    fn code_str(&self) -> &'static str {
        (**self).code_str()
    }
}
impl HasCode for callsign_old::Error {
    fn code_str(&self) -> &'static str {
        self.code().as_str()
    }
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .map_or(200_000, |s| s.parse().unwrap());
    let seed: u64 = std::env::args().nth(2).map_or(1, |s| s.parse().unwrap());
    let mut r = Rng(seed);
    let aud = "https://happy-otter-123.convex.cloud";
    let key_s = "csk1_k1_000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    let (k_new, k_old) = (
        callsign::Key::parse(key_s).unwrap(),
        callsign_old::Key::parse(key_s).unwrap(),
    );
    // Signers and verifiers for each depth limit tried (63 is the default;
    // 128 is the cap, 1000 acts as it).
    const DEPTHS: [usize; 8] = [63, 63, 63, 2, 3, 4, 128, 1000];
    let limits = |depth: usize| (1usize << 20, depth);
    let new_parts: Vec<_> = DEPTHS
        .iter()
        .map(|&d| {
            let (max_bytes, max_depth) = limits(d);
            let l = callsign::Limits {
                max_bytes,
                max_depth,
            };
            (
                l,
                callsign::Signer::new(&k_new, aud).unwrap().with_limits(l),
                callsign::Verifier::new(&callsign::KeySet::from(k_new.clone()), aud)
                    .unwrap()
                    .with_limits(l),
            )
        })
        .collect();
    let old_parts: Vec<_> = DEPTHS
        .iter()
        .map(|&d| {
            let (max_bytes, max_depth) = limits(d);
            let l = callsign_old::Limits {
                max_bytes,
                max_depth,
            };
            (
                l,
                callsign_old::Signer::new(&k_old, aud).unwrap().with_limits(l),
                callsign_old::Verifier::new(&callsign_old::KeySet::from(k_old.clone()), aud)
                    .unwrap()
                    .with_limits(l),
            )
        })
        .collect();
    let nonce_s = "00112233445566778899aabbccddeeff";
    let (n_new, n_old) = (
        callsign::Nonce::parse(nonce_s).unwrap(),
        callsign_old::Nonce::parse(nonce_s).unwrap(),
    );
    let (mut ok, mut verified) = (0, 0);
    for i in 0..n {
        let mut text = String::new();
        let p = [1000, 8, 3][r.below(3) as usize];
        ws(&mut r, &mut text, p);
        object(&mut r, 1, &mut text, p);
        ws(&mut r, &mut text, p);
        let text = if r.below(3) == 0 {
            mutate(&mut r, &text)
        } else {
            text
        };
        // Limits for canonicalize and the signer, and (independently) the verifier's.
        let d = r.below(DEPTHS.len() as u64) as usize;
        let dv = if r.below(2) == 0 {
            d
        } else {
            r.below(DEPTHS.len() as u64) as usize
        };
        let (lim_new, s_new, v_new) = (&new_parts[d].0, &new_parts[d].1, &new_parts[dv].2);
        let (lim_old, s_old, v_old) = (&old_parts[d].0, &old_parts[d].1, &old_parts[dv].2);
        let a = show(&callsign::canonicalize(&text, lim_new));
        let b = show(&callsign_old::canonicalize(&text, lim_old));
        assert_eq!(a, b, "canonicalize {i}: {text:?}");
        if a.starts_with("ok") {
            ok += 1;
        }
        // Sign, then verify the signed args and mutations of them.
        let sa = s_new.sign_at("m:f", &text, 1_000, &n_new);
        let sb = s_old.sign_at("m:f", &text, 1_000, &n_old);
        assert_eq!(
            show(&sa.as_ref().map(|c| c.signed_args.clone())),
            show(&sb.as_ref().map(|c| c.signed_args.clone())),
            "sign {i}: {text:?}"
        );
        let signed = match sa {
            Ok(c) => c.signed_args,
            Err(_) => text.clone(),
        };
        for j in 0..4 {
            let t = if j == 0 {
                signed.clone()
            } else {
                mutate(&mut r, &signed)
            };
            let va = show(&v_new.verify("m:f", &t, 1_000).map(|v| {
                (
                    v.kid,
                    v.function,
                    v.ts,
                    v.nonce,
                    v.remember_until,
                    v.canonical_args,
                )
            }));
            let vb = show(&v_old.verify("m:f", &t, 1_000).map(|v| {
                (
                    v.kid,
                    v.function,
                    v.ts,
                    v.nonce,
                    v.remember_until,
                    v.canonical_args,
                )
            }));
            assert_eq!(va, vb, "verify {i}/{j}: {t:?}");
            if va.starts_with("ok") {
                verified += 1;
            }
        }
    }
    println!("{n} cases: {ok} canonicalized, {verified} verified; all equal");
}
