//! `ConvexSigner` signs `convex::Value` args so that what the client sends
//! verifies: in the core, in the `callsign` CLI, and for the shared vectors'
//! signatures. Refusals are typed errors, never a panic.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use callsign::{canonicalize, ErrorCode, Key, KeySet, Limits, Nonce, Signer, Verifier};
use callsign_convex::{from_convex_json, to_convex_json, ConvexSigner};
use convex::Value;

const ROOT: &str = "csk1_rs_404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f";
const AUD: &str = "https://happy-otter-123.convex.cloud";
const TS: u64 = 1_700_000_000_000;
const NONCE: &str = "00112233445566778899aabbccddeeff";

fn signer() -> ConvexSigner {
    ConvexSigner::new(&Key::parse(ROOT).unwrap(), &format!("{AUD}/")).unwrap()
}

/// The deployment's verifier: it holds only the key derived for it.
fn verifier() -> Verifier {
    let derived = Key::parse(ROOT).unwrap().derive(AUD).unwrap();
    Verifier::new(&KeySet::from(derived), AUD).unwrap()
}

fn nonce() -> Nonce {
    Nonce::parse(NONCE).unwrap()
}

fn object(members: &[(&str, Value)]) -> BTreeMap<String, Value> {
    members
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// Every kind of Convex value, with the awkward floats and strings.
fn every_kind() -> Vec<(&'static str, Value)> {
    vec![
        ("null", Value::Null),
        ("true", Value::Boolean(true)),
        ("int64 5", Value::Int64(5)),
        ("int64 -1", Value::Int64(-1)),
        ("int64 min", Value::Int64(i64::MIN)),
        ("float 1.0", Value::Float64(1.0)),
        ("float 0.0", Value::Float64(0.0)),
        ("float -0.0", Value::Float64(-0.0)),
        ("float 0.1", Value::Float64(0.1)),
        ("float 1e21", Value::Float64(1e21)),
        ("float 1e-7", Value::Float64(1e-7)),
        ("float 2^53 + 2", Value::Float64(9_007_199_254_740_994.0)),
        ("float 5e-324", Value::Float64(5e-324)),
        ("float max", Value::Float64(f64::MAX)),
        ("NaN", Value::Float64(f64::NAN)),
        ("-NaN", Value::Float64(-f64::NAN)),
        (
            "NaN with a payload",
            Value::Float64(f64::from_bits(0x7ff0_0000_0000_0001)),
        ),
        ("inf", Value::Float64(f64::INFINITY)),
        ("-inf", Value::Float64(f64::NEG_INFINITY)),
        (
            "string",
            Value::String("hé\u{2028}😀/\"\\\u{1}\u{7f}\n".into()),
        ),
        ("empty string", Value::String(String::new())),
        ("bytes", Value::Bytes(vec![0, 1, 255])),
        ("empty bytes", Value::Bytes(vec![])),
        (
            "array",
            Value::Array(vec![Value::Null, Value::Float64(2.0), Value::Array(vec![])]),
        ),
        (
            "object",
            Value::Object(object(&[
                ("z", Value::Int64(1)),
                (" ", Value::Null),
                ("_id", Value::String("x".into())),
                ("a$", Value::Object(BTreeMap::new())),
            ])),
        ),
    ]
}

#[test]
fn what_the_client_sends_verifies_for_every_kind_of_value() {
    let signer = signer();
    let verifier = verifier();
    for (name, value) in every_kind() {
        let args = object(&[("x", value), ("body", Value::String(name.into()))]);
        let signed = signer
            .sign_at("messages.js:send", args.clone(), TS, &nonce())
            .unwrap();
        // The client's wire JSON of the signed args (the envelope included).
        let wire = to_convex_json(&signed);
        let verified = verifier
            .verify("messages:send", &wire, TS + 500)
            .unwrap_or_else(|e| panic!("{name}: {e}\n{wire}"));
        assert_eq!(
            verified.canonical_args,
            canonicalize(&to_convex_json(&args), &Limits::default()).unwrap(),
            "{name}"
        );
        // The same text read back as the client reads JSON verifies too.
        let back = from_convex_json(&wire).unwrap();
        assert!(
            verifier
                .verify("messages:send", &to_convex_json(&back), TS + 500)
                .is_ok(),
            "{name}"
        );
    }
}

#[test]
fn the_envelope_is_added_with_float64_ts_and_v() {
    let args = object(&[("body", Value::from("hi"))]);
    let signed = signer()
        .sign_at("messages:send", args, TS, &nonce())
        .unwrap();
    assert_eq!(signed.len(), 2);
    let Some(Value::Object(envelope)) = signed.get("_callsign") else {
        panic!("no envelope: {signed:?}");
    };
    assert_eq!(envelope.get("ts"), Some(&Value::Float64(TS as f64)));
    assert_eq!(envelope.get("v"), Some(&Value::Float64(1.0)));
    assert_eq!(envelope.get("kid"), Some(&Value::String("rs".into())));
    assert_eq!(envelope.get("nonce"), Some(&Value::String(NONCE.into())));
    assert!(matches!(envelope.get("sig"), Some(Value::String(s)) if s.len() == 64));
    // On the wire: `"ts":1700000000000.0,"v":1.0`, numbers Convex reads as float64.
    let wire = to_convex_json(&signed);
    assert!(
        wire.contains(r#""ts":1700000000000.0"#) && wire.contains(r#""v":1.0"#),
        "{wire}"
    );
    // And the same signature as the core's for the same Convex JSON.
    let core = Signer::new(&Key::parse(ROOT).unwrap(), AUD)
        .unwrap()
        .sign_at("messages:send", r#"{"body":"hi"}"#, TS, &nonce())
        .unwrap();
    assert_eq!(envelope.get("sig"), Some(&Value::String(core.envelope.sig)));
}

#[test]
fn the_wire_form_is_the_clients_not_the_export_form() {
    let args = object(&[
        ("i", Value::Int64(5)),
        ("b", Value::Bytes(vec![0, 1])),
        ("nan", Value::Float64(f64::NAN)),
        ("negz", Value::Float64(-0.0)),
    ]);
    assert_eq!(
        to_convex_json(&args),
        r#"{"b":{"$bytes":"AAE="},"i":{"$integer":"BQAAAAAAAAA="},"nan":{"$float":"AAAAAAAA+H8="},"negz":{"$float":"AAAAAAAAAIA="}}"#
    );
}

#[test]
fn the_shared_signing_vectors_give_their_signatures() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/vectors/signing.json"
    );
    let vectors: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = vectors["cases"].as_array().unwrap();
    assert!(!cases.is_empty());
    for case in cases {
        let s = |name: &str| case[name].as_str().unwrap();
        let limits = Limits {
            max_bytes: case["limits"]["max_bytes"].as_u64().unwrap() as usize,
            max_depth: case["limits"]["max_depth"].as_u64().unwrap() as usize,
        };
        let signer = Signer::new(&Key::parse(s("key")).unwrap(), s("audience"))
            .and_then(|signer| signer.with_envelope_field(s("envelope_field")))
            .unwrap()
            .with_limits(limits);
        let signer = ConvexSigner::from_signer(signer);
        // The args as the client would hold them: its own JSON reading.
        let args = from_convex_json(s("args")).unwrap();
        let ts = case["ts"].as_u64().unwrap();
        let signed = signer
            .sign_at(
                s("function"),
                args.clone(),
                ts,
                &Nonce::parse(s("nonce")).unwrap(),
            )
            .unwrap_or_else(|e| panic!("{}: {e}", s("name")));
        let Some(Value::Object(envelope)) = signed.get(s("envelope_field")) else {
            panic!("{}: no envelope", s("name"));
        };
        assert_eq!(
            envelope.get("sig"),
            Some(&Value::String(s("sig").into())),
            "{}",
            s("name")
        );
        let gateway = signer
            .gateway_args_at(s("function"), args, ts, &Nonce::parse(s("nonce")).unwrap())
            .unwrap();
        assert_eq!(
            gateway.get("function"),
            Some(&Value::String(s("canonical_function").into())),
            "{}",
            s("name")
        );
    }
}

#[test]
fn gateway_args_are_signed_for_the_internal_function() {
    let args = object(&[("open", Value::Boolean(true))]);
    let gateway = signer()
        .gateway_args_at("admin.js:setOpen", args.clone(), TS, &nonce())
        .unwrap();
    let keys: Vec<&str> = gateway.keys().map(String::as_str).collect();
    assert_eq!(keys, ["_callsign", "args", "function"]);
    assert_eq!(gateway["function"], Value::String("admin:setOpen".into()));
    assert_eq!(gateway["args"], Value::Object(args.clone()));
    // What the gateway verifies: the inner args with the envelope, as admin:setOpen.
    let mut inner = args;
    inner.insert("_callsign".into(), gateway["_callsign"].clone());
    let wire = to_convex_json(&inner);
    assert!(verifier().verify("admin:setOpen", &wire, TS).is_ok());
    assert_eq!(
        verifier()
            .verify("callsign:runMutation", &wire, TS)
            .unwrap_err()
            .code(),
        ErrorCode::BadSignature
    );
}

#[test]
fn what_convex_refuses_is_refused_with_a_code() {
    let signer = signer();
    let refuse = |args: BTreeMap<String, Value>| {
        signer
            .sign_at("messages:send", args, TS, &nonce())
            .unwrap_err()
            .code()
    };
    for name in ["$x", "é", "a\nb", "__proto__", "_callsign"] {
        assert_eq!(
            refuse(object(&[(name, Value::Null)])),
            ErrorCode::Malformed,
            "{name:?}"
        );
    }
    let nested = object(&[(
        "o",
        Value::Object(object(&[("$integer", Value::Null), ("x", Value::Null)])),
    )]);
    assert_eq!(refuse(nested), ErrorCode::Malformed);
    let big = object(&[("s", Value::String("x".repeat(Limits::DEFAULT_MAX_BYTES)))]);
    assert_eq!(refuse(big), ErrorCode::TooLarge);
    assert_eq!(
        signer
            .sign("messages:", BTreeMap::new())
            .unwrap_err()
            .code(),
        ErrorCode::Malformed
    );
    let derived = Key::parse(ROOT).unwrap().derive(AUD).unwrap();
    let err = ConvexSigner::new(&derived, "https://other-deployment-1.convex.cloud").unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidKey);
    assert_eq!(
        from_convex_json("[1]").unwrap_err().code(),
        ErrorCode::Malformed
    );
    assert_eq!(
        from_convex_json("{").unwrap_err().code(),
        ErrorCode::Malformed
    );
    assert_eq!(
        from_convex_json(r#"{"a":{"$integer":"x"}}"#)
            .unwrap_err()
            .code(),
        ErrorCode::Malformed
    );
}

#[test]
fn deep_values_are_refused_before_the_recursive_conversion() {
    // Built, checked and dropped on a thread with room for Value's own recursive Drop.
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(|| {
            let mut deep = Value::Null;
            for _ in 0..200_000 {
                deep = Value::Array(vec![deep]);
            }
            let err = signer().sign("m:f", object(&[("deep", deep)])).unwrap_err();
            assert_eq!(err.code(), ErrorCode::Malformed);
            assert!(err.message().contains("deeper than 63"), "{err}");
        })
        .unwrap()
        .join()
        .unwrap();
    // The limit is the signer's: 63 levels sign, 64 do not.
    let mut value = Value::Null;
    for _ in 0..62 {
        value = Value::Array(vec![value]);
    }
    assert!(signer()
        .sign("m:f", object(&[("x", value.clone())]))
        .is_ok());
    let too_deep = Value::Array(vec![value]);
    assert!(signer().sign("m:f", object(&[("x", too_deep)])).is_err());
}

#[test]
fn signed_calls_verify_in_the_cli() {
    let cli = cli_binary();
    let derived = Key::parse(ROOT)
        .unwrap()
        .derive(AUD)
        .unwrap()
        .to_key_string()
        .to_string();
    for (name, value) in every_kind() {
        let args = object(&[("x", value)]);
        let wire = to_convex_json(
            &signer()
                .sign_at("messages:send", args.clone(), TS, &nonce())
                .unwrap(),
        );
        let mut child = Command::new(&cli)
            .args([
                "verify",
                "--audience",
                AUD,
                "--function",
                "messages:send",
                "--now",
            ])
            .arg(TS.to_string())
            .env_clear()
            .env("CALLSIGN_KEYS", &derived)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(wire.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let claims: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            claims["canonical_args"],
            canonicalize(&to_convex_json(&args), &Limits::default()).unwrap(),
            "{name}"
        );
        assert_eq!(
            (claims["kid"].as_str(), claims["nonce"].as_str()),
            (Some("rs"), Some(NONCE))
        );
    }
}

/// The `callsign` binary: $CALLSIGN_BIN, else built by cargo (a no-op when fresh).
fn cli_binary() -> String {
    if let Ok(bin) = std::env::var("CALLSIGN_BIN") {
        return bin;
    }
    let out = Command::new(env!("CARGO"))
        .args([
            "build",
            "--quiet",
            "--locked",
            "-p",
            "callsign-cli",
            "--message-format=json",
        ])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .output()
        .expect("cargo build -p callsign-cli");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|m| {
            m["reason"] == "compiler-artifact"
                && m["target"]["name"] == "callsign"
                && m["executable"].is_string()
        })
        .and_then(|m| m["executable"].as_str().map(str::to_owned))
        .expect("cargo built the callsign binary")
}

/// The client as this crate builds it (convex's `native-tls`, the system's
/// OpenSSL) opens `wss://` connections: it gets as far as a TLS ClientHello to
/// a loopback listener.
#[tokio::test(flavor = "multi_thread")]
async fn the_convex_client_reaches_a_tls_handshake() {
    use tokio::io::AsyncReadExt;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "https://127.0.0.1:{}",
        listener.local_addr().unwrap().port()
    );
    // Connects in the background; never completes here. Neither the client nor the socket
    // is dropped before the runtime is: convex 0.10.4's websocket worker, once a connection
    // has failed, waits for its client in a loop that spins without yielding when the
    // client is gone, and a runtime cannot shut down under a task that never yields.
    let _connect = tokio::spawn(async move {
        let client = convex::ConvexClient::new(&url).await;
        std::future::pending::<()>().await;
        drop(client);
    });
    let (mut socket, _) =
        tokio::time::timeout(std::time::Duration::from_secs(20), listener.accept())
            .await
            .expect("the client connects")
            .unwrap();
    let mut hello = [0u8; 3];
    tokio::time::timeout(
        std::time::Duration::from_secs(20),
        socket.read_exact(&mut hello),
    )
    .await
    .expect("the client speaks first")
    .unwrap();
    // A TLS handshake record: content type 22, protocol version 3.x.
    assert_eq!((hello[0], hello[1]), (0x16, 0x03), "{hello:?}");
    // Kept open until the runtime cancels every task, the client's included.
    tokio::spawn(async move {
        let _socket = socket;
        std::future::pending::<()>().await;
    });
}
