//! `callsign-example-rust`: a Rust server signs a call to a Convex function and
//! posts it to the deployment's HTTP API.
//!
//! The call is signed with [`callsign::Signer`] for the deployment's URL and
//! sent as `POST {CONVEX_URL}/api/{mutation|query|action}` with
//! `{"path", "args", "format": "json"}` by [`callsign_http::Client`] (the
//! library `callsign call` is built on), the args in Convex's JSON encoding
//! with the `_callsign` envelope added. The deployment verifies it (see the
//! Convex quick start in the repository's README) and the function's value is
//! printed.
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
//! them. For scripts, `callsign call` does the same as this example.

use std::process::ExitCode;

use callsign::Key;
use callsign_http::{Client, Kind, Outcome};
use clap::{Parser, ValueEnum};

/// Exit status when the function threw.
const EXIT_REJECTED: u8 = 1;
/// Exit status when nothing was sent: bad usage, environment or args.
const EXIT_USAGE: u8 = 2;
/// Exit status when the request itself failed.
const EXIT_TRANSPORT: u8 = 3;

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
    #[arg(long, value_enum, default_value_t = KindArg::Mutation)]
    kind: KindArg,
    /// Replay demo: send the very same signed request again, as someone who
    /// captured it would; the deployment must reject it. The exit status is the
    /// second request's.
    #[arg(long)]
    send_twice: bool,
}

/// The kinds of Convex functions, as `--kind` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum KindArg {
    Query,
    Mutation,
    Action,
}

impl From<KindArg> for Kind {
    fn from(kind: KindArg) -> Kind {
        match kind {
            KindArg::Query => Kind::Query,
            KindArg::Mutation => Kind::Mutation,
            KindArg::Action => Kind::Action,
        }
    }
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
    let key = Key::parse(&env_var("CALLSIGN_KEY")?)
        .map_err(|e| Failure::Usage(format!("CALLSIGN_KEY: {e}")))?;
    // Signs for the URL without its trailing slash: how the deployment sees
    // itself (CONVEX_CLOUD_URL).
    let client = Client::new(&url, &key).map_err(|e| Failure::Usage(e.to_string()))?;
    let request = client
        .sign(cli.kind.into(), &cli.function, &cli.args)
        .map_err(|e| Failure::Usage(format!("cannot sign: {e}")))?;

    let mut status = ExitCode::SUCCESS;
    for attempt in 0..if cli.send_twice { 2 } else { 1 } {
        if attempt > 0 {
            eprintln!("sending the same signed request again (a replay)");
        }
        let outcome = client
            .send(&request)
            .map_err(|e| Failure::Transport(e.to_string()))?;
        status = report(&outcome);
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

/// Prints an outcome (value on stdout, rejection on stderr); returns its exit status.
fn report(outcome: &Outcome) -> ExitCode {
    match outcome {
        Outcome::Returned(value) => {
            println!("{value}");
            ExitCode::SUCCESS
        }
        Outcome::Threw(error) => {
            match &error.code {
                Some(code) => eprintln!("rejected: {code}: {}", error.message),
                None => eprintln!("rejected: {}", error.message),
            }
            ExitCode::from(EXIT_REJECTED)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_defaults_to_a_mutation_with_no_args() {
        let cli = Cli::try_parse_from(["x", "messages:send"]).unwrap();
        assert_eq!(
            (cli.kind, cli.args.as_str(), cli.send_twice),
            (KindArg::Mutation, "{}", false)
        );
        let cli = Cli::try_parse_from(["x", "--kind", "query", "m:list", r#"{"a":1}"#]).unwrap();
        assert_eq!(Kind::from(cli.kind).endpoint(), "/api/query");
        assert!(Cli::try_parse_from(["x", "--kind", "internal", "m:f"]).is_err());
    }
}
