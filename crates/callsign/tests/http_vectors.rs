//! Runs `tests/vectors/http.json` (format: tests/vectors/README.md) through
//! `callsign::http`: every signer output, every refusal and every verified
//! request, with one replay store per case and one per sequence.

use std::path::Path;

use callsign::http::{Request, RequestSigner, RequestVerifier, VerifiedRequest};
use callsign::{ErrorCode, Key, KeySet, MemoryNonceStore, Nonce, Window};
use serde_json::Value;

fn load() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors/http.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {path:?}: {e}"))
}

fn s<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field:?} must be a string in {v}"))
}

fn u(v: &Value, field: &str) -> u64 {
    v[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field:?} must be an unsigned integer in {v}"))
}

/// `body` (text) or `body_hex` (bytes).
fn body(v: &Value) -> Vec<u8> {
    match v.get("body_hex") {
        Some(h) => hex::decode(h.as_str().expect("body_hex is a string")).expect("hex"),
        None => s(v, "body").as_bytes().to_vec(),
    }
}

fn pair_str(pair: &Value, i: usize) -> String {
    pair[i]
        .as_str()
        .expect("header names and values are strings")
        .to_owned()
}

fn code(v: &Value) -> ErrorCode {
    ErrorCode::parse(s(v, "error")).expect("a known code")
}

/// Verifies one case (or step) with its own settings, recording in `store`.
fn verify(c: &Value, store: &MemoryNonceStore) -> callsign::Result<VerifiedRequest> {
    let window = Window {
        max_age_ms: u(&c["window"], "max_age_ms"),
        max_future_ms: u(&c["window"], "max_future_ms"),
    };
    let verifier = RequestVerifier::new(&KeySet::parse(s(c, "keys"))?, s(c, "audience"))?
        .with_window(window)
        .with_max_body_bytes(usize::try_from(u(c, "max_body_bytes")).expect("fits"));
    let owned: Vec<(String, String)> = c["headers"]
        .as_array()
        .expect("headers")
        .iter()
        .map(|p| (pair_str(p, 0), pair_str(p, 1)))
        .collect();
    let pairs: Vec<(&str, &str)> = owned
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let body = body(c);
    let request = Request {
        method: s(c, "method"),
        target: s(c, "target"),
        headers: &pairs,
        body: &body,
    };
    verifier.verify_request_once(store, &request, u(c, "now"))
}

fn check(
    what: &str,
    c: &Value,
    got: callsign::Result<VerifiedRequest>,
    failures: &mut Vec<String>,
) {
    match (got, c.get("error")) {
        (Err(e), Some(_)) if e.code() == code(c) => {}
        (Err(e), _) => failures.push(format!(
            "{what}: got {e}, want {}",
            c.get("error").map_or("success".into(), |e| e.to_string())
        )),
        (Ok(v), Some(_)) => failures.push(format!("{what}: want {}, got {v:?}", code(c))),
        (Ok(v), None) => {
            let want = &c["verified"];
            let got = [
                ("kid", Value::from(v.kid)),
                ("ts", v.ts.into()),
                ("nonce", v.nonce.into()),
                ("remember_until", v.remember_until.into()),
                ("method", v.method.into()),
                ("path", v.path.into()),
                ("query", v.query.into()),
            ];
            assert_eq!(
                want.as_object().map(|o| o.len()),
                Some(got.len()),
                "{what}: verified has 7 fields"
            );
            for (field, value) in got {
                if want[field] != value {
                    failures.push(format!("{what}: {field} is {value}, want {}", want[field]));
                }
            }
        }
    }
}

#[test]
fn http_vectors() {
    let doc = load();
    let mut failures = Vec::new();
    let section = |name: &str, min: usize| {
        let items = doc[name]
            .as_array()
            .unwrap_or_else(|| panic!("{name} is a list"))
            .clone();
        assert!(
            items.len() >= min,
            "{name}: {} cases, expected at least {min}",
            items.len()
        );
        items
    };

    for c in section("signing", 7) {
        let what = format!("signing {:?}", s(&c, "name"));
        let signed = Key::parse(s(&c, "key"))
            .and_then(|key| RequestSigner::new(&key, s(&c, "audience")))
            .and_then(|signer| {
                let nonce = Nonce::parse(s(&c, "nonce"))?;
                signer.sign_request_at(
                    s(&c, "method"),
                    s(&c, "target"),
                    &body(&c),
                    u(&c, "now"),
                    &nonce,
                )
            });
        match signed {
            Ok(signed) => {
                let want: Vec<(String, String)> = c["headers"]
                    .as_array()
                    .expect("headers")
                    .iter()
                    .map(|p| (pair_str(p, 0), pair_str(p, 1)))
                    .collect();
                let got: Vec<(String, String)> = signed
                    .headers()
                    .iter()
                    .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                    .collect();
                if got != want {
                    failures.push(format!("{what}: headers {got:?}, want {want:?}"));
                }
                if signed.signature_base != s(&c, "signature_base") {
                    failures.push(format!(
                        "{what}: signature base {:?}",
                        signed.signature_base
                    ));
                }
                // Every signed request verifies at its own time, with the signer's key.
                let nonce_free = MemoryNonceStore::new();
                let verifier =
                    RequestVerifier::new(&KeySet::parse(s(&c, "key")).unwrap(), s(&c, "audience"))
                        .unwrap();
                let pairs = signed.headers();
                let body = body(&c);
                let request = Request {
                    method: s(&c, "method"),
                    target: s(&c, "target"),
                    headers: &pairs,
                    body: &body,
                };
                if let Err(e) = verifier.verify_request_once(&nonce_free, &request, u(&c, "now")) {
                    failures.push(format!("{what}: does not verify: {e}"));
                }
            }
            Err(e) => failures.push(format!("{what}: {e}")),
        }
    }
    for c in section("signing_invalid", 10) {
        let what = format!("signing_invalid {:?}", s(&c, "name"));
        let signed = Key::parse(s(&c, "key"))
            .and_then(|key| RequestSigner::new(&key, s(&c, "audience")))
            .and_then(|signer| {
                let nonce = Nonce::parse(s(&c, "nonce"))?;
                signer.sign_request_at(
                    s(&c, "method"),
                    s(&c, "target"),
                    &body(&c),
                    u(&c, "now"),
                    &nonce,
                )
            });
        match signed {
            Err(e) if e.code() == code(&c) => {}
            other => failures.push(format!("{what}: want {}, got {other:?}", code(&c))),
        }
    }
    let cases = section("cases", 100);
    let negative = cases.iter().filter(|c| c.get("error").is_some()).count();
    assert!(negative >= 30, "{negative} negative cases");
    for c in &cases {
        let what = format!("cases {:?}", s(c, "name"));
        check(&what, c, verify(c, &MemoryNonceStore::new()), &mut failures);
    }
    for seq in section("sequences", 5) {
        let store = MemoryNonceStore::new();
        for (i, step) in seq["steps"].as_array().expect("steps").iter().enumerate() {
            let what = format!("sequence {:?} step {}", s(&seq, "name"), i + 1);
            check(&what, step, verify(step, &store), &mut failures);
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n  - {}",
        failures.len(),
        failures.join("\n  - ")
    );
}
