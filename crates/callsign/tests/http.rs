//! Signed HTTP requests (SPEC.md §11) beyond the shared vectors: domain
//! separation from function calls in both directions, replays under
//! concurrency, bounded and secret-free errors, and no panic on any input.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use callsign::http::{Request, RequestSigner, RequestVerifier};
use callsign::{ErrorCode, Key, KeySet, MemoryNonceStore, Nonce, Signer, Verifier};
use proptest::prelude::*;

const ROOT: &str = "csk1_k1_000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const SECRET: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const SITE: &str = "https://happy-otter-123.convex.site";
const CLOUD: &str = "https://happy-otter-123.convex.cloud";
const NONCE: &str = "00112233445566778899aabbccddeeff";
const TS: u64 = 1_700_000_000_000;

fn key() -> Key {
    Key::parse(ROOT).unwrap()
}

fn nonce() -> Nonce {
    Nonce::parse(NONCE).unwrap()
}

fn verify(
    verifier: &RequestVerifier,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> callsign::Result<callsign::http::VerifiedRequest> {
    let request = Request {
        method,
        target,
        headers,
        body,
    };
    verifier.verify_request(&request, TS)
}

/// A call's signature, moved into a request's `Signature` header with the
/// call's kid, nonce and time, is refused — even when one string serves as
/// both audiences, so that the key is the same and only the message formats
/// (`callsign/v1\n…` against `"@method": …`) differ.
#[test]
fn a_function_call_signature_never_verifies_as_a_request_signature() {
    for (call_audience, request_audience) in [(SITE, SITE), (CLOUD, SITE)] {
        let call = Signer::new(&key(), call_audience)
            .unwrap()
            .sign_at("messages:send", r#"{"body":"hi"}"#, TS, &nonce())
            .unwrap();
        let mac = hex::decode(&call.envelope.sig).unwrap();
        let body = call.canonical_args.as_bytes();
        let params = callsign::http::signature_params(TS / 1000, NONCE, "k1");
        let input = format!("sig1={params}");
        let signature = format!("sig1=:{}:", BASE64.encode(&mac));
        let digest = callsign::http::content_digest(body);
        let headers = [
            ("content-digest", digest.as_str()),
            ("signature-input", input.as_str()),
            ("signature", signature.as_str()),
        ];
        let verifier = RequestVerifier::new(&KeySet::from(key()), request_audience).unwrap();
        for (method, target) in [("POST", "/messages:send"), ("POST", "/api/messages/send")] {
            let err = verify(&verifier, method, target, &headers, body).unwrap_err();
            assert_eq!(
                err.code(),
                ErrorCode::BadSignature,
                "{call_audience}: {err}"
            );
        }
    }
}

/// A request's MAC, written as an envelope's `sig` with the request's kid,
/// nonce and time, is refused as a function call.
#[test]
fn a_request_signature_never_verifies_as_a_function_call_signature() {
    for (request_audience, call_audience) in [(SITE, SITE), (SITE, CLOUD)] {
        let signed = RequestSigner::new(&key(), request_audience)
            .unwrap()
            .sign_request_at("POST", "/api/send", br#"{"body":"hi"}"#, TS, &nonce())
            .unwrap();
        let b64 = signed
            .signature
            .strip_prefix("sig1=:")
            .and_then(|s| s.strip_suffix(':'))
            .unwrap();
        let sig = hex::encode(BASE64.decode(b64).unwrap());
        let args = format!(
            r#"{{"_callsign":{{"kid":"k1","nonce":"{NONCE}","sig":"{sig}","ts":{},"v":1}},"body":"hi"}}"#,
            signed.ts
        );
        let verifier = Verifier::new(&KeySet::from(key()), call_audience).unwrap();
        for function in ["messages:send", "api/send:default", "POST"] {
            let err = verifier.verify(function, &args, TS).unwrap_err();
            assert_eq!(
                err.code(),
                ErrorCode::BadSignature,
                "{call_audience}: {err}"
            );
        }
    }
}

/// The two messages are disjoint sets of strings: they differ in their first byte.
#[test]
fn the_two_messages_start_differently() {
    let message = callsign::spec::signing_message("k1", SITE, "m:f", TS, NONCE, "{}");
    let base = callsign::http::signature_base("POST", "a.convex.site", "/", "", "d", "p");
    assert!(message.starts_with("callsign/v1\n"));
    assert!(base.starts_with("\"@method\": "));
    assert_ne!(message.as_bytes()[0], base.as_bytes()[0]);
}

/// Eight threads verify one request through one store: exactly one is accepted.
#[test]
fn concurrent_replays_of_one_request_are_accepted_once() {
    let signed = RequestSigner::new(&key(), SITE)
        .unwrap()
        .sign_request_at("POST", "/api/send", b"{}", TS, &nonce())
        .unwrap();
    let verifier = Arc::new(RequestVerifier::new(&KeySet::from(key()), SITE).unwrap());
    let store = Arc::new(MemoryNonceStore::new());
    let accepted = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (verifier, store, accepted, signed) = (
                verifier.clone(),
                store.clone(),
                accepted.clone(),
                signed.clone(),
            );
            std::thread::spawn(move || {
                let headers = signed.headers();
                let request = Request {
                    method: "POST",
                    target: "/api/send",
                    headers: &headers,
                    body: b"{}",
                };
                match verifier.verify_request_once(store.as_ref(), &request, TS + 10) {
                    Ok(_) => {
                        accepted.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(e) => assert_eq!(e.code(), ErrorCode::Replayed),
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

/// The signer's own clock and nonce source are used when injected.
#[test]
fn sign_request_uses_the_injected_clock_and_nonces() {
    let signer = RequestSigner::new(&key(), SITE)
        .unwrap()
        .with_clock(|| TS + 1_999)
        .with_nonce_source(|| Nonce::parse(NONCE));
    let signed = signer.sign_request("GET", "/x", b"").unwrap();
    assert_eq!((signed.created, signed.ts), (TS / 1000 + 1, TS + 1_000));
    assert_eq!(signed.nonce, NONCE);
    assert!(signed.signature_input.contains(";created=1700000001;"));
    // Natively, the defaults are the system clock and OS randomness.
    let fresh = RequestSigner::new(&key(), SITE).unwrap();
    let (a, b) = (
        fresh.sign_request("GET", "/x", b"").unwrap(),
        fresh.sign_request("GET", "/x", b"").unwrap(),
    );
    assert_ne!(a.nonce, b.nonce);
}

/// No message quotes more than 64 characters of input, and none shows key material.
#[test]
fn errors_are_short_and_hold_no_secret() {
    let long = format!("/{}", "a".repeat(5000));
    let verifier = RequestVerifier::new(&KeySet::parse(ROOT).unwrap(), SITE).unwrap();
    let huge_header = format!("sig1={}", "x".repeat(100_000));
    let signed = RequestSigner::new(&key(), SITE)
        .unwrap()
        .sign_request_at("POST", "/api/send", b"{}", TS, &nonce())
        .unwrap();
    let cases: Vec<(String, Vec<(String, String)>)> = vec![
        (long.clone(), vec![]),
        (
            "/api/send".into(),
            vec![("signature-input".into(), huge_header.clone())],
        ),
        (
            "/api/send".into(),
            vec![
                ("content-digest".into(), signed.content_digest.clone()),
                ("signature-input".into(), signed.signature_input.clone()),
                ("signature".into(), huge_header.replace("sig1=", "sig1=:")),
            ],
        ),
        (
            format!("/api/send?{}", "q".repeat(3000)),
            signed
                .headers()
                .iter()
                .map(|(n, v)| ((*n).into(), (*v).into()))
                .collect(),
        ),
    ];
    for (target, headers) in cases {
        let pairs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let err = verify(&verifier, "POST", &target, &pairs, b"{}").unwrap_err();
        let text = err.to_string();
        assert!(text.len() < 600, "{} bytes: {text}", text.len());
        assert!(!text.contains(&SECRET[..16]), "{text}");
    }
    // A bad signature's message never contains the MAC the verifier expected.
    let headers = signed.headers();
    let ok = verify(&verifier, "POST", "/api/send", &headers, b"{}").unwrap();
    assert_eq!(ok.kid, "k1");
    let err = verify(&verifier, "PUT", "/api/send", &headers, b"{}").unwrap_err();
    assert_eq!(err.code(), ErrorCode::BadSignature);
    let want_b64 = &signed.signature[6..50];
    assert!(!err.to_string().contains(want_b64));
    assert!(!format!("{:?}", RequestSigner::new(&key(), SITE).unwrap()).contains(&SECRET[..16]));
    assert!(!format!("{verifier:?}").contains(&SECRET[..16]));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Arbitrary methods, targets, header values and bodies: a typed error or
    /// a verified request, never a panic; and only the signer's request verifies.
    #[test]
    fn any_input_gives_a_typed_answer(
        method in "[A-Za-z]{0,6}",
        target in "[ -~]{0,40}",
        names in proptest::collection::vec(prop_oneof![
            Just("signature".to_owned()), Just("Signature-Input".to_owned()),
            Just("content-digest".to_owned()), Just("content-encoding".to_owned()), "[a-z-]{1,8}"
        ], 0..5),
        values in proptest::collection::vec("[ -~]{0,80}", 5),
        body in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let verifier = RequestVerifier::new(&KeySet::parse(ROOT).unwrap(), SITE).unwrap();
        let headers: Vec<(&str, &str)> =
            names.iter().zip(values.iter()).map(|(n, v)| (n.as_str(), v.as_str())).collect();
        match verify(&verifier, &method, &target, &headers, &body) {
            Ok(v) => prop_assert!(false, "random input verified: {v:?}"),
            Err(e) => prop_assert!(matches!(
                e.code(),
                ErrorCode::Malformed | ErrorCode::UnknownKey | ErrorCode::BadSignature
            ), "{e}"),
        }
    }

    /// Whatever the method, target and body, a signed request verifies, and
    /// any change to one of them does not.
    #[test]
    fn signed_requests_verify_and_changes_do_not(
        method in "[A-Z]{1,7}",
        path in "/[!-~&&[^?#]]{0,20}",
        query in proptest::option::of("[!-~&&[^#]]{0,20}"),
        body in proptest::collection::vec(any::<u8>(), 0..64),
        flip in 0usize..64,
    ) {
        let target = match &query { Some(q) => format!("{path}?{q}"), None => path.clone() };
        let signed = RequestSigner::new(&key(), SITE).unwrap()
            .sign_request_at(&method, &target, &body, TS, &nonce()).unwrap();
        let verifier = RequestVerifier::new(&KeySet::from(key()), SITE).unwrap();
        let headers = signed.headers();
        let ok = verify(&verifier, &method, &target, &headers, &body).unwrap();
        prop_assert_eq!(&ok.path, &path);
        prop_assert_eq!(ok.query, query.clone().unwrap_or_default());
        let mut changed = body.clone();
        if changed.is_empty() { changed.push(0) } else { let i = flip % changed.len(); changed[i] ^= 1 }
        let err = verify(&verifier, &method, &target, &headers, &changed).unwrap_err();
        prop_assert_eq!(err.code(), ErrorCode::BadSignature);
        let other = format!("{target}x");
        let err = verify(&verifier, &method, &other, &headers, &body).unwrap_err();
        prop_assert_eq!(err.code(), ErrorCode::BadSignature);
    }
}
