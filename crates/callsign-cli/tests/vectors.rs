//! The shared vectors of `tests/vectors/` (format: tests/vectors/README.md),
//! run through the CLI: every expected output and every error code.

mod common;

use std::path::PathBuf;

use common::{callsign, cs, run, Run, TempDir, AUD, KEY};
use serde_json::Value;

fn load(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/vectors")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read the shared test vectors {}: {e}\n\
             The CLI is tested against tests/vectors/*.json (format in tests/vectors/README.md); \
             they must exist.",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn list<'a>(v: &'a Value, field: &str) -> &'a [Value] {
    v[field]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_else(|| panic!("vector field {field:?} is not an array"))
}

/// `list`, failing if it holds fewer than `min` cases (so that deleting
/// vectors is noticed).
fn list_of_at_least<'a>(v: &'a Value, field: &str, min: usize) -> &'a [Value] {
    let items = list(v, field);
    assert!(
        items.len() >= min,
        "{field:?} has {} cases, expected at least {min} (were vectors deleted?)",
        items.len()
    );
    items
}

fn string<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("vector field {field:?} is not a string in {v}"))
}

fn number(v: &Value, field: &str) -> u64 {
    v[field]
        .as_u64()
        .unwrap_or_else(|| panic!("vector field {field:?} is not an integer in {v}"))
}

/// `field`, or `field_repeat` expanded to `prefix + unit×count + suffix`.
fn text(case: &Value, field: &str) -> String {
    if let Some(text) = case[field].as_str() {
        return text.to_owned();
    }
    let rep = &case[format!("{field}_repeat")];
    let count = usize::try_from(number(rep, "count")).expect("count fits usize");
    format!(
        "{}{}{}",
        string(rep, "prefix"),
        string(rep, "unit").repeat(count),
        string(rep, "suffix")
    )
}

/// Decodes lowercase or upper-case hex (`input_hex` of canonical.json).
fn unhex(text: &str) -> Vec<u8> {
    assert!(text.len() % 2 == 0, "odd-length hex {text:?}");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

/// The flags for a case's `limits`.
fn limit_flags(case: &Value) -> Vec<String> {
    let limits = &case["limits"];
    vec![
        format!("--max-bytes={}", number(limits, "max_bytes")),
        format!("--max-depth={}", number(limits, "max_depth")),
    ]
}

/// A NUL cannot be passed in argv (or the environment); such a case cannot
/// reach the CLI at all.
fn expressible(args: &[String]) -> bool {
    args.iter().all(|a| !a.contains('\0'))
}

/// Collects mismatches so one run reports all of them.
#[derive(Default)]
struct Report(Vec<String>);

impl Report {
    /// Checks that `run` failed with `code` in the CLI's error shape.
    fn error(&mut self, name: &str, run: &Run, code: &str) {
        let shaped = run.code == 1
            && run.stdout.is_empty()
            && run.stderr.starts_with(&format!("{code}: "))
            && run.stderr.lines().count() == 1;
        if !shaped {
            self.0.push(format!("{name}: expected {code}, got {run:?}"));
        }
    }

    /// Checks that `run` succeeded with exactly `stdout`.
    fn output(&mut self, name: &str, run: &Run, stdout: &[u8]) {
        if run.code != 0 || run.stdout != stdout {
            self.0.push(format!(
                "{name}: expected stdout {:?}, got {run:?} (stdout {:?})",
                String::from_utf8_lossy(stdout),
                String::from_utf8_lossy(&run.stdout)
            ));
        }
    }

    /// Checks that `run` printed claims that include every field of `expected`.
    fn claims(&mut self, name: &str, run: &Run, expected: &Value) {
        let got: Option<Value> = (run.code == 0)
            .then(|| serde_json::from_slice(&run.stdout).ok())
            .flatten();
        let matches = got.as_ref().is_some_and(|got| {
            expected
                .as_object()
                .is_some_and(|fields| fields.iter().all(|(k, v)| &got[k] == v))
        });
        if !matches {
            self.0
                .push(format!("{name}: expected claims {expected}, got {run:?}"));
        }
    }

    fn finish(self, file: &str, cases: usize) {
        assert!(
            self.0.is_empty(),
            "{} of {cases} {file} checks failed:\n{}",
            self.0.len(),
            self.0.join("\n")
        );
    }
}

fn cli(args: &[String], stdin: &str) -> Run {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    cs(&args, stdin)
}

#[test]
fn canonical_vectors() {
    let file = load("canonical.json");
    let mut report = Report::default();
    let mut cases = 0;
    for case in list_of_at_least(&file, "valid", 110) {
        cases += 1;
        let mut args = vec!["canon".to_owned()];
        args.extend(limit_flags(case));
        let run = cli(&args, &text(case, "input"));
        report.output(
            string(case, "name"),
            &run,
            string(case, "canonical").as_bytes(),
        );
    }
    let mut not_utf8 = 0;
    for case in list_of_at_least(&file, "invalid", 157) {
        cases += 1;
        let mut args = vec!["canon".to_owned()];
        args.extend(limit_flags(case));
        // Raw bytes that are not UTF-8 go to stdin as they are.
        let input = match case["input_hex"].as_str() {
            Some(hex) => {
                not_utf8 += 1;
                unhex(hex)
            }
            None => text(case, "input").into_bytes(),
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = cs(&args, input);
        report.error(string(case, "name"), &run, string(case, "error"));
    }
    assert!(not_utf8 >= 6, "only {not_utf8} input_hex cases");
    report.finish("canonical.json", cases);
}

#[test]
fn key_vectors() {
    let file = load("keys.json");
    let mut report = Report::default();
    let mut cases = 0;
    for case in list_of_at_least(&file, "invalid", 37) {
        let args = vec![
            "derive".to_owned(),
            format!("--key={}", string(case, "key")),
            format!("--audience={AUD}"),
        ];
        if expressible(&args) {
            cases += 1;
            report.error(string(case, "name"), &cli(&args, ""), string(case, "error"));
        }
    }
    for case in list_of_at_least(&file, "derive", 5) {
        cases += 1;
        let args = vec![
            "derive".to_owned(),
            format!("--key={}", string(case, "root")),
            format!("--audience={}", string(case, "audience")),
        ];
        let derived = format!("{}\n", string(case, "derived"));
        report.output(string(case, "name"), &cli(&args, ""), derived.as_bytes());
    }
    // Every valid key signs (for its own audience, if it is derived).
    for case in list_of_at_least(&file, "valid", 15) {
        cases += 1;
        let audience = case["audience"].as_str().unwrap_or(AUD);
        let args = vec![
            "sign".to_owned(),
            format!("--key={}", string(case, "key")),
            format!("--audience={audience}"),
            "--function=f:g".to_owned(),
        ];
        let run = cli(&args, "{}");
        let kid = format!("{{\"_callsign\":{{\"kid\":\"{}\",", string(case, "kid"));
        if run.code != 0 || !run.stdout.starts_with(kid.as_bytes()) {
            report.0.push(format!(
                "{}: expected to sign as {kid}, got {run:?}",
                string(case, "name")
            ));
        }
    }
    for case in list_of_at_least(&file, "keysets", 18) {
        cases += 1;
        let args = vec![
            "verify".to_owned(),
            format!("--keys={}", string(case, "keys")),
            format!(
                "--audience={}",
                keyset_audience(string(case, "keys")).unwrap_or(AUD)
            ),
            "--function=f:g".to_owned(),
        ];
        // An envelope naming a kid no set holds: a valid set gets as far as
        // the key lookup, an invalid one fails before reading it.
        let call = r#"{"_callsign":{"kid":"not-in-any-set","nonce":"00112233445566778899aabbccddeeff","sig":"0000000000000000000000000000000000000000000000000000000000000000","ts":1,"v":1}}"#;
        let code = case["error"].as_str().unwrap_or("unknown_key");
        report.error(string(case, "name"), &cli(&args, call), code);
    }
    report.finish("keys.json", cases);
}

/// The audience of the first derived key in a key-set text, if any: a set
/// of derived keys is only usable for their audience.
fn keyset_audience(keys: &str) -> Option<&str> {
    keys.split(|c: char| c == ',' || c.is_ascii_whitespace())
        .find_map(|key| key.split_once('@').map(|(_, aud)| aud))
}

#[test]
fn signing_vectors() {
    let file = load("signing.json");
    let mut report = Report::default();
    let cases = list_of_at_least(&file, "cases", 12);
    for case in cases {
        let name = string(case, "name");
        let key = string(case, "key");
        let ts = number(case, "ts");
        let sign = sign_flags(case);
        let signed = string(case, "signed_args");
        report.output(
            name,
            &cli(&sign, string(case, "args")),
            format!("{signed}\n").as_bytes(),
        );

        let mut verify = vec![
            "verify".to_owned(),
            format!("--keys={key}"),
            format!("--audience={}", string(case, "audience")),
            format!("--function={}", string(case, "function")),
            format!("--envelope-field={}", string(case, "envelope_field")),
            format!("--now={ts}"),
        ];
        verify.extend(limit_flags(case));
        let kid = key
            .split('_')
            .nth(1)
            .expect("a key string has the form <prefix>_<kid>_<secret>");
        let claims = serde_json::json!({
            "kid": kid, "function": case["canonical_function"], "ts": ts,
            "nonce": case["nonce"], "canonical_args": case["canonical_args"],
        });
        report.claims(&format!("{name} (verify)"), &cli(&verify, signed), &claims);
    }
    report.finish("signing.json", cases.len() * 2);
}

/// `callsign sign` flags for a signing.json case (valid or refused).
fn sign_flags(case: &Value) -> Vec<String> {
    // `--flag=value` passes empty values (`--function=`) as they are.
    let mut sign = vec![
        "sign".to_owned(),
        format!("--key={}", string(case, "key")),
        format!("--audience={}", string(case, "audience")),
        format!("--function={}", string(case, "function")),
        format!("--now={}", number(case, "ts")),
        format!("--nonce={}", string(case, "nonce")),
        format!("--envelope-field={}", string(case, "envelope_field")),
    ];
    sign.extend(limit_flags(case));
    sign
}

#[test]
fn signing_invalid_vectors() {
    let file = load("signing.json");
    let mut report = Report::default();
    let invalid = list_of_at_least(&file, "invalid", 22);
    for case in invalid {
        let sign = sign_flags(case);
        report.error(
            string(case, "name"),
            &cli(&sign, string(case, "args")),
            string(case, "error"),
        );
    }
    report.finish("signing.json (invalid)", invalid.len());
}

#[test]
fn function_name_vectors() {
    let file = load("signing.json");
    let mut report = Report::default();
    let functions = list_of_at_least(&file, "functions", 24);
    let mut checks = 0;
    for case in functions {
        let name = string(case, "name");
        let function = format!("--function={}", string(case, "input"));
        let sign = vec![
            "sign".to_owned(),
            format!("--key={KEY}"),
            format!("--audience={AUD}"),
            function.clone(),
            "--now=1700000000000".to_owned(),
            "--nonce=00112233445566778899aabbccddeeff".to_owned(),
        ];
        let signed = cli(&sign, "{}");
        checks += 1;
        if let Some(code) = case["error"].as_str() {
            report.error(name, &signed, code);
            continue;
        }
        // The canonical name is what `verify`, given the same input, reports.
        let verify = vec![
            "verify".to_owned(),
            format!("--keys={KEY}"),
            format!("--audience={AUD}"),
            function,
            "--now=1700000000000".to_owned(),
        ];
        if signed.code != 0 {
            report.0.push(format!("{name}: sign failed: {signed:?}"));
            continue;
        }
        checks += 1;
        let claims = serde_json::json!({ "function": case["canonical"] });
        report.claims(name, &cli(&verify, &signed.stdout()), &claims);
    }
    report.finish("signing.json (functions)", checks);
}

/// The `verify` flags for a case or step.
fn verify_flags(case: &Value) -> Vec<String> {
    let window = &case["window"];
    let mut args = vec![
        "verify".to_owned(),
        format!("--keys={}", string(case, "keys")),
        format!("--audience={}", string(case, "audience")),
        format!("--function={}", string(case, "function")),
        format!("--envelope-field={}", string(case, "envelope_field")),
        format!("--now={}", number(case, "now")),
        format!("--max-age-ms={}", number(window, "max_age_ms")),
        format!("--max-future-ms={}", number(window, "max_future_ms")),
    ];
    args.extend(limit_flags(case));
    args
}

/// Checks one verification against its expected `error` or `verified` claims.
fn check_verify(report: &mut Report, name: &str, case: &Value, run: &Run) {
    match case["error"].as_str() {
        Some(code) => report.error(name, run, code),
        None => report.claims(name, run, &case["verified"]),
    }
}

#[test]
fn verify_vectors() {
    let file = load("verify.json");
    let mut report = Report::default();
    let mut cases = 0;
    for case in list_of_at_least(&file, "cases", 123) {
        let args = verify_flags(case);
        if expressible(&args) {
            cases += 1;
            let run = cli(&args, &text(case, "signed_args"));
            check_verify(&mut report, string(case, "name"), case, &run);
        }
    }
    for sequence in list_of_at_least(&file, "sequences", 8) {
        // The steps of a sequence share one replay store: one --seen file.
        let dir = TempDir::new("vectors");
        let seen = dir.path().join("seen.jsonl");
        for (i, step) in list(sequence, "steps").iter().enumerate() {
            cases += 1;
            let name = format!("{} (step {})", string(sequence, "name"), i + 1);
            let mut args = verify_flags(step);
            args.push(format!("--seen={}", seen.display()));
            let mut cmd = callsign(&[]);
            cmd.args(&args);
            let run = run(&mut cmd, text(step, "signed_args"));
            check_verify(&mut report, &name, step, &run);
        }
    }
    report.finish("verify.json", cases);
}
