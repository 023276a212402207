//! The command-line surface: pipelines, determinism, error shape, `--seen`, help.

mod common;

use std::process::Stdio;
use std::time::{SystemTime, UNIX_EPOCH};

use common::{callsign, cs, sign_fixed, TempDir, AUD, KEY, NONCE, TS};
use serde_json::{json, Value};

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64
}

fn claims(stdout: &str) -> Value {
    assert!(
        stdout.ends_with('\n') && stdout.lines().count() == 1,
        "{stdout:?}"
    );
    serde_json::from_str(stdout).expect("claims are JSON")
}

fn sign_at(args: &str, function: &str) -> String {
    sign_fixed(KEY, function, TS, NONCE, args, &[]).ok()
}

fn verify_at(signed: &str, function: &str, now: u64, extra: &[&str]) -> common::Run {
    let now = now.to_string();
    let mut args = vec![
        "verify",
        "--keys",
        KEY,
        "--audience",
        AUD,
        "--function",
        function,
        "--now",
        &now,
    ];
    args.extend_from_slice(extra);
    cs(&args, signed)
}

#[test]
fn canon_sign_verify_round_trip_through_pipes() {
    let before = now_ms();
    let mut canon = callsign(&["canon"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn canon");
    let mut sign = callsign(&["sign", "--audience", AUD, "--function", "messages.js:send"])
        .env("CALLSIGN_KEY", KEY)
        .stdin(canon.stdout.take().expect("piped"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn sign");
    let verify = callsign(&["verify", "--audience", AUD, "--function", "messages:send"])
        .env("CALLSIGN_KEYS", KEY)
        .stdin(sign.stdout.take().expect("piped"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn verify");
    // Writing then dropping stdin closes it, so canon sees EOF.
    std::io::Write::write_all(
        &mut canon.stdin.take().expect("piped"),
        br#"{ "n": 1.0, "body": "hi \u00e9", "tags": ["a", "b"] }"#,
    )
    .expect("feed canon");
    let verify = verify.wait_with_output().expect("verify");
    assert!(canon.wait().expect("canon").success());
    assert!(sign.wait().expect("sign").success());
    assert!(verify.status.success(), "{verify:?}");

    let claims = claims(std::str::from_utf8(&verify.stdout).expect("UTF-8"));
    assert_eq!(claims["kid"], "k1");
    assert_eq!(claims["function"], "messages:send");
    assert_eq!(
        claims["canonical_args"],
        r#"{"body":"hi é","n":1,"tags":["a","b"]}"#
    );
    let ts = claims["ts"].as_u64().expect("ts");
    assert!((before..=now_ms()).contains(&ts), "ts {ts} is not now");
    assert_eq!(claims["remember_until"], ts + 60_000);
    assert_eq!(claims["nonce"].as_str().expect("nonce").len(), 32);
}

#[test]
fn sign_with_now_and_nonce_is_deterministic() {
    let args = r#"{"body":"hi"}"#;
    let first = sign_at(args, "messages:send");
    assert_eq!(first, sign_at(args, "messages:send"));
    assert!(first.ends_with("}\n") && first.lines().count() == 1);
    assert!(first.starts_with(&format!(
        r#"{{"_callsign":{{"kid":"k1","nonce":"{NONCE}","sig":""#
    )));
    assert!(first.ends_with(&format!("\",\"ts\":{TS},\"v\":1}},\"body\":\"hi\"}}\n")));

    let out = verify_at(&first, "messages:send", TS + 1_000, &[]).ok();
    assert_eq!(
        claims(&out),
        json!({"kid": "k1", "function": "messages:send", "ts": TS, "nonce": NONCE,
               "remember_until": TS + 60_000, "canonical_args": args})
    );
}

#[test]
fn sign_takes_what_is_missing_from_the_system() {
    let ts = TS.to_string();
    let base = ["sign", "--key", KEY, "--audience", AUD, "--function", "f:g"];
    let with_now = || claims_of(&cs(&[&base[..], &["--now", &ts]].concat(), "{}").ok());
    let (a, b) = (with_now(), with_now());
    assert_eq!((a.0, b.0), (TS, TS));
    assert_ne!(a.1, b.1, "the nonce must be fresh");

    let before = now_ms();
    let (ts, nonce) = claims_of(&cs(&[&base[..], &["--nonce", NONCE]].concat(), "{}").ok());
    assert_eq!(nonce, NONCE);
    assert!((before..=now_ms()).contains(&ts));
}

/// (ts, nonce) of signed args.
fn claims_of(signed: &str) -> (u64, String) {
    let v: Value = serde_json::from_str(signed).expect("JSON");
    let env = &v["_callsign"];
    (
        env["ts"].as_u64().expect("ts"),
        env["nonce"].as_str().expect("nonce").to_owned(),
    )
}

#[test]
fn envelope_field_and_limits_apply_to_sign_and_verify() {
    let signed = sign_fixed(
        KEY,
        "f:g",
        TS,
        NONCE,
        r#"{"a":[1]}"#,
        &["--envelope-field", "sig_"],
    )
    .ok();
    assert!(signed.starts_with(r#"{"a":[1],"sig_":{"#), "{signed}");
    verify_at(&signed, "f:g", TS, &["--envelope-field", "sig_"]).ok();
    verify_at(&signed, "f:g", TS, &[]).fails_with("malformed");
    verify_at(&signed, "f:g", TS, &["--max-depth", "2"]).fails_with("malformed");
    let limit = (signed.len() - 2).to_string(); // the newline is whitespace, so -2 is too small
    verify_at(&signed, "f:g", TS, &["--max-bytes", &limit]).fails_with("too_large");
}

#[test]
fn every_failure_is_one_stderr_line_led_by_its_code() {
    let signed = sign_at(r#"{"body":"hi"}"#, "messages:send");
    let ts = TS.to_string();
    let other_kid = KEY.replace("_k1_", "_k2_");
    let twice = format!("{KEY},{KEY}");
    let cases: Vec<(&str, Vec<&str>, Vec<u8>)> = vec![
        ("malformed", vec!["canon"], b"{\"a\":}".to_vec()),
        ("malformed", vec!["canon"], b"[1]".to_vec()),
        ("malformed", vec!["canon"], b"{\"a\":\"\xff\"}".to_vec()),
        (
            "malformed",
            vec!["canon", "--max-depth", "1"],
            b"{\"a\":[]}".to_vec(),
        ),
        (
            "too_large",
            vec!["canon", "--max-bytes", "4"],
            b"{\"a\":1}".to_vec(),
        ),
        ("invalid_key", vec!["keygen", "--kid", "no spaces"], vec![]),
        (
            "invalid_key",
            vec!["derive", "--key", "csk1_k1_00", "--audience", AUD],
            vec![],
        ),
        (
            "malformed",
            vec!["derive", "--key", KEY, "--audience", "has space"],
            vec![],
        ),
        (
            "malformed",
            vec![
                "sign",
                "--key",
                KEY,
                "--audience",
                AUD,
                "--function",
                "f:g",
                "--nonce",
                "xyz",
            ],
            b"{}".to_vec(),
        ),
        (
            "malformed",
            vec!["sign", "--key", KEY, "--audience", AUD, "--function", ":g"],
            b"{}".to_vec(),
        ),
        (
            "malformed",
            vec![
                "sign",
                "--key",
                KEY,
                "--audience",
                AUD,
                "--function",
                "f:g",
                "--envelope-field",
                "9x",
            ],
            b"{}".to_vec(),
        ),
        (
            "malformed",
            vec!["sign", "--key", KEY, "--audience", AUD, "--function", "f:g"],
            br#"{"_callsign":1}"#.to_vec(),
        ),
        (
            "malformed",
            vec![
                "sign",
                "--key",
                KEY,
                "--audience",
                AUD,
                "--function",
                "f:g",
                "--now",
                "9007199254740992",
            ],
            b"{}".to_vec(),
        ),
        (
            "bad_signature",
            vec![
                "verify",
                "--keys",
                KEY,
                "--audience",
                AUD,
                "--function",
                "messages:remove",
                "--now",
                &ts,
            ],
            signed.clone().into_bytes(),
        ),
        (
            "bad_signature",
            vec![
                "verify",
                "--keys",
                KEY,
                "--audience",
                "https://other.convex.cloud",
                "--function",
                "messages:send",
                "--now",
                &ts,
            ],
            signed.clone().into_bytes(),
        ),
        (
            "unknown_key",
            vec![
                "verify",
                "--keys",
                &other_kid,
                "--audience",
                AUD,
                "--function",
                "messages:send",
                "--now",
                &ts,
            ],
            signed.clone().into_bytes(),
        ),
        (
            "expired",
            vec![
                "verify",
                "--keys",
                KEY,
                "--audience",
                AUD,
                "--function",
                "messages:send",
                "--now",
                "1700000060001",
            ],
            signed.clone().into_bytes(),
        ),
        (
            "not_yet_valid",
            vec![
                "verify",
                "--keys",
                KEY,
                "--audience",
                AUD,
                "--function",
                "messages:send",
                "--now",
                "1699999939999",
            ],
            signed.clone().into_bytes(),
        ),
        (
            "invalid_key",
            vec![
                "verify",
                "--keys",
                &twice,
                "--audience",
                AUD,
                "--function",
                "f:g",
            ],
            signed.clone().into_bytes(),
        ),
    ];
    for (code, args, stdin) in &cases {
        eprintln!("case: {code} {args:?}");
        cs(args, stdin).fails_with(code);
    }
}

#[test]
fn window_flags_move_the_edges() {
    let signed = sign_at("{}", "f:g");
    verify_at(&signed, "f:g", TS + 60_000, &[]).ok();
    verify_at(&signed, "f:g", TS + 1_001, &["--max-age-ms", "1000"]).fails_with("expired");
    verify_at(&signed, "f:g", TS - 60_000, &[]).ok();
    verify_at(&signed, "f:g", TS - 1_001, &["--max-future-ms", "1000"]).fails_with("not_yet_valid");
}

#[test]
fn a_missing_key_says_where_keys_come_from() {
    let run = cs(&["sign", "--audience", AUD, "--function", "f:g"], "{}");
    assert_eq!(
        run.fails_with("invalid_key"),
        "invalid_key: no key: pass --key or set CALLSIGN_KEY\n"
    );
    let run = cs(&["derive", "--audience", AUD], "");
    assert_eq!(
        run.fails_with("invalid_key"),
        "invalid_key: no key: pass --key or set CALLSIGN_KEY\n"
    );
    let run = cs(&["verify", "--audience", AUD, "--function", "f:g"], "{}");
    assert_eq!(
        run.fails_with("invalid_key"),
        "invalid_key: no keys: pass --keys or set CALLSIGN_KEYS\n"
    );
    // An empty variable is a forgotten export, not a key.
    let run = common::run(
        callsign(&["sign", "--audience", AUD, "--function", "f:g"]).env("CALLSIGN_KEY", ""),
        "{}",
    );
    run.fails_with("invalid_key");
}

#[test]
fn keygen_and_derive_print_key_strings() {
    let root = cs(&["keygen"], "").ok();
    assert!(root.starts_with("csk1_k1_") && root.ends_with('\n'));
    assert_eq!(root.trim_end().len(), "csk1_k1_".len() + 64);
    let prod = cs(&["keygen", "--kid", "prod"], "").ok();
    assert!(prod.starts_with("csk1_prod_"));
    assert_ne!(cs(&["keygen"], "").ok(), root, "keys must be random");

    let derived = cs(&["derive", "--key", KEY, "--audience", AUD], "").ok();
    let by_env = common::run(
        callsign(&["derive", "--audience", AUD]).env("CALLSIGN_KEY", KEY),
        "",
    )
    .ok();
    assert_eq!(derived, by_env);
    assert!(derived.starts_with("csk1d_k1_") && derived.ends_with(&format!("@{AUD}\n")));
    // A deployment's derived key verifies what the root key signed.
    let signed = sign_at("{}", "f:g");
    let now = TS.to_string();
    let run = cs(
        &[
            "verify",
            "--keys",
            derived.trim_end(),
            "--audience",
            AUD,
            "--function",
            "f:g",
            "--now",
            &now,
        ],
        &signed,
    );
    run.ok();
}

#[test]
fn canon_writes_exact_bytes_without_newline() {
    let out = cs(
        &["canon"],
        "\n { \"b\" : 1.0 , \"a\" : [ 1E2 , \"\\u00e9\\u2028\" ] , \"z\": -0 }\n",
    );
    assert_eq!(
        out.ok(),
        "{\"a\":[100,\"é\u{2028}\"],\"b\":1,\"z\":{\"$float\":\"AAAAAAAAAIA=\"}}"
    );
}

#[test]
fn seen_file_rejects_replays_across_runs_and_forgets_expired_pairs() {
    let dir = TempDir::new("seen");
    let seen = dir.path().join("seen.jsonl");
    let seen_arg = seen.to_str().expect("UTF-8 temp path");
    let signed = sign_at(r#"{"body":"hi"}"#, "messages:send");

    // A rejected call does not create the file.
    verify_at(&signed, "messages:remove", TS, &["--seen", seen_arg]).fails_with("bad_signature");
    assert!(!seen.exists());

    verify_at(&signed, "messages:send", TS, &["--seen", seen_arg]).ok();
    let text = format!(
        "{{\"watermark_ts\":null,\"retention_ms\":60000}}\n\
         {{\"kid\":\"k1\",\"nonce\":\"{NONCE}\",\"ts\":{TS},\"remember_until\":{}}}\n",
        TS + 60_000
    );
    assert_eq!(std::fs::read_to_string(&seen).expect("seen file"), text);
    verify_at(&signed, "messages:send", TS + 60_000, &["--seen", seen_arg]).fails_with("replayed");

    // A later call, verified after the first one's remember_until: the first
    // pair is dropped from the file.
    let later = sign_fixed(
        KEY,
        "messages:send",
        TS + 60_001,
        &NONCE.replace("00", "ff"),
        "{}",
        &[],
    )
    .ok();
    verify_at(&later, "messages:send", TS + 60_001, &["--seen", seen_arg]).ok();
    let text = std::fs::read_to_string(&seen).expect("seen file");
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(!text.contains(&format!("\"{NONCE}\"")), "{text}");
    assert!(
        text.starts_with(&format!(
            "{{\"watermark_ts\":{TS},\"retention_ms\":60000}}\n"
        )),
        "{text}"
    );
    // A run whose clock reads earlier, still inside the first call's window,
    // must not accept the dropped pair again (SPEC.md §8).
    verify_at(&signed, "messages:send", TS + 59_999, &["--seen", seen_arg]).fails_with("replayed");
    // No temporary files are left behind.
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 1);

    // Nor may a run with a wider window: the watermark is in ts terms (SPEC.md
    // §8), so the widened window's later remember_until changes nothing.
    verify_at(
        &signed,
        "messages:send",
        TS + 60_001,
        &["--seen", seen_arg, "--max-age-ms", "120000"],
    )
    .fails_with("replayed");

    std::fs::write(&seen, "not json\n").expect("write");
    verify_at(&later, "messages:send", TS + 60_001, &["--seen", seen_arg]).fails_with("io");
}

#[test]
fn usage_errors_are_clap_errors_with_exit_2() {
    for args in [
        vec!["sign", "--key", KEY, "--function", "f:g"],
        vec![
            "verify",
            "--audience",
            AUD,
            "--function",
            "f:g",
            "--now",
            "soon",
        ],
        vec!["canon", "--max-bytes", "-1"],
        vec!["canon", "--frobnicate"],
        vec!["launch"],
    ] {
        let run = cs(&args, "{}");
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(run.stderr.starts_with("error: "), "{run:?}");
    }
}

/// Every command and every flag has help text, and the long help of every
/// flag and command has an example.
#[test]
fn help_documents_every_command_and_flag() {
    let top = cs(&["--help"], "").ok();
    for command in [
        "keygen", "derive", "canon", "sign", "verify", "call", "demo",
    ] {
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
        for block in flag_blocks(&help) {
            let flag = block.lines().next().unwrap_or_default().trim();
            if flag.starts_with("-h, --help") {
                continue;
            }
            let text: Vec<&str> = block
                .lines()
                .skip(1)
                .filter(|l| !l.trim().is_empty())
                .collect();
            assert!(!text.is_empty(), "{command} {flag}: no help text");
            assert!(
                block.contains("Example: --"),
                "{command} {flag}: no example"
            );
        }
    }
}

/// `--help` names every code of SPEC.md §9, the two that only the Convex layer
/// returns on a line of their own that says so, and the CLI's own four.
#[test]
fn help_lists_every_error_code_of_the_spec() {
    let spec = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../SPEC.md"))
        .expect("SPEC.md");
    let start = spec.find("\n## 9. Error codes\n").expect("SPEC.md §9");
    let end = start + spec[start..].find("\n## 10.").expect("SPEC.md §10");
    let table: Vec<&str> = spec[start..end]
        .lines()
        .filter_map(|line| line.strip_prefix("| `")?.split_once("` |"))
        .map(|(code, _)| code)
        .collect();
    assert!(table.len() >= 11, "{table:?}");

    let help = cs(&["--help"], "").ok();
    let list = help
        .split_once("The codes are:\n")
        .and_then(|(_, rest)| rest.split_once("\nUsage errors"))
        .map(|(list, _)| list)
        .expect("--help lists the codes");
    // Each line: codes separated by commas, then a note in parentheses.
    let lines: Vec<(Vec<&str>, &str)> = list
        .lines()
        .map(|line| {
            let (codes, note) = line.split_once('(').unwrap_or((line, ""));
            let codes = codes.split([',', ' ']).filter(|c| !c.is_empty()).collect();
            (codes, note)
        })
        .collect();
    let mut listed: Vec<&str> = lines.iter().flat_map(|(codes, _)| codes.clone()).collect();
    listed.sort_unstable();
    let mut expected: Vec<&str> = table
        .iter()
        .copied()
        .chain(["io", "demo_failed", "function_error", "transport"])
        .collect();
    expected.sort_unstable();
    assert_eq!(listed, expected, "{list}");
    for (codes, note) in &lines {
        let convex_only = codes
            .iter()
            .any(|c| ["not_allowed", "misconfigured"].contains(c));
        assert_eq!(
            convex_only,
            note.contains("the Convex layer's"),
            "{codes:?} ({note}"
        );
        if convex_only {
            assert_eq!(codes, &["not_allowed", "misconfigured"], "{list}");
        }
    }
}

/// The per-flag blocks of the Options section of a long help.
fn flag_blocks(help: &str) -> Vec<String> {
    let options = help
        .split("\nOptions:\n")
        .nth(1)
        .and_then(|rest| rest.split("\nExamples:").next())
        .unwrap_or_default();
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
    blocks
}

#[test]
fn demo_narrates_and_passes() {
    let out = cs(&["demo"], "").ok();
    let lines = out.lines().count();
    assert!((15..=35).contains(&lines), "{lines} lines:\n{out}");
    for expected in [
        "expected accepted       got accepted       ok",
        "expected bad_signature  got bad_signature  ok",
        "expected expired        got expired        ok",
        "expected replayed       got replayed       ok",
        "All 5 outcomes were as expected.",
        "csk1_k1_<redacted>",
        "csk1d_k1_<redacted>@<36-byte audience b0a55697>",
        r#""canonical_args":"{\"body\":\"Hello from the server\",\"channel\":\"general\"}""#,
    ] {
        assert!(
            out.contains(expected),
            "demo output lacks {expected:?}:\n{out}"
        );
    }
    assert!(!out.contains("UNEXPECTED"));
}

/// The library's `unknown_key` names only the call's kid (it may reach a
/// caller); whoever runs `verify` is the operator and also learns the kids held.
#[test]
fn unknown_key_tells_the_operator_which_kids_are_held() {
    let signed = sign_at(r#"{"body":"hi"}"#, "messages:send");
    let now = TS.to_string();
    let other = "csk1_k9_ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
    let run = cs(
        &[
            "verify",
            "--keys",
            other,
            "--audience",
            AUD,
            "--function",
            "messages:send",
            "--now",
            &now,
        ],
        &signed,
    );
    assert_eq!(
        run.fails_with("unknown_key"),
        "unknown_key: no key with id \"k1\" in this verifier's key set; it holds k9\n"
    );
}

/// SPEC.md §9: an error quotes at most 64 characters of any input, so a
/// 600 KB field name gives a one-line error, not a 600 KB one.
#[test]
fn errors_quote_at_most_a_short_prefix_of_the_input() {
    let name = "n".repeat(600_000);
    for (args, input) in [
        (
            vec!["canon", "--max-bytes", "2000000"],
            format!(r#"{{"${name}":1}}"#),
        ),
        (
            vec![
                "sign",
                "--key",
                KEY,
                "--audience",
                AUD,
                "--function",
                "m:f",
                "--max-bytes",
                "2000000",
            ],
            format!(r#"{{"é{name}":1}}"#),
        ),
    ] {
        let run = cs(&args, &input);
        let line = run.fails_with("malformed");
        assert!(line.len() < 400, "{} bytes: {}", line.len(), &line[..200]);
        assert!(
            line.contains("(600001 bytes)") || line.contains("(600002 bytes)"),
            "{line}"
        );
    }
    let long_function = "f".repeat(600);
    let run = sign_fixed(KEY, &long_function, TS, NONCE, "{}", &[]);
    assert!(run.fails_with("malformed").len() < 400);
}
