//! `callsign call` against a canned loopback HTTP server: the request it sends
//! (endpoint, body, a signature that verifies for the right function and
//! audience, the gateway's form), what it prints for each kind of answer, its
//! exit statuses, and that nothing is sent when the call cannot be signed.
//! (`tests/call_e2e.rs` runs it against the Convex stand-in.)

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::thread;

use callsign::{KeySet, Verifier};
use common::{run, Run, KEY};
use serde_json::{json, Value};

/// One request as the server saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    content_type: String,
    body: Value,
}

/// A loopback HTTP server answering every request with `status` and `answer`.
struct Server {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    fn new(status: u16, answer: &str) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        let answer = answer.to_owned();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let mut parts = line.split_whitespace();
                let (method, path) = (
                    parts.next().unwrap_or_default(),
                    parts.next().unwrap_or_default(),
                );
                let (mut length, mut content_type) = (0, String::new());
                loop {
                    let mut header = String::new();
                    reader.read_line(&mut header).unwrap();
                    if header.trim().is_empty() {
                        break;
                    }
                    let (name, value) = header.split_once(':').unwrap();
                    match name.to_ascii_lowercase().as_str() {
                        "content-length" => length = value.trim().parse().unwrap(),
                        "content-type" => content_type = value.trim().to_owned(),
                        _ => {}
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                record.lock().unwrap().push(Seen {
                    method: method.to_owned(),
                    path: path.to_owned(),
                    content_type,
                    body: serde_json::from_slice(&body).unwrap_or(Value::Null),
                });
                let reply = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                    answer.len()
                );
                let _ = stream.write_all(reply.as_bytes());
            }
        });
        Server { url, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// `callsign call` with only PATH (and no proxy) from the caller's environment.
fn call(env: &[(&str, &str)], args: &[&str], stdin: &str) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_callsign"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd.arg("call").args(args).envs(env.iter().copied());
    run(&mut cmd, stdin)
}

const SUCCESS: &str = r#"{"status":"success","value":"k57bm9","logLines":[]}"#;

/// Asserts a failure with `status` and one stderr line starting `<code>: `; returns it.
fn fails(run: &Run, status: i32, code: &str) -> String {
    assert_eq!(run.code, status, "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    assert!(run.stderr.starts_with(&format!("{code}: ")), "{run:?}");
    assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
    run.stderr.trim_end().to_owned()
}

fn verifier(audience: &str) -> Verifier {
    Verifier::new(&KeySet::parse(KEY).unwrap(), audience).unwrap()
}

fn now() -> u64 {
    callsign::Clock::now_ms(&callsign::SystemClock)
}

#[test]
fn a_mutation_is_signed_for_the_url_and_its_value_printed() {
    let server = Server::new(200, SUCCESS);
    let url = format!("{}/", server.url); // a trailing slash, as CONVEX_URL may have
    let run = call(
        &[("CONVEX_URL", &url), ("CALLSIGN_KEY", KEY)],
        &["messages.js:send", r#"{"body":"hi","n":1.0}"#],
        "",
    );
    assert_eq!(
        (run.code, run.stdout(), run.stderr.as_str()),
        (0, "\"k57bm9\"\n".into(), "")
    );
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    let request = &seen[0];
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/api/mutation")
    );
    assert_eq!(request.content_type, "application/json");
    assert_eq!(request.body["path"], "messages:send");
    assert_eq!(request.body["format"], "json");
    // Signed for the URL without its trailing slash, for messages:send and these args.
    let signed = request.body["args"].to_string();
    let verified = verifier(&server.url)
        .verify("messages:send", &signed, now())
        .expect("the call verifies for the deployment");
    assert_eq!(verified.canonical_args, r#"{"body":"hi","n":1}"#);
    assert_eq!(verified.kid, "k1");
}

#[test]
fn kind_picks_the_endpoint_and_args_may_come_from_stdin() {
    for (kind, endpoint) in [
        ("query", "/api/query"),
        ("mutation", "/api/mutation"),
        ("action", "/api/action"),
    ] {
        let server = Server::new(200, r#"{"status":"success","value":{"n":"3"}}"#);
        let run = call(
            &[("CALLSIGN_KEY", KEY)],
            &["--url", &server.url, "--kind", kind, "m:f", "-"],
            r#"{"x":{"$integer":"AQAAAAAAAAA="}}"#,
        );
        assert_eq!(run.ok(), "{\"n\":\"3\"}\n");
        let seen = server.seen();
        assert_eq!(seen[0].path, endpoint);
        assert_eq!(
            seen[0].body["args"]["x"],
            json!({"$integer": "AQAAAAAAAAA="})
        );
    }
}

#[test]
fn the_gateway_form_is_signed_for_the_internal_function() {
    let server = Server::new(200, r#"{"status":"success","value":null}"#);
    let env = [("CONVEX_URL", server.url.as_str()), ("CALLSIGN_KEY", KEY)];
    assert_eq!(
        call(
            &env,
            &["--gateway", "admin.js:setOpen", r#"{"open":false}"#],
            ""
        )
        .ok(),
        "null\n"
    );
    let args = [
        "--gateway",
        "--kind",
        "action",
        "--gateway-module",
        "lib/cs",
        "admin:digest",
    ];
    assert_eq!(call(&env, &args, "").ok(), "null\n");
    let seen = server.seen();
    assert_eq!(
        (seen[0].path.as_str(), seen[0].body["path"].as_str()),
        ("/api/mutation", Some("callsign:runMutation"))
    );
    assert_eq!(
        (seen[1].path.as_str(), seen[1].body["path"].as_str()),
        ("/api/action", Some("lib/cs:runAction"))
    );
    let gateway = &seen[0].body["args"];
    assert_eq!(gateway["function"], "admin:setOpen");
    assert_eq!(gateway["args"], json!({"open": false}));
    // What the gateway verifies: the inner args with the envelope, as admin:setOpen.
    let signed = json!({"open": false, "_callsign": gateway["_callsign"]}).to_string();
    assert!(verifier(&server.url)
        .verify("admin:setOpen", &signed, now())
        .is_ok());
    assert!(verifier(&server.url)
        .verify("callsign:runMutation", &signed, now())
        .is_err());
    // --gateway-module needs --gateway.
    assert_eq!(call(&env, &["--gateway-module", "x", "m:f"], "").code, 2);
}

#[test]
fn an_audience_flag_signs_for_another_name_of_the_deployment() {
    let server = Server::new(200, SUCCESS);
    let aud = "https://happy-otter-123.convex.cloud";
    let run = call(
        &[("CALLSIGN_KEY", KEY)],
        &["--url", &server.url, "--audience", aud, "m:f"],
        "",
    );
    run.ok();
    let signed = server.seen()[0].body["args"].to_string();
    assert!(verifier(aud).verify("m:f", &signed, now()).is_ok());
    assert!(verifier(&server.url).verify("m:f", &signed, now()).is_err());
}

#[test]
fn a_function_error_exits_1_with_its_data_code_first() {
    let refused = r#"{"status":"error","errorMessage":"[Request ID: x] Server Error\nUncaught ConvexError: {\"code\":\"replayed\"}","errorData":{"code":"replayed","message":"the call with nonce 00 (key k1) was already accepted"}}"#;
    for status in [200, 560] {
        let server = Server::new(status, refused);
        let run = call(
            &[("CONVEX_URL", &server.url), ("CALLSIGN_KEY", KEY)],
            &["m:f"],
            "",
        );
        assert_eq!(
            fails(&run, 1, "replayed"),
            "replayed: the call with nonce 00 (key k1) was already accepted"
        );
    }
    let plain =
        r#"{"status":"error","errorMessage":"[Request ID: x] Server Error\nUncaught Error: boom"}"#;
    let server = Server::new(200, plain);
    let run = call(
        &[("CONVEX_URL", &server.url), ("CALLSIGN_KEY", KEY)],
        &["m:f"],
        "",
    );
    assert_eq!(
        fails(&run, 1, "function_error"),
        "function_error: [Request ID: x] Server Error Uncaught Error: boom"
    );
}

#[test]
fn a_failed_request_exits_3() {
    let server = Server::new(
        400,
        r#"{"code":"BadJsonBody","message":"Expected request with `Content-Type: application/json`"}"#,
    );
    let run = call(
        &[("CONVEX_URL", &server.url), ("CALLSIGN_KEY", KEY)],
        &["m:f"],
        "",
    );
    assert_eq!(
        fails(&run, 3, "transport"),
        "transport: HTTP 400: BadJsonBody: Expected request with `Content-Type: application/json`"
    );
    let server = Server::new(200, "<html>not Convex</html>");
    let run = call(
        &[("CONVEX_URL", &server.url), ("CALLSIGN_KEY", KEY)],
        &["m:f"],
        "",
    );
    fails(&run, 3, "transport");
    // Nothing listening.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let run = call(&[("CONVEX_URL", &url), ("CALLSIGN_KEY", KEY)], &["m:f"], "");
    assert!(
        fails(&run, 3, "transport").starts_with(&format!("transport: POST {url}/api/mutation: "))
    );
}

#[test]
fn nothing_is_sent_when_the_call_cannot_be_signed() {
    let server = Server::new(200, SUCCESS);
    let url = server.url.as_str();
    let derived_elsewhere = {
        let root = callsign::Key::parse(KEY).unwrap();
        root.derive("https://other-deployment-1.convex.cloud")
            .unwrap()
            .to_key_string()
            .to_string()
    };
    // (environment, arguments, stdin, expected code)
    type Case<'a> = (Vec<(&'a str, &'a str)>, Vec<&'a str>, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (vec![("CALLSIGN_KEY", KEY)], vec!["m:f"], "", "malformed"), // no URL
        (
            vec![("CALLSIGN_KEY", KEY), ("CONVEX_URL", "")],
            vec!["m:f"],
            "",
            "malformed",
        ),
        (vec![("CONVEX_URL", url)], vec!["m:f"], "", "invalid_key"), // no key
        (
            vec![("CONVEX_URL", url), ("CALLSIGN_KEY", "csk1_k1_00")],
            vec!["m:f"],
            "",
            "invalid_key",
        ),
        (
            vec![("CONVEX_URL", url), ("CALLSIGN_KEY", &derived_elsewhere)],
            vec!["m:f"],
            "",
            "invalid_key",
        ),
        (
            vec![
                ("CONVEX_URL", "happy-otter-123.convex.cloud"),
                ("CALLSIGN_KEY", KEY),
            ],
            vec!["m:f"],
            "",
            "malformed",
        ),
        (
            vec![("CONVEX_URL", url), ("CALLSIGN_KEY", KEY)],
            vec!["m:f", "[1]"],
            "",
            "malformed",
        ),
        (
            vec![("CONVEX_URL", url), ("CALLSIGN_KEY", KEY)],
            vec!["m:", "{}"],
            "",
            "malformed",
        ),
        (
            vec![("CONVEX_URL", url), ("CALLSIGN_KEY", KEY)],
            vec!["m:f", r#"{"_callsign":1}"#],
            "",
            "malformed",
        ),
        (
            vec![("CONVEX_URL", url), ("CALLSIGN_KEY", KEY)],
            vec!["m:f", "-"],
            "{\"a\":",
            "malformed",
        ),
        (
            vec![("CONVEX_URL", url), ("CALLSIGN_KEY", KEY)],
            vec!["--max-bytes", "10", "m:f", "-"],
            r#"{"a":"long enough"}"#,
            "too_large",
        ),
        (
            vec![("CONVEX_URL", url), ("CALLSIGN_KEY", KEY)],
            vec!["--max-bytes", "60", "m:f", r#"{"a":1}"#],
            "",
            "too_large",
        ),
    ];
    for (env, args, stdin, code) in cases {
        let run = call(&env, &args, stdin);
        fails(&run, 2, code);
    }
    // Usage errors are clap's, also exit 2.
    let run = call(
        &[("CONVEX_URL", url), ("CALLSIGN_KEY", KEY)],
        &["--kind", "internal", "m:f"],
        "",
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        server.seen().is_empty(),
        "nothing was sent: {:?}",
        server.seen()
    );
}

#[test]
fn keys_stay_out_of_the_output() {
    let secret = &KEY["csk1_k1_".len()..];
    // A deployment that (somehow) answers with the key, and an error quoting it.
    let answer = format!(r#"{{"status":"success","value":"{secret}"}}"#);
    let server = Server::new(200, &answer);
    let run = call(&[("CALLSIGN_KEY", KEY)], &["--url", &server.url, "m:f"], "");
    assert_eq!(run.ok(), "\"<redacted>\"\n");
    let answer = format!(
        r#"{{"status":"error","errorMessage":"x","errorData":{{"code":"c","message":"saw {secret}"}}}}"#
    );
    let server = Server::new(200, &answer);
    let run = call(&[], &["--url", &server.url, "--key", KEY, "m:f"], "");
    assert_eq!(fails(&run, 1, "c"), "c: saw <redacted>");
    // A key passed where the function goes, and a mangled key.
    let run = call(
        &[
            ("CONVEX_URL", &server.url),
            ("CALLSIGN_KEY", &format!("{KEY}z")),
        ],
        &["m:f"],
        "",
    );
    fails(&run, 2, "invalid_key");
    assert!(!run.stderr.contains(&secret[..16]), "{run:?}");
    let run = call(&[("CONVEX_URL", &server.url)], &["--bogus", KEY], "");
    assert_eq!(run.code, 2);
    assert!(!run.stderr.contains(&secret[..16]), "{run:?}");
}
