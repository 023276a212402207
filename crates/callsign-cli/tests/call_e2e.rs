//! `callsign call` end to end: against the loopback Convex stand-in
//! (`tests/e2e/convex-stub.mjs`: the HTTP API in front of convex-test running
//! pkg/test/convex, holding only the key derived for its URL). A signed
//! mutation accepts the call once and refuses its replay; the gateway runs an
//! allowed internal function once and refuses the rest.
//!
//! Needs Node and `pkg/build`'s output, hence `#[ignore]`: scripts/test runs
//! these with `cargo test -p callsign-cli --test call_e2e -- --ignored` after
//! pkg/build.

mod common;

#[path = "../../../tests/e2e/stub.rs"]
mod stub;

use std::process::Command;

use callsign::Key;
use common::{run, Run};
use serde_json::Value;
use stub::Stub;

fn call(stub: &Stub, key: &str, args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_callsign"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CONVEX_URL", format!("{}/", stub.url))
        .env("CALLSIGN_KEY", key)
        .arg("call")
        .args(args);
    run(&mut cmd, "")
}

/// Re-sends the deployment's last request, as someone who captured it would.
fn replay_last(stub: &Stub) -> (u16, Value) {
    let last = stub.last_request();
    stub.post(
        last["endpoint"].as_str().unwrap(),
        &last["body"].to_string(),
    )
}

fn root() -> String {
    Key::generate("cli-e2e")
        .unwrap()
        .to_key_string()
        .to_string()
}

#[test]
#[ignore = "needs Node and pkg/build (scripts/test runs it)"]
fn a_call_is_accepted_once_and_its_replay_refused() {
    let root = root();
    let stub = Stub::start(&root);
    let once = call(
        &stub,
        &root,
        &["messages:send", r#"{"body":"from callsign call"}"#],
    );
    let id: Value = serde_json::from_str(&once.ok()).expect("the new id, as JSON");
    assert!(id.as_str().is_some_and(|s| !s.is_empty()), "{id}");
    assert_eq!(stub.messages(), ["from callsign call"]);
    let sent = stub.last_request();
    assert_eq!(sent["endpoint"], "/api/mutation");
    assert_eq!(sent["body"]["path"], "messages:send");
    assert_eq!(sent["body"]["format"], "json");
    assert_eq!(sent["body"]["args"]["_callsign"]["kid"], "cli-e2e");

    let (status, replay) = replay_last(&stub);
    assert_eq!((status, replay["status"].as_str()), (200, Some("error")));
    assert_eq!(replay["errorData"]["code"], "replayed");
    assert_eq!(
        stub.messages(),
        ["from callsign call"],
        "the replay wrote nothing"
    );
    let secret = &root[root.len() - 64..];
    assert!(!once.stdout().contains(&secret[..16]) && !once.stderr.contains(&secret[..16]));
}

#[test]
#[ignore = "needs Node and pkg/build (scripts/test runs it)"]
fn refusals_come_back_as_their_codes_with_exit_1() {
    let root = root();
    let stub = Stub::start(&root);
    let stranger = Key::generate("stranger")
        .unwrap()
        .to_key_string()
        .to_string();
    let run = call(&stub, &stranger, &["messages:send", r#"{"body":"x"}"#]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.starts_with("unknown_key: "), "{run:?}");
    // Signed for another deployment's name.
    let other = call(
        &stub,
        &root,
        &[
            "--audience",
            "https://other-deployment-1.convex.cloud",
            "messages:send",
            r#"{"body":"x"}"#,
        ],
    );
    assert_eq!(other.code, 1, "{other:?}");
    assert!(other.stderr.starts_with("bad_signature: "), "{other:?}");
    // A mutation is not a query.
    let as_query = call(
        &stub,
        &root,
        &["--kind", "query", "messages:send", r#"{"body":"x"}"#],
    );
    assert_eq!(as_query.code, 1, "{as_query:?}");
    assert_eq!(stub.last_request()["endpoint"], "/api/query");
    // The function's own argument validation: an error without a code.
    let invalid = call(&stub, &root, &["messages:send", r#"{"body":1}"#]);
    assert_eq!(invalid.code, 1, "{invalid:?}");
    assert!(
        invalid.stderr.starts_with("function_error: "),
        "{invalid:?}"
    );
    assert!(stub.messages().is_empty());
}

#[test]
#[ignore = "needs Node and pkg/build (scripts/test runs it)"]
fn the_gateway_runs_an_allowed_internal_function_once() {
    let root = root();
    let stub = Stub::start(&root);
    let args = r#"{"settings":{"theme":"from the cli"}}"#;
    let once = call(&stub, &root, &["--gateway", "settings:store", args]);
    let value: Value = serde_json::from_str(&once.ok()).unwrap();
    assert_eq!(
        value,
        serde_json::json!({"theme": "from the cli", "isAdmin": false})
    );
    let sent = stub.last_request()["body"].clone();
    assert_eq!(sent["path"], "callsign:runMutation");
    assert_eq!(sent["args"]["function"], "settings:store");

    let (_, replay) = replay_last(&stub);
    assert_eq!(replay["errorData"]["code"], "replayed");
    // Not on the query gateway's (empty) allow-list.
    let as_query = call(
        &stub,
        &root,
        &["--gateway", "--kind", "query", "settings:store", args],
    );
    assert_eq!(as_query.code, 1, "{as_query:?}");
    assert!(as_query.stderr.starts_with("not_allowed: "), "{as_query:?}");
}
