//! Property: for Convex JSON without `$` keys and without -0 (where Convex's
//! rules and plain JCS agree), `callsign canon` equals RFC 8785 as computed by
//! JavaScript itself — checked on thousands of generated values against Node.

mod common;

use std::process::{Command, Stdio};

use common::cs;

const VALUES: usize = 2500;
const SEED: u64 = 0x5eed_ca11_5167;
const MAX_DEPTH: u32 = 5;

/// SplitMix64: tiny, seedable, good enough to spread test cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0; the modulo bias is irrelevant here).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn range(&mut self, lo: u32, hi_inclusive: u32) -> u32 {
        lo + self.below(u64::from(hi_inclusive - lo + 1)) as u32
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// Writes generated values as JSON text, with varied spacing, escapes and
/// number spellings, and object keys in generation (not sorted) order.
struct Gen {
    rng: Rng,
}

impl Gen {
    fn ws(&mut self, out: &mut String) {
        for _ in 0..self.rng.below(3) {
            out.push(self.rng.pick(&[' ', ' ', '\n', '\t', '\r']));
        }
    }

    fn object(&mut self, depth: u32, out: &mut String) {
        let count = self.rng.below(if depth == 1 { 7 } else { 5 });
        let mut keys: Vec<String> = Vec::new();
        while (keys.len() as u64) < count {
            let key = self.key();
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        out.push('{');
        for (i, key) in keys.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            self.ws(out);
            self.string_literal(key, out);
            self.ws(out);
            out.push(':');
            self.ws(out);
            self.value(depth + 1, out);
            self.ws(out);
        }
        out.push('}');
    }

    /// A Convex field name callsign accepts: printable ASCII, not starting
    /// with `$`, not `__proto__` (SPEC.md §2.5; random names are shorter).
    fn key(&mut self) -> String {
        const TRICKY: &[&str] = &[
            "",
            " ",
            "2",
            "10",
            "-1",
            "1e3",
            "__proto",
            "constructor",
            "toString",
            "a\\b",
            "\"q\"",
            "~",
            "a$",
            "_",
            "A",
            "a",
            "aa",
            "b",
        ];
        if self.rng.chance(30) {
            return self.rng.pick(TRICKY).to_owned();
        }
        if self.rng.chance(15) {
            return self.rng.below(1000).to_string();
        }
        let len = self.rng.below(9);
        let mut key: String = (0..len)
            .map(|_| char::from(self.rng.range(0x20, 0x7e) as u8))
            .collect();
        if key.starts_with('$') {
            key.replace_range(0..1, "_");
        }
        key
    }

    fn value(&mut self, depth: u32, out: &mut String) {
        let nested = depth < MAX_DEPTH;
        match self.rng.below(if nested { 10 } else { 8 }) {
            0 => out.push_str(self.rng.pick(&["null", "true", "false"])),
            1..=3 => self.number(out),
            4..=7 => {
                let s = self.string();
                self.string_literal(&s, out);
            }
            8 => self.object(depth, out),
            _ => {
                out.push('[');
                for i in 0..self.rng.below(5) {
                    if i > 0 {
                        out.push(',');
                    }
                    self.ws(out);
                    self.value(depth + 1, out);
                    self.ws(out);
                }
                out.push(']');
            }
        }
    }

    /// A number spelled so that it parses to a finite double other than -0
    /// (Convex writes -0, NaN and the infinities as `$float`, not JCS's way).
    fn number(&mut self, out: &mut String) {
        loop {
            let text = self.number_text();
            let value: f64 = text
                .parse()
                .unwrap_or_else(|e| panic!("generated number {text:?} does not parse: {e}"));
            if value.is_finite() && !(value == 0.0 && value.is_sign_negative()) {
                out.push_str(&text);
                return;
            }
        }
    }

    fn number_text(&mut self) -> String {
        let sign = if self.rng.chance(30) { "-" } else { "" };
        match self.rng.below(6) {
            // Any finite double, from its bits, in one of Rust's round-trip spellings.
            0 | 1 => {
                let f = loop {
                    let f = f64::from_bits(self.rng.next());
                    if f.is_finite() {
                        break f;
                    }
                };
                match self.rng.below(3) {
                    0 => format!("{f}"),
                    1 => format!("{f:e}"),
                    _ => format!("{f:E}"),
                }
            }
            // Integers around 2^53, where doubles stop being exact.
            2 => {
                let offset = self.rng.below(21) as i64 - 10;
                format!("{sign}{}", (1i64 << 53) + offset)
            }
            // Small integers and short decimals, sometimes with an exponent.
            3 => {
                let mut text = format!("{sign}{}", self.rng.below(100_000));
                if self.rng.chance(50) {
                    text.push_str(&format!(".{}", self.rng.below(10_000)));
                }
                if self.rng.chance(30) {
                    let marker = self.rng.pick(&["e", "E", "e+", "E+", "e-", "E-"]);
                    text.push_str(&format!("{marker}{}", self.rng.below(25)));
                }
                text
            }
            // Long digit strings that must be rounded correctly.
            4 => {
                let digits: String = (0..self.rng.range(17, 40))
                    .map(|i| char::from(b'0' + self.rng.range(u32::from(i == 0), 9) as u8))
                    .collect();
                let e = self.rng.below(80) as i64 - 40;
                format!("{sign}{digits}e{e}")
            }
            // Full-range integers (u64), rounded to doubles.
            _ => format!("{sign}{}", self.rng.next() >> self.rng.below(64)),
        }
    }

    fn string(&mut self) -> String {
        (0..self.rng.below(12)).map(|_| self.char()).collect()
    }

    fn char(&mut self) -> char {
        let code = match self.rng.below(10) {
            0 => self.rng.range(0x00, 0x1f),
            1 => self
                .rng
                .pick(&[0x22, 0x5c, 0x2f, 0x7f, 0x2028, 0x2029, 0xfeff, 0xfffd]),
            2 | 3 => self.rng.range(0x20, 0x7e),
            4 => self.rng.range(0x80, 0x7ff),
            5 => self.rng.range(0x800, 0xd7ff),
            6 => self.rng.range(0xe000, 0xffff),
            _ => self.rng.range(0x1_0000, 0x10_ffff),
        };
        char::from_u32(code).expect("surrogates are excluded")
    }

    /// `s` as a JSON string literal: what must be escaped is, with either
    /// spelling of the escape; anything else sometimes as `\uXXXX`.
    fn string_literal(&mut self, s: &str, out: &mut String) {
        out.push('"');
        for c in s.chars() {
            let short = match c {
                '"' => Some("\\\""),
                '\\' => Some("\\\\"),
                '\n' => Some("\\n"),
                '\r' => Some("\\r"),
                '\t' => Some("\\t"),
                '\u{8}' => Some("\\b"),
                '\u{c}' => Some("\\f"),
                '/' if self.rng.chance(50) => Some("\\/"),
                _ => None,
            };
            let must_escape = short.is_some() || c < ' ';
            match short {
                Some(escape) if self.rng.chance(70) => out.push_str(escape),
                _ if must_escape || self.rng.chance(15) => {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        if self.rng.chance(50) {
                            out.push_str(&format!("\\u{unit:04x}"));
                        } else {
                            out.push_str(&format!("\\u{unit:04X}"));
                        }
                    }
                }
                _ => out.push(c),
            }
        }
        out.push('"');
    }
}

/// What `node jcs_reference.mjs` makes of `texts`.
fn node_canonical(texts: &[String]) -> Vec<String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/jcs_reference.mjs");
    let mut child = Command::new("node")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `node` ({e}): the JCS property test compares with Node's JSON \
                 (Node >= 20 on PATH; CI installs it)"
            )
        });
    let input = serde_json::to_vec(texts).expect("texts serialize");
    let mut stdin = child.stdin.take().expect("piped");
    let feeder = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &input));
    let out = child.wait_with_output().expect("node runs");
    feeder
        .join()
        .expect("feeder")
        .expect("node reads its input");
    assert!(out.status.success(), "node failed: {:?}", out.status);
    serde_json::from_slice(&out.stdout).expect("node prints a JSON array of strings")
}

#[test]
fn canon_agrees_with_javascript_jcs() {
    let mut gen = Gen { rng: Rng(SEED) };
    let texts: Vec<String> = (0..VALUES)
        .map(|_| {
            let mut text = String::new();
            gen.ws(&mut text);
            gen.object(1, &mut text);
            gen.ws(&mut text);
            text
        })
        .collect();
    let expected = node_canonical(&texts);
    assert_eq!(expected.len(), texts.len());

    // One process per value, spread over a few threads.
    let threads = std::thread::available_parallelism().map_or(4, |n| n.get().min(8));
    let chunk = texts.len().div_ceil(threads);
    let actual: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = texts
            .chunks(chunk)
            .map(|texts| {
                scope.spawn(move || {
                    texts
                        .iter()
                        .map(|text| {
                            let run = cs(&["canon"], text);
                            assert_eq!(run.code, 0, "canon rejected {text:?}: {}", run.stderr);
                            run.stdout()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker"))
            .collect()
    });

    let mismatches: Vec<String> = texts
        .iter()
        .zip(&expected)
        .zip(&actual)
        .filter(|((_, want), got)| want != got)
        .take(5)
        .map(|((text, want), got)| {
            format!("input {text:?}\n  node     {want:?}\n  callsign {got:?}")
        })
        .collect();
    assert!(
        mismatches.is_empty(),
        "callsign canon differs from JavaScript's JCS:\n{}",
        mismatches.join("\n")
    );
}
