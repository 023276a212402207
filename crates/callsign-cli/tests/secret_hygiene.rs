//! No command but `keygen` and `derive` ever prints key material: not on
//! success, not in errors, not for a key that is almost right.

mod common;

use common::{callsign, cs, run, sign_fixed, Run, TempDir, AUD, NONCE, TS};

const SECRET: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const KEY: &str = "csk1_k1_9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
/// Shortest fragment of a secret that counts as a leak.
const FRAGMENT: usize = 12;

/// The hex secrets that must not appear: the root secret and its derived
/// secret for `AUD` (obtained from `derive`, which may print it).
fn secrets() -> Vec<String> {
    let derived = derived_key();
    let hex = derived
        .strip_prefix("csk1d_k1_")
        .and_then(|rest| rest.split_once('@'))
        .expect("a derived key string")
        .0;
    vec![SECRET.to_owned(), hex.to_owned()]
}

/// Asserts that no [`FRAGMENT`]-digit piece of any secret is in the output.
fn assert_clean(label: &str, run: &Run, secrets: &[String]) {
    let output = format!("{}{}", String::from_utf8_lossy(&run.stdout), run.stderr);
    for secret in secrets {
        for start in 0..=secret.len() - FRAGMENT {
            let piece = &secret[start..start + FRAGMENT];
            assert!(
                !output.contains(piece),
                "{label}: output contains secret fragment {piece}:\n{output}"
            );
        }
    }
}

fn derived_key() -> String {
    let derived = cs(&["derive", "--key", KEY, "--audience", AUD], "").ok();
    derived.trim_end().to_owned()
}

fn signed_call() -> String {
    sign_fixed(KEY, "f:g", TS, NONCE, r#"{"a":1}"#, &[]).ok()
}

#[test]
fn sign_verify_canon_and_demo_never_print_keys() {
    let secrets = secrets();
    let signed = signed_call();
    let ts = TS.to_string();
    let sign = ["sign", "--audience", AUD, "--function", "f:g"];
    let verify = [
        "verify",
        "--audience",
        AUD,
        "--function",
        "f:g",
        "--now",
        &ts,
    ];
    let with_key = |args: &[&str], stdin: &str| {
        run(
            callsign(args)
                .env("CALLSIGN_KEY", KEY)
                .env("CALLSIGN_KEYS", KEY),
            stdin,
        )
    };

    let runs: Vec<(&str, Run)> = vec![
        ("sign", cs(&[&sign[..], &["--key", KEY]].concat(), "{}")),
        ("sign via env", with_key(&sign, "{}")),
        ("sign, bad args", with_key(&sign, "{")),
        (
            "sign, envelope in args",
            with_key(&sign, r#"{"_callsign":1}"#),
        ),
        (
            "sign, bad nonce",
            with_key(&[&sign[..], &["--nonce", "zz"]].concat(), "{}"),
        ),
        (
            "verify",
            cs(&[&verify[..], &["--keys", KEY]].concat(), &signed),
        ),
        ("verify via env", with_key(&verify, &signed)),
        (
            "verify, tampered",
            with_key(&verify, &signed.replace("\"a\":1", "\"a\":2")),
        ),
        ("verify, expired", with_key(&verify[..6], &signed)),
        (
            "verify, other function",
            with_key(&[&verify[..4], &["g:h"]].concat(), &signed),
        ),
        (
            "verify, unknown kid",
            cs(
                &[&verify[..], &["--keys", &KEY.replace("_k1_", "_k9_")]].concat(),
                &signed,
            ),
        ),
        (
            "verify, two keys, same kid",
            cs(
                &[&verify[..], &["--keys", &format!("{KEY} {KEY}")]].concat(),
                &signed,
            ),
        ),
        (
            "sign, derived key for another audience",
            cs(
                &[
                    "sign",
                    "--audience",
                    "https://other.convex.cloud",
                    "--function",
                    "f:g",
                    "--key",
                    &derived_key(),
                ],
                "{}",
            ),
        ),
        (
            "canon with keys in env",
            with_key(&["canon"], r#"{"b":1,"a":2}"#),
        ),
        ("canon error with keys in env", with_key(&["canon"], "[]")),
        ("demo with keys in env", with_key(&["demo"], "")),
        (
            "sign --help with keys in env",
            with_key(&["sign", "--help"], ""),
        ),
        (
            "verify --help with keys in env",
            with_key(&["verify", "--help"], ""),
        ),
        // Forgetting `--key` makes the key a stray argument that clap quotes.
        (
            "stray key argument",
            cs(&["sign", KEY, "--audience", AUD, "--function", "f:g"], "{}"),
        ),
        (
            "stray key argument to verify",
            cs(&["verify", "--audience", AUD, KEY], "{}"),
        ),
    ];
    for (label, run) in &runs {
        assert_clean(label, run, &secrets);
    }
    // The runs went where they were meant to.
    let code = |label: &str| runs.iter().find(|(l, _)| *l == label).map(|(_, r)| r.code);
    assert_eq!(code("sign"), Some(0));
    assert_eq!(code("verify"), Some(0));
    assert_eq!(code("demo with keys in env"), Some(0));
    assert_eq!(code("sign, derived key for another audience"), Some(1));
    assert_eq!(code("stray key argument"), Some(2));
}

#[test]
fn demo_shows_keys_only_redacted() {
    let out = cs(&["demo"], "").ok();
    let mut shown = 0;
    for (at, _) in out.match_indices("csk1") {
        let rest = &out[at..];
        let redacted = ["csk1_k1_<redacted>", "csk1d_k1_<redacted>@"];
        assert!(
            redacted.iter().any(|r| rest.starts_with(r)),
            "demo prints a key unredacted: {}",
            &rest[..rest.len().min(80)]
        );
        shown += 1;
    }
    assert!(
        shown >= 2,
        "the demo shows its root and derived keys (redacted)"
    );
}

/// Key strings that are almost right: each must be refused with
/// `invalid_key` by every command, without echoing the secret.
#[test]
fn almost_right_keys_are_refused_without_echo() {
    let mut secrets = secrets();
    let upper = SECRET.to_uppercase();
    secrets.push(upper.clone());
    let bad_keys = [
        format!("csk1_k1_{}", &SECRET[..63]),          // 63 digits
        format!("csk1_k1_{}", &SECRET[..62]),          // 248 bits
        format!("csk1_k1_{SECRET}{SECRET}00"),         // 65 bytes
        format!("csk1_k1_{upper}"),                    // upper-case hex
        format!("csk1_k1_{}g", &SECRET[..63]),         // a non-hex digit
        format!("csk1_{SECRET}_"),                     // secret where the kid goes
        format!("csk1_{SECRET}"),                      // no kid
        format!("csk1_k 1_{SECRET}"),                  // bad kid
        format!("csk1__{SECRET}"),                     // empty kid
        format!("csk2_k1_{SECRET}"),                   // wrong version
        format!("k1_{SECRET}"),                        // no prefix
        format!("csk1d_k1_{SECRET}"),                  // derived, no audience
        format!("csk1d_k1_{SECRET}@"),                 // derived, empty audience
        format!("csk1d_k1_{SECRET}@bad audience"),     // derived, bad audience
        format!("csk1d_k1_{SECRET}00@{AUD}"),          // derived, 33 bytes
        format!("csk1_k1_{SECRET}@{AUD}"),             // root key with an audience
        format!("\"csk1_k1_{SECRET}\""),               // quoted
        format!("csk1_k1_{SECRET}\ncsk1_k1_{SECRET}"), // a set where one key goes
    ];
    let ts = TS.to_string();
    let signed = signed_call();
    for bad in &bad_keys {
        let single_key_commands: [(&str, Vec<&str>, &str); 3] = [
            ("derive", vec!["derive", "--audience", AUD], ""),
            (
                "sign",
                vec!["sign", "--audience", AUD, "--function", "f:g"],
                "{}",
            ),
            (
                "sign for another audience",
                vec![
                    "sign",
                    "--audience",
                    "https://other.convex.cloud",
                    "--function",
                    "f:g",
                ],
                "{}",
            ),
        ];
        for (label, args, stdin) in &single_key_commands {
            let by_flag = cs(&[&args[..], &["--key", bad]].concat(), stdin);
            let by_env = run(callsign(args).env("CALLSIGN_KEY", bad), stdin);
            for run in [by_flag, by_env] {
                // A newline-separated pair is a valid key set but not a key.
                if run.code == 0 {
                    continue;
                }
                let label = format!("{label} {bad:?}");
                assert!(run.stderr.starts_with("invalid_key: "), "{label}: {run:?}");
                assert_clean(&label, &run, &secrets);
            }
        }
        let verify = [
            "verify",
            "--audience",
            AUD,
            "--function",
            "f:g",
            "--now",
            &ts,
        ];
        let by_flag = cs(&[&verify[..], &["--keys", bad]].concat(), &signed);
        let by_env = run(callsign(&verify).env("CALLSIGN_KEYS", bad), &signed);
        for run in [by_flag, by_env] {
            let label = format!("verify {bad:?}");
            if run.code != 0 {
                assert!(run.stderr.starts_with("invalid_key: "), "{label}: {run:?}");
            }
            assert_clean(&label, &run, &secrets);
        }
    }
}

/// Every error code a command can give, and the `--seen` replay file: no key
/// material in stdout, stderr or the file. (Only `keygen` and `derive` print
/// keys, and only on success.)
#[test]
fn every_error_code_and_the_seen_file_stay_clean() {
    let secrets = secrets();
    let signed = signed_call();
    let dir = TempDir::new("hygiene");
    let seen = dir.path().join("seen.jsonl");
    let seen = seen.to_str().expect("UTF-8 temp path");
    let derived = derived_key();
    let at = |ms: u64| ms.to_string();
    let verify = |now: &str, extra: &[&str], stdin: &str| {
        let flags = [
            "verify",
            "--audience",
            AUD,
            "--function",
            "f:g",
            "--now",
            now,
        ];
        run(
            callsign(&[&flags[..], extra].concat()).env("CALLSIGN_KEYS", KEY),
            stdin,
        )
    };
    let sign = |extra: &[&str], stdin: &str| {
        run(
            callsign(&[&["sign", "--audience", AUD, "--function", "f:g"][..], extra].concat())
                .env("CALLSIGN_KEY", KEY),
            stdin,
        )
    };
    let runs: Vec<(&str, Option<&str>, Run)> = vec![
        (
            "verify --seen, accepted",
            None,
            verify(&at(TS), &["--seen", seen], &signed),
        ),
        (
            "verify --seen, replayed",
            Some("replayed"),
            verify(&at(TS + 1), &["--seen", seen], &signed),
        ),
        (
            "verify, expired",
            Some("expired"),
            verify(&at(TS + 60_001), &[], &signed),
        ),
        (
            "verify, not yet valid",
            Some("not_yet_valid"),
            verify(&at(TS - 60_001), &[], &signed),
        ),
        (
            "verify, too large",
            Some("too_large"),
            verify(&at(TS), &["--max-bytes", "10"], &signed),
        ),
        (
            "verify, bad signature",
            Some("bad_signature"),
            verify(&at(TS), &[], &signed.replace("\"a\":1", "\"a\":2")),
        ),
        (
            "verify, malformed",
            Some("malformed"),
            verify(&at(TS), &[], "{\"a\":1}"),
        ),
        (
            "verify with a key derived for another audience",
            Some("invalid_key"),
            run(
                callsign(&[
                    "verify",
                    "--audience",
                    "https://other.convex.cloud",
                    "--function",
                    "f:g",
                ])
                .env("CALLSIGN_KEYS", &derived),
                &signed,
            ),
        ),
        (
            "sign, too large",
            Some("too_large"),
            sign(&["--max-bytes", "4"], "{\"a\":1}"),
        ),
        (
            "sign, bad envelope field",
            Some("malformed"),
            sign(&["--envelope-field", "my-env"], "{}"),
        ),
        (
            "sign, bad function",
            Some("malformed"),
            run(
                callsign(&["sign", "--audience", AUD, "--function", ":"]).env("CALLSIGN_KEY", KEY),
                "{}",
            ),
        ),
        (
            "derive, bad audience",
            Some("malformed"),
            cs(&["derive", "--key", KEY, "--audience", "has space"], ""),
        ),
        (
            "derive from a derived key",
            Some("invalid_key"),
            cs(&["derive", "--key", &derived, "--audience", AUD], ""),
        ),
        (
            "keygen, bad kid",
            Some("invalid_key"),
            run(
                callsign(&["keygen", "--kid", "bad_kid"]).env("CALLSIGN_KEY", KEY),
                "",
            ),
        ),
    ];
    for (label, code, run) in &runs {
        match code {
            None => assert_eq!(run.code, 0, "{label}: {run:?}"),
            Some(code) => {
                run.fails_with(code);
            }
        }
        assert_clean(label, run, &secrets);
    }
    let file = std::fs::read_to_string(seen).expect("the seen file was written");
    assert!(
        file.contains(NONCE),
        "the seen file records the call: {file}"
    );
    let as_run = Run {
        code: 0,
        stdout: file.into_bytes(),
        stderr: String::new(),
    };
    assert_clean("the --seen file", &as_run, &secrets);
}

/// The review's repro: `CALLSIGN_KEYS="$D_OLD$D_NEW"` (the comma forgotten
/// while rotating) once printed the second key, secret included, as the first
/// one's audience. Every pair and triple of root and derived keys, run together
/// and separated, through every command that takes key text, from the
/// environment and from flags: none prints any fragment of any secret.
#[test]
fn keys_run_together_never_print_a_secret() {
    let roots = [
        KEY.to_owned(),
        format!("csk1_k2_{}", SECRET.replace('9', "7")),
    ];
    let other_roots = [
        format!("csk1_d1_{}", SECRET.replace('a', "b")),
        format!("csk1_d2_{}", SECRET.replace('f', "e")),
    ];
    let derive = |key: &str, aud: &str| {
        cs(&["derive", "--key", key, "--audience", aud], "")
            .ok()
            .trim_end()
            .to_owned()
    };
    let mut pool = roots.to_vec();
    pool.extend(other_roots.iter().map(|k| derive(k, AUD)));
    let hex_of = |key: &str| {
        let rest = key.split_once('_').unwrap().1.split_once('_').unwrap().1;
        rest.split('@').next().unwrap().to_owned()
    };
    let mut hidden = Vec::new();
    for key in roots.iter().chain(&other_roots) {
        hidden.push(hex_of(key));
        for aud in [AUD, "https://sad-badger-456.convex.cloud"] {
            hidden.push(hex_of(&derive(key, aud)));
        }
    }

    let signed = signed_call();
    let ts = TS.to_string();
    let mut tuples: Vec<Vec<&str>> = Vec::new();
    for (i, a) in pool.iter().enumerate() {
        for (j, b) in pool.iter().enumerate().filter(|(j, _)| *j != i) {
            tuples.push(vec![a, b]);
            for (_, c) in pool.iter().enumerate().filter(|(k, _)| *k != i && *k != j) {
                tuples.push(vec![a, b, c]);
            }
        }
    }
    for keys in &tuples {
        for sep in ["", ","] {
            let text = keys.join(sep);
            let label = format!("{} keys joined by {sep:?}", keys.len());
            let verify = [
                "verify",
                "--audience",
                AUD,
                "--function",
                "f:g",
                "--now",
                &ts,
            ];
            let runs = [
                run(callsign(&verify).env("CALLSIGN_KEYS", &text), &signed),
                cs(&[&verify[..], &["--keys", &text]].concat(), &signed),
                run(
                    callsign(&["sign", "--audience", AUD, "--function", "f:g"])
                        .env("CALLSIGN_KEY", &text),
                    "{}",
                ),
                cs(&["derive", "--key", &text, "--audience", AUD], ""),
            ];
            for (n, r) in runs.iter().enumerate() {
                assert_clean(&format!("{label}, command {n}"), r, &hidden);
            }
            // A key set is never one key; run together, it is not a key set.
            for r in &runs[2..] {
                r.fails_with("invalid_key");
            }
            if sep.is_empty() {
                for r in &runs[..2] {
                    assert!(
                        r.fails_with("invalid_key").contains("run together"),
                        "{r:?}"
                    );
                }
            } else if keys.contains(&KEY) {
                runs[0].ok();
            } else {
                runs[0].fails_with("unknown_key");
            }
        }
    }
}
