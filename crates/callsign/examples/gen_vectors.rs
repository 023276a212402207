//! Regenerates the shared test vectors in `tests/vectors/` (format: its README).
//!
//! ```text
//! cargo run -p callsign --example gen_vectors            # rewrite the four files
//! cargo run -p callsign --example gen_vectors -- --check # fail if a file is stale
//! ```
//!
//! Everything a vector *expects* is written by hand below, from the rules of
//! SPEC.md: canonical forms, canonical function names, error codes and the
//! claims of a successful verification. The generator asserts that the library
//! agrees with every expectation (and lists all disagreements before failing).
//! It computes only what cannot be written by hand: derived keys, MACs and the
//! signed args that carry them. Even those are cross-checked here: the signing
//! message is framed by hand and compared with the library's, and the MAC is
//! recomputed with `hmac` directly. `tests/node/` checks them again with
//! node:crypto, independently of Rust.

use std::path::{Path, PathBuf};

use callsign::spec::{self, signing_message};
use callsign::{
    canonicalize, Error, Key, KeySet, Limits, MemoryNonceStore, Nonce, NonceStore, SignedCall,
    Signer, Verified, Verifier, Window,
};
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use sha2::Sha256;

// ---------------------------------------------------------------------------
// Shared inputs.

const AUD: &str = "https://happy-otter-123.convex.cloud";
const AUD_B: &str = "https://sad-badger-456.convex.cloud";
const AUD_LOCAL: &str = "http://127.0.0.1:3210";
const T: u64 = 1_700_000_000_000;
const N1: &str = "00112233445566778899aabbccddeeff";
const N2: &str = "ffeeddccbbaa99887766554433221100";
const N3: &str = "0123456789abcdef0123456789abcdef";
const MAX_AGE: u64 = 60_000;
const MAX_FUTURE: u64 = 60_000;
const ENVELOPE: &str = "_callsign";

/// Hex of the bytes `start, start+1, …` (`n` of them): readable test secrets.
fn seq_hex(start: u8, n: usize) -> String {
    (0..n)
        .map(|i| format!("{:02x}", start.wrapping_add(i as u8)))
        .collect()
}

fn k1() -> String {
    format!("csk1_k1_{}", seq_hex(0x00, 32))
}
fn k2() -> String {
    format!("csk1_k2_{}", seq_hex(0x20, 32))
}
/// Same kid as `k1`, different secret.
fn k1_impostor() -> String {
    format!("csk1_k1_{}", seq_hex(0x80, 32))
}
fn big() -> String {
    format!("csk1_big_{}", seq_hex(0x00, 64))
}
fn derived(root: &str, audience: &str) -> String {
    Key::parse(root)
        .and_then(|k| k.derive(audience))
        .map(|k| k.to_key_string().to_string())
        .unwrap_or_else(|e| panic!("deriving {root} for {audience}: {e}"))
}

// ---------------------------------------------------------------------------
// Vector shapes (field order = output order).

#[derive(Serialize, Clone, Copy, Default)]
struct LimitsJ {
    #[serde(skip_serializing_if = "Option::is_none")]
    max_bytes: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_depth: Option<usize>,
}

impl LimitsJ {
    fn resolve(over: Option<LimitsJ>) -> Limits {
        let d = Limits::default();
        let o = over.unwrap_or_default();
        Limits {
            max_bytes: o.max_bytes.unwrap_or(d.max_bytes),
            max_depth: o.max_depth.unwrap_or(d.max_depth),
        }
    }
}

#[derive(Serialize, Clone)]
struct Repeat {
    prefix: String,
    unit: String,
    count: usize,
    suffix: String,
}

impl Repeat {
    fn expand(&self) -> String {
        format!(
            "{}{}{}",
            self.prefix,
            self.unit.repeat(self.count),
            self.suffix
        )
    }
}

fn rep(prefix: &str, unit: &str, count: usize, suffix: &str) -> Repeat {
    Repeat {
        prefix: prefix.into(),
        unit: unit.into(),
        count,
        suffix: suffix.into(),
    }
}

#[derive(Serialize)]
struct CanonCase {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    input: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    input_repeat: Option<Repeat>,
    /// Lowercase hex of raw input bytes that are not UTF-8 (invalid cases only).
    #[serde(skip_serializing_if = "Option::is_none")]
    input_hex: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    canonical: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limits: Option<LimitsJ>,
}

impl CanonCase {
    fn input(&self) -> String {
        match (&self.input, &self.input_repeat, &self.input_hex) {
            (Some(text), None, None) => text.clone(),
            (None, Some(r), None) => r.expand(),
            _ => unreachable!("exactly one of input / input_repeat (input_hex has no text)"),
        }
    }
    fn max_bytes(&mut self, n: usize) -> &mut Self {
        self.limits.get_or_insert_with(LimitsJ::default).max_bytes = Some(n);
        self
    }
    fn max_depth(&mut self, n: usize) -> &mut Self {
        self.limits.get_or_insert_with(LimitsJ::default).max_depth = Some(n);
        self
    }
    fn code(&mut self, code: &'static str) -> &mut Self {
        self.error = Some(code);
        self
    }
}

#[derive(Default)]
struct Canon {
    valid: Vec<CanonCase>,
    invalid: Vec<CanonCase>,
}

impl Canon {
    fn ok(&mut self, name: &str, input: &str, canonical: &str) -> &mut CanonCase {
        self.valid.push(CanonCase {
            name: name.into(),
            input: Some(input.into()),
            input_repeat: None,
            input_hex: None,
            canonical: Some(canonical.into()),
            error: None,
            limits: None,
        });
        self.valid.last_mut().expect("pushed")
    }
    fn ok_rep(&mut self, name: &str, input: Repeat, canonical: &str) -> &mut CanonCase {
        self.valid.push(CanonCase {
            name: name.into(),
            input: None,
            input_repeat: Some(input),
            input_hex: None,
            canonical: Some(canonical.into()),
            error: None,
            limits: None,
        });
        self.valid.last_mut().expect("pushed")
    }
    /// `{"n":<text>}` canonicalizes to `{"n":<expected>}`.
    fn num(&mut self, text: &str, expected: &str, why: &str) {
        let name = if why.is_empty() {
            format!("number {text} -> {expected}")
        } else {
            format!("number {text} -> {expected} ({why})")
        };
        self.ok(
            &name,
            &format!("{{\"n\":{text}}}"),
            &format!("{{\"n\":{expected}}}"),
        );
    }
    fn bad(&mut self, name: &str, input: &str) -> &mut CanonCase {
        self.invalid.push(CanonCase {
            name: name.into(),
            input: Some(input.into()),
            input_repeat: None,
            input_hex: None,
            canonical: None,
            error: Some("malformed"),
            limits: None,
        });
        self.invalid.last_mut().expect("pushed")
    }
    /// Raw input bytes that are not valid UTF-8 (stored as `input_hex`).
    fn bad_bytes(&mut self, name: &str, input: &[u8]) -> &mut CanonCase {
        self.invalid.push(CanonCase {
            name: name.into(),
            input: None,
            input_repeat: None,
            input_hex: Some(hex::encode(input)),
            canonical: None,
            error: Some("malformed"),
            limits: None,
        });
        self.invalid.last_mut().expect("pushed")
    }
    fn bad_rep(&mut self, name: &str, input: Repeat) -> &mut CanonCase {
        self.invalid.push(CanonCase {
            name: name.into(),
            input: None,
            input_repeat: Some(input),
            input_hex: None,
            canonical: None,
            error: Some("malformed"),
            limits: None,
        });
        self.invalid.last_mut().expect("pushed")
    }
}

#[derive(Serialize)]
struct KeyValid {
    name: String,
    key: String,
    kid: String,
    audience: Option<String>,
    /// SPEC §6.5: what messages and `inspectKey` show instead of the audience.
    audience_fingerprint: Option<String>,
    /// The key string the parsed key writes back, when it differs from `key`
    /// (surrounding ASCII whitespace is dropped).
    #[serde(skip_serializing_if = "Option::is_none")]
    canonical: Option<String>,
}

#[derive(Serialize)]
struct KeyInvalid {
    name: String,
    key: String,
    error: &'static str,
}

#[derive(Serialize)]
struct Derive {
    name: String,
    root: String,
    audience: String,
    derived: String,
}

#[derive(Serialize)]
struct KeySetCase {
    name: String,
    keys: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    kids: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
}

#[derive(Serialize)]
struct SignCase {
    name: String,
    key: String,
    audience: String,
    function: String,
    ts: u64,
    nonce: String,
    args: String,
    canonical_function: String,
    canonical_args: String,
    message: String,
    sig: String,
    signed_args: String,
}

/// A call the signer must refuse (signing.json `invalid`).
#[derive(Serialize, Clone)]
struct SignInvalid {
    name: String,
    key: String,
    audience: String,
    function: String,
    ts: u64,
    nonce: String,
    args: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    envelope_field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limits: Option<LimitsJ>,
    error: &'static str,
}

/// A function name and its canonical form or error (signing.json `functions`).
#[derive(Serialize)]
struct FunctionCase {
    name: String,
    input: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    canonical: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
}

#[derive(Serialize, Clone, Copy, Default)]
struct WindowJ {
    #[serde(skip_serializing_if = "Option::is_none")]
    max_age_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_future_ms: Option<u64>,
}

#[derive(Serialize)]
struct VerifyDefaults {
    keys: String,
    audience: String,
    function: String,
    window: WindowJ,
    limits: LimitsJ,
    envelope_field: String,
}

#[derive(Serialize, Clone, PartialEq, Debug)]
struct Claims {
    kid: String,
    function: String,
    ts: u64,
    nonce: String,
    remember_until: u64,
    canonical_args: String,
}

impl From<&Verified> for Claims {
    fn from(v: &Verified) -> Claims {
        Claims {
            kid: v.kid.clone(),
            function: v.function.clone(),
            ts: v.ts,
            nonce: v.nonce.clone(),
            remember_until: v.remember_until,
            canonical_args: v.canonical_args.clone(),
        }
    }
}

#[derive(Serialize, Clone, Default)]
struct VCase {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    keys: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    audience: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    function: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    window: Option<WindowJ>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limits: Option<LimitsJ>,
    #[serde(skip_serializing_if = "Option::is_none")]
    envelope_field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signed_args: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signed_args_repeat: Option<Repeat>,
    now: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    verified: Option<Claims>,
}

/// A case or step: `signed_args` verified at `now`.
fn vc(name: &str, signed_args: &str, now: u64) -> VCase {
    VCase {
        name: (!name.is_empty()).then(|| name.to_owned()),
        signed_args: Some(signed_args.to_owned()),
        now,
        ..VCase::default()
    }
}

/// A sequence step (no name).
fn step(signed_args: &str, now: u64) -> VCase {
    vc("", signed_args, now)
}

impl VCase {
    fn err(mut self, code: &'static str) -> Self {
        self.error = Some(code);
        self
    }
    fn ok(mut self, claims: Claims) -> Self {
        self.verified = Some(claims);
        self
    }
    fn keys(mut self, keys: &str) -> Self {
        self.keys = Some(keys.into());
        self
    }
    fn audience(mut self, audience: &str) -> Self {
        self.audience = Some(audience.into());
        self
    }
    fn function(mut self, function: &str) -> Self {
        self.function = Some(function.into());
        self
    }
    fn window(mut self, max_age_ms: u64, max_future_ms: u64) -> Self {
        self.window = Some(WindowJ {
            max_age_ms: Some(max_age_ms),
            max_future_ms: Some(max_future_ms),
        });
        self
    }
    /// Overrides only `window.max_age_ms`; `max_future_ms` stays the default.
    fn max_age(mut self, max_age_ms: u64) -> Self {
        self.window = Some(WindowJ {
            max_age_ms: Some(max_age_ms),
            max_future_ms: None,
        });
        self
    }
    fn max_bytes(mut self, n: usize) -> Self {
        self.limits.get_or_insert_with(LimitsJ::default).max_bytes = Some(n);
        self
    }
    fn field(mut self, name: &str) -> Self {
        self.envelope_field = Some(name.into());
        self
    }
    fn repeat(mut self, r: Repeat) -> Self {
        self.signed_args = None;
        self.signed_args_repeat = Some(r);
        self
    }
}

/// Hand-written claims of a successful verification.
fn claims(kid: &str, function: &str, ts: u64, nonce: &str, max_age: u64, args: &str) -> Claims {
    Claims {
        kid: kid.into(),
        function: function.into(),
        ts,
        nonce: nonce.into(),
        remember_until: ts + max_age,
        canonical_args: args.into(),
    }
}

#[derive(Serialize)]
struct Sequence {
    name: String,
    steps: Vec<VCase>,
}

// ---------------------------------------------------------------------------
// Checks shared by all sections.

#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn expect_code<T: std::fmt::Debug>(&mut self, what: &str, got: Result<T, Error>, code: &str) {
        match got {
            Err(e) if e.code().as_str() == code => {}
            other => self
                .0
                .push(format!("{what}: expected {code}, got {other:?}")),
        }
    }
    fn expect_eq<T: PartialEq + std::fmt::Debug>(&mut self, what: &str, got: T, want: T) {
        if got != want {
            self.0
                .push(format!("{what}:\n    got  {got:?}\n    want {want:?}"));
        }
    }
}

// ---------------------------------------------------------------------------
// canonical.json

fn canonical_cases() -> Canon {
    let mut c = Canon::default();
    let neg0 = r#"{"$float":"AAAAAAAAAIA="}"#;
    let nan = r#"{"$float":"AAAAAAAA+H8="}"#;

    // --- Objects, key order, whitespace.
    c.ok("empty object", "{}", "{}");
    c.ok(
        "empty object surrounded by all four JSON whitespace characters",
        " \t\n\r{ \t\n\r} \t\n\r",
        "{}",
    );
    c.ok(
        "whitespace between every pair of tokens is dropped, not inside strings",
        "\n{\n\t\"b\" :\r\n[ 1 ,\t2 ] ,  \"a\"\t:\t{ } , \"c\" : \"x y\" }\n",
        r#"{"a":{},"b":[1,2],"c":"x y"}"#,
    );
    c.ok(
        "keys sort by UTF-16 code units: empty < space < digit < upper < '_' < lower; prefixes first; '~' last",
        r#"{"~":1,"b":2,"ab":3,"aa":4,"a":5,"_":6,"a_":7,"B":8,"A":9,"9":10," ":11,"":12}"#,
        r#"{"":12," ":11,"9":10,"A":9,"B":8,"_":6,"a":5,"a_":7,"aa":4,"ab":3,"b":2,"~":1}"#,
    );
    c.ok(
        "integer-like keys sort as strings (a JS object would enumerate them numerically first)",
        r#"{"b":0,"10":1,"9":2,"1":3,"-1":4}"#,
        r#"{"-1":4,"1":3,"10":1,"9":2,"b":0}"#,
    );
    c.ok(
        "punctuation keys, including quote and backslash, sort by code unit",
        r#"{"{":1,"`":2,"[":3,"Z":4,"@":5,"!":6,"\"":7,"\\":8}"#,
        r#"{"!":6,"\"":7,"@":5,"Z":4,"[":3,"\\":8,"`":2,"{":1}"#,
    );
    c.ok(
        "escaped keys sort by their decoded value",
        r#"{"\u0062":1,"\u0041":2,"\/":3}"#,
        r#"{"/":3,"A":2,"b":1}"#,
    );
    c.ok(
        "nested objects are sorted at every level; array order is kept",
        r#"{"z":{"b":[{"d":1,"c":2},3,1],"a":null},"y":[]}"#,
        r#"{"y":[],"z":{"a":null,"b":[{"c":2,"d":1},3,1]}}"#,
    );
    c.ok(
        "true, false and null",
        r#"{"t":true,"f":false,"n":null}"#,
        r#"{"f":false,"n":null,"t":true}"#,
    );
    c.ok(
        "underscore-prefixed field names are allowed",
        r#"{"_id":1,"__":2,"_":3}"#,
        r#"{"_":3,"__":2,"_id":1}"#,
    );
    c.ok("empty key and empty string", r#"{"":""}"#, r#"{"":""}"#);
    c.ok(
        "constructor and toString are ordinary keys (only __proto__ is refused, below)",
        r#"{"toString":1,"constructor":null,"valueOf":{"b":1,"a":2}}"#,
        r#"{"constructor":null,"toString":1,"valueOf":{"a":2,"b":1}}"#,
    );
    c.ok_rep(
        "field name of 1024 bytes (Convex's maximum)",
        rep("{\"", "k", 1024, "\":1}"),
        &format!("{{\"{}\":1}}", "k".repeat(1024)),
    );
    c.ok(
        "nested empty containers",
        r#"{"a":[[],{},[{}]],"b":{"c":{}}}"#,
        r#"{"a":[[],{},[{}]],"b":{"c":{}}}"#,
    );

    // --- Numbers: parsed to the nearest double (ties to even), printed as
    // ECMAScript Number::toString.
    c.num("1.0", "1", "");
    c.num("1e0", "1", "");
    c.num("10E-1", "1", "");
    c.num("0.1e1", "1", "");
    c.num("1E2", "100", "");
    c.num("1e+2", "100", "");
    c.num("100e-2", "1", "");
    c.num("123.456e2", "12345.6", "");
    c.num("1.23e+5", "123000", "");
    c.num("0", "0", "");
    c.num("0.0", "0", "");
    c.num("0e10", "0", "");
    c.num("0E-10", "0", "");
    c.num("0e400", "0", "zero with a huge exponent is still zero");
    c.num("-1", "-1", "");
    c.num("-1.0", "-1", "");
    c.num("4.35", "4.35", "");
    c.num(
        "9007199254740993",
        "9007199254740992",
        "2^53+1 rounds to even",
    );
    c.num(
        "9007199254740995",
        "9007199254740996",
        "2^53+3 rounds to even",
    );
    c.num("-9007199254740991", "-9007199254740991", "");
    c.num(
        "1e20",
        "100000000000000000000",
        "below 1e21: integer digits",
    );
    c.num("1e21", "1e+21", "from 1e21 up: exponent form");
    c.num("-1e21", "-1e+21", "");
    c.num("1e23", "1e+23", "shortest round-trip digits");
    c.num(
        "123456789012345678901",
        "123456789012345680000",
        "17 significant digits, zero-filled",
    );
    c.num("18446744073709551616", "18446744073709552000", "2^64");
    c.num("0.000001", "0.000001", "1e-6 is still decimal");
    c.num("1e-7", "1e-7", "below 1e-6: exponent form");
    c.num("1.5e-7", "1.5e-7", "");
    c.num("2.5e-5", "0.000025", "");
    c.num("-0.000001", "-0.000001", "");
    c.num("0.1", "0.1", "");
    c.num("0.30000000000000004", "0.30000000000000004", "");
    c.num(
        "0.1000000000000000055511151231257827",
        "0.1",
        "long mantissa, same double",
    );
    c.num("-1.5e-300", "-1.5e-300", "");
    c.num(
        "2.2250738585072014e-308",
        "2.2250738585072014e-308",
        "smallest normal",
    );
    c.num("5e-324", "5e-324", "smallest subnormal");
    c.num("3e-324", "5e-324", "rounds up to the smallest subnormal");
    c.num("2e-324", "0", "rounds down to zero");
    c.num("1e-400", "0", "underflows to zero");
    c.num(
        "1.7976931348623157e308",
        "1.7976931348623157e+308",
        "largest double",
    );
    c.num(
        "1.7976931348623158e308",
        "1.7976931348623157e+308",
        "below the rounding midpoint to 2^1024",
    );

    // --- Negative zero: Convex hands -0 to a function as a $float.
    for spelling in ["-0", "-0.0", "-0e3", "-0E+0", "-1e-400", "-2e-324"] {
        c.ok(
            &format!("negative zero {spelling} -> $float"),
            &format!("{{\"n\":{spelling}}}"),
            &format!("{{\"n\":{neg0}}}"),
        );
    }
    c.ok(
        "negative zero nested in arrays and objects; +0 stays a number",
        r#"{"a":[-0,0,{"b":-0.0}]}"#,
        &format!("{{\"a\":[{neg0},0,{{\"b\":{neg0}}}]}}"),
    );

    // --- $float: only NaN, ±Infinity and -0; every NaN becomes the quiet NaN
    // 0x7ff8000000000000.
    c.ok(
        "$float -0 is kept",
        &format!("{{\"n\":{neg0}}}"),
        &format!("{{\"n\":{neg0}}}"),
    );
    c.ok(
        "$float canonical NaN is kept",
        &format!("{{\"n\":{nan}}}"),
        &format!("{{\"n\":{nan}}}"),
    );
    c.ok(
        "$float NaN with a payload (0x7ff8000000000001) -> canonical NaN",
        r#"{"n":{"$float":"AQAAAAAA+H8="}}"#,
        &format!("{{\"n\":{nan}}}"),
    );
    c.ok(
        "$float negative NaN (0xfff8000000000000) -> canonical NaN",
        r#"{"n":{"$float":"AAAAAAAA+P8="}}"#,
        &format!("{{\"n\":{nan}}}"),
    );
    c.ok(
        "$float signaling NaN (0x7ff0000000000001) -> canonical NaN",
        r#"{"n":{"$float":"AQAAAAAA8H8="}}"#,
        &format!("{{\"n\":{nan}}}"),
    );
    c.ok(
        "$float all-ones NaN (0xffffffffffffffff) -> canonical NaN",
        r#"{"n":{"$float":"//////////8="}}"#,
        &format!("{{\"n\":{nan}}}"),
    );
    c.ok(
        "$float +Infinity",
        r#"{"n":{"$float":"AAAAAAAA8H8="}}"#,
        r#"{"n":{"$float":"AAAAAAAA8H8="}}"#,
    );
    c.ok(
        "$float -Infinity",
        r#"{"n":{"$float":"AAAAAAAA8P8="}}"#,
        r#"{"n":{"$float":"AAAAAAAA8P8="}}"#,
    );
    c.ok(
        "whitespace inside a special form is dropped",
        "{\"n\":{ \"$float\" :\n\"AAAAAAAA8H8=\" }}",
        r#"{"n":{"$float":"AAAAAAAA8H8="}}"#,
    );
    c.ok(
        "special-form key and base64 given with escapes",
        r#"{"n":{"\u0024float":"AAAAAAAA8H8\u003d"}}"#,
        r#"{"n":{"$float":"AAAAAAAA8H8="}}"#,
    );

    // --- $integer: 8 bytes, little-endian two's complement.
    for (what, b64) in [
        ("0", "AAAAAAAAAAA="),
        ("1", "AQAAAAAAAAA="),
        ("-1", "//////////8="),
        ("i64 min", "AAAAAAAAAIA="),
        ("i64 max", "/////////38="),
    ] {
        let text = format!("{{\"i\":{{\"$integer\":\"{b64}\"}}}}");
        c.ok(&format!("$integer {what}"), &text, &text);
    }

    // --- $bytes: any length, canonical padded base64.
    for (what, b64) in [
        ("empty", ""),
        ("1 byte", "AQ=="),
        ("2 bytes", "AQI="),
        ("3 bytes", "AQID"),
        ("4 bytes", "AQIDBA=="),
        ("with + and / (fb ff)", "+/8="),
    ] {
        let text = format!("{{\"b\":{{\"$bytes\":\"{b64}\"}}}}");
        c.ok(&format!("$bytes {what}"), &text, &text);
    }
    c.ok(
        "special forms inside arrays and sorted among other keys",
        r#"{"z":[{"$bytes":""},{"$integer":"AQAAAAAAAAA="}],"a":{"$float":"AAAAAAAA8H8="}}"#,
        r#"{"a":{"$float":"AAAAAAAA8H8="},"z":[{"$bytes":""},{"$integer":"AQAAAAAAAAA="}]}"#,
    );

    // --- Nesting: the args object is depth 1; special forms are scalars.
    c.ok_rep(
        "nesting exactly at the default limit: 63 objects",
        rep("", "{\"a\":", 62, &format!("{{}}{}", "}".repeat(62))),
        &format!("{}{{}}{}", "{\"a\":".repeat(62), "}".repeat(62)),
    );
    c.ok_rep(
        "nesting exactly at the default limit: args object + 62 arrays",
        rep("{\"a\":", "[", 62, &format!("{}}}", "]".repeat(62))),
        &format!("{{\"a\":{}{}}}", "[".repeat(62), "]".repeat(62)),
    );
    c.ok_rep(
        "$integer as a value in the deepest allowed object (special forms add no level)",
        rep(
            "",
            "{\"a\":",
            63,
            &format!("{{\"$integer\":\"AQAAAAAAAAA=\"}}{}", "}".repeat(63)),
        ),
        &format!(
            "{}{{\"$integer\":\"AQAAAAAAAAA=\"}}{}",
            "{\"a\":".repeat(63),
            "}".repeat(63)
        ),
    );
    c.ok_rep(
        "NaN $float with a payload inside the deepest allowed array is canonicalized",
        rep(
            "{\"a\":",
            "[",
            62,
            &format!("{{\"$float\":\"AQAAAAAA+H8=\"}}{}}}", "]".repeat(62)),
        ),
        &format!("{{\"a\":{}{nan}{}}}", "[".repeat(62), "]".repeat(62)),
    );
    c.ok_rep(
        "-0 (becomes a $float) and $bytes inside the deepest allowed object (depth 63)",
        rep(
            "",
            "{\"a\":",
            62,
            &format!(
                "{{\"z\":-0,\"b\":{{\"$bytes\":\"AQID\"}}}}{}",
                "}".repeat(62)
            ),
        ),
        &format!(
            "{}{{\"b\":{{\"$bytes\":\"AQID\"}},\"z\":{neg0}}}{}",
            "{\"a\":".repeat(62),
            "}".repeat(62)
        ),
    );
    c.ok(
        "max_depth 1: a special form is still allowed as a field value",
        r#"{"a":{"$integer":"AQAAAAAAAAA="}}"#,
        r#"{"a":{"$integer":"AQAAAAAAAAA="}}"#,
    )
    .max_depth(1);
    c.ok(
        "max_depth 2: array holding a special form",
        r#"{"a":[{"$bytes":""}]}"#,
        r#"{"a":[{"$bytes":""}]}"#,
    )
    .max_depth(2);

    // --- Strings: JCS / JSON.stringify escaping.
    c.ok(
        "all C0 controls: \\b \\t \\n \\f \\r short, the rest \\u00xx lowercase",
        r#"{"s":"\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u0009\u000a\u000b\u000c\u000d\u000e\u000f\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f"}"#,
        r#"{"s":"\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000b\f\r\u000e\u000f\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f"}"#,
    );
    c.ok(
        "short escapes stay short",
        r#"{"s":"\b\f\n\r\t"}"#,
        r#"{"s":"\b\f\n\r\t"}"#,
    );
    c.ok(
        "uppercase hex in escapes; control output is lowercase",
        r#"{"s":"\u001F\u00E9\u00e9"}"#,
        "{\"s\":\"\\u001f\u{e9}\u{e9}\"}",
    );
    c.ok(
        "DEL (U+007F) escaped in the input is written raw",
        r#"{"s":"\u007f"}"#,
        "{\"s\":\"\u{7f}\"}",
    );
    c.ok(
        "DEL (U+007F) raw stays raw",
        "{\"s\":\"\u{7f}\"}",
        "{\"s\":\"\u{7f}\"}",
    );
    c.ok(
        "U+2028 and U+2029 escaped in the input are written raw",
        r#"{"s":"\u2028\u2029"}"#,
        "{\"s\":\"\u{2028}\u{2029}\"}",
    );
    c.ok(
        "U+2028 and U+2029 raw stay raw",
        "{\"s\":\"\u{2028}\u{2029}\"}",
        "{\"s\":\"\u{2028}\u{2029}\"}",
    );
    c.ok("\\/ becomes /", r#"{"s":"\/a\/"}"#, r#"{"s":"/a/"}"#);
    c.ok(
        "quotes and backslashes stay escaped",
        r#"{"s":"\"\\\"\\"}"#,
        r#"{"s":"\"\\\"\\"}"#,
    );
    c.ok(
        "escaped ASCII letters are unescaped",
        r#"{"s":"\u0041\u0062"}"#,
        r#"{"s":"Ab"}"#,
    );
    c.ok(
        "astral character (U+1F600) given raw",
        "{\"s\":\"\u{1f600}\"}",
        "{\"s\":\"\u{1f600}\"}",
    );
    c.ok(
        "astral character as an escaped surrogate pair is written raw",
        r#"{"s":"\ud83d\ude00"}"#,
        "{\"s\":\"\u{1f600}\"}",
    );
    c.ok(
        "surrogate pair escape in uppercase hex",
        r#"{"s":"\uD83D\uDE00"}"#,
        "{\"s\":\"\u{1f600}\"}",
    );
    c.ok(
        "U+E000..U+FFFF (private use, BOM, replacement, noncharacter) are written raw",
        r#"{"s":"\ue000\uf8ff\ufeff\ufffd\uffff"}"#,
        "{\"s\":\"\u{e000}\u{f8ff}\u{feff}\u{fffd}\u{ffff}\"}",
    );
    c.ok(
        "non-ASCII BMP characters raw and escaped",
        "{\"s\":\"\u{e9}\\u00e9\u{4e2d}\"}",
        "{\"s\":\"\u{e9}\u{e9}\u{4e2d}\"}",
    );
    c.ok(
        "non-ASCII string values are fine (only field names are restricted)",
        "{\"k\":[\"\u{1f600}\",\"\u{e000}\"]}",
        "{\"k\":[\"\u{1f600}\",\"\u{e000}\"]}",
    );

    // --- Size limit (bytes of the input text).
    c.ok(
        "input of exactly max_bytes is accepted",
        r#"{"a":"xy"}"#,
        r#"{"a":"xy"}"#,
    )
    .max_bytes(10);
    c.ok(
        "max_bytes counts UTF-8 bytes: 10 bytes (9 characters) at max_bytes 10",
        "{\"a\":\"\u{e9}\"}",
        "{\"a\":\"\u{e9}\"}",
    )
    .max_bytes(10);

    // =======================================================================
    // Invalid.
    for (what, text) in [
        ("array", "[]"),
        ("string", "\"a\""),
        ("number", "1"),
        ("null", "null"),
        ("true", "true"),
    ] {
        c.bad(&format!("top level is {what}, not an object"), text);
    }
    c.bad(
        "top level is a $integer value, not an args object",
        r#"{"$integer":"AQAAAAAAAAA="}"#,
    );
    c.bad("empty input", "");
    c.bad("whitespace only", " \n\t ");
    c.bad("trailing garbage", "{} x");
    c.bad("two objects", "{}{}");
    c.bad("trailing bracket", "{}]");
    c.bad("trailing comma in object", r#"{"a":1,}"#);
    c.bad("trailing comma in array", r#"{"a":[1,]}"#);
    c.bad("leading comma in object", r#"{,"a":1}"#);
    c.bad("missing comma", r#"{"a":1 "b":2}"#);
    c.bad("missing colon", r#"{"a" 1}"#);
    c.bad("missing value", r#"{"a":}"#);
    c.bad("unclosed object", r#"{"a":1"#);
    c.bad("unclosed array", r#"{"a":[1}"#);
    c.bad("lone opening brace", "{");
    c.bad("unquoted key", "{a:1}");
    c.bad("non-string key", "{1:1}");
    c.bad("leading zero", r#"{"a":01}"#);
    c.bad("leading zero, negative", r#"{"a":-01}"#);
    c.bad("double zero", r#"{"a":00}"#);
    c.bad("1. (no fraction digits)", r#"{"a":1.}"#);
    c.bad(".5 (no integer digits)", r#"{"a":.5}"#);
    c.bad("-.5", r#"{"a":-.5}"#);
    c.bad("+1 (plus sign)", r#"{"a":+1}"#);
    c.bad("lone minus", r#"{"a":-}"#);
    c.bad("1e (no exponent digits)", r#"{"a":1e}"#);
    c.bad("1e+ (no exponent digits)", r#"{"a":1e+}"#);
    c.bad("hex number", r#"{"a":0x10}"#);
    c.bad("NaN literal", r#"{"a":NaN}"#);
    c.bad("Infinity literal", r#"{"a":Infinity}"#);
    c.bad("-Infinity literal", r#"{"a":-Infinity}"#);
    c.bad("1e400 overflows a double", r#"{"a":1e400}"#);
    c.bad("-1e400 overflows a double", r#"{"a":-1e400}"#);
    c.bad(
        "1.7976931348623159e308 rounds to Infinity",
        r#"{"a":1.7976931348623159e308}"#,
    );
    c.bad_rep(
        "integer with 310 digits overflows a double",
        rep("{\"a\":1", "0", 309, "}"),
    );
    c.bad("True (capitalized literal)", r#"{"a":True}"#);
    c.bad("truncated literal", r#"{"a":nul}"#);
    c.bad("literal followed by letters", r#"{"a":truex}"#);
    c.bad("undefined literal", r#"{"a":undefined}"#);

    // Strings.
    c.bad("lone high surrogate", r#"{"a":"\ud800"}"#);
    c.bad("lone low surrogate", r#"{"a":"\udc00"}"#);
    c.bad(
        "high surrogate followed by a non-surrogate escape",
        r#"{"a":"\ud800\u0041"}"#,
    );
    c.bad(
        "high surrogate followed by another high surrogate",
        r#"{"a":"\ud83d\ud83d"}"#,
    );
    c.bad(
        "high surrogate followed by a raw character",
        r#"{"a":"\ud83dx"}"#,
    );
    c.bad(
        "high surrogate followed by a short escape",
        r#"{"a":"\ud83d\n"}"#,
    );
    c.bad("surrogate pair in reverse order", r#"{"a":"\ude00\ud83d"}"#);
    c.bad("lone surrogate in a key", r#"{"\ud800":1}"#);
    c.bad(
        "raw control character U+0001 in a string",
        "{\"a\":\"\u{1}\"}",
    );
    c.bad("raw newline in a string", "{\"a\":\"x\ny\"}");
    c.bad("raw tab in a string", "{\"a\":\"x\ty\"}");
    c.bad("invalid escape \\x", r#"{"a":"\x41"}"#);
    c.bad("invalid escape \\a", r#"{"a":"\a"}"#);
    c.bad("invalid escape \\U", r#"{"a":"\U0041"}"#);
    c.bad("invalid escape \\'", r#"{"a":"\'"}"#);
    c.bad("truncated \\u12 escape", r#"{"a":"\u12"}"#);
    c.bad("\\u12 at the end of input", r#"{"a":"\u12"#);
    c.bad("non-hex digit in \\u escape", r#"{"a":"\u12G4"}"#);
    c.bad("unterminated string", r#"{"a":"abc"#);
    c.bad("unterminated key", r#"{"a"#);
    c.bad("backslash at the end of input", r#"{"a":"\"#);
    c.bad("single-quoted key", "{'a':1}");
    c.bad("single-quoted value", "{\"a\":'b'}");
    c.bad("byte order mark before the object", "\u{feff}{}");
    c.bad("block comment", "{/* c */}");
    c.bad("line comment after the object", "{} // c");
    c.bad("hash comment", "{\"a\":1 # c\n}");
    c.bad("non-breaking space as whitespace", "{\u{a0}}");
    c.bad("form feed as whitespace", "\u{c}{}");
    c.bad("vertical tab as whitespace", "{\u{b}}");
    c.bad("U+2028 as whitespace", "{\u{2028}}");

    // Input that is not UTF-8 (stored as input_hex). Each is valid JSON
    // except for the marked bytes, which sit inside a string value, so the
    // invalid encoding is the only fault (checked below: decoded lossily, the
    // input canonicalizes). The last case cannot be built that way (a
    // non-ASCII byte between tokens is never JSON) and is malformed either way.
    let in_string = |bad: &[u8]| [br#"{"a":""#.as_slice(), bad, br#""}"#].concat();
    c.bad_bytes(
        "not UTF-8: lone continuation byte 0x80 in a string",
        &in_string(&[0x80]),
    );
    c.bad_bytes(
        "not UTF-8: overlong encoding C0 AF of '/' in a string",
        &in_string(&[0xc0, 0xaf]),
    );
    c.bad_bytes(
        "not UTF-8: encoded surrogate ED A0 80 (U+D800) in a string",
        &in_string(&[0xed, 0xa0, 0x80]),
    );
    c.bad_bytes(
        "not UTF-8: truncated sequence E2 82 (of U+20AC) followed by the closing quote",
        &in_string(&[0xe2, 0x82]),
    );
    c.bad_bytes(
        "not UTF-8: F4 90 80 80 encodes U+110000, above U+10FFFF",
        &in_string(&[0xf4, 0x90, 0x80, 0x80]),
    );
    c.bad_bytes(
        "not UTF-8: byte 0xFF between tokens (never JSON either)",
        &[br#"{"a":1"#.as_slice(), &[0xff], b"}"].concat(),
    );

    // Duplicates.
    c.bad("duplicate key", r#"{"a":1,"a":2}"#);
    c.bad("duplicate key with the same value", r#"{"a":1,"a":1}"#);
    c.bad(
        "duplicate key spelled differently: \"a\" and \"\\u0061\"",
        r#"{"a":1,"\u0061":2}"#,
    );
    c.bad(
        "duplicate key spelled differently: \"/\" and \"\\/\"",
        r#"{"/":1,"\/":2}"#,
    );
    c.bad(
        "duplicate key in a nested object",
        r#"{"x":[{"b":1,"c":2,"b":3}]}"#,
    );

    // Field names Convex rejects.
    c.bad(
        "non-ASCII field name (U+00E9): Convex allows only printable ASCII",
        "{\"\u{e9}\":1}",
    );
    c.bad(
        "non-ASCII field name given as an escape (\\u00e9)",
        r#"{"\u00e9":1}"#,
    );
    c.bad(
        "U+1F600 and U+E000 keys (UTF-16 order differs from code-point order, but Convex rejects non-ASCII field names, so no order is defined)",
        "{\"\u{e000}\":1,\"\u{1f600}\":2}",
    );
    c.bad("single U+E000 key: non-ASCII field name", r#"{"\ue000":1}"#);
    c.bad("field name containing DEL (escaped)", r#"{"a\u007f":1}"#);
    c.bad("field name containing DEL (raw)", "{\"a\u{7f}\":1}");
    c.bad("field name containing a newline escape", r#"{"\n":1}"#);
    c.bad("field name containing NUL", r#"{"a\u0000":1}"#);
    c.bad("field name containing a tab", r#"{"\t":1}"#);
    c.bad(
        "nested field name with a control character",
        r#"{"x":{"\u001f":1}}"#,
    );
    // SPEC §2.5: jsonToConvex would make a __proto__ member the prototype.
    c.bad("field name __proto__", r#"{"__proto__":{"isAdmin":true}}"#);
    c.bad(
        "field name __proto__ in a nested object (the review's repro)",
        r#"{"settings":{"__proto__":{"isAdmin":true},"theme":"dark"}}"#,
    );
    c.bad(
        "field name __proto__ in an object inside an array",
        r#"{"a":[{"__proto__":null}]}"#,
    );
    c.bad(
        "field name __proto__ spelled with an escape (\\u005f_proto__)",
        r#"{"\u005f_proto__":1}"#,
    );
    c.ok(
        "field names next to __proto__ are ordinary (__proto, __proto___, constructor)",
        r#"{"__proto":1,"__proto___":2,"constructor":3,"prototype":4}"#,
        r#"{"__proto":1,"__proto___":2,"constructor":3,"prototype":4}"#,
    );
    c.bad_rep(
        "field name of 1025 bytes (over Convex's 1024)",
        rep("{\"", "k", 1025, "\":1}"),
    );
    c.bad("$-prefixed field name", r#"{"$a":1}"#);
    c.bad("field name \"$\"", r#"{"$":1}"#);
    c.bad(
        "$-prefixed field name given as an escape",
        r#"{"\u0024a":1}"#,
    );
    c.bad("nested $-prefixed field name", r#"{"x":{"$y":1}}"#);
    c.bad(
        "$-prefixed field name beside a normal one",
        r#"{"x":{"a":1,"$b":2}}"#,
    );
    c.bad(
        "$integer with another key",
        r#"{"x":{"$integer":"AQAAAAAAAAA=","a":1}}"#,
    );
    c.bad(
        "$float and $bytes in one object",
        r#"{"x":{"$float":"AAAAAAAA+H8=","$bytes":""}}"#,
    );
    c.bad(
        "two $integer keys in one object",
        r#"{"x":{"$integer":"AQAAAAAAAAA=","$integer":"AQAAAAAAAAA="}}"#,
    );
    c.bad("$set (no longer a Convex type)", r#"{"x":{"$set":[]}}"#);
    c.bad("$map (no longer a Convex type)", r#"{"x":{"$map":[]}}"#);
    c.bad("unknown $-key", r#"{"x":{"$foo":"AA=="}}"#);
    c.bad(
        "$commitTs is not accepted in args",
        r#"{"x":{"$commitTs":null}}"#,
    );

    // $integer.
    for (what, value) in [
        ("7 bytes", r#""AQAAAAAAAA==""#),
        ("9 bytes", r#""AQAAAAAAAAAA""#),
        ("0 bytes", r#""""#),
        ("1 byte", r#""AQ==""#),
        ("bad base64 character", r#""AQAAAAAA*AA=""#),
        ("unpadded", r#""AQAAAAAAAAA""#),
        ("extra padding", r#""AQAAAAAAAAA==""#),
        (
            "non-canonical trailing bits (B instead of A)",
            r#""AQAAAAAAAAB=""#,
        ),
        ("URL-safe alphabet (_ for /)", r#""__________8=""#),
        ("URL-safe alphabet (- for +)", r#""AAAAAAAA-H8=""#),
        ("whitespace inside base64", r#""AQAA AAAAAAA=""#),
        ("a number, not a string", "1"),
        ("null, not a string", "null"),
        ("an array, not a string", r#"["AQAAAAAAAAA="]"#),
    ] {
        c.bad(
            &format!("$integer {what}"),
            &format!("{{\"i\":{{\"$integer\":{value}}}}}"),
        );
    }

    // $float.
    for (what, b64) in [
        ("encoding 1.0 (a normal number)", "AAAAAAAA8D8="),
        ("encoding 1.5", "AAAAAAAA+D8="),
        ("encoding -1.0", "AAAAAAAA8L8="),
        ("encoding the largest double", "////////738="),
        ("encoding +0", "AAAAAAAAAAA="),
        ("encoding the smallest subnormal", "AQAAAAAAAAA="),
        ("encoding a negative subnormal", "AQAAAAAAAIA="),
        ("of 4 bytes", "AAAAAA=="),
        ("of 9 bytes", "AAAAAAAAAAAA"),
        ("unpadded", "AAAAAAAA+H8"),
        ("non-canonical trailing bits", "AAAAAAAA+H9="),
        ("bad base64 character", "AAAAAAAA*H8="),
    ] {
        c.bad(
            &format!("$float {what}"),
            &format!("{{\"f\":{{\"$float\":\"{b64}\"}}}}"),
        );
    }
    c.bad("$float holding a number", r#"{"f":{"$float":1.5}}"#);

    // $bytes.
    for (what, value) in [
        ("unpadded", r#""AQI""#),
        ("non-canonical trailing bits", r#""AQJ=""#),
        ("single character", r#""A""#),
        ("URL-safe alphabet", r#""-_8=""#),
        ("padding only", r#""====""#),
        ("padding in the middle", r#""AQ==AQ==""#),
        ("bad base64 character", r#""AQ*D""#),
        ("an array of numbers, not a string", "[1,2,3]"),
    ] {
        c.bad(
            &format!("$bytes {what}"),
            &format!("{{\"b\":{{\"$bytes\":{value}}}}}"),
        );
    }

    // Depth.
    c.bad_rep(
        "nesting one over the default limit: 64 objects",
        rep("", "{\"a\":", 63, &format!("{{}}{}", "}".repeat(63))),
    );
    c.bad_rep(
        "nesting one over the default limit: args object + 63 arrays",
        rep("{\"a\":", "[", 63, &format!("{}}}", "]".repeat(63))),
    );
    c.bad_rep(
        "a non-special single-key object one level past the limit",
        rep(
            "",
            "{\"a\":",
            63,
            &format!("{{\"$bytes\":\"\",\"x\":1}}{}", "}".repeat(63)),
        ),
    );
    c.bad_rep(
        "an unknown $-key object one level past the limit",
        rep(
            "",
            "{\"a\":",
            63,
            &format!("{{\"$foo\":\"\"}}{}", "}".repeat(63)),
        ),
    );
    c.bad_rep(
        "a malformed $integer one level past the limit",
        rep(
            "",
            "{\"a\":",
            63,
            &format!("{{\"$integer\":\"AQ==\"}}{}", "}".repeat(63)),
        ),
    );
    c.bad_rep(
        "very deep nesting is rejected without exhausting the stack",
        rep("{\"a\":", "[", 100_000, ""),
    );
    c.bad("max_depth 2: array inside array", r#"{"a":[[]]}"#)
        .max_depth(2);
    c.bad("max_depth 1: empty object as a field value", r#"{"a":{}}"#)
        .max_depth(1);

    // Size (checked before parsing).
    c.bad("one byte over max_bytes", r#"{"a":"xy"}"#)
        .max_bytes(9)
        .code("too_large");
    c.bad(
        "max_bytes counts UTF-8 bytes, not characters: 10 bytes at max_bytes 9",
        "{\"a\":\"\u{e9}\"}",
    )
    .max_bytes(9)
    .code("too_large");
    c.bad(
        "size is checked before parsing: garbage over the limit is too_large",
        "not json at all",
    )
    .max_bytes(4)
    .code("too_large");
    c.bad("max_bytes 0 rejects even {}", "{}")
        .max_bytes(0)
        .code("too_large");
    c.bad_rep(
        "input over the default 1 MiB limit",
        rep("{\"a\":\"", "x", 1 << 20, "\"}"),
    )
    .code("too_large");
    c
}

fn check_canonical(c: &Canon, p: &mut Problems) {
    for case in &c.valid {
        let limits = LimitsJ::resolve(case.limits);
        let got = canonicalize(&case.input(), &limits);
        p.expect_eq(
            &format!("canonical valid {:?}", case.name),
            got.map_err(|e| e.to_string()),
            Ok(case.canonical.clone().expect("valid")),
        );
    }
    for case in &c.invalid {
        let what = format!("canonical invalid {:?}", case.name);
        let limits = LimitsJ::resolve(case.limits);
        if let Some(hex_text) = &case.input_hex {
            // The &str API cannot even receive these bytes.
            let bytes = hex::decode(hex_text).expect("hex");
            p.expect_eq(&what, std::str::from_utf8(&bytes).is_err(), true);
            p.expect_eq(&what, case.error, Some("malformed"));
            let lossy = canonicalize(&String::from_utf8_lossy(&bytes), &limits);
            let only_fault = !case.name.contains("between tokens");
            p.expect_eq(
                &format!("{what} (decoded lossily)"),
                lossy.is_ok(),
                only_fault,
            );
            continue;
        }
        p.expect_code(
            &what,
            canonicalize(&case.input(), &limits),
            case.error.expect("invalid"),
        );
    }
}

// ---------------------------------------------------------------------------
// keys.json

struct Keys {
    valid: Vec<KeyValid>,
    invalid: Vec<KeyInvalid>,
    derive: Vec<Derive>,
    keysets: Vec<KeySetCase>,
}

fn key_cases() -> Keys {
    let s32 = seq_hex(0, 32);
    let d32 = "a5".repeat(32);
    let valid = |name: &str, key: String, kid: &str, audience: Option<&str>| KeyValid {
        name: name.into(),
        key,
        kid: kid.into(),
        audience: audience.map(str::to_owned),
        audience_fingerprint: audience.map(fingerprint),
        canonical: None,
    };
    // `key` wrapped in `before` and `after` (ASCII whitespace): parses to `key`.
    let padded =
        |name: &str, before: &str, key: String, after: &str, kid: &str, audience: Option<&str>| {
            KeyValid {
                name: name.into(),
                key: format!("{before}{key}{after}"),
                kid: String::from(kid),
                audience: audience.map(str::to_owned),
                audience_fingerprint: audience.map(fingerprint),
                canonical: Some(key),
            }
        };
    let valid_keys = vec![
        valid("root key, 32-byte secret", k1(), "k1", None),
        valid("root key, 64-byte secret", big(), "big", None),
        valid(
            "root key, 33-byte secret",
            format!("csk1_odd_{}", seq_hex(0, 33)),
            "odd",
            None,
        ),
        valid(
            "kid with upper case, digits, '.' and '-'",
            format!("csk1_Prod-2024.01_{s32}"),
            "Prod-2024.01",
            None,
        ),
        valid(
            "kid of 64 characters (the maximum)",
            format!("csk1_{}_{s32}", "k".repeat(64)),
            &"k".repeat(64),
            None,
        ),
        valid("kid of 1 character", format!("csk1_x_{s32}"), "x", None),
        valid(
            "derived key",
            format!("csk1d_k1_{d32}@{AUD}"),
            "k1",
            Some(AUD),
        ),
        valid(
            "derived key for a local deployment",
            format!("csk1d_k1_{d32}@{AUD_LOCAL}"),
            "k1",
            Some(AUD_LOCAL),
        ),
        valid(
            "derived key whose audience contains '@' (split at the first '@')",
            format!("csk1d_k1_{d32}@https://user@host.example"),
            "k1",
            Some("https://user@host.example"),
        ),
        valid(
            "derived key with a one-character audience",
            format!("csk1d_k1_{d32}@x"),
            "k1",
            Some("x"),
        ),
        // Leading and trailing ASCII whitespace (space, tab, LF, FF, CR) is ignored.
        padded(
            "root key surrounded by spaces",
            "  ",
            k1(),
            "  ",
            "k1",
            None,
        ),
        padded(
            "root key after a tab, before a LF",
            "\t",
            k1(),
            "\n",
            "k1",
            None,
        ),
        padded("root key followed by CRLF", "", k1(), "\r\n", "k1", None),
        padded(
            "root key surrounded by form feeds (0x0C)",
            "\u{c}",
            k1(),
            "\u{c}",
            "k1",
            None,
        ),
        padded(
            "derived key surrounded by all five ASCII whitespace characters",
            " \t\n\u{c}\r",
            format!("csk1d_k1_{d32}@{AUD}"),
            "\r\u{c}\n\t ",
            "k1",
            Some(AUD),
        ),
    ];

    let bad = |name: &str, key: String| KeyInvalid {
        name: name.into(),
        key,
        error: "invalid_key",
    };
    let invalid_keys = vec![
        bad("empty string", String::new()),
        bad("wrong prefix csk2_", format!("csk2_k1_{s32}")),
        bad("upper-case prefix CSK1_", format!("CSK1_k1_{s32}")),
        bad("prefix with '-' instead of '_'", format!("csk1-k1_{s32}")),
        bad("no prefix", format!("k1_{s32}")),
        bad("prefix only", "csk1_".into()),
        bad("no secret separator", "csk1_k1".into()),
        bad("empty secret", "csk1_k1_".into()),
        bad(
            "upper-case hex secret",
            format!("csk1_k1_{}", s32.to_uppercase()),
        ),
        bad(
            "odd number of hex digits (63)",
            format!("csk1_k1_{}", &s32[..63]),
        ),
        bad("non-hex character", format!("csk1_k1_{}g", &s32[..63])),
        bad("31-byte secret", format!("csk1_k1_{}", seq_hex(0, 31))),
        bad(
            "16-byte (128-bit) secret",
            format!("csk1_k1_{}", seq_hex(0, 16)),
        ),
        bad("65-byte root secret", format!("csk1_k1_{}", seq_hex(0, 65))),
        bad(
            "space inside the secret",
            format!("csk1_k1_{} {}", &s32[..32], &s32[32..]),
        ),
        bad(
            "root key with an audience suffix",
            format!("csk1_k1_{s32}@{AUD}"),
        ),
        bad("empty kid", format!("csk1__{s32}")),
        bad(
            "kid containing '_' (the separator)",
            format!("csk1_my_kid_{s32}"),
        ),
        bad("kid containing '/'", format!("csk1_a/b_{s32}")),
        bad("kid containing ':'", format!("csk1_a:b_{s32}")),
        bad(
            "kid of 65 characters",
            format!("csk1_{}_{s32}", "k".repeat(65)),
        ),
        bad("non-ASCII kid", format!("csk1_k\u{e9}_{s32}")),
        bad(
            "derived key of 33 bytes",
            format!("csk1d_k1_{}@{AUD}", "a5".repeat(33)),
        ),
        bad(
            "derived key of 31 bytes",
            format!("csk1d_k1_{}@{AUD}", "a5".repeat(31)),
        ),
        bad(
            "derived key of 64 bytes (root length, but derived keys are 32)",
            format!("csk1d_k1_{}@{AUD}", "a5".repeat(64)),
        ),
        bad("derived key missing @audience", format!("csk1d_k1_{d32}")),
        bad(
            "derived key with an empty audience",
            format!("csk1d_k1_{d32}@"),
        ),
        bad(
            "derived key whose audience contains a space",
            format!("csk1d_k1_{d32}@https://a b.convex.cloud"),
        ),
        bad(
            "derived key whose audience contains a comma",
            format!("csk1d_k1_{d32}@https://a.convex.cloud,https://b.convex.cloud"),
        ),
        bad(
            "derived key whose audience is not ASCII",
            format!("csk1d_k1_{d32}@https://\u{e9}.convex.cloud"),
        ),
        bad(
            "derived key whose audience is over 512 bytes",
            format!("csk1d_k1_{d32}@{}", "a".repeat(513)),
        ),
        bad(
            "derived key, upper-case hex",
            format!("csk1d_k1_{}@{AUD}", "A5".repeat(32)),
        ),
        bad(
            "derived key with an empty kid",
            format!("csk1d__{d32}@{AUD}"),
        ),
        // Only ASCII whitespace is trimmed: not what a Unicode-aware trim
        // (JavaScript's String.prototype.trim, say) would also remove.
        bad(
            "leading U+00A0 (no-break space) is not ASCII whitespace",
            format!("\u{a0}{}", k1()),
        ),
        bad(
            "trailing U+3000 (ideographic space) is not ASCII whitespace",
            format!("{}\u{3000}", k1()),
        ),
        bad(
            "leading vertical tab (0x0B) is not ASCII whitespace",
            format!("\u{b}{}", k1()),
        ),
        bad(
            "whitespace inside the key string is not trimmed: space after the prefix",
            format!("csk1_ k1_{s32}"),
        ),
        // SPEC §6.2: one key prefix per key string. Run together, a derived key
        // would otherwise take the next key, secret included, as its audience.
        bad(
            "two derived keys run together (the second would be the first's audience)",
            format!("csk1d_k1_{d32}@{AUD}csk1d_k2_{d32}@{AUD}"),
        ),
        bad(
            "a derived key and a root key run together",
            format!("csk1d_k1_{d32}@{AUD}{}", k2()),
        ),
        bad(
            "a root key and a derived key run together",
            format!("{}csk1d_k2_{d32}@{AUD}", k1()),
        ),
        bad("two root keys run together", format!("{}{}", k1(), k2())),
        bad(
            "a derived key whose audience holds a key prefix",
            format!("csk1d_k1_{d32}@https://csk1_x.convex.cloud"),
        ),
    ];

    let derive = |name: &str, root: String, audience: &str| Derive {
        name: name.into(),
        derived: derived(&root, audience),
        root,
        audience: audience.into(),
    };
    let derive_cases = vec![
        derive("k1 for the main deployment", k1(), AUD),
        derive("k1 for another deployment", k1(), AUD_B),
        derive("k1 for a local backend", k1(), AUD_LOCAL),
        derive("64-byte root for the main deployment", big(), AUD),
        derive("k2 for a one-character audience", k2(), "x"),
    ];

    let ks_ok = |name: &str, keys: String, kids: &[&str]| KeySetCase {
        name: name.into(),
        keys,
        kids: Some(kids.iter().map(|s| s.to_string()).collect()),
        error: None,
    };
    let ks_bad = |name: &str, keys: String| KeySetCase {
        name: name.into(),
        keys,
        kids: None,
        error: Some("invalid_key"),
    };
    let d3 = format!("csk1d_k3_{d32}@{AUD}");
    let keysets = vec![
        ks_ok("one key", k1(), &["k1"]),
        ks_ok(
            "comma-separated",
            format!("{},{}", k1(), k2()),
            &["k1", "k2"],
        ),
        ks_ok(
            "comma and space",
            format!("{}, {}", k1(), k2()),
            &["k1", "k2"],
        ),
        ks_ok(
            "newline-separated with a trailing newline",
            format!("{}\n{}\n", k1(), k2()),
            &["k1", "k2"],
        ),
        ks_ok(
            "CRLF and tab separated",
            format!("{}\r\n\t{}", k2(), k1()),
            &["k2", "k1"],
        ),
        ks_ok(
            "mixed separators, empty entries, leading and trailing separators",
            format!(",\n {} ,, {}\n,{} \n", k2(), k1(), d3),
            &["k2", "k1", "k3"],
        ),
        ks_ok(
            "root and derived keys (derived for another audience parses fine)",
            format!("{} {}", k1(), derived(&k2(), AUD_B)),
            &["k1", "k2"],
        ),
        ks_ok(
            "form-feed separated (0x0C is ASCII whitespace)",
            format!("{}\u{c}{}", k1(), k2()),
            &["k1", "k2"],
        ),
        ks_ok(
            "commas only: empty entries, leading and trailing commas",
            format!(",,{},,,{},", k2(), k1()),
            &["k2", "k1"],
        ),
        ks_bad("empty", String::new()),
        ks_bad("separators only", " ,\n, \t".into()),
        ks_bad(
            "duplicate kid (same key twice)",
            format!("{},{}", k1(), k1()),
        ),
        ks_bad(
            "duplicate kid with different secrets",
            format!("{},{}", k1(), k1_impostor()),
        ),
        ks_bad(
            "duplicate kid: a root key and its derived key",
            format!("{},{}", k1(), derived(&k1(), AUD)),
        ),
        ks_bad(
            "one bad key among good ones",
            format!("{},csk1_k3_00,{}", k1(), k2()),
        ),
        ks_bad(
            "keys separated by ';' (not a separator)",
            format!("{};{}", k1(), k2()),
        ),
        ks_bad(
            "keys separated by a vertical tab (0x0B, not ASCII whitespace)",
            format!("{}\u{b}{}", k1(), k2()),
        ),
        ks_bad(
            "keys separated by U+00A0 (not ASCII whitespace)",
            format!("{}\u{a0}{}", k1(), k2()),
        ),
        ks_bad(
            "old and new derived keys run together (the comma forgotten while rotating)",
            format!("{}{}", derived(&k1(), AUD), derived(&k2(), AUD)),
        ),
        ks_bad(
            "a derived key run into a root key, after a good key",
            format!("{},{}{}", k2(), d3, k1()),
        ),
    ];
    Keys {
        valid: valid_keys,
        invalid: invalid_keys,
        derive: derive_cases,
        keysets,
    }
}

/// SPEC §6.5, computed with `sha2` directly: 8 hex digits of SHA-256.
fn fingerprint(audience: &str) -> String {
    hex::encode(&<Sha256 as sha2::Digest>::digest(audience.as_bytes())[..4])
}

fn check_keys(k: &Keys, p: &mut Problems) {
    for case in &k.valid {
        let what = format!("key valid {:?}", case.name);
        match Key::parse(&case.key) {
            Ok(key) => {
                p.expect_eq(&what, key.kid(), case.kid.as_str());
                p.expect_eq(&what, key.audience(), case.audience.as_deref());
                p.expect_eq(
                    &what,
                    key.audience_fingerprint(),
                    case.audience_fingerprint.clone(),
                );
                p.expect_eq(
                    &what,
                    key.to_key_string().as_str(),
                    case.canonical.as_deref().unwrap_or(&case.key),
                );
            }
            Err(e) => p.0.push(format!("{what}: {e}")),
        }
    }
    for case in &k.invalid {
        p.expect_code(
            &format!("key invalid {:?}", case.name),
            Key::parse(&case.key).map(|k| k.kid().to_owned()),
            case.error,
        );
    }
    for case in &k.derive {
        // Recompute the derivation with `hmac` directly (SPEC §6).
        let (kid, hex_secret) = case
            .root
            .strip_prefix("csk1_")
            .and_then(|r| r.split_once('_'))
            .expect("root key shape");
        let secret = hex::decode(hex_secret).expect("hex");
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&secret).expect("any length");
        mac.update(b"callsign/v1/derive\n");
        mac.update(case.audience.as_bytes());
        let want = format!(
            "csk1d_{kid}_{}@{}",
            hex::encode(mac.finalize().into_bytes()),
            case.audience
        );
        p.expect_eq(
            &format!("derive {:?}", case.name),
            case.derived.as_str(),
            want.as_str(),
        );
    }
    for case in &k.keysets {
        let got = KeySet::parse(&case.keys).map(|s| {
            s.keys()
                .iter()
                .map(|k| k.kid().to_owned())
                .collect::<Vec<_>>()
        });
        match (&case.kids, case.error) {
            (Some(kids), None) => p.expect_eq(
                &format!("keyset {:?}", case.name),
                got.map_err(|e| e.to_string()),
                Ok(kids.clone()),
            ),
            (None, Some(code)) => p.expect_code(&format!("keyset {:?}", case.name), got, code),
            _ => unreachable!(),
        }
    }
}

// ---------------------------------------------------------------------------
// signing.json

/// The signing message framed by hand (SPEC §3), independently of the library.
fn frame(fields: [&str; 6]) -> String {
    let mut out = String::from("callsign/v1\n");
    for f in fields {
        out += &format!("{}:{f}\n", f.len());
    }
    out
}

/// The MAC key for `audience` computed with `hmac` directly.
fn mac_secret(key: &str, audience: &str) -> Vec<u8> {
    if let Some(rest) = key.strip_prefix("csk1d_") {
        let (_, rest) = rest.split_once('_').expect("kid");
        let (hex_secret, aud) = rest.split_once('@').expect("audience");
        assert_eq!(aud, audience, "derived key used for another audience");
        return hex::decode(hex_secret).expect("hex");
    }
    let (_, hex_secret) = key
        .strip_prefix("csk1_")
        .and_then(|r| r.split_once('_'))
        .expect("root key shape");
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&hex::decode(hex_secret).expect("hex"))
        .expect("any length");
    mac.update(b"callsign/v1/derive\n");
    mac.update(audience.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn hmac_hex(secret: &[u8], message: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("any length");
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

struct SignInput<'a> {
    name: &'a str,
    key: String,
    audience: &'a str,
    function: &'a str,
    ts: u64,
    nonce: &'a str,
    args: &'a str,
    canonical_function: &'a str,
    canonical_args: &'a str,
}

fn signing_cases(p: &mut Problems) -> Vec<SignCase> {
    let inputs = [
        SignInput {
            name: "root key, simple args",
            key: k1(),
            audience: AUD,
            function: "messages:send",
            ts: T,
            nonce: N1,
            args: r#"{"body":"hello"}"#,
            canonical_function: "messages:send",
            canonical_args: r#"{"body":"hello"}"#,
        },
        SignInput {
            name: "derived key: the same MAC as its root key for that audience",
            key: derived(&k1(), AUD),
            audience: AUD,
            function: "messages:send",
            ts: T,
            nonce: N1,
            args: r#"{"body":"hello"}"#,
            canonical_function: "messages:send",
            canonical_args: r#"{"body":"hello"}"#,
        },
        SignInput {
            name: "default export: messages -> messages:default",
            key: k1(),
            audience: AUD,
            function: "messages",
            ts: T + 1,
            nonce: N2,
            args: r#"{"limit":10}"#,
            canonical_function: "messages:default",
            canonical_args: r#"{"limit":10}"#,
        },
        SignInput {
            name: "module path with .js: dir/file.js:fn -> dir/file:fn",
            key: k2(),
            audience: AUD,
            function: "dir/file.js:fn",
            ts: T + 2,
            nonce: N3,
            args: r#"{"id":"abc"}"#,
            canonical_function: "dir/file:fn",
            canonical_args: r#"{"id":"abc"}"#,
        },
        SignInput {
            name: "special forms, -0 and non-canonical numbers in the args",
            key: k1(),
            audience: AUD,
            function: "data:put",
            ts: T,
            nonce: N2,
            args: r#"{ "z": -0, "i": {"$integer":"AQAAAAAAAAA="}, "b": {"$bytes":"AQID"}, "nan": {"$float":"AQAAAAAA+H8="}, "big": 1E21, "one": 1.0 }"#,
            canonical_function: "data:put",
            canonical_args: r#"{"b":{"$bytes":"AQID"},"big":1e+21,"i":{"$integer":"AQAAAAAAAAA="},"nan":{"$float":"AAAAAAAA+H8="},"one":1,"z":{"$float":"AAAAAAAAAIA="}}"#,
        },
        SignInput {
            name: "unicode args: framing lengths count UTF-8 bytes",
            key: k1(),
            audience: AUD,
            function: "messages:send",
            ts: T,
            nonce: N3,
            args: "{\"text\":\"h\u{e9}llo \\ud83d\\ude00 \\u2028\",\"emoji\":\"\u{1f600}\",\"ctl\":\"\\u0001\"}",
            canonical_function: "messages:send",
            canonical_args: "{\"ctl\":\"\\u0001\",\"emoji\":\"\u{1f600}\",\"text\":\"h\u{e9}llo \u{1f600} \u{2028}\"}",
        },
        SignInput {
            name: "empty args {}",
            key: k2(),
            audience: AUD,
            function: "messages:list",
            ts: T,
            nonce: N1,
            args: "{}",
            canonical_function: "messages:list",
            canonical_args: "{}",
        },
        SignInput {
            name: "args sorted around the envelope field: 'Z' < '_' < '_callsign' < '_x' < 'a'",
            key: k1(),
            audience: AUD,
            function: "messages:send",
            ts: T,
            nonce: N1,
            args: r#"{"a":3,"_x":2,"_":1,"Z":0}"#,
            canonical_function: "messages:send",
            canonical_args: r#"{"Z":0,"_":1,"_x":2,"a":3}"#,
        },
        SignInput {
            name: "64-byte root secret, local audience, 64-digit nonce, nested module path",
            key: big(),
            audience: AUD_LOCAL,
            function: "admin/jobs/tasks:run",
            ts: 1,
            nonce: &seq_hex(0xa0, 32),
            args: r#"{"job":{"steps":[{"b":2,"a":1}],"retries":3}}"#,
            canonical_function: "admin/jobs/tasks:run",
            canonical_args: r#"{"job":{"retries":3,"steps":[{"a":1,"b":2}]}}"#,
        },
        SignInput {
            name: "largest timestamp, 2^53 - 1",
            key: k1(),
            audience: AUD,
            function: "messages:send",
            ts: (1 << 53) - 1,
            nonce: N1,
            args: r#"{"body":"hello"}"#,
            canonical_function: "messages:send",
            canonical_args: r#"{"body":"hello"}"#,
        },
        SignInput {
            name: "timestamp 0 and a 33-digit nonce",
            key: k2(),
            audience: AUD_B,
            function: "messages.js:send",
            ts: 0,
            nonce: "0123456789abcdef0123456789abcdef0",
            args: r#"{"body":"hello"}"#,
            canonical_function: "messages:send",
            canonical_args: r#"{"body":"hello"}"#,
        },
        SignInput {
            name: "kid with '.' and '-'",
            key: format!("csk1_prod-2024.01_{}", seq_hex(0x40, 32)),
            audience: AUD,
            function: "messages:send",
            ts: T,
            nonce: N1,
            args: r#"{"body":"hello"}"#,
            canonical_function: "messages:send",
            canonical_args: r#"{"body":"hello"}"#,
        },
    ];

    let mut out = Vec::new();
    for i in inputs {
        let what = format!("signing {:?}", i.name);
        let key = Key::parse(&i.key).expect("key");
        let call = Signer::new(&key, i.audience)
            .and_then(|s| s.sign_at(i.function, i.args, i.ts, &Nonce::parse(i.nonce)?))
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        p.expect_eq(&what, call.function.as_str(), i.canonical_function);
        p.expect_eq(&what, call.canonical_args.as_str(), i.canonical_args);
        let ts = i.ts.to_string();
        let message = frame([
            key.kid(),
            i.audience,
            i.canonical_function,
            &ts,
            i.nonce,
            i.canonical_args,
        ]);
        p.expect_eq(
            &what,
            signing_message(
                key.kid(),
                i.audience,
                &call.function,
                i.ts,
                i.nonce,
                &call.canonical_args,
            ),
            message.clone(),
        );
        let sig = hmac_hex(&mac_secret(&i.key, i.audience), &message);
        p.expect_eq(&what, call.envelope.sig.as_str(), sig.as_str());
        p.expect_eq(
            &what,
            call.signed_args.clone(),
            splice(
                i.canonical_args,
                ENVELOPE,
                &envelope_json(key.kid(), i.nonce, &sig, i.ts),
            ),
        );
        out.push(SignCase {
            name: i.name.into(),
            key: i.key.clone(),
            audience: i.audience.into(),
            function: i.function.into(),
            ts: i.ts,
            nonce: i.nonce.into(),
            args: i.args.into(),
            canonical_function: i.canonical_function.into(),
            canonical_args: i.canonical_args.into(),
            message,
            sig,
            signed_args: call.signed_args,
        });
    }
    out
}

/// The canonical envelope, written by hand: keys in order kid, nonce, sig, ts, v.
fn envelope_json(kid: &str, nonce: &str, sig: &str, ts: u64) -> String {
    format!(r#"{{"kid":"{kid}","nonce":"{nonce}","sig":"{sig}","ts":{ts},"v":1}}"#)
}

/// Inserts `"field":value` into canonical args at its sorted place (all
/// top-level keys in these vectors are printable ASCII, so byte order is
/// UTF-16 order). Only for flat-enough args: splits top-level members by
/// scanning with a depth counter.
fn splice(canonical_args: &str, field: &str, value: &str) -> String {
    let inner = &canonical_args[1..canonical_args.len() - 1];
    let mut members: Vec<String> = Vec::new();
    let (mut depth, mut in_str, mut esc, mut start) = (0i32, false, false, 0usize);
    for (i, ch) in inner.char_indices() {
        if in_str {
            match (esc, ch) {
                (true, _) => esc = false,
                (false, '\\') => esc = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match ch {
            '"' => in_str = true,
            '{' | '[' => depth += 1,
            '}' | ']' => depth -= 1,
            ',' if depth == 0 => {
                members.push(inner[start..i].to_owned());
                start = i + 1;
            }
            _ => {}
        }
    }
    if !inner.is_empty() {
        members.push(inner[start..].to_owned());
    }
    let new = format!("\"{field}\":{value}");
    let key_of = |m: &str| m[1..m.find("\":").expect("member")].to_owned();
    let at = members
        .iter()
        .position(|m| key_of(m).as_str() > field)
        .unwrap_or(members.len());
    members.insert(at, new);
    format!("{{{}}}", members.join(","))
}

const SIGN_ARGS: &str = r#"{"body":"hello"}"#;

/// The valid call every `invalid` signing case departs from.
fn sign_base(name: &str, error: &'static str) -> SignInvalid {
    SignInvalid {
        name: name.into(),
        key: k1(),
        audience: AUD.into(),
        function: "messages:send".into(),
        ts: T,
        nonce: N1.into(),
        args: SIGN_ARGS.into(),
        envelope_field: None,
        limits: None,
        error,
    }
}

/// Calls the signer must refuse. Each departs from `sign_base` by one fault.
fn signing_invalid_cases() -> Vec<SignInvalid> {
    let limits = |max_bytes: Option<usize>, max_depth: Option<usize>| {
        Some(LimitsJ {
            max_bytes,
            max_depth,
        })
    };
    let mut out = vec![
        SignInvalid {
            args: r#"{"_callsign":null,"body":"hello"}"#.into(),
            ..sign_base(
                "args already contain the envelope field _callsign",
                "malformed",
            )
        },
        SignInvalid {
            envelope_field: Some("auth".into()),
            args: r#"{"auth":"token","body":"hello"}"#.into(),
            ..sign_base(
                "custom envelope field 'auth', and the args already contain 'auth'",
                "malformed",
            )
        },
    ];
    // Size: the input and the signed output are each checked against max_bytes.
    let signed_len = sign(&k1(), AUD, "messages:send", SIGN_ARGS, T, N1)
        .signed_args
        .len();
    let padded_limit = signed_len + 50;
    out.push(SignInvalid {
        args: format!(
            "{SIGN_ARGS}{}",
            " ".repeat(padded_limit + 1 - SIGN_ARGS.len())
        ),
        limits: limits(Some(padded_limit), None),
        ..sign_base(
            "input one byte over max_bytes (trailing spaces); the signed args would fit",
            "too_large",
        )
    });
    out.push(SignInvalid {
        limits: limits(Some(signed_len - 1), None),
        ..sign_base(
            "input fits max_bytes, the signed args (envelope added) are one byte over",
            "too_large",
        )
    });
    out.push(SignInvalid {
        args: r#"{"a":{"b":{}}}"#.into(),
        limits: limits(None, Some(2)),
        ..sign_base("args nested one level deeper than max_depth 2", "malformed")
    });
    out.push(SignInvalid {
        args: "{}".into(),
        limits: limits(None, Some(1)),
        ..sign_base(
            "max_depth 1: the envelope (depth 2) could not be verified under the same limits",
            "malformed",
        )
    });
    for (what, function) in [
        ("empty", ""),
        ("no export after ':'", "messages:"),
        ("module is only '.js'", ".js:f"),
    ] {
        out.push(SignInvalid {
            function: function.into(),
            ..sign_base(&format!("function name {function:?} ({what})"), "malformed")
        });
    }
    for (what, audience) in [
        ("empty", ""),
        ("contains a space", "has space"),
        ("contains a comma", "a,b"),
        ("holds a key prefix", "https://csk1d_x.convex.cloud"),
    ] {
        out.push(SignInvalid {
            audience: audience.into(),
            ..sign_base(&format!("audience {audience:?} ({what})"), "malformed")
        });
    }
    out.push(SignInvalid {
        key: derived(&k1(), AUD),
        audience: AUD_B.into(),
        ..sign_base(
            "a key derived for one audience used to sign for another",
            "invalid_key",
        )
    });
    out.push(SignInvalid {
        key: format!("csk1_k1_{}", seq_hex(0x00, 31)),
        ..sign_base("key with a 31-byte (248-bit) secret", "invalid_key")
    });
    out.push(SignInvalid {
        ts: 1 << 53,
        ..sign_base("timestamp 2^53 (one over the largest)", "malformed")
    });
    for (what, nonce) in [
        ("3 hex digits", "abc".to_owned()),
        ("32 upper-case hex digits", N1.to_uppercase()),
        ("65 hex digits", format!("{N1}{N1}0")),
    ] {
        out.push(SignInvalid {
            nonce,
            ..sign_base(&format!("nonce of {what}"), "malformed")
        });
    }
    for (what, field) in [
        ("contains '-'", "my-envelope"),
        ("starts with a digit", "1abc"),
        ("only underscores", "__"),
    ] {
        out.push(SignInvalid {
            envelope_field: Some(field.into()),
            ..sign_base(
                &format!("envelope field {field:?} is not a Convex identifier ({what})"),
                "malformed",
            )
        });
    }
    out.push(SignInvalid {
        args: "[]".into(),
        ..sign_base("args are an array, not an object", "malformed")
    });
    out.push(SignInvalid {
        args: r#"{"settings":{"__proto__":{"isAdmin":true},"theme":"dark"}}"#.into(),
        ..sign_base(
            "args holding a __proto__ member (it would become a prototype in Convex)",
            "malformed",
        )
    });
    out
}

fn run_sign_invalid(c: &SignInvalid) -> Result<SignedCall, Error> {
    let key = Key::parse(&c.key)?;
    let mut signer = Signer::new(&key, &c.audience)?.with_limits(LimitsJ::resolve(c.limits));
    if let Some(field) = &c.envelope_field {
        signer = signer.with_envelope_field(field)?;
    }
    signer.sign_at(&c.function, &c.args, c.ts, &Nonce::parse(&c.nonce)?)
}

fn check_signing_invalid(cases: &[SignInvalid], p: &mut Problems) {
    for c in cases {
        let what = format!("signing invalid {:?}", c.name);
        p.expect_code(&what, run_sign_invalid(c), c.error);

        // One fault: putting back one field of the base call (or dropping
        // the limits) makes it sign.
        let base = sign_base("", "");
        let repairs = [
            SignInvalid {
                key: base.key.clone(),
                ..c.clone()
            },
            SignInvalid {
                audience: base.audience.clone(),
                ..c.clone()
            },
            SignInvalid {
                function: base.function.clone(),
                ..c.clone()
            },
            SignInvalid {
                ts: base.ts,
                ..c.clone()
            },
            SignInvalid {
                nonce: base.nonce.clone(),
                ..c.clone()
            },
            SignInvalid {
                args: base.args.clone(),
                ..c.clone()
            },
            SignInvalid {
                envelope_field: None,
                ..c.clone()
            },
            SignInvalid {
                limits: None,
                ..c.clone()
            },
        ];
        if !repairs.iter().any(|r| run_sign_invalid(r).is_ok()) {
            p.0.push(format!("{what}: no single repair makes it sign"));
        }
        // The two size checks: exactly one of input and output is over.
        if c.error == "too_large" {
            let max = LimitsJ::resolve(c.limits).max_bytes;
            let unlimited = SignInvalid {
                limits: Some(LimitsJ {
                    max_bytes: Some(usize::MAX),
                    max_depth: None,
                }),
                ..c.clone()
            };
            let output = run_sign_invalid(&unlimited).map(|s| s.signed_args.len());
            let over = [c.args.len() > max, output.map(|n| n > max).unwrap_or(false)];
            p.expect_eq(
                &format!("{what} (input over, output over)"),
                over.iter().filter(|o| **o).count(),
                1,
            );
        }
    }
}

/// Function names and their canonical forms (SPEC §3.3).
fn function_cases() -> Vec<FunctionCase> {
    let ok = |name: &str, input: String, canonical: String| FunctionCase {
        name: name.into(),
        input,
        canonical: Some(canonical),
        error: None,
    };
    let bad = |name: &str, input: &str| FunctionCase {
        name: name.into(),
        input: input.into(),
        canonical: None,
        error: Some("malformed"),
    };
    let same = |name: &str, input: &str| ok(name, input.into(), input.into());
    let m = |n: usize| "m".repeat(n);
    vec![
        same("module:export unchanged", "messages:send"),
        ok(
            "no ':' means the default export",
            "messages".into(),
            "messages:default".into(),
        ),
        ok(
            "no ':' and a .js module",
            "messages.js".into(),
            "messages:default".into(),
        ),
        ok(
            "a module ending in .js loses it",
            "dir/file.js:fn".into(),
            "dir/file:fn".into(),
        ),
        ok(
            "no ':' and a .js module in a directory",
            "dir/file.js".into(),
            "dir/file:default".into(),
        ),
        ok(
            ".js is stripped once",
            "a.js.js:f".into(),
            "a.js:f".into(),
        ),
        ok(
            "only the module loses .js, not the export",
            "a.js:b.js".into(),
            "a:b.js".into(),
        ),
        same("split at the last ':'", "a:b:c"),
        same("nested module path", "admin/jobs/tasks:run"),
        same(
            "punctuation is allowed: any printable ASCII but space",
            "a-b_c.d/e~!$%:f@g",
        ),
        same("512 bytes (the maximum)", &format!("{}:f", m(510))),
        ok(
            "510 bytes without ':': the limit applies to the name as given, so the 518-byte canonical form is fine",
            m(510),
            format!("{}:default", m(510)),
        ),
        bad("513 bytes", &format!("{}:f", m(511))),
        bad("empty", ""),
        bad("empty module", ":fn"),
        bad("empty export", "mod:"),
        bad("module is only '.js'", ".js:f"),
        bad("no ':' and the module is only '.js'", ".js"),
        bad("module ends in '/'", "dir/:f"),
        bad("module ends in '/' once .js is stripped", "dir/.js:f"),
        bad("contains a space", "a b:c"),
        bad("contains a tab", "a\tb:c"),
        bad("contains DEL (0x7F)", "a\u{7f}:c"),
        bad("not ASCII", "\u{e9}:f"),
    ]
}

fn check_functions(cases: &[FunctionCase], p: &mut Problems) {
    for c in cases {
        let what = format!("function {:?}", c.name);
        match (&c.canonical, c.error) {
            (Some(want), None) => p.expect_eq(
                &what,
                spec::canonical_function_name(&c.input).map_err(|e| e.to_string()),
                Ok(want.clone()),
            ),
            (None, Some(code)) => {
                p.expect_code(&what, spec::canonical_function_name(&c.input), code)
            }
            _ => unreachable!(),
        }
    }
}

fn check_signing_verifies(cases: &[SignCase], p: &mut Problems) {
    for case in cases {
        let what = format!("signing case verifies {:?}", case.name);
        let got = Key::parse(&case.key)
            .and_then(|k| Verifier::new(&KeySet::from(k), &case.audience))
            .and_then(|v| v.verify(&case.function, &case.signed_args, case.ts));
        match got {
            Ok(v) => {
                p.expect_eq(
                    &what,
                    v.canonical_args.as_str(),
                    case.canonical_args.as_str(),
                );
                p.expect_eq(&what, v.function.as_str(), case.canonical_function.as_str());
                p.expect_eq(&what, v.ts, case.ts);
                p.expect_eq(&what, v.nonce.as_str(), case.nonce.as_str());
            }
            Err(e) => p.0.push(format!("{what}: {e}")),
        }
    }
}

// ---------------------------------------------------------------------------
// verify.json

fn defaults() -> VerifyDefaults {
    VerifyDefaults {
        keys: format!("{},{}", k1(), k2()),
        audience: AUD.into(),
        function: "messages:send".into(),
        window: WindowJ {
            max_age_ms: Some(MAX_AGE),
            max_future_ms: Some(MAX_FUTURE),
        },
        limits: LimitsJ {
            max_bytes: Some(Limits::DEFAULT_MAX_BYTES),
            max_depth: Some(Limits::DEFAULT_MAX_DEPTH),
        },
        envelope_field: ENVELOPE.into(),
    }
}

fn sign(key: &str, audience: &str, function: &str, args: &str, ts: u64, nonce: &str) -> SignedCall {
    sign_with(key, audience, function, args, ts, nonce, |s| s)
}

fn sign_with(
    key: &str,
    audience: &str,
    function: &str,
    args: &str,
    ts: u64,
    nonce: &str,
    configure: impl FnOnce(Signer) -> Signer,
) -> SignedCall {
    Key::parse(key)
        .and_then(|k| Signer::new(&k, audience))
        .map(configure)
        .and_then(|s| s.sign_at(function, args, ts, &Nonce::parse(nonce)?))
        .unwrap_or_else(|e| panic!("signing {args} for {function}: {e}"))
}

/// `text` with the only occurrence of `from` replaced by `to`.
fn tamper(text: &str, from: &str, to: &str) -> String {
    assert_eq!(
        text.matches(from).count(),
        1,
        "{from:?} must occur once in {text}"
    );
    text.replacen(from, to, 1)
}

fn verify_cases() -> (Vec<VCase>, Vec<Sequence>) {
    const ARGS: &str = r#"{"body":"hello","n":1}"#;
    let base = sign(&k1(), AUD, "messages:send", ARGS, T, N1);
    let b = base.signed_args.as_str();
    let sig = base.envelope.sig.as_str();
    let ok = |ts: u64, max_age: u64| claims("k1", "messages:send", ts, N1, max_age, ARGS);
    let env_t = format!("\"ts\":{T}");

    // --- Positives.
    let mut v: Vec<VCase> =
        vec![vc("baseline: root key at both ends, verified at ts", b, T).ok(ok(T, MAX_AGE))];
    v.push(
        vc(
            "window edge: now = ts + max_age is accepted",
            b,
            T + MAX_AGE,
        )
        .ok(ok(T, MAX_AGE)),
    );
    v.push(
        vc(
            "window edge: now = ts - max_future is accepted",
            b,
            T - MAX_FUTURE,
        )
        .ok(ok(T, MAX_AGE)),
    );
    v.push(
        vc(
            "verifier holds the derived key, the signer used the root key",
            b,
            T,
        )
        .keys(&derived(&k1(), AUD))
        .ok(ok(T, MAX_AGE)),
    );
    {
        let s = sign(&derived(&k1(), AUD), AUD, "messages:send", ARGS, T, N1);
        v.push(
            vc(
                "signer used the derived key, the verifier holds the root key",
                &s.signed_args,
                T,
            )
            .ok(ok(T, MAX_AGE)),
        );
    }
    v.push(
        vc("verifier holds a derived key plus another root key", b, T)
            .keys(&format!("{}\n{}", k2(), derived(&k1(), AUD)))
            .ok(ok(T, MAX_AGE)),
    );
    {
        let s = sign(&k2(), AUD, "messages:send", ARGS, T, N2);
        v.push(
            vc("signed by the second key of the set", &s.signed_args, T).ok(claims(
                "k2",
                "messages:send",
                T,
                N2,
                MAX_AGE,
                ARGS,
            )),
        );
    }
    {
        let s = sign(
            &k1(),
            AUD,
            "messages:send",
            r#"{"a":1,"b":100,"c":0.5}"#,
            T,
            N1,
        );
        let env = envelope_json("k1", N1, &s.envelope.sig, T);
        let respelled =
            format!("{{ \"c\" : 5E-1,\n\t\"b\": 1e2, \"{ENVELOPE}\" : {env} ,\r\n \"a\":1.0 }}");
        v.push(
            vc(
                "non-canonical number spellings (1.0, 1e2, 5E-1), whitespace and key order still verify",
                &respelled,
                T,
            )
            .ok(claims("k1", "messages:send", T, N1, MAX_AGE, r#"{"a":1,"b":100,"c":0.5}"#)),
        );
    }
    {
        let one = r#"{"a":1,"b":1,"c":1,"d":1}"#;
        let s = sign(&k1(), AUD, "messages:send", one, T, N1);
        let env = envelope_json("k1", N1, &s.envelope.sig, T);
        v.push(
            vc(
                "numbers 1.0, 1e0, 10E-1 and 0.1e1 verify against a signature over canonical 1",
                &format!("{{\"a\":1.0,\"b\":1e0,\"c\":10E-1,\"d\":0.1e1,\"{ENVELOPE}\":{env}}}"),
                T,
            )
            .ok(claims("k1", "messages:send", T, N1, MAX_AGE, one)),
        );
    }
    v.push(
        vc(
            "string escapes in the args and envelope (\\u0068, \\u0031) still verify",
            &tamper(
                &tamper(b, "\"hello\"", r#""\u0068ello""#),
                "\"kid\":\"k1\"",
                r#""kid":"k\u0031""#,
            ),
            T,
        )
        .ok(ok(T, MAX_AGE)),
    );
    v.push(
        vc(
            "ts written as 1.7e12 still verifies",
            &tamper(b, &env_t, "\"ts\":1.7e12"),
            T,
        )
        .ok(ok(T, MAX_AGE)),
    );
    v.push(
        vc(
            "ts written as 1700000000000.0 still verifies",
            &tamper(b, &env_t, &format!("\"ts\":{T}.0")),
            T,
        )
        .ok(ok(T, MAX_AGE)),
    );
    v.push(
        vc(
            "v written as 1.0 still verifies",
            &tamper(b, "\"v\":1}", "\"v\":1.0}"),
            T,
        )
        .ok(ok(T, MAX_AGE)),
    );
    {
        let s = sign(
            &k1(),
            AUD,
            "messages:send",
            r#"{"z":-0,"i":{"$integer":"AQAAAAAAAAA="},"b":{"$bytes":"AQID"}}"#,
            T,
            N1,
        );
        let canonical = r#"{"b":{"$bytes":"AQID"},"i":{"$integer":"AQAAAAAAAAA="},"z":{"$float":"AAAAAAAAAIA="}}"#;
        v.push(
            vc("args with special forms verify", &s.signed_args, T).ok(claims(
                "k1",
                "messages:send",
                T,
                N1,
                MAX_AGE,
                canonical,
            )),
        );
        v.push(
            vc(
                "-0 written as -0.0 where the signed args had the $float form still verifies",
                &tamper(&s.signed_args, r#"{"$float":"AAAAAAAAAIA="}"#, "-0.0"),
                T,
            )
            .ok(claims("k1", "messages:send", T, N1, MAX_AGE, canonical)),
        );
    }
    v.push(
        vc("verifier given the function as messages.js:send", b, T)
            .function("messages.js:send")
            .ok(ok(T, MAX_AGE)),
    );
    {
        let s = sign(&k1(), AUD, "messages", ARGS, T, N1);
        v.push(
            vc(
                "default export: signed as messages, verified as messages:default",
                &s.signed_args,
                T,
            )
            .function("messages:default")
            .ok(claims("k1", "messages:default", T, N1, MAX_AGE, ARGS)),
        );
    }
    {
        let s = sign_with(&k1(), AUD, "messages:send", ARGS, T, N1, |s| {
            s.with_envelope_field("auth").expect("identifier")
        });
        v.push(
            vc("custom envelope field name at both ends", &s.signed_args, T)
                .field("auth")
                .ok(ok(T, MAX_AGE)),
        );
        v.push(
            vc(
                "custom envelope field: signed with 'auth', verifier expects '_callsign'",
                &s.signed_args,
                T,
            )
            .err("malformed"),
        );
    }
    v.push(
        vc(
            "custom window: now = ts + max_age (1000) is accepted",
            b,
            T + 1000,
        )
        .window(1000, 0)
        .ok(ok(T, 1000)),
    );
    v.push(
        vc(
            "window overrides field-wise: only max_age_ms 1000 given, max_future_ms stays 60000, now = ts - 60000 is accepted",
            b,
            T - MAX_FUTURE,
        )
        .max_age(1000)
        .ok(ok(T, 1000)),
    );
    v.push(
        vc(
            "window overrides field-wise: only max_age_ms 1000 given, now = ts + 1001 is expired",
            b,
            T + 1001,
        )
        .max_age(1000)
        .err("expired"),
    );
    v.push(
        vc("signed args of exactly max_bytes are accepted", b, T)
            .max_bytes(b.len())
            .ok(ok(T, MAX_AGE)),
    );
    {
        let deep_args = format!("{}{{}}{}", "{\"a\":".repeat(62), "}".repeat(62));
        let s = sign(&k1(), AUD, "messages:send", &deep_args, T, N1);
        v.push(
            vc(
                "args nested exactly at the depth limit (63) verify",
                &s.signed_args,
                T,
            )
            .ok(claims("k1", "messages:send", T, N1, MAX_AGE, &deep_args)),
        );
        let deeper = format!("{}{{}}{}", "{\"a\":".repeat(63), "}".repeat(63));
        let s = sign_with(&k1(), AUD, "messages:send", &deeper, T, N1, |s| {
            s.with_limits(Limits {
                max_bytes: Limits::DEFAULT_MAX_BYTES,
                max_depth: 64,
            })
        });
        v.push(
            vc(
                "args nested one over the depth limit (64), validly signed",
                &s.signed_args,
                T,
            )
            .err("malformed"),
        );
    }

    // --- Envelope fields tampered.
    v.push(
        vc(
            "kid changed to an unknown kid",
            &tamper(b, "\"kid\":\"k1\"", "\"kid\":\"k9\""),
            T,
        )
        .err("unknown_key"),
    );
    v.push(
        vc(
            "kid changed to another known kid",
            &tamper(b, "\"kid\":\"k1\"", "\"kid\":\"k2\""),
            T,
        )
        .err("bad_signature"),
    );
    v.push(
        vc(
            "ts changed by 1 ms",
            &tamper(b, &env_t, &format!("\"ts\":{}", T + 1)),
            T,
        )
        .err("bad_signature"),
    );
    v.push(
        vc(
            "nonce changed in one digit",
            &tamper(b, N1, "00112233445566778899aabbccddeef0"),
            T,
        )
        .err("bad_signature"),
    );
    {
        let last = sig.chars().last().expect("hex");
        let flipped = if last == '0' { '1' } else { '0' };
        let bad_sig = format!("{}{flipped}", &sig[..63]);
        v.push(
            vc("sig changed in one hex digit", &tamper(b, sig, &bad_sig), T).err("bad_signature"),
        );
    }
    v.push(vc("sig of all zeros", &tamper(b, sig, &"0".repeat(64)), T).err("bad_signature"));
    assert!(
        sig.bytes().any(|c| c.is_ascii_alphabetic()),
        "sig has letters"
    );
    v.push(
        vc(
            "sig in upper-case hex",
            &tamper(b, sig, &sig.to_uppercase()),
            T,
        )
        .err("malformed"),
    );
    v.push(vc("sig of 63 hex digits", &tamper(b, sig, &sig[..63]), T).err("malformed"));
    v.push(
        vc(
            "sig of 65 hex digits",
            &tamper(b, sig, &format!("{sig}0")),
            T,
        )
        .err("malformed"),
    );
    v.push(vc("sig empty", &tamper(b, sig, ""), T).err("malformed"));
    v.push(
        vc(
            "sig with a non-hex character",
            &tamper(b, sig, &format!("{}g", &sig[..63])),
            T,
        )
        .err("malformed"),
    );

    // --- Function and audience.
    v.push(
        vc("wrong function", b, T)
            .function("messages:remove")
            .err("bad_signature"),
    );
    v.push(
        vc("wrong function: messages (= messages:default)", b, T)
            .function("messages")
            .err("bad_signature"),
    );
    v.push(
        vc("invalid function name at the verifier (empty)", b, T)
            .function("")
            .err("malformed"),
    );
    v.push(
        vc(
            "invalid function name at the verifier (no export after ':')",
            b,
            T,
        )
        .function("messages:")
        .err("malformed"),
    );
    v.push(
        vc(
            "invalid function name at the verifier (module is only '.js')",
            b,
            T,
        )
        .function(".js:send")
        .err("malformed"),
    );
    v.push(
        vc("wrong audience", b, T)
            .audience(AUD_B)
            .err("bad_signature"),
    );
    {
        let s = sign(&k1(), AUD_B, "messages:send", ARGS, T, N1);
        v.push(vc("signed for another audience", &s.signed_args, T).err("bad_signature"));
    }
    v.push(
        vc("verifier holds a derived key for another audience", b, T)
            .keys(&derived(&k1(), AUD_B))
            .err("invalid_key"),
    );
    v.push(
        vc(
            "verifier's key set holds, besides the signing key, a key derived for another audience",
            b,
            T,
        )
        .keys(&format!("{},{}", k1(), derived(&k2(), AUD_B)))
        .err("invalid_key"),
    );
    v.push(
        vc("verifier audience contains a space", b, T)
            .audience("https://a b")
            .err("malformed"),
    );
    v.push(
        vc("same kid, different secret at the verifier", b, T)
            .keys(&k1_impostor())
            .err("bad_signature"),
    );
    v.push(
        vc("unknown kid: verifier holds only k2", b, T)
            .keys(&k2())
            .err("unknown_key"),
    );
    v.push(
        vc("verifier key shorter than 256 bits (31-byte secret)", b, T)
            .keys(&format!("csk1_k1_{}", seq_hex(0x00, 31)))
            .err("invalid_key"),
    );
    v.push(
        vc("verifier key string malformed (secret not hex)", b, T)
            .keys(&format!("{},csk1_k3_not-hex", k1()))
            .err("invalid_key"),
    );

    // --- Envelope missing, mistyped or malformed.
    v.push(vc("missing envelope", ARGS, T).err("malformed"));
    let env = envelope_json("k1", N1, sig, T);
    let with_env = |value: &str| format!("{{\"{ENVELOPE}\":{value},\"body\":\"hello\",\"n\":1}}");
    v.push(
        vc(
            "envelope is a string",
            &with_env(&serde_json::to_string(&env).expect("json")),
            T,
        )
        .err("malformed"),
    );
    v.push(vc("envelope is an array", &with_env(&format!("[{env}]")), T).err("malformed"));
    v.push(vc("envelope is null", &with_env("null"), T).err("malformed"));
    v.push(vc("envelope is an empty object", &with_env("{}"), T).err("malformed"));
    v.push(
        vc(
            "envelope is a $bytes value",
            &with_env(r#"{"$bytes":""}"#),
            T,
        )
        .err("malformed"),
    );
    v.push(vc("envelope lacks kid", &tamper(b, "\"kid\":\"k1\",", ""), T).err("malformed"));
    v.push(
        vc(
            "envelope lacks nonce",
            &tamper(b, &format!("\"nonce\":\"{N1}\","), ""),
            T,
        )
        .err("malformed"),
    );
    v.push(
        vc(
            "envelope lacks sig",
            &tamper(b, &format!("\"sig\":\"{sig}\","), ""),
            T,
        )
        .err("malformed"),
    );
    v.push(vc("envelope lacks ts", &tamper(b, &format!("{env_t},"), ""), T).err("malformed"));
    v.push(vc("envelope lacks v", &tamper(b, ",\"v\":1}", "}"), T).err("malformed"));
    v.push(
        vc(
            "envelope has an extra field",
            &tamper(b, "\"v\":1}", "\"v\":1,\"aud\":\"x\"}"),
            T,
        )
        .err("malformed"),
    );
    v.push(
        vc(
            "envelope kid is a number",
            &tamper(b, "\"kid\":\"k1\"", "\"kid\":1"),
            T,
        )
        .err("malformed"),
    );
    v.push(
        vc(
            "envelope kid is empty",
            &tamper(b, "\"kid\":\"k1\"", "\"kid\":\"\""),
            T,
        )
        .err("malformed"),
    );
    v.push(
        vc(
            "envelope kid contains '_'",
            &tamper(b, "\"kid\":\"k1\"", "\"kid\":\"k_1\""),
            T,
        )
        .err("malformed"),
    );
    v.push(
        vc(
            "envelope kid holds a lone surrogate (\\ud800)",
            &tamper(b, "\"kid\":\"k1\"", r#""kid":"k1\ud800""#),
            T,
        )
        .err("malformed"),
    );
    v.push(
        vc(
            "envelope has kid twice (duplicate key)",
            &tamper(b, "\"kid\":\"k1\"", "\"kid\":\"k1\",\"kid\":\"k1\""),
            T,
        )
        .err("malformed"),
    );
    v.push(
        vc(
            "ts is a string",
            &tamper(b, &env_t, &format!("\"ts\":\"{T}\"")),
            T,
        )
        .err("malformed"),
    );
    v.push(
        vc(
            "ts is fractional",
            &tamper(b, &env_t, &format!("\"ts\":{T}.5")),
            T,
        )
        .err("malformed"),
    );
    v.push(vc("ts is 1.5", &tamper(b, &env_t, "\"ts\":1.5"), T).err("malformed"));
    v.push(
        vc(
            "ts is negative",
            &tamper(b, &env_t, &format!("\"ts\":-{T}")),
            T,
        )
        .err("malformed"),
    );
    v.push(vc("ts is -0", &tamper(b, &env_t, "\"ts\":-0"), T).err("malformed"));
    v.push(
        vc(
            "ts is 2^53 (over 2^53 - 1)",
            &tamper(b, &env_t, "\"ts\":9007199254740992"),
            T,
        )
        .err("malformed"),
    );
    v.push(vc("ts is 1e300", &tamper(b, &env_t, "\"ts\":1e300"), T).err("malformed"));
    v.push(vc("ts is -1", &tamper(b, &env_t, "\"ts\":-1"), T).err("malformed"));
    v.push(
        vc(
            "ts is 2^64",
            &tamper(b, &env_t, "\"ts\":18446744073709551616"),
            T,
        )
        .err("malformed"),
    );
    v.push(
        vc(
            "ts is a $integer",
            &tamper(b, &env_t, "\"ts\":{\"$integer\":\"AOh2k4sBAAA=\"}"),
            T,
        )
        .err("malformed"),
    );
    v.push(vc("ts is null", &tamper(b, &env_t, "\"ts\":null"), T).err("malformed"));
    v.push(vc("v is 2", &tamper(b, "\"v\":1}", "\"v\":2}"), T).err("malformed"));
    v.push(vc("v is 0", &tamper(b, "\"v\":1}", "\"v\":0}"), T).err("malformed"));
    v.push(vc("v is a string", &tamper(b, "\"v\":1}", "\"v\":\"1\"}"), T).err("malformed"));
    v.push(vc("nonce of 31 hex digits", &tamper(b, N1, &N1[..31]), T).err("malformed"));
    v.push(
        vc(
            "nonce of 65 hex digits",
            &tamper(b, N1, &format!("{N1}{N1}0")),
            T,
        )
        .err("malformed"),
    );
    v.push(
        vc(
            "nonce in upper-case hex",
            &tamper(b, N1, &N1.to_uppercase()),
            T,
        )
        .err("malformed"),
    );
    v.push(
        vc(
            "nonce with a non-hex character",
            &tamper(b, N1, "00112233445566778899aabbccddeefg"),
            T,
        )
        .err("malformed"),
    );
    v.push(
        vc(
            "nonce is a number",
            &tamper(b, &format!("\"{N1}\""), "1"),
            T,
        )
        .err("malformed"),
    );
    v.push(
        vc(
            "two envelope fields (duplicate key)",
            &tamper(b, "\"n\":1}", &format!("\"n\":1,\"{ENVELOPE}\":{env}}}")),
            T,
        )
        .err("malformed"),
    );
    v.push(
        vc(
            "custom envelope field name mismatch: signed '_callsign', verifier expects 'auth'",
            b,
            T,
        )
        .field("auth")
        .err("malformed"),
    );
    v.push(
        vc(
            "verifier envelope field 'my-envelope' is not a Convex identifier (the args carry their envelope under _callsign)",
            b,
            T,
        )
        .field("my-envelope")
        .err("malformed"),
    );
    v.push(
        vc(
            "verifier envelope field 'my-envelope' is not a Convex identifier, though the args carry a valid envelope under that name",
            &tamper(b, &format!("\"{ENVELOPE}\""), "\"my-envelope\""),
            T,
        )
        .field("my-envelope")
        .err("malformed"),
    );

    // --- Time window.
    v.push(
        vc(
            "window edge: now = ts + max_age + 1 is expired",
            b,
            T + MAX_AGE + 1,
        )
        .err("expired"),
    );
    v.push(
        vc(
            "window edge: now = ts - max_future - 1 is not yet valid",
            b,
            T - MAX_FUTURE - 1,
        )
        .err("not_yet_valid"),
    );
    v.push(vc("long expired", b, T + 86_400_000).err("expired"));
    v.push(
        vc(
            "custom window: now = ts + max_age + 1 is expired",
            b,
            T + 1001,
        )
        .window(1000, 0)
        .err("expired"),
    );
    v.push(
        vc(
            "custom window with no future skew: now = ts - 1 is not yet valid",
            b,
            T - 1,
        )
        .window(1000, 0)
        .err("not_yet_valid"),
    );
    {
        let s0 = sign(&k1(), AUD, "messages:send", ARGS, 0, N1);
        let at0 = |ts: u64| claims("k1", "messages:send", ts, N1, MAX_AGE, ARGS);
        v.push(vc("ts = 0 (the epoch) verifies at now = 0", &s0.signed_args, 0).ok(at0(0)));
        v.push(
            vc(
                "ts = 0: now = max_age is accepted",
                &s0.signed_args,
                MAX_AGE,
            )
            .ok(at0(0)),
        );
        v.push(
            vc(
                "ts = 0: now = max_age + 1 is expired",
                &s0.signed_args,
                MAX_AGE + 1,
            )
            .err("expired"),
        );
        let s1 = sign(&k1(), AUD, "messages:send", ARGS, 1000, N1);
        v.push(
            vc(
                "ts = 1000, below max_future: now = 0 is accepted (ts - max_future is below the epoch)",
                &s1.signed_args,
                0,
            )
            .ok(at0(1000)),
        );
        let top = (1u64 << 53) - 1;
        let s_top = sign(&k1(), AUD, "messages:send", ARGS, top, N1);
        v.push(
            vc(
                "ts = 2^53 - 1 (the largest valid ts) far ahead of now is not yet valid, not malformed",
                &s_top.signed_args,
                T,
            )
            .err("not_yet_valid"),
        );
    }
    v.push(
        vc(
            "a tampered ts is a bad signature, not a window error",
            &tamper(b, &env_t, &format!("\"ts\":{}", T + 10 * MAX_AGE)),
            T,
        )
        .err("bad_signature"),
    );

    // --- Args tampered or unacceptable.
    v.push(
        vc(
            "args: a value changed",
            &tamper(b, "\"hello\"", "\"hellO\""),
            T,
        )
        .err("bad_signature"),
    );
    v.push(
        vc(
            "args: a number changed",
            &tamper(b, "\"n\":1}", "\"n\":2}"),
            T,
        )
        .err("bad_signature"),
    );
    v.push(
        vc(
            "args: a field added",
            &tamper(b, "\"n\":1}", "\"n\":1,\"x\":null}"),
            T,
        )
        .err("bad_signature"),
    );
    v.push(vc("args: a field removed", &tamper(b, ",\"n\":1}", "}"), T).err("bad_signature"));
    v.push(
        vc(
            "args: a __proto__ member added (it would become a prototype, unseen by the MAC)",
            &tamper(b, "\"n\":1}", "\"n\":1,\"__proto__\":{\"isAdmin\":true}}"),
            T,
        )
        .err("malformed"),
    );
    v.push(
        vc(
            "args: a __proto__ member added inside the envelope",
            &tamper(b, "\"v\":1}", "\"v\":1,\"__proto__\":{}}"),
            T,
        )
        .err("malformed"),
    );
    v.push(
        vc("verifier audience holding a key prefix", b, T)
            .audience("https://csk1_x.convex.cloud")
            .err("malformed"),
    );
    v.push(
        vc(
            "args: a field renamed",
            &tamper(b, "\"n\":1}", "\"m\":1}"),
            T,
        )
        .err("bad_signature"),
    );
    v.push(
        vc(
            "args: the number 1 replaced by the string \"1\"",
            &tamper(b, "\"n\":1}", "\"n\":\"1\"}"),
            T,
        )
        .err("bad_signature"),
    );
    v.push(
        vc("signed args one byte over max_bytes", b, T)
            .max_bytes(b.len() - 1)
            .err("too_large"),
    );
    {
        let (before, after) = b.split_once("\"hello\"").expect("body");
        v.push(
            vc("signed args over the default 1 MiB limit", "", T)
                .repeat(rep(
                    &format!("{before}\"hello"),
                    "x",
                    1 << 20,
                    &format!("\"{after}"),
                ))
                .err("too_large"),
        );
    }
    v.push(
        vc(
            "args contain a lone surrogate",
            &tamper(b, "\"hello\"", r#""hello\ud800""#),
            T,
        )
        .err("malformed"),
    );
    v.push(
        vc(
            "args contain a lone low surrogate (\\udc00) in a field name",
            &tamper(b, "\"n\":1}", r#""n":1,"\udc00":1}"#),
            T,
        )
        .err("malformed"),
    );
    for (what, bad) in [
        (
            "$integer with a bad base64 character",
            r#"{"$integer":"AQAAAAAAAA*="}"#,
        ),
        ("$integer of 7 bytes", r#"{"$integer":"AQAAAAAAAA=="}"#),
        ("$float of 4 bytes", r#"{"$float":"AADAfw=="}"#),
        (
            "$float encoding 1.0 (a plain number)",
            r#"{"$float":"AAAAAAAA8D8="}"#,
        ),
        ("unpadded $bytes", r#"{"$bytes":"AQI"}"#),
    ] {
        v.push(
            vc(
                &format!("args contain {what}"),
                &tamper(b, "\"n\":1}", &format!("\"n\":1,\"x\":{bad}}}")),
                T,
            )
            .err("malformed"),
        );
    }
    v.push(
        vc(
            "args contain a duplicate key",
            &tamper(b, "\"n\":1}", "\"n\":1,\"n\":1}"),
            T,
        )
        .err("malformed"),
    );
    v.push(
        vc(
            "args contain a $-prefixed field name",
            &tamper(b, "\"n\":1}", "\"n\":1,\"$x\":1}"),
            T,
        )
        .err("malformed"),
    );
    v.push(
        vc(
            "args contain a non-ASCII field name",
            &tamper(b, "\"n\":1}", "\"n\":1,\"\u{e9}\":1}"),
            T,
        )
        .err("malformed"),
    );
    v.push(
        vc(
            "args contain a number that overflows",
            &tamper(b, "\"n\":1}", "\"n\":1e400}"),
            T,
        )
        .err("malformed"),
    );
    v.push(
        vc(
            "signed args are not JSON (trailing comma)",
            &tamper(b, "\"n\":1}", "\"n\":1,}"),
            T,
        )
        .err("malformed"),
    );
    v.push(vc("signed args are an array", &format!("[{b}]"), T).err("malformed"));
    v.push(vc("signed args are empty", "", T).err("malformed"));

    // --- Sequences: one replay store per sequence.
    let mut seqs = Vec::new();
    seqs.push(Sequence {
        name: "replay of an accepted call is rejected".into(),
        steps: vec![
            step(b, T).ok(ok(T, MAX_AGE)),
            step(b, T + 1).err("replayed"),
        ],
    });
    {
        let s2 = sign(&k2(), AUD, "messages:send", ARGS, T, N1);
        seqs.push(Sequence {
            name: "the same nonce under another kid is a different pair".into(),
            steps: vec![
                step(b, T).ok(ok(T, MAX_AGE)),
                step(&s2.signed_args, T).ok(claims("k2", "messages:send", T, N1, MAX_AGE, ARGS)),
                step(b, T).err("replayed"),
                step(&s2.signed_args, T).err("replayed"),
            ],
        });
    }
    seqs.push(Sequence {
        name: "a replay after the window is expired, not replayed".into(),
        steps: vec![
            step(b, T).ok(ok(T, MAX_AGE)),
            step(b, T + MAX_AGE + 1).err("expired"),
        ],
    });
    seqs.push(Sequence {
        name: "a replay at the last moment of the window is still replayed".into(),
        steps: vec![
            step(b, T).ok(ok(T, MAX_AGE)),
            step(b, T + MAX_AGE).err("replayed"),
        ],
    });
    seqs.push(Sequence {
        name: "a rejected call does not use up its nonce".into(),
        steps: vec![
            step(&tamper(b, "\"hello\"", "\"hellO\""), T).err("bad_signature"),
            step(b, T + MAX_AGE + 1).err("expired"),
            step(b, T).ok(ok(T, MAX_AGE)),
            step(b, T).err("replayed"),
        ],
    });
    {
        let s2 = sign(&k1(), AUD, "messages:send", ARGS, T, N2);
        seqs.push(Sequence {
            name: "different nonces from one key are each accepted once".into(),
            steps: vec![
                step(b, T).ok(ok(T, MAX_AGE)),
                step(&s2.signed_args, T + 5).ok(claims(
                    "k1",
                    "messages:send",
                    T,
                    N2,
                    MAX_AGE,
                    ARGS,
                )),
                step(&s2.signed_args, T + 6).err("replayed"),
            ],
        });
    }
    seqs.push(Sequence {
        name: "a replay respelled (whitespace, number form) is still a replay".into(),
        steps: vec![
            step(b, T).ok(ok(T, MAX_AGE)),
            step(&format!(" {}\n", tamper(b, "\"n\":1}", "\"n\" : 1.0 }")), T).err("replayed"),
        ],
    });
    {
        // SPEC §8: the watermark is in ts terms, so a window widened after the
        // store forgot a call does not let that call in again.
        let later = sign(&k1(), AUD, "messages:send", ARGS, T + 6_000, N2);
        let fresh = sign(&k1(), AUD, "messages:send", ARGS, T + 5_000, N3);
        seqs.push(Sequence {
            name: "widening the window does not reopen a call the store forgot".into(),
            steps: vec![
                step(b, T).max_age(1_000).ok(ok(T, 1_000)),
                step(&later.signed_args, T + 6_000)
                    .max_age(1_000)
                    .ok(claims("k1", "messages:send", T + 6_000, N2, 1_000, ARGS)),
                step(b, T + 6_000).max_age(60_000).err("replayed"),
                step(&fresh.signed_args, T + 6_000)
                    .max_age(60_000)
                    .ok(claims("k1", "messages:send", T + 5_000, N3, 60_000, ARGS)),
            ],
        });
        let mid = sign(&k1(), AUD, "messages:send", ARGS, T + 30_000, N2);
        seqs.push(Sequence {
            name: "narrowing the window, then widening it again, keeps an accepted call refused"
                .into(),
            steps: vec![
                step(b, T).ok(ok(T, MAX_AGE)),
                step(b, T + 30_000).max_age(1_000).err("expired"),
                step(&mid.signed_args, T + 30_000).max_age(1_000).ok(claims(
                    "k1",
                    "messages:send",
                    T + 30_000,
                    N2,
                    1_000,
                    ARGS,
                )),
                step(b, T + 40_000).err("replayed"),
            ],
        });
    }
    seqs.push(Sequence {
        name: "a replay to another function is a bad signature".into(),
        steps: vec![
            step(b, T).ok(ok(T, MAX_AGE)),
            step(b, T).function("messages:remove").err("bad_signature"),
        ],
    });
    (v, seqs)
}

/// Runs one case or step against the library (the same procedure as the tests).
fn run_verify(d: &VerifyDefaults, c: &VCase, store: &MemoryNonceStore) -> Result<Verified, Error> {
    let keys = KeySet::parse(c.keys.as_deref().unwrap_or(&d.keys))?;
    // Field-wise: a case's `window` and `limits` override only the fields they give.
    let window = c.window.unwrap_or_default();
    let limits = c.limits.unwrap_or_default();
    let verifier = Verifier::new(&keys, c.audience.as_deref().unwrap_or(&d.audience))?
        .with_window(Window {
            max_age_ms: window.max_age_ms.or(d.window.max_age_ms).expect("default"),
            max_future_ms: window
                .max_future_ms
                .or(d.window.max_future_ms)
                .expect("default"),
        })
        .with_limits(Limits {
            max_bytes: limits.max_bytes.or(d.limits.max_bytes).expect("default"),
            max_depth: limits.max_depth.or(d.limits.max_depth).expect("default"),
        })
        .with_envelope_field(c.envelope_field.as_deref().unwrap_or(&d.envelope_field))?;
    let signed = match (&c.signed_args, &c.signed_args_repeat) {
        (Some(s), None) => s.clone(),
        (None, Some(r)) => r.expand(),
        _ => unreachable!(),
    };
    let store: &dyn NonceStore = store;
    verifier.verify_once(
        store,
        c.function.as_deref().unwrap_or(&d.function),
        &signed,
        c.now,
    )
}

fn check_verify_outcome(what: &str, got: Result<Verified, Error>, c: &VCase, p: &mut Problems) {
    match (&c.verified, c.error) {
        (Some(want), None) => p.expect_eq(
            what,
            got.as_ref().map(Claims::from).map_err(|e| e.to_string()),
            Ok(want.clone()),
        ),
        (None, Some(code)) => p.expect_code(what, got, code),
        _ => {
            p.0.push(format!("{what}: needs exactly one of verified / error"))
        }
    }
}

// ---------------------------------------------------------------------------
// Output.

/// Compact JSON with every non-ASCII character (and DEL) written as a \u
/// escape, so the files are plain ASCII whatever the editor.
fn inline<T: Serialize>(value: &T) -> String {
    let text = serde_json::to_string(value).expect("serializable");
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if ch.is_ascii() && ch != '\u{7f}' {
            out.push(ch);
        } else {
            let mut units = [0u16; 2];
            for unit in ch.encode_utf16(&mut units) {
                out += &format!("\\u{unit:04x}");
            }
        }
    }
    out
}

fn list<T: Serialize>(items: &[T]) -> String {
    let lines: Vec<String> = items.iter().map(|i| format!("    {}", inline(i))).collect();
    format!("[\n{}\n  ]", lines.join(",\n"))
}

fn document(fields: &[(&str, String)]) -> String {
    let parts: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("  {}: {v}", inline(k)))
        .collect();
    format!("{{\n{}\n}}\n", parts.join(",\n"))
}

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors")
}

fn main() {
    let check_only = std::env::args().any(|a| a == "--check");
    let mut p = Problems::default();

    let canon = canonical_cases();
    check_canonical(&canon, &mut p);
    let keys = key_cases();
    check_keys(&keys, &mut p);
    let signing = signing_cases(&mut p);
    check_signing_verifies(&signing, &mut p);
    let signing_invalid = signing_invalid_cases();
    check_signing_invalid(&signing_invalid, &mut p);
    let functions = function_cases();
    check_functions(&functions, &mut p);
    let d = defaults();
    let (cases, sequences) = verify_cases();
    for c in &cases {
        let what = format!("verify {:?}", c.name.as_deref().unwrap_or(""));
        check_verify_outcome(
            &what,
            run_verify(&d, c, &MemoryNonceStore::new()),
            c,
            &mut p,
        );
    }
    for s in &sequences {
        let store = MemoryNonceStore::new();
        for (i, c) in s.steps.iter().enumerate() {
            let what = format!("sequence {:?} step {}", s.name, i + 1);
            check_verify_outcome(&what, run_verify(&d, c, &store), c, &mut p);
        }
    }

    if !p.0.is_empty() {
        eprintln!("{} expectation(s) disagree with the library:", p.0.len());
        for problem in &p.0 {
            eprintln!("  - {problem}");
        }
        std::process::exit(1);
    }

    let files = [
        (
            "canonical.json",
            document(&[
                (
                    "limits",
                    inline(&LimitsJ {
                        max_bytes: Some(Limits::DEFAULT_MAX_BYTES),
                        max_depth: Some(Limits::DEFAULT_MAX_DEPTH),
                    }),
                ),
                ("valid", list(&canon.valid)),
                ("invalid", list(&canon.invalid)),
            ]),
        ),
        (
            "keys.json",
            document(&[
                ("valid", list(&keys.valid)),
                ("invalid", list(&keys.invalid)),
                ("derive", list(&keys.derive)),
                ("keysets", list(&keys.keysets)),
            ]),
        ),
        (
            "signing.json",
            document(&[
                (
                    "limits",
                    inline(&LimitsJ {
                        max_bytes: Some(Limits::DEFAULT_MAX_BYTES),
                        max_depth: Some(Limits::DEFAULT_MAX_DEPTH),
                    }),
                ),
                ("cases", list(&signing)),
                ("invalid", list(&signing_invalid)),
                ("functions", list(&functions)),
            ]),
        ),
        (
            "verify.json",
            document(&[
                ("defaults", inline(&d)),
                ("cases", list(&cases)),
                ("sequences", list(&sequences)),
            ]),
        ),
    ];
    let dir = vectors_dir();
    let mut stale = Vec::new();
    for (name, text) in files {
        let path = dir.join(name);
        if check_only {
            if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                stale.push(name);
            }
        } else {
            std::fs::write(&path, text).unwrap_or_else(|e| panic!("writing {path:?}: {e}"));
            println!("wrote {}", path.display());
        }
    }
    if !stale.is_empty() {
        eprintln!(
            "stale: {} (run `cargo run -p callsign --example gen_vectors`)",
            stale.join(", ")
        );
        std::process::exit(1);
    }
    println!(
        "canonical: {} valid, {} invalid; keys: {} valid, {} invalid, {} derive, {} keysets; \
         signing: {} cases, {} invalid, {} functions; verify: {} cases, {} sequences",
        canon.valid.len(),
        canon.invalid.len(),
        keys.valid.len(),
        keys.invalid.len(),
        keys.derive.len(),
        keys.keysets.len(),
        signing.len(),
        signing_invalid.len(),
        functions.len(),
        cases.len(),
        sequences.len()
    );
}
