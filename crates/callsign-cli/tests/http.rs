//! `callsign sign-request` and `verify-request`: every case of
//! tests/vectors/http.json through the binary, the help text, and replays
//! across runs with `--seen`.

mod common;

use std::path::{Path, PathBuf};

use common::{cs, TempDir};
use serde_json::Value;

fn load() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors/http.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("http.json")).expect("JSON")
}

fn s<'a>(v: &'a Value, f: &str) -> &'a str {
    v[f].as_str().unwrap_or_else(|| panic!("{f} in {v}"))
}

fn body(v: &Value) -> Vec<u8> {
    match v.get("body_hex") {
        Some(h) => {
            let h = h.as_str().unwrap();
            (0..h.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
                .collect()
        }
        None => s(v, "body").as_bytes().to_vec(),
    }
}

fn body_file(dir: &Path, n: usize, v: &Value) -> String {
    let path = dir.join(format!("body-{n}"));
    std::fs::write(&path, body(v)).unwrap();
    path.display().to_string()
}

/// The `verify-request` arguments of a case (its own settings, `--flag=value`
/// forms since values may start with '-').
fn verify_args(c: &Value, body: &str, seen: Option<&Path>) -> Vec<String> {
    let mut args = vec![
        "verify-request".to_owned(),
        format!("--keys={}", s(c, "keys")),
        format!("--audience={}", s(c, "audience")),
        format!("--method={}", s(c, "method")),
        format!("--path={}", s(c, "target")),
        format!("--body-file={body}"),
        format!("--now={}", c["now"]),
        format!("--max-age-ms={}", c["window"]["max_age_ms"]),
        format!("--max-future-ms={}", c["window"]["max_future_ms"]),
        format!("--max-body-bytes={}", c["max_body_bytes"]),
    ];
    for pair in c["headers"].as_array().unwrap() {
        args.push(format!(
            "--header={}: {}",
            pair[0].as_str().unwrap(),
            pair[1].as_str().unwrap()
        ));
    }
    if let Some(seen) = seen {
        args.push(format!("--seen={}", seen.display()));
    }
    args
}

/// Checks one verify run against the case's `verified` or `error`.
fn check(what: &str, c: &Value, args: &[String], failures: &mut Vec<String>) {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = cs(&refs, "");
    match c.get("error").and_then(Value::as_str) {
        Some(code) => {
            let shaped = run.code == 1
                && run.stdout.is_empty()
                && run.stderr.starts_with(&format!("{code}: "))
                && run.stderr.lines().count() == 1;
            if !shaped {
                failures.push(format!("{what}: want {code}, got {run:?}"));
            }
        }
        None => {
            let got: Value = match serde_json::from_slice(&run.stdout) {
                Ok(v) if run.code == 0 => v,
                _ => return failures.push(format!("{what}: want success, got {run:?}")),
            };
            if got != c["verified"] {
                failures.push(format!("{what}: claims {got}, want {}", c["verified"]));
            }
        }
    }
}

#[test]
fn every_http_vector_through_the_cli() {
    let doc = load();
    let dir = TempDir::new("http-vectors");
    let mut failures = Vec::new();
    let mut n = 0;
    for c in doc["signing"].as_array().unwrap() {
        n += 1;
        let file = body_file(dir.path(), n, c);
        let args = [
            "sign-request".to_owned(),
            format!("--key={}", s(c, "key")),
            format!("--audience={}", s(c, "audience")),
            format!("--method={}", s(c, "method")),
            format!("--path={}", s(c, "target")),
            format!("--body-file={file}"),
            format!("--now={}", c["now"]),
            format!("--nonce={}", s(c, "nonce")),
        ];
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = cs(&refs, "");
        let want: String = c["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| format!("{}: {}\n", p[0].as_str().unwrap(), p[1].as_str().unwrap()))
            .collect();
        if run.code != 0 || run.stdout() != want {
            failures.push(format!("signing {:?}: got {run:?}", s(c, "name")));
        }
    }
    for c in doc["signing_invalid"].as_array().unwrap() {
        n += 1;
        let file = body_file(dir.path(), n, c);
        let args = [
            "sign-request".to_owned(),
            format!("--key={}", s(c, "key")),
            format!("--audience={}", s(c, "audience")),
            format!("--method={}", s(c, "method")),
            format!("--path={}", s(c, "target")),
            format!("--body-file={file}"),
            format!("--now={}", c["now"]),
            format!("--nonce={}", s(c, "nonce")),
        ];
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = cs(&refs, "");
        let code = s(c, "error");
        if run.code != 1 || !run.stderr.starts_with(&format!("{code}: ")) {
            failures.push(format!(
                "signing_invalid {:?}: want {code}, got {run:?}",
                s(c, "name")
            ));
        }
    }
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 100);
    for c in cases {
        n += 1;
        let file = body_file(dir.path(), n, c);
        check(
            &format!("cases {:?}", s(c, "name")),
            c,
            &verify_args(c, &file, None),
            &mut failures,
        );
    }
    for seq in doc["sequences"].as_array().unwrap() {
        let seen = dir.path().join(format!("seen-{n}.jsonl"));
        for (i, step) in seq["steps"].as_array().unwrap().iter().enumerate() {
            n += 1;
            let file = body_file(dir.path(), n, step);
            let what = format!("sequence {:?} step {}", s(seq, "name"), i + 1);
            check(
                &what,
                step,
                &verify_args(step, &file, Some(&seen)),
                &mut failures,
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n  - {}",
        failures.len(),
        failures.join("\n  - ")
    );
}

/// Both commands document every flag with an example, and are listed.
#[test]
fn help_documents_both_commands_and_every_flag() {
    let top = cs(&["--help"], "").ok();
    for command in ["sign-request", "verify-request"] {
        assert!(
            top.contains(&format!("\n  {command}  ")),
            "{command} missing from --help"
        );
        let help = cs(&[command, "--help"], "").ok();
        let examples = help.split("\nExamples:\n").nth(1).unwrap_or_default();
        assert!(
            examples.contains(&format!("callsign {command}")),
            "{command}: no examples"
        );
        let options = help
            .split("\nOptions:\n")
            .nth(1)
            .unwrap()
            .split("\nExamples:")
            .next()
            .unwrap();
        let mut blocks: Vec<String> = Vec::new();
        for line in options.lines() {
            let trimmed = line.trim_start();
            if trimmed.starts_with('-') && line.len() - trimmed.len() <= 6 {
                blocks.push(String::new());
            }
            if let Some(block) = blocks.last_mut() {
                block.push_str(line);
                block.push('\n');
            }
        }
        let mut flags = 0;
        for block in &blocks {
            let flag = block.lines().next().unwrap_or_default().trim();
            if flag.starts_with("-h, --help") {
                continue;
            }
            flags += 1;
            assert!(
                block.contains("Example: --"),
                "{command} {flag}: no example"
            );
        }
        assert!(flags >= 6, "{command}: {flags} flags");
    }
}

/// Signed by `sign-request`, verified by `verify-request`; a replay across
/// runs is refused through `--seen`, a changed body is refused, and without
/// `--body-file` the body is empty.
#[test]
fn sign_then_verify_through_the_binary() {
    let dir = TempDir::new("http-roundtrip");
    let key = common::KEY;
    let site = "https://happy-otter-123.convex.site";
    let body = dir.path().join("body.json");
    std::fs::write(&body, br#"{"body":"hi"}"#).unwrap();
    let body = body.display().to_string();
    let signed = cs(
        &[
            "sign-request",
            "--key",
            key,
            "--audience",
            site,
            "--method",
            "POST",
            "--path",
            "/api/send?x=1",
            "--body-file",
            &body,
            "--now",
            "1700000000000",
        ],
        "",
    )
    .ok();
    let lines: Vec<&str> = signed.lines().collect();
    assert_eq!(lines.len(), 3, "{signed}");
    assert!(lines[0].starts_with("Content-Digest: sha-256=:"));
    assert!(lines[1].starts_with("Signature-Input: sig1=(\"@method\""));
    assert!(lines[2].starts_with("Signature: sig1=:"));
    let seen = dir.path().join("seen.jsonl").display().to_string();
    let verify = |extra: &[&str], body: &str| {
        let mut args = vec![
            "verify-request",
            "--keys",
            key,
            "--audience",
            site,
            "--method",
            "POST",
            "--path",
            "/api/send?x=1",
            "--now",
            "1700000001000",
            "--seen",
            &seen,
        ];
        if !body.is_empty() {
            args.extend(["--body-file", body]);
        }
        for line in &lines {
            args.extend(["--header", line]);
        }
        args.extend(extra);
        cs(&args, "")
    };
    let claims: Value = serde_json::from_str(&verify(&[], &body).ok()).unwrap();
    assert_eq!(claims["query"], "x=1");
    assert_eq!(claims["ts"], 1_700_000_000_000u64);
    verify(&[], &body).fails_with("replayed");
    let err = verify(&[], "").fails_with("bad_signature").to_owned();
    assert!(err.contains("does not match its Content-Digest"), "{err}");
    // The body from stdin, with `--body-file -`.
    let run = cs(
        &[
            "sign-request",
            "--key",
            key,
            "--audience",
            site,
            "--method",
            "GET",
            "--path",
            "/h",
            "--body-file",
            "-",
            "--now",
            "1700000000000",
            "--nonce",
            common::NONCE,
        ],
        "",
    );
    assert!(run.ok().contains(&format!("nonce=\"{}\"", common::NONCE)));
    // A body over --max-body-bytes is refused before anything else.
    verify(&["--max-body-bytes", "3"], &body).fails_with("too_large");
    cs(
        &[
            "verify-request",
            "--keys",
            key,
            "--audience",
            site,
            "--method",
            "GET",
            "--path",
            "/",
            "--header",
            "nocolon",
        ],
        "",
    )
    .fails_with("malformed");
    // The operator is told which kids the verifier holds.
    let other = key.replace("csk1_k1_", "csk1_k7_");
    let mut args = vec![
        "verify-request",
        "--keys",
        &other,
        "--audience",
        site,
        "--method",
        "POST",
        "--path",
        "/api/send?x=1",
        "--body-file",
        &body,
        "--now",
        "1700000001000",
    ];
    for line in &lines {
        args.extend(["--header", line]);
    }
    let err = cs(&args, "").fails_with("unknown_key").to_owned();
    assert!(err.contains("it holds k7"), "{err}");
    assert!(!err.contains(&key[8..24]), "{err}");
}
