//! Runs the shared vectors in `tests/vectors/` (format: its README) through the library.
//!
//! Every test collects all failing cases and reports them together. Each file
//! must also hold at least a minimum number of cases, so that deleting vectors
//! is noticed. Every case states all its settings (the files have no
//! defaults); after editing a file, fill in its computed values with
//! `cargo run -p callsign --example fill_vectors`.

use std::collections::HashSet;
use std::path::Path;

use callsign::spec::{self, signing_message};
use callsign::{
    canonicalize, ErrorCode, Key, KeySet, Limits, MemoryNonceStore, Nonce, Signer, Verified,
    Verifier, Window,
};
use serde_json::Value;

fn load(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/vectors")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {path:?}: {e}"))
}

fn array<'a>(doc: &'a Value, field: &str) -> &'a [Value] {
    doc[field]
        .as_array()
        .unwrap_or_else(|| panic!("{field:?} must be an array"))
}

fn string(case: &Value, field: &str) -> String {
    case[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field:?} must be a string in {case}"))
        .to_owned()
}

fn uint(case: &Value, field: &str) -> u64 {
    case[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field:?} must be an unsigned integer in {case}"))
}

fn name(case: &Value) -> String {
    case["name"].as_str().unwrap_or("<unnamed>").to_owned()
}

/// `case[field]`, or the expansion of `case[field_repeat]` (README: `input_repeat`).
fn text_or_repeat(case: &Value, field: &str) -> String {
    if let Some(text) = case[field].as_str() {
        return text.to_owned();
    }
    let r = &case[format!("{field}_repeat")];
    assert!(
        r.is_object(),
        "case needs {field:?} or {field:?}_repeat: {case}"
    );
    let count = usize::try_from(uint(r, "count")).expect("count fits usize");
    format!(
        "{}{}{}",
        string(r, "prefix"),
        string(r, "unit").repeat(count),
        string(r, "suffix")
    )
}

/// A case's `limits`.
fn limits(case: &Value) -> Limits {
    let pick = |f: &str| usize::try_from(uint(&case["limits"], f)).expect("fits usize");
    Limits {
        max_bytes: pick("max_bytes"),
        max_depth: pick("max_depth"),
    }
}

fn code(case: &Value) -> ErrorCode {
    let text = case["error"].as_str().expect("error is a string");
    ErrorCode::parse(text).unwrap_or_else(|| panic!("unknown error code {text:?}"))
}

/// Failures collected over a whole file, reported together.
struct Report {
    file: &'static str,
    failures: Vec<String>,
    names: HashSet<String>,
}

impl Report {
    fn new(file: &'static str) -> Report {
        Report {
            file,
            failures: Vec::new(),
            names: HashSet::new(),
        }
    }

    fn fail(&mut self, what: impl std::fmt::Display) {
        self.failures.push(what.to_string());
    }

    /// Records a case name; names are unique within a section of a file.
    fn named(&mut self, section: &str, case: &Value) -> String {
        let n = name(case);
        if !self.names.insert(format!("{section}/{n}")) {
            self.fail(format!("{section}: duplicate case name {n:?}"));
        }
        format!("{section} {n:?}")
    }

    fn expect_eq<T: PartialEq + std::fmt::Debug>(&mut self, what: &str, got: T, want: T) {
        if got != want {
            self.fail(format!("{what}:\n      got  {got:?}\n      want {want:?}"));
        }
    }

    fn expect_code<T: std::fmt::Debug>(
        &mut self,
        what: &str,
        got: callsign::Result<T>,
        want: ErrorCode,
    ) {
        match got {
            Err(e) if e.code() == want => {}
            Err(e) => self.fail(format!("{what}: expected {want}, got error {e}")),
            Ok(v) => self.fail(format!("{what}: expected {want}, got Ok({v:?})")),
        }
    }

    fn at_least(&mut self, section: &str, items: &[Value], min: usize) {
        if items.len() < min {
            self.fail(format!(
                "{section}: {} cases, expected at least {min} (were vectors deleted?)",
                items.len()
            ));
        }
    }

    fn finish(self) {
        if !self.failures.is_empty() {
            panic!(
                "{} failure(s) in {}:\n  - {}",
                self.failures.len(),
                self.file,
                self.failures.join("\n  - ")
            );
        }
    }
}

#[test]
fn canonical_vectors() {
    let doc = load("canonical.json");
    let mut r = Report::new("canonical.json");
    let valid = array(&doc, "valid");
    let invalid = array(&doc, "invalid");
    r.at_least("valid", valid, 110);
    r.at_least("invalid", invalid, 157);

    for case in valid {
        let what = r.named("valid", case);
        let limits = limits(case);
        let want = string(case, "canonical");
        match canonicalize(&text_or_repeat(case, "input"), &limits) {
            Ok(got) => r.expect_eq(&what, got.as_str(), want.as_str()),
            Err(e) => r.fail(format!("{what}: expected {want:?}, got error {e}")),
        }
        // Canonical text is a fixed point (it may be longer than the input,
        // e.g. -0 becomes a $float, so the size limit is lifted here).
        let relaxed = Limits {
            max_bytes: usize::MAX,
            ..limits
        };
        match canonicalize(&want, &relaxed) {
            Ok(again) => r.expect_eq(&format!("{what} (fixed point)"), again, want),
            Err(e) => r.fail(format!("{what}: canonical form does not re-parse: {e}")),
        }
    }
    let mut not_utf8 = 0;
    for case in invalid {
        let what = r.named("invalid", case);
        if let Some(hex_text) = case["input_hex"].as_str() {
            // Raw bytes that are not UTF-8: the &str API cannot receive them,
            // and the type system is what rejects them. Every caller that
            // starts from bytes must refuse them as `malformed`.
            not_utf8 += 1;
            match hex::decode(hex_text) {
                Ok(bytes) => {
                    if std::str::from_utf8(&bytes).is_ok() {
                        r.fail(format!("{what}: input_hex is valid UTF-8"));
                    }
                }
                Err(e) => r.fail(format!("{what}: input_hex is not hex: {e}")),
            }
            r.expect_eq(&what, code(case), ErrorCode::Malformed);
            // The bytes are the only fault: decoded lossily (U+FFFD for each
            // bad sequence) the input canonicalizes, except where the bad
            // byte stands between tokens.
            if let Ok(bytes) = hex::decode(hex_text) {
                let lossy = canonicalize(&String::from_utf8_lossy(&bytes), &limits(case));
                let only_fault = !name(case).contains("between tokens");
                r.expect_eq(
                    &format!("{what} (decoded lossily)"),
                    lossy.is_ok(),
                    only_fault,
                );
            }
            continue;
        }
        r.expect_code(
            &what,
            canonicalize(&text_or_repeat(case, "input"), &limits(case)),
            code(case),
        );
    }
    if not_utf8 < 6 {
        r.fail(format!(
            "only {not_utf8} input_hex (not UTF-8) cases, expected at least 6"
        ));
    }
    r.finish();
}

#[test]
fn key_vectors() {
    let doc = load("keys.json");
    let mut r = Report::new("keys.json");
    let valid = array(&doc, "valid");
    let invalid = array(&doc, "invalid");
    let derive = array(&doc, "derive");
    let keysets = array(&doc, "keysets");
    r.at_least("valid", valid, 15);
    r.at_least("invalid", invalid, 37);
    r.at_least("derive", derive, 5);
    r.at_least("keysets", keysets, 18);

    for case in valid {
        let what = r.named("valid", case);
        let text = string(case, "key");
        match Key::parse(&text) {
            Ok(key) => {
                r.expect_eq(&what, key.kid().to_owned(), string(case, "kid"));
                r.expect_eq(
                    &what,
                    key.audience().map(str::to_owned),
                    case["audience"].as_str().map(str::to_owned),
                );
                r.expect_eq(&what, key.is_root(), case["audience"].is_null());
                r.expect_eq(
                    &format!("{what} audience_fingerprint"),
                    key.audience_fingerprint(),
                    case["audience_fingerprint"].as_str().map(str::to_owned),
                );
                // Written back as `canonical` when given, else as `key` itself.
                let canonical = case["canonical"].as_str().unwrap_or(&text);
                r.expect_eq(
                    &format!("{what} (round trip)"),
                    key.to_key_string().as_str(),
                    canonical,
                );
            }
            Err(e) => r.fail(format!("{what}: {e}")),
        }
    }
    for case in invalid {
        let what = r.named("invalid", case);
        r.expect_code(
            &what,
            Key::parse(&string(case, "key")).map(|k| k.kid().to_owned()),
            code(case),
        );
    }
    for case in derive {
        let what = r.named("derive", case);
        let audience = string(case, "audience");
        let want = string(case, "derived");
        match Key::parse(&string(case, "root")).and_then(|k| k.derive(&audience)) {
            Ok(key) => {
                r.expect_eq(&what, key.to_key_string().as_str(), want.as_str());
                r.expect_eq(&what, key.audience(), Some(audience.as_str()));
            }
            Err(e) => r.fail(format!("{what}: {e}")),
        }
        // The derived key string parses back to the same key.
        match Key::parse(&want) {
            Ok(key) => {
                r.expect_eq(&what, key.audience(), Some(audience.as_str()));
                r.expect_code(
                    &format!("{what}: a derived key cannot derive again"),
                    key.derive(&audience).map(|k| k.kid().to_owned()),
                    ErrorCode::InvalidKey,
                );
            }
            Err(e) => r.fail(format!("{what}: derived key does not parse: {e}")),
        }
    }
    for case in keysets {
        let what = r.named("keysets", case);
        let got = KeySet::parse(&string(case, "keys")).map(|s| {
            s.keys()
                .iter()
                .map(|k| k.kid().to_owned())
                .collect::<Vec<_>>()
        });
        if case["error"].is_string() {
            r.expect_code(&what, got, code(case));
        } else {
            let want: Vec<String> = case["kids"]
                .as_array()
                .expect("kids or error")
                .iter()
                .map(|k| k.as_str().expect("kid string").to_owned())
                .collect();
            r.expect_eq(&what, got.map_err(|e| e.to_string()), Ok(want));
        }
    }
    r.finish();
}

#[test]
fn signing_vectors() {
    let doc = load("signing.json");
    let mut r = Report::new("signing.json");
    let cases = array(&doc, "cases");
    r.at_least("cases", cases, 12);

    for case in cases {
        let what = r.named("cases", case);
        let audience = string(case, "audience");
        let function = string(case, "function");
        let ts = uint(case, "ts");
        let nonce = string(case, "nonce");
        let field = string(case, "envelope_field");
        let key = match Key::parse(&string(case, "key")) {
            Ok(key) => key,
            Err(e) => {
                r.fail(format!("{what}: key: {e}"));
                continue;
            }
        };
        let signed = Nonce::parse(&nonce).and_then(|n| {
            Signer::new(&key, &audience)?
                .with_limits(limits(case))
                .with_envelope_field(&field)?
                .sign_at(&function, &string(case, "args"), ts, &n)
        });
        let call = match signed {
            Ok(call) => call,
            Err(e) => {
                r.fail(format!("{what}: signing failed: {e}"));
                continue;
            }
        };
        let canonical_function = string(case, "canonical_function");
        let canonical_args = string(case, "canonical_args");
        r.expect_eq(
            &format!("{what} function"),
            &call.function,
            &canonical_function,
        );
        r.expect_eq(
            &format!("{what} canonical_args"),
            &call.canonical_args,
            &canonical_args,
        );
        r.expect_eq(
            &format!("{what} message"),
            signing_message(
                key.kid(),
                &audience,
                &canonical_function,
                ts,
                &nonce,
                &canonical_args,
            ),
            string(case, "message"),
        );
        r.expect_eq(
            &format!("{what} sig"),
            call.envelope.sig,
            string(case, "sig"),
        );
        r.expect_eq(
            &format!("{what} envelope kid"),
            call.envelope.kid.as_str(),
            key.kid(),
        );
        r.expect_eq(&format!("{what} envelope ts"), call.envelope.ts, ts);
        r.expect_eq(
            &format!("{what} envelope nonce"),
            &call.envelope.nonce,
            &nonce,
        );
        let signed_args = string(case, "signed_args");
        r.expect_eq(
            &format!("{what} signed_args"),
            &call.signed_args,
            &signed_args,
        );

        // Every signing vector verifies at now = ts with the same key.
        let verified = Verifier::new(&KeySet::from(key.clone()), &audience)
            .and_then(|v| v.with_limits(limits(case)).with_envelope_field(&field))
            .and_then(|v| v.verify(&function, &signed_args, ts));
        match verified {
            Ok(v) => {
                let what = format!("{what} verifies");
                r.expect_eq(&what, v.kid.as_str(), key.kid());
                r.expect_eq(&what, &v.function, &canonical_function);
                r.expect_eq(&what, v.ts, ts);
                r.expect_eq(&what, &v.nonce, &nonce);
                r.expect_eq(&what, &v.canonical_args, &canonical_args);
            }
            Err(e) => r.fail(format!("{what}: signed args do not verify: {e}")),
        }
    }
    r.finish();
}

/// Signs one `invalid` case the way the README maps it onto the library.
fn sign_invalid(case: &Value) -> callsign::Result<callsign::SignedCall> {
    let key = Key::parse(&string(case, "key"))?;
    let signer = Signer::new(&key, &string(case, "audience"))?
        .with_limits(limits(case))
        .with_envelope_field(&string(case, "envelope_field"))?;
    let nonce = Nonce::parse(&string(case, "nonce"))?;
    signer.sign_at(
        &string(case, "function"),
        &string(case, "args"),
        uint(case, "ts"),
        &nonce,
    )
}

#[test]
fn signing_invalid_vectors() {
    let doc = load("signing.json");
    let mut r = Report::new("signing.json");
    let invalid = array(&doc, "invalid");
    r.at_least("invalid", invalid, 22);
    // The valid call every refused one departs from, by one fault (README).
    let base = &array(&doc, "cases")[0];
    let fields = [
        "key",
        "audience",
        "function",
        "ts",
        "nonce",
        "args",
        "envelope_field",
        "limits",
    ];
    for case in invalid {
        let what = r.named("invalid", case);
        r.expect_code(&what, sign_invalid(case), code(case));
        // One fault: putting back one field of the base call makes it sign.
        let repaired = fields.iter().any(|f| {
            let mut repaired = case.clone();
            repaired[*f] = base[*f].clone();
            sign_invalid(&repaired).is_ok()
        });
        if !repaired {
            r.fail(format!(
                "{what}: no one field of {:?} makes it sign",
                name(base)
            ));
        }
        // The two size checks (SPEC §5.1): exactly one of the input and the
        // signed args is over max_bytes.
        if code(case) == ErrorCode::TooLarge {
            let max = limits(case).max_bytes;
            let mut unlimited = case.clone();
            unlimited["limits"]["max_bytes"] = usize::MAX.into();
            let output = sign_invalid(&unlimited).map(|s| s.signed_args.len());
            let over = [
                string(case, "args").len() > max,
                output.is_ok_and(|n| n > max),
            ];
            r.expect_eq(
                &format!("{what} (input over, output over)"),
                over.iter().filter(|o| **o).count(),
                1,
            );
        }
    }
    r.finish();
}

#[test]
fn function_name_vectors() {
    let doc = load("signing.json");
    let mut r = Report::new("signing.json");
    let functions = array(&doc, "functions");
    r.at_least("functions", functions, 24);
    for case in functions {
        let what = r.named("functions", case);
        let got = spec::canonical_function_name(&string(case, "input"));
        if case["error"].is_string() {
            r.expect_code(&what, got, code(case));
        } else {
            r.expect_eq(
                &what,
                got.map_err(|e| e.to_string()),
                Ok(string(case, "canonical")),
            );
        }
    }
    r.finish();
}

/// Verifies one case or step with `store` (README: `verify` then remember).
fn run_verify(case: &Value, store: &MemoryNonceStore) -> callsign::Result<Verified> {
    let keys = KeySet::parse(&string(case, "keys"))?;
    let verifier = Verifier::new(&keys, &string(case, "audience"))?
        .with_window(Window {
            max_age_ms: uint(&case["window"], "max_age_ms"),
            max_future_ms: uint(&case["window"], "max_future_ms"),
        })
        .with_limits(limits(case))
        .with_envelope_field(&string(case, "envelope_field"))?;
    verifier.verify_once(
        store,
        &string(case, "function"),
        &text_or_repeat(case, "signed_args"),
        uint(case, "now"),
    )
}

fn check_outcome(r: &mut Report, what: &str, case: &Value, got: callsign::Result<Verified>) {
    if case["error"].is_string() {
        r.expect_code(what, got, code(case));
        return;
    }
    let want = &case["verified"];
    assert!(want.is_object(), "{what}: needs \"verified\" or \"error\"");
    match got {
        Ok(v) => {
            r.expect_eq(&format!("{what} kid"), v.kid, string(want, "kid"));
            r.expect_eq(
                &format!("{what} function"),
                v.function,
                string(want, "function"),
            );
            r.expect_eq(&format!("{what} ts"), v.ts, uint(want, "ts"));
            r.expect_eq(&format!("{what} nonce"), v.nonce, string(want, "nonce"));
            r.expect_eq(
                &format!("{what} remember_until"),
                v.remember_until,
                uint(want, "remember_until"),
            );
            r.expect_eq(
                &format!("{what} canonical_args"),
                v.canonical_args,
                string(want, "canonical_args"),
            );
        }
        Err(e) => r.fail(format!("{what}: expected success, got {e}")),
    }
}

#[test]
fn verify_vectors() {
    let doc = load("verify.json");
    let mut r = Report::new("verify.json");
    let cases = array(&doc, "cases");
    let sequences = array(&doc, "sequences");
    r.at_least("cases", cases, 123);
    r.at_least("sequences", sequences, 8);
    let negatives = cases.iter().filter(|c| c["error"].is_string()).count();
    if negatives < 98 {
        r.fail(format!(
            "only {negatives} negative verify cases, expected at least 98"
        ));
    }

    for case in cases {
        let what = r.named("cases", case);
        let got = run_verify(case, &MemoryNonceStore::new());
        check_outcome(&mut r, &what, case, got);
    }
    for seq in sequences {
        let what = r.named("sequences", seq);
        let store = MemoryNonceStore::new();
        let steps = array(seq, "steps");
        if steps.len() < 2 {
            r.fail(format!("{what}: a sequence needs at least two steps"));
        }
        for (i, step) in steps.iter().enumerate() {
            let got = run_verify(step, &store);
            check_outcome(&mut r, &format!("{what} step {}", i + 1), step, got);
        }
    }
    r.finish();
}
