//! `callsign-example-rust`: a Rust server signs a call to a Convex function and
//! posts it to the deployment's HTTP API.
//!
//! The call is signed with [`callsign::Signer`] for the deployment's URL and
//! sent as `POST {CONVEX_URL}/api/{mutation|query|action}` with
//! `{"path", "args", "format": "json"}`, the args in Convex's JSON encoding with
//! the `_callsign` envelope added. The deployment verifies it (see the Convex
//! quick start in the repository's README) and the function's value is printed.
//!
//! ```sh
//! export CONVEX_URL=https://happy-otter-123.convex.cloud
//! export CALLSIGN_KEY=csk1_prod_…     # or one derived for the deployment: csk1d_prod_…@https://…
//! cargo run -q -p callsign-example-rust -- messages:send '{"body":"hello"}'
//! # "k57bm9xx…"                       (the mutation's return value, as JSON)
//! cargo run -q -p callsign-example-rust -- --kind query messages:list
//! cargo run -q -p callsign-example-rust -- --send-twice messages:send '{"body":"hello"}'
//! # "k57cq2yy…"
//! # sending the same signed request again (a replay)
//! # rejected: replayed: the call with nonce … was already accepted   (exit status 1)
//! ```
//!
//! Args are Convex JSON: an int64 is `{"$integer": "<base64 of 8 little-endian
//! bytes>"}`, bytes are `{"$bytes": "<base64>"}`. The value printed is in the
//! HTTP API's `json` format (int64 as a decimal string, bytes as base64).
//!
//! Exit status: 0 the function returned; 1 it threw (stderr says
//! `rejected: <code>: <message>` from the thrown `ConvexError`'s `data`, e.g.
//! `replayed` or `bad_signature`); 2 bad usage, environment or args (nothing
//! was sent); 3 the request failed (network, or an HTTP error such as 400 for
//! a malformed request). The key is never printed.
//!
//! `--send-twice` rather than a `--nonce` flag: a replay is the same bytes sent
//! again, which is what it does; a way to choose nonces would invite reusing
//! them.

use std::process::ExitCode;
use std::time::Duration;

use callsign::{Key, Signer};
use clap::{Parser, ValueEnum};
use serde_json::Value;

/// Exit status when the function threw.
const EXIT_REJECTED: u8 = 1;
/// Exit status when nothing was sent: bad usage, environment or args.
const EXIT_USAGE: u8 = 2;
/// Exit status when the request itself failed.
const EXIT_TRANSPORT: u8 = 3;

/// Longest piece of an unexpected response body quoted in an error.
const MAX_QUOTED_BODY: usize = 500;

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Signs a call to a Convex function with callsign and posts it to the deployment's HTTP API.",
    after_help = "Environment: CONVEX_URL (the deployment, e.g. https://happy-otter-123.convex.cloud) \
                  and CALLSIGN_KEY (csk1_… or csk1d_…@<CONVEX_URL>; never printed).\n\
                  Exit status: 0 returned, 1 the function threw, 2 bad usage (nothing sent), 3 request failed."
)]
struct Cli {
    /// The function, as Convex names it: `messages:send`, `dir/file:fn`.
    function: String,
    /// Its args: a JSON object in Convex's JSON encoding.
    #[arg(default_value = "{}")]
    args: String,
    /// What kind of function it is (picks the endpoint).
    #[arg(long, value_enum, default_value_t = Kind::Mutation)]
    kind: Kind,
    /// Replay demo: send the very same signed request again, as someone who
    /// captured it would; the deployment must reject it. The exit status is the
    /// second request's.
    #[arg(long)]
    send_twice: bool,
}

/// The kinds of Convex functions, each with its own HTTP API endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Kind {
    Query,
    Mutation,
    Action,
}

impl Kind {
    /// The endpoint's path under the deployment URL.
    fn endpoint(self) -> &'static str {
        match self {
            Kind::Query => "/api/query",
            Kind::Mutation => "/api/mutation",
            Kind::Action => "/api/action",
        }
    }
}

/// What the deployment answered to one call.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// The function returned this value (the HTTP API's `json` format).
    Returned(Value),
    /// The function threw. `code` and `message` are `errorData.code` and
    /// `errorData.message` when it threw a `ConvexError` whose data carries
    /// them as strings (as callsign's Convex wrappers do); else `code` is
    /// `None` and `message` is the deployment's `errorMessage`.
    Threw {
        code: Option<String>,
        message: String,
    },
}

/// Why no outcome was obtained.
#[derive(Debug, PartialEq)]
enum Failure {
    /// Nothing was sent: bad usage, environment or args.
    Usage(String),
    /// The request failed or the answer was not a function outcome.
    Transport(String),
}

impl Failure {
    fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            Failure::Usage(_) => EXIT_USAGE,
            Failure::Transport(_) => EXIT_TRANSPORT,
        })
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(code) => code,
        Err(failure) => {
            match &failure {
                Failure::Usage(msg) | Failure::Transport(msg) => eprintln!("error: {msg}"),
            }
            failure.exit_code()
        }
    }
}

/// Signs, sends (once or twice), reports each outcome; returns the last one's status.
fn run(cli: &Cli) -> Result<ExitCode, Failure> {
    let url = env_var("CONVEX_URL")?;
    // The audience is the deployment URL exactly as the deployment sees itself
    // (CONVEX_CLOUD_URL has no trailing slash).
    let audience = url.trim_end_matches('/');
    let key = Key::parse(&env_var("CALLSIGN_KEY")?)
        .map_err(|e| Failure::Usage(format!("CALLSIGN_KEY: {e}")))?;
    let signer = Signer::new(&key, audience).map_err(|e| Failure::Usage(e.to_string()))?;
    let call = signer
        .sign(&cli.function, &cli.args)
        .map_err(|e| Failure::Usage(format!("cannot sign: {e}")))?;

    let body = request_body(&call.function, &call.signed_args);
    let endpoint = format!("{audience}{}", cli.kind.endpoint());
    let agent: ureq::Agent = ureq::Agent::config_builder()
        // A function's error comes back as a JSON body, also under a non-2xx
        // status (560 on some deployments): read it instead of failing.
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();

    let mut status = ExitCode::SUCCESS;
    for attempt in 0..if cli.send_twice { 2 } else { 1 } {
        if attempt > 0 {
            eprintln!("sending the same signed request again (a replay)");
        }
        status = report(&post(&agent, &endpoint, &body)?);
    }
    Ok(status)
}

/// Reads a required, non-empty environment variable.
fn env_var(name: &str) -> Result<String, Failure> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => Ok(value),
        Ok(_) | Err(std::env::VarError::NotPresent) => {
            Err(Failure::Usage(format!("{name} is not set")))
        }
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(Failure::Usage(format!("{name} is not valid UTF-8")))
        }
    }
}

/// The HTTP API request: the signed args are spliced in as they are, so the
/// deployment parses exactly the text that was signed.
fn request_body(function: &str, signed_args: &str) -> String {
    format!(
        r#"{{"path":{},"args":{signed_args},"format":"json"}}"#,
        Value::String(function.to_owned())
    )
}

/// Posts one request and reads the deployment's answer.
fn post(agent: &ureq::Agent, endpoint: &str, body: &str) -> Result<Outcome, Failure> {
    let mut response = agent
        .post(endpoint)
        .header("Content-Type", "application/json")
        .send(body)
        .map_err(|e| Failure::Transport(format!("POST {endpoint}: {e}")))?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| Failure::Transport(format!("POST {endpoint}: reading the answer: {e}")))?;
    parse_answer(status, &text)
}

/// Interprets an HTTP API answer.
///
/// A function's outcome is `{"status":"success","value":…}` or
/// `{"status":"error","errorMessage":…,"errorData"?:…}`, under 200 or the
/// older 560 ("function failed") status. Anything else — a 400 for a bad
/// request with `{"code","message"}`, a proxy's HTML page — is a transport
/// failure.
fn parse_answer(status: u16, text: &str) -> Result<Outcome, Failure> {
    let json: Option<Value> = serde_json::from_str(text).ok();
    if status != 200 && status != 560 {
        let detail = match json.as_ref().map(|j| (j.get("code"), j.get("message"))) {
            Some((Some(Value::String(code)), Some(Value::String(message)))) => {
                format!("{code}: {message}")
            }
            _ => quote(text),
        };
        return Err(Failure::Transport(format!("HTTP {status}: {detail}")));
    }
    let invalid = || Failure::Transport(format!("not a Convex function answer: {}", quote(text)));
    let json = json.ok_or_else(invalid)?;
    match json.get("status").and_then(Value::as_str) {
        Some("success") => Ok(Outcome::Returned(
            json.get("value").cloned().ok_or_else(invalid)?,
        )),
        Some("error") => {
            let data = |field| {
                json.get("errorData")
                    .and_then(|data| data.get(field))
                    .and_then(Value::as_str)
            };
            let error_message = json
                .get("errorMessage")
                .and_then(Value::as_str)
                .ok_or_else(invalid)?;
            Ok(Outcome::Threw {
                code: data("code").map(str::to_owned),
                // errorMessage repeats the request id and a stack; the data's
                // own message is the one meant for the caller.
                message: data("message").unwrap_or(error_message).to_owned(),
            })
        }
        _ => Err(invalid()),
    }
}

/// A response body, cut short for an error message.
fn quote(text: &str) -> String {
    match text.char_indices().nth(MAX_QUOTED_BODY) {
        Some((end, _)) => format!("{:?}…", &text[..end]),
        None => format!("{text:?}"),
    }
}

/// Prints an outcome (value on stdout, rejection on stderr); returns its exit status.
fn report(outcome: &Outcome) -> ExitCode {
    match outcome {
        Outcome::Returned(value) => {
            println!("{value}");
            ExitCode::SUCCESS
        }
        Outcome::Threw { code, message } => {
            match code {
                Some(code) => eprintln!("rejected: {code}: {message}"),
                None => eprintln!("rejected: {message}"),
            }
            ExitCode::from(EXIT_REJECTED)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_request_carries_the_signed_args_verbatim() {
        let key = Key::parse(
            "csk1_prod_000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        )
        .unwrap();
        let signer = Signer::new(&key, "https://happy-otter-123.convex.cloud").unwrap();
        let nonce = callsign::Nonce::parse("00112233445566778899aabbccddeeff").unwrap();
        let call = signer
            .sign_at("messages.js:send", r#"{"body":"hi \"there\""}"#, 1, &nonce)
            .unwrap();
        let body = request_body(&call.function, &call.signed_args);
        let parsed: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed["path"], "messages:send");
        assert_eq!(parsed["format"], "json");
        assert_eq!(parsed["args"]["body"], "hi \"there\"");
        assert_eq!(parsed["args"]["_callsign"]["nonce"], nonce.as_str());
        assert!(body.contains(&call.signed_args));
    }

    #[test]
    fn a_success_yields_the_value() {
        let answer = r#"{"status":"success","value":{"n":"3"},"logLines":[]}"#;
        assert_eq!(
            parse_answer(200, answer),
            Ok(Outcome::Returned(json!({"n": "3"})))
        );
    }

    #[test]
    fn a_convex_error_yields_its_code_under_200_or_560() {
        let answer = r#"{"status":"error","errorMessage":"Uncaught ConvexError: x","errorData":{"code":"replayed","message":"call already accepted"}}"#;
        for status in [200, 560] {
            assert_eq!(
                parse_answer(status, answer),
                Ok(Outcome::Threw {
                    code: Some("replayed".into()),
                    message: "call already accepted".into()
                })
            );
        }
    }

    #[test]
    fn a_plain_error_has_no_code() {
        let answer = r#"{"status":"error","errorMessage":"Server Error"}"#;
        assert_eq!(
            parse_answer(200, answer),
            Ok(Outcome::Threw {
                code: None,
                message: "Server Error".into()
            })
        );
        // errorData that is not an object with a string code and message.
        let answer = r#"{"status":"error","errorMessage":"m","errorData":"just a string"}"#;
        assert_eq!(
            parse_answer(200, answer),
            Ok(Outcome::Threw {
                code: None,
                message: "m".into()
            })
        );
        let answer =
            r#"{"status":"error","errorMessage":"m","errorData":{"code":"c","message":7}}"#;
        assert_eq!(
            parse_answer(200, answer),
            Ok(Outcome::Threw {
                code: Some("c".into()),
                message: "m".into()
            })
        );
    }

    #[test]
    fn http_errors_and_foreign_answers_are_transport_failures() {
        let bad_request = r#"{"code":"BadJsonBody","message":"Expected request with `Content-Type: application/json`"}"#;
        assert_eq!(
            parse_answer(400, bad_request),
            Err(Failure::Transport(
                "HTTP 400: BadJsonBody: Expected request with `Content-Type: application/json`"
                    .into()
            ))
        );
        let Err(Failure::Transport(msg)) = parse_answer(502, &"<html>".repeat(1000)) else {
            panic!("a 502 is a transport failure");
        };
        assert!(msg.starts_with("HTTP 502: \"<html>") && msg.ends_with('…'));
        assert!(msg.len() < MAX_QUOTED_BODY + 100);
        for answer in [
            "not json",
            r#"{"status":"success"}"#,
            r#"{"status":"weird"}"#,
        ] {
            assert!(
                matches!(parse_answer(200, answer), Err(Failure::Transport(_))),
                "{answer}"
            );
        }
    }

    #[test]
    fn the_command_line_defaults_to_a_mutation_with_no_args() {
        let cli = Cli::try_parse_from(["x", "messages:send"]).unwrap();
        assert_eq!(
            (cli.kind, cli.args.as_str(), cli.send_twice),
            (Kind::Mutation, "{}", false)
        );
        let cli = Cli::try_parse_from(["x", "--kind", "query", "m:list", r#"{"a":1}"#]).unwrap();
        assert_eq!(cli.kind.endpoint(), "/api/query");
        assert!(Cli::try_parse_from(["x", "--kind", "internal", "m:f"]).is_err());
    }
}
