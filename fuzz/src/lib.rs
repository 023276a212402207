//! The checks behind callsign's fuzz targets (`fuzz_targets/*.rs` call these).
//!
//! Each target drives the **public API** of `callsign` only and asserts
//! invariants, not just "no panic": a panic here is a finding. Run them with
//! `scripts/fuzz` (see README.md, "Fuzzing").
//!
//! The verifier holds the two public test keys of `tests/vectors/verify.json`
//! (`k1`, `k2`) for the same audience, function and time as those vectors,
//! so a seed corpus taken from the vectors starts from validly signed calls
//! and the fuzzer explores what a verifier does with their mutations.

use std::sync::OnceLock;

use callsign::spec::canonical_function_name;
use callsign::{
    canonicalize as canon, Error, ErrorCode, Key, KeySet, Limits, MemoryNonceStore, Nonce, Signer,
    Verified, Verifier,
};

/// The audience most verify vectors use (`tests/vectors/verify.json`).
pub const AUD: &str = "https://happy-otter-123.convex.cloud";
/// The function of the vectors.
pub const FUNCTION: &str = "messages:send";
/// The signing time of the vectors; the verifier runs at this `now`.
pub const T: u64 = 1_700_000_000_000;
/// The nonce the mutation mode signs with.
pub const NONCE: &str = "00112233445566778899aabbccddeeff";
/// Public test key `k1` of the vectors.
pub const K1: &str = "csk1_k1_000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
/// Public test key `k2` of the vectors.
pub const K2: &str = "csk1_k2_202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f";
/// Default window of the vectors, in ms.
const MAX_AGE: u64 = 60_000;
const MAX_FUTURE: u64 = 60_000;

/// Fewest consecutive hex digits of a secret that count as a leak.
const LEAK_RUN: usize = 16;

fn key_set() -> &'static KeySet {
    static SET: OnceLock<KeySet> = OnceLock::new();
    SET.get_or_init(|| KeySet::parse(&format!("{K1},{K2}")).expect("the test keys parse"))
}

fn verifier() -> &'static Verifier {
    static V: OnceLock<Verifier> = OnceLock::new();
    V.get_or_init(|| Verifier::new(key_set(), AUD).expect("a valid verifier"))
}

fn signer() -> &'static Signer {
    static S: OnceLock<Signer> = OnceLock::new();
    S.get_or_init(|| {
        let k1 = Key::parse(K1).expect("k1 parses");
        Signer::new(&k1, AUD).expect("a valid signer")
    })
}

/// Limits with no size limit: for re-canonicalizing output, which may be
/// longer than its input (`-0` becomes `{"$float":"AAAAAAAAAIA="}`).
fn unbounded(depth: usize) -> Limits {
    Limits {
        max_bytes: usize::MAX,
        max_depth: depth,
    }
}

/// Target `canonicalize`: arbitrary bytes as args.
///
/// The first byte picks the limits (default, small depth, small size, deep),
/// the rest is the text (non-UTF-8 input cannot reach this API). Checks:
/// the size limit is applied before parsing and only there; errors are
/// `malformed` or `too_large` only; the output re-canonicalizes to itself;
/// whitespace around the input changes nothing; everything accepted is JSON
/// that `serde_json` accepts too (callsign's parser is stricter).
pub fn canonicalize(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let knob = usize::from(sel >> 2);
    let limits = match sel & 3 {
        0 => Limits::default(),
        1 => unbounded(1 + knob % 8),
        2 => Limits {
            max_bytes: knob * 4,
            max_depth: Limits::DEFAULT_MAX_DEPTH,
        },
        _ => unbounded(100),
    };
    let got = canon(text, &limits);
    if text.len() > limits.max_bytes {
        assert_eq!(
            code_of(&got),
            Some(ErrorCode::TooLarge),
            "input over max_bytes"
        );
        return;
    }
    match got {
        Ok(c) => {
            let again = canon(&c, &unbounded(limits.max_depth));
            assert_eq!(again.as_deref(), Ok(c.as_str()), "not idempotent");
            let padded = format!(" \t\r\n{text}\n ");
            let spaced = canon(&padded, &unbounded(limits.max_depth));
            assert_eq!(spaced.as_deref(), Ok(c.as_str()), "whitespace matters");
            // Depth is at most 100 (+1 for a special form past the limit),
            // inside serde_json's recursion limit of 128.
            if let Err(e) = serde_json::from_str::<serde_json::Value>(text) {
                panic!("accepted what serde_json rejects ({e}): {text:?}");
            }
            if let Err(e) = serde_json::from_str::<serde_json::Value>(&c) {
                panic!("canonical output is not JSON ({e}): {c:?}");
            }
        }
        Err(e) => {
            assert_eq!(e.code(), ErrorCode::Malformed, "{e}");
            // Within the size limit, the size limit plays no part.
            let unlimited = canon(text, &unbounded(limits.max_depth));
            assert_eq!(code_of(&unlimited), Some(ErrorCode::Malformed));
        }
    }
}

/// Target `verify`: arbitrary signed args, or mutations of a signed call.
///
/// Even first byte: the rest is signed args, verified as [`FUNCTION`] at
/// [`T`]. Odd first byte: the next byte gives a count n (0–7) of 4-byte
/// mutations (op, position high, position low, byte: overwrite, insert or
/// delete), the rest is args that `k1` signs; the mutated signed args are
/// verified. Both check [`check_verify`]; the mutation mode also checks that
/// the unmutated call verifies with exactly the signed claims, that signer
/// errors agree with `canonicalize`, that no mutation is accepted with
/// claims other than the original ones, and that, submitted through the
/// replay store after the original, an accepted mutation (another spelling
/// of the same call) is `replayed` and a rejected one fails as without the
/// store, leaving it unchanged.
pub fn verify(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        if let Ok(text) = std::str::from_utf8(rest) {
            let _ = check_verify(text, FUNCTION, T);
        }
        return;
    }
    let Some((&count, rest)) = rest.split_first() else {
        return;
    };
    let n = usize::from(count % 8);
    if rest.len() < 4 * n {
        return;
    }
    let (edits, args) = rest.split_at(4 * n);
    let Ok(args) = std::str::from_utf8(args) else {
        return;
    };
    let nonce = Nonce::parse(NONCE).expect("a valid nonce");
    let call = match signer().sign_at(FUNCTION, args, T, &nonce) {
        Ok(call) => call,
        Err(e) => {
            match canon(args, &Limits::default()) {
                Err(ce) => assert_eq!(e.code(), ce.code(), "signer and canonicalize disagree"),
                // The envelope field is taken, or the signed args outgrow the limit.
                Ok(_) => assert!(
                    matches!(e.code(), ErrorCode::Malformed | ErrorCode::TooLarge),
                    "{e}"
                ),
            }
            return;
        }
    };
    // The original goes through a replay store first; the mutation follows.
    let store = MemoryNonceStore::new();
    let original = verifier()
        .verify_once(&store, FUNCTION, &call.signed_args, T)
        .expect("a fresh signature verifies");
    assert_eq!(original.canonical_args, call.canonical_args);
    assert_eq!(original.nonce, NONCE);
    assert_eq!((original.kid.as_str(), original.ts), ("k1", T));

    let mut bytes = call.signed_args.clone().into_bytes();
    for edit in edits.chunks_exact(4) {
        let at = usize::from(u16::from_be_bytes([edit[1], edit[2]]));
        match edit[0] % 3 {
            0 if !bytes.is_empty() => {
                let i = at % bytes.len();
                bytes[i] = edit[3];
            }
            1 => bytes.insert(at % (bytes.len() + 1), edit[3]),
            2 if !bytes.is_empty() => {
                bytes.remove(at % bytes.len());
            }
            _ => {}
        }
    }
    let Ok(mutated) = String::from_utf8(bytes) else {
        return;
    };
    let got = check_verify(&mutated, FUNCTION, T);
    let once = verifier().verify_once(&store, FUNCTION, &mutated, T);
    match got {
        Ok(claims) => {
            assert_eq!(
                claims, original,
                "a mutated call was accepted as a different call: {mutated:?}"
            );
            // Another spelling of an accepted call is a replay of it.
            assert_eq!(code_of(&once), Some(ErrorCode::Replayed), "{mutated:?}");
        }
        // A rejected call fails the same way with a store, and leaves it alone.
        Err(e) => assert_eq!(code_of(&once), Some(e.code()), "{mutated:?}"),
    }
    assert_eq!(store.len(), 1, "only the original is remembered");
}

/// Target `envelope`: the value of the `_callsign` field is arbitrary text.
///
/// The args around it are those of the vectors' baseline call
/// (`{"body":"hello","n":1}`), so an envelope taken from `verify.json` is a
/// valid one to start from. Besides [`check_verify`]: every envelope that is
/// not an object with exactly `kid`, `nonce`, `sig`, `ts` and `v` is
/// `malformed`; `unknown_key` names a kid the verifier lacks.
pub fn envelope(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let signed = format!("{{\"body\":\"hello\",\"n\":1,\"_callsign\":{text}}}");
    let Err(e) = check_verify(&signed, FUNCTION, T) else {
        return;
    };
    // The envelope on its own; `None` when the text is not one JSON value
    // (it may also splice other members into the args: `1,"x":2`).
    let Some(envelope) = canon(&format!("{{\"e\":{text}}}"), &unbounded(63))
        .ok()
        .and_then(|c| serde_json::from_str::<serde_json::Value>(&c).ok())
        .and_then(|v| match v {
            serde_json::Value::Object(mut o) if o.len() == 1 => o.remove("e"),
            _ => None,
        })
    else {
        return;
    };
    let members: Option<Vec<&str>> = envelope
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect());
    let well_formed = members.as_deref() == Some(&["kid", "nonce", "sig", "ts", "v"][..]);
    match e.code() {
        ErrorCode::Malformed => {}
        ErrorCode::UnknownKey => {
            assert!(
                well_formed,
                "unknown_key for a malformed envelope: {text:?}"
            );
            let kid = envelope["kid"].as_str();
            assert!(matches!(kid, Some(k) if k != "k1" && k != "k2"), "{text:?}");
        }
        other => assert!(
            well_formed,
            "{other} for an envelope that is not exactly kid, nonce, sig, ts, v: {text:?}"
        ),
    }
}

/// Verifies `signed_args` for `function` at `now` and checks the outcome
/// against `canonicalize` and the signer; returns the claims when accepted.
///
/// * What `canonicalize` rejects, `verify` rejects with the same code; what
///   it accepts is never `too_large`, and errors are only the codes a
///   verifier may give (never `invalid_key`, `replayed`, `unsupported`).
/// * An accepted call is exactly what the fuzz keys sign: signing the
///   claims (function, canonical args, ts, nonce) with the key named by the
///   kid reproduces the canonical form of `signed_args`, signature included.
///   So nothing the fuzzer did not get from a signer verifies.
/// * The claims respect the window and name the canonical function.
pub fn check_verify(signed_args: &str, function: &str, now: u64) -> Result<Verified, Error> {
    let got = verifier().verify(function, signed_args, now);
    let canonical = canon(signed_args, &Limits::default());
    match (&canonical, got) {
        (Err(ce), got) => {
            assert_eq!(code_of(&got), Some(ce.code()), "verify vs canonicalize");
            got
        }
        (Ok(_), Err(e)) => {
            assert!(
                matches!(
                    e.code(),
                    ErrorCode::Malformed
                        | ErrorCode::UnknownKey
                        | ErrorCode::BadSignature
                        | ErrorCode::Expired
                        | ErrorCode::NotYetValid
                ),
                "unexpected code from verify: {e}"
            );
            Err(e)
        }
        (Ok(c), Ok(claims)) => {
            let key = key_set()
                .get(&claims.kid)
                .unwrap_or_else(|| panic!("accepted an unknown kid {:?}", claims.kid));
            let nonce = Nonce::parse(&claims.nonce).expect("an accepted nonce is valid");
            let resigned = Signer::new(key, AUD)
                .expect("a valid signer")
                .with_limits(unbounded(Limits::DEFAULT_MAX_DEPTH))
                .sign_at(&claims.function, &claims.canonical_args, claims.ts, &nonce)
                .expect("accepted claims can be signed");
            assert_eq!(
                &resigned.signed_args, c,
                "verify accepted something no signer produced"
            );
            assert_eq!(resigned.canonical_args, claims.canonical_args);
            assert_eq!(
                Ok(claims.function.clone()),
                canonical_function_name(function).map_err(|e| e.to_string())
            );
            assert!(claims.ts.saturating_sub(MAX_FUTURE) <= now && now <= claims.ts + MAX_AGE);
            assert_eq!(claims.remember_until, claims.ts + MAX_AGE);
            Ok(claims)
        }
    }
}

/// Target `keys`: key strings and key sets.
///
/// The first byte picks `Key::parse` or `KeySet::parse`; the rest is the
/// text. Checks: every error is `invalid_key` and quotes no run of
/// [`LEAK_RUN`] hex digits of the text (a mangled key can put its secret
/// anywhere); a parsed key writes back as the trimmed input, re-parses to
/// the same key, never shows its secret in `Debug`/`Display`, and signs calls
/// that verify (a root key also through its derived key); a parsed key set
/// lists the keys in order with unique kids and shows no secret.
pub fn keys(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    if sel & 1 == 0 {
        check_key(text);
    } else {
        check_key_set(text);
    }
}

fn check_key(text: &str) {
    match Key::parse(text) {
        Ok(key) => {
            let written = key.to_key_string();
            assert_eq!(
                written.as_str(),
                text.trim_matches(|c: char| c.is_ascii_whitespace())
            );
            let again = Key::parse(&written).expect("a written key parses");
            assert_eq!(again.to_key_string().as_str(), written.as_str());
            assert_eq!((again.kid(), again.audience()), (key.kid(), key.audience()));
            let secret = secret_hex(&written);
            assert!(secret.len() >= 64, "a secret of at least 256 bits");
            // The kid is public, even when it looks like hex; a derived
            // key's audience is not shown either (SPEC.md §6.5).
            let public = [key.kid()];
            let hidden = [secret, key.audience().unwrap_or("")];
            for shown in [format!("{key:?}"), format!("{key}")] {
                assert_no_leak(&shown, &hidden, &public);
            }
            let audience = key.audience().unwrap_or(AUD);
            let call = Signer::new(&key, audience)
                .and_then(|s| s.sign_at(FUNCTION, "{}", T, &Nonce::from_bytes([7; 16])))
                .expect("a parsed key signs for its audience");
            let ok = Verifier::new(&KeySet::from(key.clone()), audience)
                .and_then(|v| v.verify(FUNCTION, &call.signed_args, T))
                .expect("and verifies what it signs");
            assert_eq!(ok.kid, key.kid());
            if key.is_root() {
                let derived = key.derive(AUD).expect("a root key derives");
                assert_no_leak(&format!("{derived:?} {derived}"), &hidden, &public);
                Verifier::new(&KeySet::from(derived), AUD)
                    .and_then(|v| v.verify(FUNCTION, &call.signed_args, T))
                    .expect("the derived key verifies what the root signed");
            } else {
                let other = if audience == AUD {
                    "https://other.convex.cloud"
                } else {
                    AUD
                };
                let refused = Signer::new(&key, other).map(|_| ());
                assert_eq!(code_of(&refused), Some(ErrorCode::InvalidKey));
            }
        }
        Err(e) => {
            assert_eq!(e.code(), ErrorCode::InvalidKey, "{e}");
            assert_no_leak(&e.to_string(), &[text], &[]);
        }
    }
}

fn check_key_set(text: &str) {
    let parts: Vec<&str> = text
        .split(|c: char| c == ',' || c.is_ascii_whitespace())
        .filter(|p| !p.is_empty())
        .collect();
    let parsed: Vec<Result<Key, Error>> = parts.iter().map(|p| Key::parse(p)).collect();
    // What must never be shown: the secrets of the keys that parse, and all
    // of the parts that do not.
    let written: Vec<String> = parsed
        .iter()
        .filter_map(|k| k.as_ref().ok())
        .map(|k| k.to_key_string().to_string())
        .collect();
    let mut secrets: Vec<&str> = written.iter().map(|w| secret_hex(w)).collect();
    secrets.extend(
        parts
            .iter()
            .zip(&parsed)
            .filter(|(_, k)| k.is_err())
            .map(|(p, _)| *p),
    );
    secrets.extend(parsed.iter().filter_map(|k| k.as_ref().ok()?.audience()));
    let public: Vec<&str> = parsed
        .iter()
        .filter_map(|k| k.as_ref().ok())
        .map(Key::kid)
        .collect();
    match KeySet::parse(text) {
        Ok(set) => {
            let kids: Vec<&str> = set.keys().iter().map(Key::kid).collect();
            let want: Vec<&str> = parsed
                .iter()
                .map(|k| k.as_ref().expect("every key of a valid set parses").kid())
                .collect();
            assert_eq!(kids, want);
            let mut unique = kids.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), kids.len(), "duplicate kids in a set");
            assert_no_leak(&format!("{set:?}"), &secrets, &public);
            match Verifier::new(&set, AUD) {
                Ok(v) => assert_no_leak(&format!("{v:?}"), &secrets, &public),
                Err(e) => {
                    assert_eq!(e.code(), ErrorCode::InvalidKey, "{e}");
                    assert_no_leak(&e.to_string(), &secrets, &public);
                }
            }
        }
        Err(e) => {
            assert_eq!(e.code(), ErrorCode::InvalidKey, "{e}");
            assert_no_leak(&e.to_string(), &secrets, &public);
        }
    }
}

/// The hex secret of a key string as [`Key::to_key_string`] writes it.
fn secret_hex(written: &str) -> &str {
    let rest = written
        .strip_prefix("csk1d_")
        .or_else(|| written.strip_prefix("csk1_"))
        .expect("a key string prefix");
    let (_, secret) = rest.split_once('_').expect("kid_secret");
    secret.split('@').next().unwrap_or(secret)
}

/// Panics if `shown` contains [`LEAK_RUN`] consecutive hex digits that also
/// occur consecutively in one of `secrets`, unless they occur in one of
/// `public` too (a kid, which may be shown).
fn assert_no_leak(shown: &str, secrets: &[&str], public: &[&str]) {
    let shown = shown.as_bytes();
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    for secret in secrets {
        for window in secret.as_bytes().windows(LEAK_RUN) {
            if window.iter().all(u8::is_ascii_hexdigit)
                && contains(shown, window)
                && !public.iter().any(|p| contains(p.as_bytes(), window))
            {
                panic!(
                    "secret digits {:?} shown in {:?}",
                    String::from_utf8_lossy(window),
                    String::from_utf8_lossy(shown)
                );
            }
        }
    }
}

fn code_of<T>(r: &Result<T, Error>) -> Option<ErrorCode> {
    r.as_ref().err().map(Error::code)
}

// ---------------------------------------------------------------------------
// http: signed HTTP requests (SPEC.md §11).

/// The site origin of `tests/vectors/http.json`.
pub const SITE: &str = "https://happy-otter-123.convex.site";

fn request_verifier() -> &'static callsign::http::RequestVerifier {
    static V: OnceLock<callsign::http::RequestVerifier> = OnceLock::new();
    V.get_or_init(|| {
        callsign::http::RequestVerifier::new(key_set(), SITE)
            .expect("a valid verifier")
            .with_max_body_bytes(4096)
    })
}

/// The secrets of `k1` and `k2` derived for [`SITE`]: the MAC keys the request verifier uses.
fn site_secrets() -> &'static [String; 2] {
    static S: OnceLock<[String; 2]> = OnceLock::new();
    S.get_or_init(|| {
        [K1, K2].map(|k| {
            let key = Key::parse(k)
                .expect("a test key")
                .derive(SITE)
                .expect("derives");
            secret_hex(&key.to_key_string()).to_owned()
        })
    })
}

/// Fuzz target `http`. The first byte selects a mode:
///
/// * `0`: the rest is a request written as `METHOD LF TARGET LF (NAME: VALUE LF)* LF BODY`,
///   verified at [`T`] + 30 s by a verifier holding `k1` and `k2` for [`SITE`]. It is never
///   accepted unless it is one of the few valid vectors' requests; every refusal carries a code of
///   SPEC.md §11.4's steps 1–6, a message under 1 KB, and no secret digits.
/// * `1`: the rest is split into method letters, target, body; a request signed by `k1` for
///   those verifies with exactly those claims, and with one body byte changed it is
///   `bad_signature`.
pub fn http(data: &[u8]) {
    use callsign::http::{Request, RequestSigner};
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let verifier = request_verifier();
    if mode % 2 == 0 {
        let text = String::from_utf8_lossy(rest);
        let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
        let mut lines = head.split('\n');
        let method = lines.next().unwrap_or("");
        let target = lines.next().unwrap_or("");
        let headers: Vec<(&str, &str)> = lines
            .map(|l| l.split_once(':').unwrap_or((l, "")))
            .collect();
        let request = Request {
            method,
            target,
            headers: &headers,
            body: body.as_bytes(),
        };
        let result = verifier.verify_request(&request, T + 30_000);
        match &result {
            // Only a request signed with a held key can pass (the seeds' valid vectors).
            Ok(v) => assert!(v.kid == "k1" || v.kid == "k2", "{v:?}"),
            Err(e) => {
                assert!(
                    matches!(
                        e.code(),
                        ErrorCode::Malformed
                            | ErrorCode::TooLarge
                            | ErrorCode::UnknownKey
                            | ErrorCode::BadSignature
                            | ErrorCode::Expired
                            | ErrorCode::NotYetValid
                    ),
                    "{e}"
                );
                let shown = e.to_string();
                assert!(shown.len() < 1024, "{} bytes: {shown}", shown.len());
                // No secret digits, neither the root keys' nor the keys derived for the
                // site, unless the caller sent them (messages quote a little of the input).
                let [d1, d2] = site_secrets();
                let hidden = [secret_hex(K1), secret_hex(K2), d1, d2];
                assert_no_leak(&shown, &hidden, &[&text]);
            }
        }
        return;
    }
    let text = String::from_utf8_lossy(rest);
    let mut parts = text.splitn(3, '\n');
    let method: String = parts
        .next()
        .unwrap_or("")
        .chars()
        .filter(char::is_ascii_uppercase)
        .take(8)
        .collect();
    let method = if method.is_empty() {
        "POST".to_owned()
    } else {
        method
    };
    let target: String = std::iter::once('/')
        .chain(
            parts
                .next()
                .unwrap_or("")
                .chars()
                .filter(|c| c.is_ascii_graphic() && *c != '#'),
        )
        .take(200)
        .collect();
    let body = parts.next().unwrap_or("").as_bytes();
    if body.len() > 4096 {
        return;
    }
    let k1 = Key::parse(K1).expect("k1 parses");
    let nonce = Nonce::parse(NONCE).expect("a nonce");
    let signed = RequestSigner::new(&k1, SITE)
        .expect("a signer")
        .sign_request_at(&method, &target, body, T, &nonce)
        .expect("every such request signs");
    let headers = signed.headers();
    let request = Request {
        method: &method,
        target: &target,
        headers: &headers,
        body,
    };
    let ok = verifier
        .verify_request(&request, T)
        .expect("a signed request verifies");
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    assert_eq!(
        (ok.kid.as_str(), ok.path.as_str(), ok.query.as_str(), ok.ts),
        ("k1", path, query, T)
    );
    let mut changed = body.to_vec();
    match changed.first_mut() {
        Some(b) => *b ^= 1,
        None => changed.push(b'x'),
    }
    let request = Request {
        body: &changed,
        ..request
    };
    let err = verifier
        .verify_request(&request, T)
        .expect_err("a changed body is refused");
    assert_eq!(err.code(), ErrorCode::BadSignature);
}
