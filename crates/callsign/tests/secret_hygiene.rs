//! Key material never shows: not in `Debug` or `Display` of any public type,
//! not in any error (nor the MAC a verifier expected), and the types that
//! hold it wipe it on drop.
//!
//! What can be proven from outside the crate (it forbids `unsafe`, so no test
//! reads freed memory): the types that carry secrets are zeroize-on-drop types
//! (checked statically below, so dropping the `zeroize` feature of `sha2` or
//! changing `Key::to_key_string`'s return type fails to compile). That
//! `Key`'s private secret field is a `Zeroizing<Vec<u8>>` is checked by the
//! unit test `key::tests::secrets_are_wiped_on_drop_by_type`.

use callsign::{
    canonicalize, Envelope, Error, ErrorCode, Key, KeySet, Limits, MemoryNonceStore, Nonce, Signer,
    Verifier, Window,
};
use zeroize::ZeroizeOnDrop;

const AUD: &str = "https://happy-otter-123.convex.cloud";
const OTHER_AUD: &str = "https://sad-badger-456.convex.cloud";
const TS: u64 = 1_700_000_000_000;
/// A secret with no repeated pattern, so any 16-digit run of it is unique.
const SECRET: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
/// Shortest run of hex digits that counts as a leak.
const RUN: usize = 16;

fn root() -> Key {
    Key::parse(&format!("csk1_prod_{SECRET}")).unwrap()
}

/// The hex secret of a key string.
fn secret_of(key: &Key) -> String {
    let text = key.to_key_string();
    let rest = text.split_once('_').unwrap().1.split_once('_').unwrap().1;
    rest.split('@').next().unwrap().to_owned()
}

/// Every secret that must stay hidden: the root secret, its derived secrets
/// for both audiences.
fn secrets() -> Vec<String> {
    let root = root();
    vec![
        SECRET.to_owned(),
        secret_of(&root.derive(AUD).unwrap()),
        secret_of(&root.derive(OTHER_AUD).unwrap()),
    ]
}

fn assert_hidden(label: &str, shown: &str, hidden: &[String]) {
    for secret in hidden {
        for start in 0..=secret.len() - RUN {
            let piece = &secret[start..start + RUN];
            assert!(
                !shown.contains(piece),
                "{label}: shows {piece} (of {secret}): {shown}"
            );
        }
    }
}

fn nonce() -> Nonce {
    Nonce::parse("00112233445566778899aabbccddeeff").unwrap()
}

#[test]
fn debug_and_display_of_every_public_type_hide_secrets() {
    let root = root();
    let derived = root.derive(AUD).unwrap();
    let set = KeySet::new(vec![
        derived.clone(),
        Key::from_secret("b", &[3; 40]).unwrap(),
    ])
    .unwrap();
    let signer = Signer::new(&root, AUD)
        .unwrap()
        .with_limits(Limits::default());
    let call = signer
        .sign_at("messages:send", r#"{"a":1}"#, TS, &nonce())
        .unwrap();
    let verifier = Verifier::new(&set, AUD)
        .unwrap()
        .with_window(Window::default());
    let verified = verifier
        .verify("messages:send", &call.signed_args, TS)
        .unwrap();
    let envelope: &Envelope = &call.envelope;
    let shown = [
        ("root Debug", format!("{root:?}")),
        ("root Display", format!("{root}")),
        ("derived Debug", format!("{derived:?}")),
        ("derived Display", format!("{derived}")),
        ("key set Debug", format!("{set:?}")),
        ("signer Debug", format!("{signer:?}")),
        ("verifier Debug", format!("{verifier:?}")),
        ("signed call Debug", format!("{call:?}")),
        ("envelope Debug", format!("{envelope:?}")),
        ("envelope JSON", envelope.to_json()),
        ("verified Debug", format!("{verified:?}")),
    ];
    let secrets = secrets();
    for (label, text) in &shown {
        assert_hidden(label, text, &secrets);
    }
    // The redaction is visible, and the key id is not redacted.
    assert_eq!(format!("{root}"), "csk1_prod_<redacted>");
    // Nor is a derived key's audience shown: its length and fingerprint name it.
    assert_eq!(
        format!("{derived}"),
        "csk1d_prod_<redacted>@<36-byte audience b0a55697>"
    );
    assert!(!format!("{derived:?}").contains("happy-otter"));
    assert!(format!("{root:?}").contains("prod"));
    // Only the explicit call reveals it.
    assert!(root.to_key_string().contains(SECRET));
}

#[test]
fn key_errors_never_quote_the_key_string() {
    let s = SECRET;
    let mangled = [
        format!("csk1_{s}_"),                        // the secret where the kid goes
        format!("csk1_k_{}", &s[..62]),              // 248 bits
        format!("csk1_k_{}", &s[..63]),              // odd length
        format!("csk1_k_{}", s.to_uppercase()),      // upper case
        format!("csk1_k_{s}{s}00"),                  // 65 bytes
        format!("csk1d_k_{s}"),                      // derived without audience
        format!("csk1d_k_{s}@{s} x"),                // audience with a space
        format!("csk1d_k_{s}00@{AUD}"),              // derived, 33 bytes
        format!("csk1_k_{s}@{AUD}"),                 // root with an audience
        format!("csk2_k_{s}"),                       // another version
        format!("csk1_k/{s}_{s}"),                   // bad kid
        format!("csk1_k_{s}\u{a0}"),                 // non-ASCII whitespace
        format!("\"csk1_k_{s}\""),                   // quoted
        format!("csk1_k_{s} csk1_k_{s}"),            // a set where a key goes
        format!("csk1_k_{}g{}", &s[..31], &s[32..]), // a non-hex digit
    ];
    let upper = SECRET.to_uppercase();
    let hidden = [SECRET.to_owned(), upper];
    for text in &mangled {
        let err = Key::parse(text).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidKey, "{text}");
        assert_hidden(&format!("Key::parse({text:?})"), &err.to_string(), &hidden);
        assert_hidden(
            &format!("Key::parse({text:?}) Debug"),
            &format!("{err:?}"),
            &hidden,
        );
        let set = format!("csk1_ok_{},{text}", "11".repeat(32));
        let err = KeySet::parse(&set).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidKey, "{set}");
        assert_hidden(
            &format!("KeySet::parse({set:?})"),
            &err.to_string(),
            &hidden,
        );
    }
}

/// Keys run together (a key set missing its commas, the documented rotation
/// done in a hurry): every pair and triple of root and derived keys, joined
/// with no separator, with separators, and with a mix, through every entry
/// point that takes key text. None may show a 16-digit run of any secret,
/// whether it succeeds (Debug, Display) or fails (the error).
#[test]
fn keys_run_together_never_show_a_secret() {
    let roots = [
        Key::parse(&format!("csk1_old_{SECRET}")).unwrap(),
        Key::parse(&format!("csk1_new_{}", SECRET.replace('9', "7"))).unwrap(),
    ];
    let derived_roots = [
        Key::parse(&format!("csk1_dold_{}", SECRET.replace('a', "b"))).unwrap(),
        Key::parse(&format!("csk1_dnew_{}", SECRET.replace('f', "e"))).unwrap(),
    ];
    let mut pool: Vec<String> = roots
        .iter()
        .map(|k| k.to_key_string().to_string())
        .collect();
    pool.extend(
        derived_roots
            .iter()
            .map(|k| k.derive(AUD).unwrap().to_key_string().to_string()),
    );
    let mut hidden: Vec<String> = Vec::new();
    for key in roots.iter().chain(&derived_roots) {
        hidden.push(secret_of(key));
        for aud in [AUD, OTHER_AUD] {
            hidden.push(secret_of(&key.derive(aud).unwrap()));
        }
    }

    let mut tuples: Vec<Vec<&str>> = Vec::new();
    for (i, a) in pool.iter().enumerate() {
        for (j, b) in pool.iter().enumerate() {
            if i != j {
                tuples.push(vec![a, b]);
                for (k, c) in pool.iter().enumerate() {
                    if k != i && k != j {
                        tuples.push(vec![a, b, c]);
                    }
                }
            }
        }
    }
    assert_eq!(tuples.len(), 12 + 24);
    let mut run_together = 0;
    for keys in &tuples {
        for seps in [
            ["", ""],
            [",", ","],
            [" ", " "],
            ["\n", "\n"],
            [", ", ", "],
            ["", ","],
            [",", ""],
        ] {
            let seps = &seps[..keys.len() - 1];
            let joined = seps.contains(&"");
            let mut text = keys[0].to_owned();
            for (sep, key) in seps.iter().zip(&keys[1..]) {
                text.push_str(sep);
                text.push_str(key);
            }
            let mut shown = Vec::new();
            match Key::parse(&text) {
                Ok(key) => shown.extend([format!("{key:?}"), key.to_string()]),
                Err(e) => {
                    assert_eq!(e.code(), ErrorCode::InvalidKey, "{text}");
                    shown.push(e.to_string());
                }
            }
            match KeySet::parse(&text) {
                Ok(set) => {
                    // Separated: the set holds every key, in order.
                    assert!(!joined, "{text}");
                    let kids: Vec<&str> = set.keys().iter().map(Key::kid).collect();
                    assert_eq!(kids.len(), keys.len(), "{text}");
                    shown.push(format!("{set:?}"));
                    for aud in [AUD, OTHER_AUD] {
                        match Verifier::new(&set, aud) {
                            Ok(v) => shown.push(format!("{v:?}")),
                            Err(e) => shown.push(e.to_string()),
                        }
                    }
                }
                Err(e) => {
                    assert_eq!(e.code(), ErrorCode::InvalidKey, "{text}");
                    assert!(joined, "{text}: {e}");
                    assert!(e.message().contains("run together"), "{e}");
                    run_together += 1;
                    shown.push(e.to_string());
                }
            }
            for key in keys {
                let key = Key::parse(key).unwrap();
                for aud in [AUD, OTHER_AUD] {
                    match Signer::new(&key, aud) {
                        Ok(s) => shown.push(format!("{s:?}")),
                        Err(e) => shown.push(e.to_string()),
                    }
                    match key.derive(aud) {
                        Ok(d) => shown.extend([format!("{d:?}"), d.to_string()]),
                        Err(e) => shown.push(e.to_string()),
                    }
                }
            }
            for text in &shown {
                assert_hidden(&format!("keys {keys:?}"), text, &hidden);
            }
        }
    }
    // Pairs have one gap (two of the joins leave it empty), triples two.
    assert_eq!(run_together, 12 * 2 + 24 * 3);
}

#[test]
fn configuration_errors_hide_secrets() {
    let root = root();
    let derived = root.derive(AUD).unwrap();
    let errors: Vec<(&str, ErrorCode, Error)> = vec![
        (
            "derive a derived key",
            ErrorCode::InvalidKey,
            derived.derive(OTHER_AUD).unwrap_err(),
        ),
        (
            "sign with a key derived for another audience",
            ErrorCode::InvalidKey,
            Signer::new(&derived, OTHER_AUD).unwrap_err(),
        ),
        (
            "verify with a key derived for another audience",
            ErrorCode::InvalidKey,
            Verifier::new(&KeySet::from(derived.clone()), OTHER_AUD).unwrap_err(),
        ),
        (
            "key set with a duplicate kid",
            ErrorCode::InvalidKey,
            KeySet::new(vec![root.clone(), derived.clone()]).unwrap_err(),
        ),
        (
            "derive for an invalid audience",
            ErrorCode::Malformed,
            root.derive("has space").unwrap_err(),
        ),
    ];
    let secrets = secrets();
    for (label, code, err) in &errors {
        assert_eq!(err.code(), *code, "{label}: {err}");
        assert_hidden(label, &err.to_string(), &secrets);
    }
}

/// (label, signed args, function, verifier, now, code, the MAC the verifier
/// computes for that input, which must not show).
type Case<'a> = (
    &'a str,
    String,
    &'a str,
    &'a Verifier,
    u64,
    ErrorCode,
    Option<String>,
);

/// Every verification error, including `bad_signature`, leaves out the MAC
/// the verifier computed: that MAC is a valid signature for the tampered
/// call, so printing it would let anyone who sees the error forge it.
#[test]
fn verification_errors_hide_secrets_and_the_expected_mac() {
    let root = root();
    let signer = Signer::new(&root, AUD).unwrap();
    let verifier = Verifier::new(&KeySet::from(root.clone()), AUD).unwrap();
    let call = signer
        .sign_at("messages:send", r#"{"a":1}"#, TS, &nonce())
        .unwrap();
    let signed = call.signed_args.as_str();

    let tampered_args = signed.replace("\"a\":1", "\"a\":2");
    let mac_for_tampered = signer
        .sign_at("messages:send", r#"{"a":2}"#, TS, &nonce())
        .unwrap()
        .envelope
        .sig;
    let mac_for_other_function = signer
        .sign_at("messages:remove", r#"{"a":1}"#, TS, &nonce())
        .unwrap()
        .envelope
        .sig;
    let other_verifier = Verifier::new(&KeySet::from(root.clone()), OTHER_AUD).unwrap();
    let mac_for_other_audience = Signer::new(&root, OTHER_AUD)
        .unwrap()
        .sign_at("messages:send", r#"{"a":1}"#, TS, &nonce())
        .unwrap()
        .envelope
        .sig;
    let cases: Vec<Case> = vec![
        (
            "tampered args",
            tampered_args,
            "messages:send",
            &verifier,
            TS,
            ErrorCode::BadSignature,
            Some(mac_for_tampered),
        ),
        (
            "other function",
            signed.to_owned(),
            "messages:remove",
            &verifier,
            TS,
            ErrorCode::BadSignature,
            Some(mac_for_other_function),
        ),
        (
            "other audience",
            signed.to_owned(),
            "messages:send",
            &other_verifier,
            TS,
            ErrorCode::BadSignature,
            Some(mac_for_other_audience),
        ),
        (
            "expired",
            signed.to_owned(),
            "messages:send",
            &verifier,
            TS + 60_001,
            ErrorCode::Expired,
            None,
        ),
        (
            "not yet valid",
            signed.to_owned(),
            "messages:send",
            &verifier,
            TS - 60_001,
            ErrorCode::NotYetValid,
            None,
        ),
        (
            "unknown kid",
            signed.replace("\"kid\":\"prod\"", "\"kid\":\"nope\""),
            "messages:send",
            &verifier,
            TS,
            ErrorCode::UnknownKey,
            None,
        ),
        (
            "bad version",
            signed.replace("\"v\":1", "\"v\":2"),
            "messages:send",
            &verifier,
            TS,
            ErrorCode::Malformed,
            None,
        ),
    ];
    let mut hidden = secrets();
    for (label, text, function, verifier, now, code, mac) in &cases {
        let err = verifier.verify(function, text, *now).unwrap_err();
        assert_eq!(err.code(), *code, "{label}: {err}");
        if let Some(mac) = mac {
            // Sanity: the expected MAC differs from the one the call carries.
            assert_ne!(mac, &call.envelope.sig);
            hidden.push(mac.clone());
        }
        assert_hidden(label, &err.to_string(), &hidden);
        assert_hidden(label, &format!("{err:?}"), &hidden);
    }

    let store = MemoryNonceStore::new();
    verifier
        .verify_once(&store, "messages:send", signed, TS)
        .unwrap();
    let replayed = verifier
        .verify_once(&store, "messages:send", signed, TS)
        .unwrap_err();
    assert_eq!(replayed.code(), ErrorCode::Replayed);
    assert_hidden("replayed", &replayed.to_string(), &hidden);
    assert_hidden("store Debug", &format!("{store:?}"), &hidden);

    // canonicalize never sees keys, but its errors quote input: a key pasted
    // into args is the caller's to keep out.
    let err = canonicalize("{", &Limits::default()).unwrap_err();
    assert_hidden("canonicalize", &err.to_string(), &hidden);
}

fn wiped_on_drop<T: ZeroizeOnDrop>(_: &T) {}
fn type_wiped_on_drop<T: ZeroizeOnDrop>() {}

/// Statically: what holds secrets wipes itself when dropped.
///
/// * `Key::to_key_string` hands out a `Zeroizing<String>`.
/// * A signer's and verifier's HMAC (`hmac::Hmac<Sha256>`) keeps no key, only
///   the SHA-256 states after the inner and outer key pads (which are
///   key-equivalent); those states are `Sha256`'s block-level core, wiped on
///   drop when `sha2`'s `zeroize` feature is on (the workspace enables it).
///   `Hmac` itself carries no `ZeroizeOnDrop` marker in hmac 0.13, so the
///   check is on its parts. Its message buffer is zeroized on drop as well.
#[test]
fn secret_holding_types_are_wiped_on_drop() {
    let key = root();
    wiped_on_drop(&key.to_key_string());
    type_wiped_on_drop::<<sha2::Sha256 as hmac::digest::block_api::CoreProxy>::Core>();
    type_wiped_on_drop::<zeroize::Zeroizing<Vec<u8>>>();
}
