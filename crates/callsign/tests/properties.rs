//! Property tests over generated Convex values (proptest).
//!
//! Values cover every Convex type: strings with any Unicode scalar value,
//! float64 including −0, NaN and ±Infinity (written as `{"$float": …}`),
//! int64 (`{"$integer": …}`), bytes (`{"$bytes": …}`), arrays and objects with
//! valid Convex field names. Each value is written as JSON in many spellings
//! (member order, whitespace, number forms such as `1.0`/`1e0`/`10E-1`,
//! string escapes) and checked for:
//!
//! * one canonical form whatever the spelling or member order, and that form
//!   decodes back to the same value (strict reading of the canonical text);
//! * idempotence: canonical text canonicalizes to itself;
//! * sign → verify round trips, also for respelled signed args;
//! * any change of an arg, the function, the audience, ts, nonce, kid, v or
//!   any signature bit is rejected with the code SPEC.md §7 gives.
//!
//! Case counts are kept small so the debug test binary runs in seconds.

use std::collections::BTreeMap;

use callsign::spec::{canonical_function_name, MAX_TIMESTAMP_MS};
use callsign::{canonicalize, ErrorCode, Key, KeySet, Limits, Nonce, SignedCall, Signer, Verifier};
use proptest::prelude::*;
use proptest::test_runner::Config;

// ---------------------------------------------------------------------------
// A model of Convex values.

#[derive(Clone, Debug)]
enum Cv {
    Null,
    Bool(bool),
    Float(f64),
    Int(i64),
    Bytes(Vec<u8>),
    Str(String),
    Arr(Vec<Cv>),
    /// Unique names; `BTreeMap` order is byte order, the canonical order for
    /// ASCII field names.
    Obj(BTreeMap<String, Cv>),
}

/// Equality as Convex values: floats by bits, except that every NaN is one.
impl PartialEq for Cv {
    fn eq(&self, other: &Cv) -> bool {
        match (self, other) {
            (Cv::Null, Cv::Null) => true,
            (Cv::Bool(a), Cv::Bool(b)) => a == b,
            (Cv::Float(a), Cv::Float(b)) => {
                (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
            }
            (Cv::Int(a), Cv::Int(b)) => a == b,
            (Cv::Bytes(a), Cv::Bytes(b)) => a == b,
            (Cv::Str(a), Cv::Str(b)) => a == b,
            (Cv::Arr(a), Cv::Arr(b)) => a == b,
            (Cv::Obj(a), Cv::Obj(b)) => a == b,
            _ => false,
        }
    }
}

fn field_name() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::char::range(' ', '~'), 0..8).prop_map(|chars| {
        let mut name: String = chars.into_iter().collect();
        if name.starts_with('$') {
            name.replace_range(..1, "_");
        }
        name
    })
}

fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => prop::num::f64::ANY,
        1 => Just(-0.0),
        1 => Just(f64::NAN),
        1 => Just(f64::from_bits(0x7ff8_0000_0000_0001)), // a NaN with a payload
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(f64::MAX),
        1 => Just(5e-324),
        3 => (-1_000_000i64..1_000_000).prop_map(|i| i as f64),
        1 => (-(1i64 << 53)..(1i64 << 53)).prop_map(|i| i as f64),
    ]
}

fn text() -> impl Strategy<Value = String> {
    let ch = prop_oneof![
        3 => prop::char::range(' ', '~'),
        1 => prop::char::range('\0', '\u{1f}'),
        1 => prop::sample::select(vec!['"', '\\', '/', '\u{7f}', '\u{2028}', '\u{2029}', '\u{feff}']),
        1 => any::<char>(),
    ];
    prop::collection::vec(ch, 0..10).prop_map(|c| c.into_iter().collect())
}

fn leaf() -> impl Strategy<Value = Cv> {
    prop_oneof![
        Just(Cv::Null),
        any::<bool>().prop_map(Cv::Bool),
        float().prop_map(Cv::Float),
        any::<i64>().prop_map(Cv::Int),
        prop::collection::vec(any::<u8>(), 0..10).prop_map(Cv::Bytes),
        text().prop_map(Cv::Str),
    ]
}

fn value() -> impl Strategy<Value = Cv> {
    leaf().prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Cv::Arr),
            prop::collection::btree_map(field_name(), inner, 0..5).prop_map(Cv::Obj),
        ]
    })
}

/// Args: a top-level object.
fn args() -> impl Strategy<Value = BTreeMap<String, Cv>> {
    prop::collection::btree_map(field_name(), value(), 0..6)
}

// ---------------------------------------------------------------------------
// Writing values as JSON, in many spellings.

/// A small deterministic generator that picks spellings.
struct Spelling(u64);

impl Spelling {
    fn next(&mut self) -> u64 {
        // xorshift64*; never zero.
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `None` writes the canonical-looking plain spelling (sorted, no whitespace,
/// minimal escapes, shortest numbers); `Some` varies everything.
struct Writer {
    spell: Option<Spelling>,
    out: String,
}

impl Writer {
    fn plain() -> Writer {
        Writer {
            spell: None,
            out: String::new(),
        }
    }
    fn varied(seed: u64) -> Writer {
        Writer {
            spell: Some(Spelling(seed | 1)),
            out: String::new(),
        }
    }
    fn pick(&mut self, n: u64) -> u64 {
        self.spell.as_mut().map_or(0, |s| s.below(n))
    }
    /// True one time in `n` when varied; never when plain.
    fn chance(&mut self, n: u64) -> bool {
        self.spell.is_some() && self.pick(n) == 0
    }
    fn ws(&mut self) {
        if self.spell.is_some() {
            for _ in 0..self.pick(3) {
                let w = [" ", "\t", "\n", "\r"][self.pick(4) as usize];
                self.out.push_str(w);
            }
        }
    }

    fn value(&mut self, v: &Cv) {
        self.ws();
        match v {
            Cv::Null => self.out.push_str("null"),
            Cv::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Cv::Float(f) => self.float(*f),
            Cv::Int(i) => self.special("$integer", &i.to_le_bytes()),
            Cv::Bytes(b) => self.special("$bytes", b),
            Cv::Str(s) => self.string(s),
            Cv::Arr(items) => {
                self.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.value(item);
                    self.ws();
                }
                if items.is_empty() {
                    self.ws();
                }
                self.out.push(']');
            }
            Cv::Obj(members) => {
                let refs: Vec<(&str, &Cv)> = members.iter().map(|(k, v)| (k.as_str(), v)).collect();
                self.object(refs);
            }
        }
    }

    /// Writes members in a shuffled order (sorted when plain).
    fn object(&mut self, mut members: Vec<(&str, &Cv)>) {
        if let Some(spell) = self.spell.as_mut() {
            for i in (1..members.len()).rev() {
                let j = spell.below(i as u64 + 1) as usize;
                members.swap(i, j);
            }
        }
        self.out.push('{');
        for (i, (name, value)) in members.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            self.ws();
            self.string(name);
            self.ws();
            self.out.push(':');
            self.value(value);
            self.ws();
        }
        if members.is_empty() {
            self.ws();
        }
        self.out.push('}');
    }

    fn special(&mut self, name: &str, bytes: &[u8]) {
        self.out.push('{');
        self.ws();
        // `$` may be escaped: names are compared after unescaping.
        if self.chance(4) {
            self.out.push_str(&format!("\"\\u0024{}\"", &name[1..]));
        } else {
            self.out.push_str(&format!("\"{name}\""));
        }
        self.ws();
        self.out.push(':');
        self.ws();
        self.out.push_str(&format!("\"{}\"", base64(bytes)));
        self.ws();
        self.out.push('}');
    }

    fn float(&mut self, f: f64) {
        if f.is_nan() || f.is_infinite() || (f == 0.0 && f.is_sign_negative()) {
            // Convex writes these as $float; -0 may also be a plain number.
            if f == 0.0 && self.chance(2) {
                let spelled = ["-0", "-0.0", "-0e0", "-0E+5", "-1e-400"][self.pick(5) as usize];
                self.out.push_str(spelled);
            } else {
                self.special("$float", &f.to_le_bytes());
            }
            return;
        }
        // Respellings of a non-zero integer (`00E-1` would not be JSON).
        let integral = f != 0.0 && f.fract() == 0.0 && f.abs() < 9e15;
        let text = match self.pick(if integral { 8 } else { 4 }) {
            0 => format!("{f:?}"), // `1.0`, `1e300`
            1 => format!("{f:e}"), // `1e0`, `1.5e-7`
            2 => format!("{f:E}"), // `1E0`
            3 => format!("{f}"),   // every digit, no exponent
            4 => format!("{}0E-1", f as i64),
            5 => format!("{}.000", f as i64),
            6 => format!("{}e+0", f as i64),
            _ => format!("{}00e-2", f as i64),
        };
        self.out.push_str(&text);
    }

    fn string(&mut self, s: &str) {
        self.out.push('"');
        for c in s.chars() {
            let escape = self.chance(4);
            match c {
                '"' => self.out.push_str("\\\""),
                '\\' => self.out.push_str("\\\\"),
                '/' if escape => self.out.push_str("\\/"),
                '\n' if !escape => self.out.push_str("\\n"),
                c if (c as u32) < 0x20 || escape => {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        let hex = if self.pick(2) == 0 {
                            format!("\\u{unit:04x}")
                        } else {
                            format!("\\u{unit:04X}")
                        };
                        self.out.push_str(&hex);
                    }
                }
                c => self.out.push(c),
            }
        }
        self.out.push('"');
    }
}

fn write_args(members: &BTreeMap<String, Cv>, writer: Writer) -> String {
    write_with(members, &[], writer)
}

/// Writes the args plus `extra` members given as ready JSON text.
fn write_with(members: &BTreeMap<String, Cv>, extra: &[(&str, &str)], mut w: Writer) -> String {
    let mut all: Vec<(&str, Option<&Cv>, &str)> = members
        .iter()
        .map(|(k, v)| (k.as_str(), Some(v), ""))
        .collect();
    all.extend(extra.iter().map(|(k, raw)| (*k, None, *raw)));
    if let Some(spell) = w.spell.as_mut() {
        for i in (1..all.len()).rev() {
            let j = spell.below(i as u64 + 1) as usize;
            all.swap(i, j);
        }
    } else {
        all.sort_by(|a, b| a.0.cmp(b.0));
    }
    w.ws();
    w.out.push('{');
    for (i, (name, value, raw)) in all.iter().enumerate() {
        if i > 0 {
            w.out.push(',');
        }
        w.ws();
        w.string(name);
        w.out.push(':');
        match value {
            Some(v) => w.value(v),
            None => w.out.push_str(raw),
        }
        w.ws();
    }
    w.out.push('}');
    w.ws();
    w.out
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.len();
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let word = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= n {
                out.push(char::from(ALPHABET[(word >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Reading canonical text back, strictly.

/// Decodes canonical text into a value, failing on anything that is not
/// canonical: whitespace, unsorted or duplicate names, escapes other than
/// JCS's, a number that is not the shortest form of its double.
struct Reader<'a> {
    s: &'a str,
    at: usize,
}

impl Reader<'_> {
    fn eat(&mut self, c: char) -> Result<(), String> {
        if self.s[self.at..].starts_with(c) {
            self.at += c.len_utf8();
            Ok(())
        } else {
            Err(format!("expected {c:?} at {} in {}", self.at, self.s))
        }
    }
    fn peek(&self) -> Option<char> {
        self.s[self.at..].chars().next()
    }

    fn value(&mut self) -> Result<Cv, String> {
        match self.peek() {
            Some('n') => self.word("null", Cv::Null),
            Some('t') => self.word("true", Cv::Bool(true)),
            Some('f') => self.word("false", Cv::Bool(false)),
            Some('"') => Ok(Cv::Str(self.string()?)),
            Some('[') => {
                self.eat('[')?;
                let mut items = Vec::new();
                while self.peek() != Some(']') {
                    if !items.is_empty() {
                        self.eat(',')?;
                    }
                    items.push(self.value()?);
                }
                self.eat(']')?;
                Ok(Cv::Arr(items))
            }
            Some('{') => self.object(),
            _ => self.number(),
        }
    }

    fn word(&mut self, w: &str, v: Cv) -> Result<Cv, String> {
        if self.s[self.at..].starts_with(w) {
            self.at += w.len();
            Ok(v)
        } else {
            Err(format!("bad literal at {}", self.at))
        }
    }

    fn number(&mut self) -> Result<Cv, String> {
        let len = self.s[self.at..]
            .find(|c: char| !matches!(c, '0'..='9' | '-' | '+' | '.' | 'e'))
            .unwrap_or(self.s.len() - self.at);
        let text = &self.s[self.at..self.at + len];
        self.at += len;
        let f: f64 = text.parse().map_err(|_| format!("bad number {text:?}"))?;
        if !f.is_finite() || (f == 0.0 && f.is_sign_negative()) {
            return Err(format!("{text} must be a $float"));
        }
        // Shortest round-trip digits: dropping the last significant digit
        // must change the value (a weak but independent check).
        let mantissa: String = text
            .split('e')
            .next()
            .unwrap_or("")
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        let significant = mantissa.trim_start_matches('0').trim_end_matches('0');
        if significant.len() > 17 {
            return Err(format!("{text} has more than 17 significant digits"));
        }
        if text.contains('E') || text.contains("e+0") || text.ends_with(".0") {
            return Err(format!("{text} is not in ECMAScript form"));
        }
        Ok(Cv::Float(f))
    }

    fn string(&mut self) -> Result<String, String> {
        self.eat('"')?;
        let mut out = String::new();
        loop {
            let c = self.peek().ok_or("unterminated string")?;
            self.at += c.len_utf8();
            match c {
                '"' => return Ok(out),
                '\\' => {
                    let e = self.peek().ok_or("bad escape")?;
                    self.at += 1;
                    out.push(match e {
                        '"' => '"',
                        '\\' => '\\',
                        'b' => '\u{8}',
                        'f' => '\u{c}',
                        'n' => '\n',
                        'r' => '\r',
                        't' => '\t',
                        'u' => {
                            let hex = &self.s[self.at..self.at + 4];
                            self.at += 4;
                            let unit = u32::from_str_radix(hex, 16).map_err(|e| e.to_string())?;
                            let short = ['\u{8}', '\u{c}', '\n', '\r', '\t'];
                            let c = char::from_u32(unit).ok_or("surrogate escape")?;
                            if unit >= 0x20 || hex != hex.to_lowercase() || short.contains(&c) {
                                return Err(format!("\\u{hex} is not JCS's escape"));
                            }
                            c
                        }
                        other => return Err(format!("escape \\{other} is not JCS's")),
                    });
                }
                c if (c as u32) < 0x20 => return Err("raw control character".into()),
                c => out.push(c),
            }
        }
    }

    fn object(&mut self) -> Result<Cv, String> {
        self.eat('{')?;
        let mut members: Vec<(String, Cv)> = Vec::new();
        while self.peek() != Some('}') {
            if !members.is_empty() {
                self.eat(',')?;
            }
            let name = self.string()?;
            self.eat(':')?;
            let value = self.value()?;
            if let Some((last, _)) = members.last() {
                if *last >= name {
                    return Err(format!("{last:?} before {name:?}: not sorted"));
                }
            }
            members.push((name, value));
        }
        self.eat('}')?;
        if let [(name, Cv::Str(b64))] = members.as_slice() {
            let decoded = |len: Option<usize>| -> Result<Vec<u8>, String> {
                let bytes = unbase64(b64).ok_or(format!("bad base64 {b64:?}"))?;
                if len.is_some_and(|n| n != bytes.len()) || base64(&bytes) != *b64 {
                    return Err(format!("{name} {b64:?} is not canonical"));
                }
                Ok(bytes)
            };
            let eight = |b: Vec<u8>| <[u8; 8]>::try_from(b.as_slice()).expect("8 bytes");
            match name.as_str() {
                "$integer" => return Ok(Cv::Int(i64::from_le_bytes(eight(decoded(Some(8))?)))),
                "$float" => {
                    let f = f64::from_le_bytes(eight(decoded(Some(8))?));
                    if f.is_nan() && f.to_bits() != 0x7ff8_0000_0000_0000 {
                        return Err("NaN must be written as 0x7ff8000000000000".into());
                    }
                    return Ok(Cv::Float(f));
                }
                "$bytes" => return Ok(Cv::Bytes(decoded(None)?)),
                _ => {}
            }
        }
        Ok(Cv::Obj(members.into_iter().collect()))
    }
}

fn unbase64(text: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = Vec::new();
    for c in text.trim_end_matches('=').bytes() {
        let v = ALPHABET.iter().position(|&a| a == c)?;
        bits.push(v as u32);
    }
    let mut out = Vec::new();
    let (mut acc, mut n) = (0u32, 0);
    for v in bits {
        acc = acc << 6 | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((acc >> n) as u8);
            acc &= (1 << n) - 1;
        }
    }
    Some(out)
}

fn read_canonical(text: &str) -> Result<Cv, String> {
    let mut r = Reader { s: text, at: 0 };
    let v = r.object()?;
    if r.at != text.len() {
        return Err(format!("trailing text at {}", r.at));
    }
    Ok(v)
}

// ---------------------------------------------------------------------------
// Signing fixtures.

const AUD: &str = "https://happy-otter-123.convex.cloud";
const LIMITS: Limits = Limits {
    max_bytes: usize::MAX,
    max_depth: Limits::DEFAULT_MAX_DEPTH,
};

#[derive(Clone, Debug)]
struct Call {
    secret: Vec<u8>,
    kid: String,
    function: String,
    ts: u64,
    nonce: [u8; 16],
    args: BTreeMap<String, Cv>,
    seed: u64,
}

impl Call {
    fn key(&self) -> Key {
        Key::from_secret(&self.kid, &self.secret).expect("a valid key")
    }
    fn sign(&self) -> SignedCall {
        Signer::new(&self.key(), AUD)
            .expect("signer")
            .with_limits(LIMITS)
            .sign_at(
                &self.function,
                &write_args(&self.args, Writer::varied(self.seed)),
                self.ts,
                &Nonce::from_bytes(self.nonce),
            )
            .expect("generated args sign")
    }
    fn verifier(&self) -> Verifier {
        // A second key in the set, so a kid swap can land on a known key.
        let other = Key::from_secret("other", &[0x5a; 32]).expect("key");
        let set = KeySet::new(vec![self.key(), other]).expect("a key set");
        Verifier::new(&set, AUD)
            .expect("verifier")
            .with_limits(LIMITS)
    }
}

fn kid() -> impl Strategy<Value = String> {
    let ch = prop::sample::select(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-"
            .chars()
            .collect::<Vec<_>>(),
    );
    prop::collection::vec(ch, 1..12)
        .prop_map(|c| c.into_iter().collect())
        .prop_filter("'other' is the second key", |k: &String| k != "other")
}

fn audience() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::char::range('a', 'z'), 1..9)
        .prop_map(|c| format!("https://{}.convex.cloud", c.into_iter().collect::<String>()))
}

fn function() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "messages:send",
        "messages",
        "messages.js:send",
        "dir/file.js:fn",
        "a:b:c",
        "admin/users:remove",
    ])
    .prop_map(str::to_owned)
}

fn call() -> impl Strategy<Value = Call> {
    (
        prop::collection::vec(any::<u8>(), 32..=64),
        kid(),
        function(),
        0..=MAX_TIMESTAMP_MS,
        any::<[u8; 16]>(),
        args(),
        any::<u64>(),
    )
        .prop_map(|(secret, kid, function, ts, nonce, args, seed)| Call {
            secret,
            kid,
            function,
            ts,
            nonce,
            args,
            seed,
        })
}

/// `signed_args` with the envelope member `name` replaced: the envelope as
/// JSON text with `field` set to `value` (other members as signed).
fn with_envelope_member(call: &SignedCall, field: &str, value: &str) -> String {
    let e = &call.envelope;
    let mut members = vec![
        ("kid", format!("\"{}\"", e.kid)),
        ("nonce", format!("\"{}\"", e.nonce)),
        ("sig", format!("\"{}\"", e.sig)),
        ("ts", e.ts.to_string()),
        ("v", "1".to_owned()),
    ];
    for m in &mut members {
        if m.0 == field {
            m.1 = value.to_owned();
        }
    }
    let envelope = members
        .iter()
        .map(|(k, v)| format!("\"{k}\":{v}"))
        .collect::<Vec<_>>()
        .join(",");
    let canonical = &call.canonical_args;
    let envelope = format!("\"_callsign\":{{{envelope}}}");
    if canonical == "{}" {
        format!("{{{envelope}}}")
    } else {
        format!("{{{envelope},{}", &canonical[1..])
    }
}

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

fn code<T: std::fmt::Debug>(r: callsign::Result<T>) -> ErrorCode {
    r.expect_err("must be rejected").code()
}

// ---------------------------------------------------------------------------
// Properties.

proptest! {
    #![proptest_config(config(256))]

    /// Member order, whitespace, number and string spellings never change the
    /// canonical bytes; the canonical text decodes back to the same value.
    #[test]
    fn every_spelling_and_member_order_gives_the_same_canonical_bytes(
        args in args(),
        seed_a in any::<u64>(),
        seed_b in any::<u64>(),
    ) {
        let plain = canonicalize(&write_args(&args, Writer::plain()), &LIMITS)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        for seed in [seed_a, seed_b] {
            let text = write_args(&args, Writer::varied(seed));
            let canonical = canonicalize(&text, &LIMITS)
                .map_err(|e| TestCaseError::fail(format!("{e}: {text}")))?;
            prop_assert_eq!(&canonical, &plain, "{}", text);
        }
        let back = read_canonical(&plain).map_err(TestCaseError::fail)?;
        prop_assert_eq!(back, Cv::Obj(args));
    }

    /// Canonical text canonicalizes to itself.
    #[test]
    fn canonicalize_is_idempotent(args in args(), seed in any::<u64>()) {
        let once = canonicalize(&write_args(&args, Writer::varied(seed)), &LIMITS)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let twice = canonicalize(&once, &LIMITS).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(twice, once);
    }

    /// Idempotence also holds for arbitrary text that happens to be accepted.
    #[test]
    fn canonicalize_is_idempotent_on_arbitrary_text(text in text()) {
        if let Ok(once) = canonicalize(&format!("{{\"a\":{text}}}"), &LIMITS) {
            prop_assert_eq!(canonicalize(&once, &LIMITS).map_err(|e| e.to_string()), Ok(once));
        }
    }
}

proptest! {
    #![proptest_config(config(128))]

    /// What a signer signs verifies, at every point of the window, with the
    /// claims it signed, also when the signed args are respelled.
    #[test]
    fn sign_then_verify_round_trips(call in call(), offset in -60_000i64..=60_000, seed in any::<u64>()) {
        let signed = call.sign();
        let verifier = call.verifier();
        let now = call.ts.saturating_add_signed(offset);
        let ok = verifier.verify(&call.function, &signed.signed_args, now)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&ok.kid, &call.kid);
        prop_assert_eq!(&ok.function, &canonical_function_name(&call.function).expect("valid"));
        prop_assert_eq!(ok.ts, call.ts);
        prop_assert_eq!(&ok.nonce, &Nonce::from_bytes(call.nonce).to_string());
        prop_assert_eq!(&ok.canonical_args, &signed.canonical_args);
        prop_assert_eq!(read_canonical(&ok.canonical_args).map_err(TestCaseError::fail)?, Cv::Obj(call.args.clone()));

        // The same call in another spelling: members shuffled, the envelope's
        // numbers respelled, whitespace everywhere.
        let e = &signed.envelope;
        let envelope = format!(
            "{{ \"v\" : 1.0 , \"sig\":\"{}\",\"ts\":{}e0,\n\"nonce\":\"{}\", \"kid\":\"{}\"}}",
            e.sig, e.ts, e.nonce, e.kid
        );
        let respelled = write_with(&call.args, &[("_callsign", &envelope)], Writer::varied(seed));
        let again = verifier.verify(&call.function, &respelled, now)
            .map_err(|e| TestCaseError::fail(format!("{e}: {respelled}")))?;
        prop_assert_eq!(again, ok);
    }

    /// Any change to the args is a bad signature.
    #[test]
    fn changed_args_are_rejected(call in call(), path in any::<u64>()) {
        let signed = call.sign();
        let mut changed = call.args.clone();
        change_somewhere(&mut changed, path);
        let changed_canonical = canonicalize(&write_args(&changed, Writer::plain()), &LIMITS)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_ne!(&changed_canonical, &signed.canonical_args, "the change must change the value");
        let text = write_with(&changed, &[("_callsign", &signed.envelope.to_json())], Writer::varied(path));
        prop_assert_eq!(code(call.verifier().verify(&call.function, &text, call.ts)), ErrorCode::BadSignature);
    }

    /// Another function or audience is a bad signature (unless it names the
    /// same function, as `messages` and `messages:default` do).
    #[test]
    fn other_function_or_audience_is_rejected(call in call(), function in function(), audience in audience()) {
        let signed = call.sign();
        let same = canonical_function_name(&function) == canonical_function_name(&call.function);
        let got = call.verifier().verify(&function, &signed.signed_args, call.ts);
        if same {
            prop_assert!(got.is_ok(), "{:?}", got);
        } else {
            prop_assert_eq!(code(got), ErrorCode::BadSignature);
        }
        prop_assume!(audience != AUD);
        let other = Verifier::new(&KeySet::from(call.key()), &audience).expect("verifier");
        prop_assert_eq!(code(other.verify(&call.function, &signed.signed_args, call.ts)), ErrorCode::BadSignature);
    }

    /// Another ts or nonce is a bad signature, whatever the window says (the
    /// MAC is checked first, SPEC.md §7).
    #[test]
    fn changed_ts_or_nonce_is_rejected(call in call(), ts in 0..=MAX_TIMESTAMP_MS, nonce in any::<[u8; 16]>()) {
        let signed = call.sign();
        let verifier = call.verifier();
        prop_assume!(ts != call.ts);
        let text = with_envelope_member(&signed, "ts", &ts.to_string());
        prop_assert_eq!(code(verifier.verify(&call.function, &text, call.ts)), ErrorCode::BadSignature);
        prop_assume!(nonce != call.nonce);
        let text = with_envelope_member(&signed, "nonce", &format!("\"{}\"", Nonce::from_bytes(nonce)));
        prop_assert_eq!(code(verifier.verify(&call.function, &text, call.ts)), ErrorCode::BadSignature);
    }

    /// A kid the verifier lacks is unknown_key; the other kid it holds is a
    /// bad signature; a kid that is not a kid, or another version, is malformed.
    #[test]
    fn changed_kid_or_version_is_rejected(call in call(), stranger in kid(), v in 0u32..1000) {
        let signed = call.sign();
        let verifier = call.verifier();
        let verify = |text: &str| verifier.verify(&call.function, text, call.ts);
        let text = with_envelope_member(&signed, "kid", "\"other\"");
        prop_assert_eq!(code(verify(&text)), ErrorCode::BadSignature);
        let text = with_envelope_member(&signed, "kid", "\"bad_kid\"");
        prop_assert_eq!(code(verify(&text)), ErrorCode::Malformed);
        if stranger != call.kid {
            let text = with_envelope_member(&signed, "kid", &format!("\"{stranger}\""));
            prop_assert_eq!(code(verify(&text)), ErrorCode::UnknownKey);
        }
        if v != 1 {
            let text = with_envelope_member(&signed, "v", &v.to_string());
            prop_assert_eq!(code(verify(&text)), ErrorCode::Malformed);
        }
    }

    /// Flipping any bit of any signature byte is a bad signature.
    #[test]
    fn any_flipped_signature_bit_is_rejected(call in call(), byte in 0usize..32, bit in 0u8..8) {
        let signed = call.sign();
        let mut sig = [0u8; 32];
        for (i, b) in sig.iter_mut().enumerate() {
            *b = u8::from_str_radix(&signed.envelope.sig[2 * i..2 * i + 2], 16).expect("hex");
        }
        sig[byte] ^= 1 << bit;
        let hex: String = sig.iter().map(|b| format!("{b:02x}")).collect();
        let text = with_envelope_member(&signed, "sig", &format!("\"{hex}\""));
        prop_assert_eq!(code(call.verifier().verify(&call.function, &text, call.ts)), ErrorCode::BadSignature);
    }
}

/// Changes one place of `args`, chosen by `path`, so that the value differs.
fn change_somewhere(args: &mut BTreeMap<String, Cv>, path: u64) {
    let mut obj = Cv::Obj(std::mem::take(args));
    change(&mut obj, path);
    let Cv::Obj(members) = obj else {
        unreachable!("stays an object")
    };
    *args = members;
}

fn change(v: &mut Cv, path: u64) {
    let (choice, rest) = (path % 7, path / 7);
    match v {
        Cv::Null => *v = Cv::Bool(false),
        Cv::Bool(b) => *b = !*b,
        Cv::Float(f) => *v = Cv::Str(f.to_string()),
        Cv::Int(i) => *i ^= 1,
        Cv::Bytes(b) => b.push(0),
        Cv::Str(s) => s.push('x'),
        Cv::Arr(items) => {
            if items.is_empty() || choice == 0 {
                items.push(Cv::Null);
            } else {
                let n = items.len() as u64;
                change(&mut items[(rest % n) as usize], rest / n);
            }
        }
        Cv::Obj(members) => {
            if members.is_empty() || choice == 0 {
                let mut name = String::from("added");
                while members.contains_key(&name) {
                    name.push('+');
                }
                members.insert(name, Cv::Null);
            } else if choice == 1 {
                let first = members.keys().next().expect("non-empty").clone();
                members.remove(&first);
            } else {
                let n = members.len() as u64;
                let key = members
                    .keys()
                    .nth((rest % n) as usize)
                    .expect("in range")
                    .clone();
                change(members.get_mut(&key).expect("present"), rest / n);
            }
        }
    }
}
