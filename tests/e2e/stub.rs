//! The loopback deployment of `convex-stub.mjs`, for Rust tests.
//!
//! Included by path (`#[path = "../../../tests/e2e/stub.rs"] mod stub;`) by the
//! end-to-end tests of `callsign-cli` and `callsign-convex`. Those tests are
//! `#[ignore]`d: they need Node and `pkg/build`'s output, so `scripts/test`
//! runs them with `--ignored` after `pkg/build`. Plain std HTTP/1.1, so that
//! the tests need no HTTP client of their own.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

use serde_json::Value;

/// A running stand-in: `url` is the deployment (sign for it), `control` its state.
pub struct Stub {
    pub url: String,
    control: String,
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Stub {
    /// Starts `node tests/e2e/convex-stub.mjs` holding the key derived from
    /// `root_key` for its URL. Panics, saying what is missing, when it cannot.
    pub fn start(root_key: &str) -> Stub {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let script = repo.join("tests/e2e/convex-stub.mjs");
        assert!(
            repo.join("pkg/dist/index.js").exists(),
            "pkg/dist is missing: run pkg/build first (scripts/test does)"
        );
        let mut child = Command::new("node")
            .arg(&script)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("CALLSIGN_TEST_ROOT_KEY", root_key)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node (>= 20) on PATH runs the Convex stand-in");
        let stdin = child.stdin.take();
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .expect("the stand-in's first line");
        let ready: Value = serde_json::from_str(&line)
            .unwrap_or_else(|_| panic!("the stand-in did not start: {line:?}"));
        Stub {
            url: ready["url"].as_str().expect("url").to_owned(),
            control: ready["control"].as_str().expect("control").to_owned(),
            child,
            stdin,
        }
    }

    /// `{"messages": [<bodies>], "requests": [{endpoint, body}]}`.
    pub fn state(&self) -> Value {
        let (status, body) = http(&self.control, "GET", "/state", "");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).expect("state is JSON")
    }

    /// The bodies of the messages stored so far.
    pub fn messages(&self) -> Vec<String> {
        self.state()["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .map(|m| m.as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// The last request the deployment received: `{endpoint, body}`.
    pub fn last_request(&self) -> Value {
        self.state()["requests"]
            .as_array()
            .and_then(|r| r.last().cloned())
            .expect("a request was received")
    }

    /// POSTs `body` (JSON text) to `endpoint`; the answer's status and JSON.
    pub fn post(&self, endpoint: &str, body: &str) -> (u16, Value) {
        let (status, text) = http(&self.url, "POST", endpoint, body);
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        drop(self.stdin.take()); // the stand-in exits when its stdin closes
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request to `base` (`http://127.0.0.1:<port>`); status and body.
fn http(base: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let host = base.strip_prefix("http://").expect("an http:// URL");
    let mut stream = TcpStream::connect(host).expect("connect to the stand-in");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    let (head, rest) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    (status, rest.to_owned())
}
