//! Replay protection under concurrency: one signed call, many threads, one acceptance.

use std::sync::{Arc, Barrier};
use std::thread;

use callsign::{ErrorCode, Key, KeySet, MemoryNonceStore, Nonce, Signer, Verifier};

const AUD: &str = "https://happy-otter-123.convex.cloud";
const TS: u64 = 1_700_000_000_000;

#[test]
fn concurrent_submissions_of_one_call_are_accepted_exactly_once() {
    let key = Key::from_secret("prod", &[7u8; 32]).unwrap();
    let signer = Signer::new(&key, AUD).unwrap();
    let verifier = Arc::new(Verifier::new(&KeySet::from(key), AUD).unwrap());
    let store = Arc::new(MemoryNonceStore::new());

    for round in 0..20u8 {
        let nonce = Nonce::from_bytes([round; 16]);
        let call = signer
            .sign_at("messages:send", r#"{"body":"hi"}"#, TS, &nonce)
            .unwrap();
        let threads = 8;
        let barrier = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (verifier, store, barrier) = (verifier.clone(), store.clone(), barrier.clone());
                let signed = call.signed_args.clone();
                thread::spawn(move || {
                    barrier.wait();
                    verifier.verify_once(&*store, "messages:send", &signed, TS + 10)
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let accepted = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(accepted, 1, "round {round}: {results:?}");
        for r in results.iter().filter_map(|r| r.as_ref().err()) {
            assert_eq!(r.code(), ErrorCode::Replayed);
        }
    }
    assert_eq!(store.len(), 20);
}

#[test]
fn a_rejected_call_does_not_consume_its_nonce() {
    let key = Key::from_secret("prod", &[7u8; 32]).unwrap();
    let signer = Signer::new(&key, AUD).unwrap();
    let verifier = Verifier::new(&KeySet::from(key), AUD).unwrap();
    let store = MemoryNonceStore::new();
    let call = signer
        .sign_at("messages:send", "{}", TS, &Nonce::from_bytes([1; 16]))
        .unwrap();
    // Verified for the wrong function: refused before the store is touched.
    let wrong = verifier.verify_once(&store, "messages:remove", &call.signed_args, TS);
    assert_eq!(wrong.unwrap_err().code(), ErrorCode::BadSignature);
    assert!(store.is_empty());
    verifier
        .verify_once(&store, "messages:send", &call.signed_args, TS)
        .unwrap();
}
