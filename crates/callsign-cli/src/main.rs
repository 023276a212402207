//! `callsign`: sign and verify server-to-server calls into Convex from the shell.
//!
//! Each command reads its JSON input on stdin and writes one result on
//! stdout. On failure it exits 1 and prints `<code>: <message>` on stderr,
//! `<code>` being a stable string, so scripts can branch on the first word.
//! Usage errors are clap's and exit 2.

#![forbid(unsafe_code)]
// Flag doc comments are also the `--help` text, where example URLs must be
// plain text rather than Markdown links.
#![allow(rustdoc::bare_urls)]

mod commands;
mod error;
mod keys;
mod seen;
mod stdio;

use std::process::ExitCode;

use clap::Parser;

use commands::Command;

const ABOUT_LONG: &str = "\
Signed server-to-server calls into Convex.

A server signs a call (function name, args, target deployment, timestamp, nonce) with HMAC-SHA256;
the Convex function verifies it. The key is read from --key / CALLSIGN_KEY (sign, derive) or
--keys / CALLSIGN_KEYS (verify) and is never printed except by keygen and derive.

On failure every command prints `<code>: <message>` on stderr and exits 1. The codes are:
  malformed, too_large, invalid_key, unknown_key, bad_signature, expired, not_yet_valid,
  replayed, unsupported       (the protocol's codes, SPEC.md §9)
  not_allowed, misconfigured  (also in SPEC.md §9: the Convex layer's, which only `call` relays)
  unavailable                 (a shared replay store, e.g. Redis, failed: never from this command)
  io                          (stdin, stdout or the --seen file failed)
  demo_failed                 (`callsign demo` saw an unexpected outcome)
  function_error, transport   (`callsign call`: a function error without a code; the request failed)
Usage errors exit 2. `callsign call` exits 1 when the function threw (or the deployment refused the
call: the code is the error's data.code), 2 when nothing was sent, 3 when the request failed.";

const EXAMPLES: &str = "\
Examples:
  export CALLSIGN_KEY=$(callsign keygen --kid prod)
  callsign derive --audience https://happy-otter-123.convex.cloud
  echo '{\"body\":\"hi\", \"n\":1.0}' | callsign canon
  echo '{\"body\":\"hi\"}' | callsign sign --audience https://happy-otter-123.convex.cloud --function messages:send \\
    | CALLSIGN_KEYS=$CALLSIGN_KEY callsign verify --audience https://happy-otter-123.convex.cloud --function messages:send
  CONVEX_URL=https://happy-otter-123.convex.cloud callsign call messages:send '{\"body\":\"hi\"}'
  callsign sign-request --audience https://happy-otter-123.convex.site --method POST --path /api/send --body-file body.json
  callsign demo";

/// The `callsign` command line.
#[derive(Parser)]
#[command(
    name = "callsign",
    version,
    about = "Signed server-to-server calls into Convex",
    long_about = ABOUT_LONG,
    after_long_help = EXAMPLES,
    subcommand_required = true,
    arg_required_else_help = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(&err),
    };
    match cli.command.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // The library's messages hold no key material; this is the second
            // wall, for a key mangled into a shape no rule foresaw.
            eprintln!("{}", redacted(&err.to_string()));
            ExitCode::from(err.exit_status())
        }
    }
}

/// `text` with every hex run shared with a given key text redacted.
pub(crate) fn redacted(text: &str) -> String {
    let key_texts = keys::key_texts();
    let key_texts: Vec<&str> = key_texts.iter().map(String::as_str).collect();
    keys::redact(text, &key_texts)
}

/// Prints a clap error (or `--help`/`--version`), with key material redacted:
/// clap quotes stray arguments, and a key passed without `--key` is one.
fn usage_error(err: &clap::Error) -> ExitCode {
    if !err.use_stderr() {
        // --help or --version: not an error. Printing can only fail on a
        // closed stdout, and then there is nobody left to tell.
        let _ = err.print();
        return ExitCode::SUCCESS;
    }
    eprint!("{}", redacted(&err.render().to_string()));
    ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2))
}
