//! Replay protection under concurrency: every signed call, however many threads submit it, is accepted once.

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

#[test]
fn many_calls_submitted_concurrently_by_many_threads_are_each_accepted_exactly_once() {
    let key = Key::from_secret("prod", &[7u8; 32]).unwrap();
    let other = Key::from_secret("other", &[9u8; 32]).unwrap();
    let verifier = Arc::new(
        Verifier::new(&KeySet::new(vec![key.clone(), other.clone()]).unwrap(), AUD).unwrap(),
    );
    let store = Arc::new(MemoryNonceStore::new());
    // 150 nonces; each nonce is also used under the second kid, which makes
    // a different (kid, nonce) pair: 300 distinct calls.
    let mut calls = Vec::new();
    for k in [&key, &other] {
        let signer = Signer::new(k, AUD).unwrap();
        for i in 0..150u8 {
            let nonce = Nonce::from_bytes([i; 16]);
            let args = format!(r#"{{"i":{i}}}"#);
            calls.push(signer.sign_at("messages:send", &args, TS, &nonce).unwrap());
        }
    }
    let calls = Arc::new(calls);
    let threads = 8;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (verifier, store, barrier, calls) = (
                verifier.clone(),
                store.clone(),
                barrier.clone(),
                calls.clone(),
            );
            thread::spawn(move || {
                barrier.wait();
                // Each thread walks the calls from its own starting point and
                // direction, so submissions of one call collide in time.
                let n = calls.len();
                (0..n)
                    .map(|i| {
                        let at = if t % 2 == 0 {
                            (i + t * 37) % n
                        } else {
                            (n - 1 - i + t * 37) % n
                        };
                        let got = verifier.verify_once(
                            &*store,
                            "messages:send",
                            &calls[at].signed_args,
                            TS + 1,
                        );
                        (at, got.map(|_| ()).map_err(|e| e.code()))
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut accepted = vec![0usize; calls.len()];
    for handle in handles {
        for (at, got) in handle.join().unwrap() {
            match got {
                Ok(()) => accepted[at] += 1,
                Err(code) => assert_eq!(code, ErrorCode::Replayed, "call {at}"),
            }
        }
    }
    for (at, n) in accepted.iter().enumerate() {
        assert_eq!(*n, 1, "call {at} was accepted {n} times");
    }
    assert_eq!(store.len(), calls.len());
}

/// The store forgets a pair once a caller's `now` passes its `remember_until`.
/// Another caller may then verify a replay with an earlier `now` that is still
/// inside the call's window (clocks of concurrent requests are never perfectly
/// ordered): the store must refuse it, as it may have dropped the pair.
/// SPEC.md §8: a pair is accepted at most once.
#[test]
fn a_later_now_from_one_caller_does_not_let_another_caller_replay() {
    let key = Key::from_secret("prod", &[7u8; 32]).unwrap();
    let signer = Signer::new(&key, AUD).unwrap();
    let verifier = Verifier::new(&KeySet::from(key), AUD).unwrap();
    let store = MemoryNonceStore::new();
    let a = signer
        .sign_at("messages:send", "{}", TS, &Nonce::from_bytes([1; 16]))
        .unwrap();
    let b = signer
        .sign_at(
            "messages:send",
            "{}",
            TS + 60_001,
            &Nonce::from_bytes([2; 16]),
        )
        .unwrap();
    verifier
        .verify_once(&store, "messages:send", &a.signed_args, TS + 10)
        .unwrap();
    // Another request, whose clock reads 60 001 ms after TS, prunes A's pair.
    verifier
        .verify_once(&store, "messages:send", &b.signed_args, TS + 60_001)
        .unwrap();
    // A replay of A handled by a request whose clock read 2 ms earlier.
    let replay = verifier.verify_once(&store, "messages:send", &a.signed_args, TS + 59_999);
    assert_eq!(replay.unwrap_err().code(), ErrorCode::Replayed);
}

fn window(max_age_ms: u64) -> callsign::Window {
    callsign::Window {
        max_age_ms,
        max_future_ms: callsign::Window::DEFAULT_MAX_FUTURE_MS,
    }
}

/// The store forgets a call accepted under a short window; the operator then
/// widens the window. The call, replayed, is inside the new window, and its
/// `remember_until` under it lies past anything forgotten: only a watermark in
/// `ts` terms (SPEC.md §8) still refuses it.
#[test]
fn widening_the_window_does_not_reopen_a_forgotten_call() {
    let key = Key::from_secret("prod", &[7u8; 32]).unwrap();
    let signer = Signer::new(&key, AUD).unwrap();
    let keys = KeySet::from(key);
    let short = Verifier::new(&keys, AUD)
        .unwrap()
        .with_window(window(1_000));
    let wide = Verifier::new(&keys, AUD)
        .unwrap()
        .with_window(window(60_000));
    let store = MemoryNonceStore::new();
    let sign = |ts, n| {
        signer
            .sign_at("m:f", "{}", ts, &Nonce::from_bytes([n; 16]))
            .unwrap()
            .signed_args
    };
    let c1 = sign(TS, 1);
    short.verify_once(&store, "m:f", &c1, TS).unwrap();
    // A later call lets the store forget c1 (its 1 s window has passed).
    short
        .verify_once(&store, "m:f", &sign(TS + 6_000, 2), TS + 6_000)
        .unwrap();
    assert_eq!(store.len(), 1);
    // Replayed through the widened window: still refused.
    let replay = wide.verify_once(&store, "m:f", &c1, TS + 6_000);
    assert_eq!(replay.unwrap_err().code(), ErrorCode::Replayed);
    // Fresh calls are unaffected by the change.
    wide.verify_once(&store, "m:f", &sign(TS + 5_000, 3), TS + 6_000)
        .unwrap();
}

/// The other direction: a call accepted under a wide window, then the window
/// narrowed. The store keeps its record for the wide window, so the call stays
/// refused if the window is widened again while it would still be valid.
#[test]
fn narrowing_then_widening_the_window_keeps_the_call_refused() {
    let key = Key::from_secret("prod", &[7u8; 32]).unwrap();
    let signer = Signer::new(&key, AUD).unwrap();
    let keys = KeySet::from(key);
    let wide = Verifier::new(&keys, AUD)
        .unwrap()
        .with_window(window(60_000));
    let short = Verifier::new(&keys, AUD)
        .unwrap()
        .with_window(window(1_000));
    let store = MemoryNonceStore::new();
    let sign = |ts, n| {
        signer
            .sign_at("m:f", "{}", ts, &Nonce::from_bytes([n; 16]))
            .unwrap()
            .signed_args
    };
    let c1 = sign(TS, 1);
    wide.verify_once(&store, "m:f", &c1, TS).unwrap();
    // Narrowed: c1 is now expired, and calls keep coming.
    let expired = short.verify_once(&store, "m:f", &c1, TS + 30_000);
    assert_eq!(expired.unwrap_err().code(), ErrorCode::Expired);
    short
        .verify_once(&store, "m:f", &sign(TS + 30_000, 2), TS + 30_000)
        .unwrap();
    assert_eq!(
        store.len(),
        2,
        "c1 is kept for the wide window it was accepted under"
    );
    // Widened again while c1 is inside it: refused, as it was accepted once.
    let replay = wide.verify_once(&store, "m:f", &c1, TS + 40_000);
    assert_eq!(replay.unwrap_err().code(), ErrorCode::Replayed);
}
