//! A convex-crate-signed call end to end: the args signed as
//! `BTreeMap<String, convex::Value>`, sent as the client's JSON
//! (`serde_json::Value::from`) over loopback HTTP to the Convex stand-in
//! (`tests/e2e/convex-stub.mjs`: the HTTP API in front of convex-test running
//! pkg/test/convex, holding only the key derived for its URL). Accepted once,
//! the replay refused.
//!
//! (`ConvexClient` itself speaks the websocket sync protocol, which the
//! stand-in does not; the JSON is the same `serde_json::Value::from`.)
//! Needs Node and `pkg/build`'s output, hence `#[ignore]`: scripts/test runs
//! these with `--ignored` after pkg/build.

#[path = "../../../tests/e2e/stub.rs"]
mod stub;

use std::collections::BTreeMap;

use callsign::Key;
use callsign_convex::{to_convex_json, ConvexSigner};
use callsign_http::{Kind, Request};
use convex::Value;
use serde_json::{json, Value as Json};
use stub::Stub;

fn root() -> String {
    Key::generate("rs-e2e").unwrap().to_key_string().to_string()
}

/// POSTs the client's JSON of `args` to `function`'s endpoint.
fn send(stub: &Stub, kind: Kind, function: &str, args: &BTreeMap<String, Value>) -> Json {
    let request = Request::new(kind, function, &to_convex_json(args));
    let (status, answer) = stub.post(kind.endpoint(), &request.body);
    assert_eq!(status, 200, "{answer}");
    answer
}

fn code(answer: &Json) -> &str {
    assert_eq!(answer["status"], "error", "{answer}");
    answer["errorData"]["code"].as_str().unwrap_or_default()
}

#[test]
#[ignore = "needs Node and pkg/build (scripts/test runs it)"]
fn a_signed_mutation_accepts_the_call_once() {
    let root = root();
    let stub = Stub::start(&root);
    let signer = ConvexSigner::new(&Key::parse(&root).unwrap(), &stub.url).unwrap();
    let args = BTreeMap::from([("body".to_owned(), Value::from("from the convex crate"))]);
    let signed = signer.sign("messages:send", args).unwrap();

    let ok = send(&stub, Kind::Mutation, "messages:send", &signed);
    assert_eq!(ok["status"], "success", "{ok}");
    assert!(ok["value"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(stub.messages(), ["from the convex crate"]);
    let sent = &stub.last_request()["body"]["args"]["_callsign"];
    assert_eq!(
        (sent["kid"].as_str(), sent["v"].as_f64()),
        (Some("rs-e2e"), Some(1.0))
    );

    assert_eq!(
        code(&send(&stub, Kind::Mutation, "messages:send", &signed)),
        "replayed"
    );
    assert_eq!(
        stub.messages(),
        ["from the convex crate"],
        "the replay wrote nothing"
    );

    // A changed arg, and a call signed for another deployment.
    let mut changed = signer
        .sign(
            "messages:send",
            BTreeMap::from([("body".to_owned(), Value::from("meant"))]),
        )
        .unwrap();
    changed.insert("body".into(), Value::from("changed"));
    assert_eq!(
        code(&send(&stub, Kind::Mutation, "messages:send", &changed)),
        "bad_signature"
    );
    let elsewhere = ConvexSigner::new(
        &Key::parse(&root).unwrap(),
        "https://other-deployment-1.convex.cloud",
    )
    .unwrap()
    .sign(
        "messages:send",
        BTreeMap::from([("body".to_owned(), Value::from("x"))]),
    )
    .unwrap();
    assert_eq!(
        code(&send(&stub, Kind::Mutation, "messages:send", &elsewhere)),
        "bad_signature"
    );
    assert_eq!(stub.messages().len(), 1);
}

#[test]
#[ignore = "needs Node and pkg/build (scripts/test runs it)"]
fn every_kind_of_value_survives_the_wire() {
    let root = root();
    let stub = Stub::start(&root);
    let signer = ConvexSigner::new(&Key::parse(&root).unwrap(), &format!("{}/", stub.url)).unwrap();
    let settings = BTreeMap::from([
        ("theme".to_owned(), Value::from("dark")),
        ("int64".to_owned(), Value::Int64(-(1 << 40))),
        ("bytes".to_owned(), Value::Bytes(vec![0, 255, 16])),
        ("nan".to_owned(), Value::Float64(f64::NAN)),
        ("negz".to_owned(), Value::Float64(-0.0)),
        ("inf".to_owned(), Value::Float64(f64::INFINITY)),
        ("big".to_owned(), Value::Float64(1e21)),
        ("text".to_owned(), Value::from("hé😀\u{2028}\"\\\u{1}")),
        (
            "list".to_owned(),
            Value::Array(vec![Value::Null, Value::Boolean(true), Value::Float64(2.5)]),
        ),
    ]);
    let args = BTreeMap::from([("settings".to_owned(), Value::Object(settings))]);
    let signed = signer.sign("settings:save", args).unwrap();
    let ok = send(&stub, Kind::Mutation, "settings:save", &signed);
    assert_eq!(
        ok["value"],
        json!({"theme": "dark", "isAdmin": false}),
        "{ok}"
    );
    assert_eq!(
        code(&send(&stub, Kind::Mutation, "settings:save", &signed)),
        "replayed"
    );
}

#[test]
#[ignore = "needs Node and pkg/build (scripts/test runs it)"]
fn the_gateway_runs_an_allowed_internal_function_once() {
    let root = root();
    let stub = Stub::start(&root);
    let signer = ConvexSigner::new(&Key::parse(&root).unwrap(), &stub.url).unwrap();
    let settings = Value::Object(BTreeMap::from([(
        "theme".to_owned(),
        Value::from("gateway"),
    )]));
    let args = signer
        .gateway_args(
            "settings:store",
            BTreeMap::from([("settings".to_owned(), settings)]),
        )
        .unwrap();
    let ok = send(&stub, Kind::Mutation, "callsign:runMutation", &args);
    assert_eq!(
        ok["value"],
        json!({"theme": "gateway", "isAdmin": false}),
        "{ok}"
    );
    assert_eq!(
        code(&send(&stub, Kind::Mutation, "callsign:runMutation", &args)),
        "replayed"
    );
    let as_query = signer
        .gateway_args("settings:store", BTreeMap::new())
        .unwrap();
    assert_eq!(
        code(&send(&stub, Kind::Query, "callsign:runQuery", &as_query)),
        "not_allowed"
    );
}
