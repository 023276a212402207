//! Every error message quotes at most about 64 characters of any input
//! (SPEC.md §9): an attacker's 600 KB field name gives a short error, not a
//! 600 KB one in `ConvexError` data and the deployment's logs.

use callsign::spec::canonical_function_name;
use callsign::{
    canonicalize, Error, Key, KeySet, Limits, MemoryNonceStore, Nonce, Signer, Verifier,
};

const AUD: &str = "https://happy-otter-123.convex.cloud";
const ROOT: &str = "csk1_prod_000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const TS: u64 = 1_700_000_000_000;
/// The longest message allowed: the fixed text, plus one or two quotes of at
/// most 64 characters each, plus lengths and positions.
const MAX_MESSAGE: usize = 400;

fn huge(c: char) -> String {
    std::iter::repeat_n(c, 600_000).collect()
}

fn assert_short(label: &str, result: Result<impl std::fmt::Debug, Error>) {
    let err = result.expect_err(label);
    let shown = err.to_string();
    assert!(
        shown.len() <= MAX_MESSAGE,
        "{label}: {} bytes: {}…",
        shown.len(),
        &shown[..200]
    );
}

fn signed(args: &str) -> String {
    let nonce = Nonce::parse("00112233445566778899aabbccddeeff").unwrap();
    Signer::new(&Key::parse(ROOT).unwrap(), AUD)
        .unwrap()
        .with_limits(big_limits())
        .sign_at("messages:send", args, TS, &nonce)
        .unwrap()
        .signed_args
}

fn big_limits() -> Limits {
    Limits {
        max_bytes: 16 << 20,
        ..Limits::default()
    }
}

#[test]
fn canonicalization_errors_stay_short_whatever_the_input() {
    let limits = big_limits();
    let a = huge('a');
    let inputs = [
        ("a $-name", format!(r#"{{"${a}":1}}"#)),
        ("a non-ASCII name", format!(r#"{{"é{a}":1}}"#)),
        ("a name with a control escape", format!(r#"{{"\n{a}":1}}"#)),
        ("an over-long name", format!(r#"{{"{a}":1}}"#)),
        (
            "a duplicate long name",
            format!(r#"{{"{}":1,"{}":2}}"#, &a[..1024], &a[..1024]),
        ),
        ("bad base64", format!(r#"{{"x":{{"$bytes":"{a}!"}}}}"#)),
        (
            "bad base64 of escapes",
            format!(r#"{{"x":{{"$bytes":"{}"}}}}"#, "\\u0000".repeat(100_000)),
        ),
        ("an unterminated string", format!(r#"{{"x":"{a}"#)),
        (
            "a long number",
            format!(r#"{{"x":1{}}}"#, "0".repeat(600_000)),
        ),
    ];
    for (label, input) in &inputs {
        assert_short(label, canonicalize(input, &limits));
    }
}

#[test]
fn signing_and_configuration_errors_stay_short() {
    let key = Key::parse(ROOT).unwrap();
    let signer = Signer::new(&key, AUD).unwrap().with_limits(big_limits());
    let nonce = Nonce::parse("00112233445566778899aabbccddeeff").unwrap();
    let long = huge('x');
    let fn_512 = format!("{}:f", "m".repeat(510));
    let aud_512_bad = format!("{}\u{7f}", "a".repeat(511));
    assert_short("a long function name", canonical_function_name(&long));
    assert_short(
        "a 512-byte function name with a space",
        canonical_function_name(&format!("{} ", &fn_512[..511])),
    );
    assert_short(
        "a 512-byte name without export",
        canonical_function_name(&format!("{}:", "m".repeat(511))),
    );
    assert_short("a long nonce", Nonce::parse(&long));
    assert_short("a long audience", Signer::new(&key, &long));
    assert_short("a 512-byte bad audience", Signer::new(&key, &aud_512_bad));
    assert_short(
        "a long envelope field",
        signer.clone().with_envelope_field(&long),
    );
    assert_short("a long key", Key::parse(&long));
    assert_short("a long key set", KeySet::parse(&format!("{ROOT},{long}")));
    assert_short(
        "args holding a long bad name",
        signer.sign_at("m:f", &format!(r#"{{"${long}":1}}"#), TS, &nonce),
    );
    let derived = key.derive(AUD).unwrap();
    assert_short(
        "a derived key for a 512-byte audience",
        Signer::new(&derived, &"a".repeat(512)),
    );
}

#[test]
fn verification_errors_stay_short() {
    let verifier = Verifier::new(&KeySet::parse(ROOT).unwrap(), AUD)
        .unwrap()
        .with_limits(big_limits());
    let store = MemoryNonceStore::new();
    let long = huge('z');
    let good = signed(r#"{"body":"hi"}"#);
    let cases = [
        (
            "an unknown envelope member",
            good.replacen(r#""kid""#, &format!(r#""{long}":1,"kid""#), 1),
        ),
        (
            "a long nonce",
            good.replacen("00112233445566778899aabbccddeeff", &"0".repeat(600_000), 1),
        ),
        (
            "a long kid",
            good.replacen(r#""kid":"prod""#, &format!(r#""kid":"{long}""#), 1),
        ),
        (
            "a long bad field in the args",
            good.replacen(r#""body""#, &format!(r#""${long}""#), 1),
        ),
        (
            "a long changed arg",
            good.replacen(r#""hi""#, &format!(r#""{long}""#), 1),
        ),
    ];
    for (label, args) in &cases {
        assert_short(label, verifier.verify("messages:send", args, TS));
    }
    let fn_512 = format!("{}:f", "m".repeat(510));
    assert_short(
        "bad signature for a 512-byte function",
        verifier.verify(&fn_512, &good, TS),
    );
    assert_short(
        "a long expected function",
        verifier.verify(&long, &good, TS),
    );
    verifier
        .verify_once(&store, "messages:send", &good, TS)
        .unwrap();
    assert_short(
        "a replay",
        verifier.verify_once(&store, "messages:send", &good, TS),
    );
}
