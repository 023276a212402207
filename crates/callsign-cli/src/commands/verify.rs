//! `callsign verify`: signed args in, verified claims out.

use std::path::PathBuf;

use callsign::{Clock, ErrorCode, SystemClock, Verified, Verifier, Window};
use serde::Serialize;

use super::CallArgs;
use crate::error::{CliError, Result};
use crate::keys::KeysArg;
use crate::seen::SeenFile;
use crate::stdio::{read_stdin, write_stdout, LimitArgs};

/// Examples shown by `callsign verify --help`.
pub const EXAMPLES: &str = "\
Examples:
  export CALLSIGN_KEYS=$(cat deployment.key)
  callsign verify --audience https://happy-otter-123.convex.cloud --function messages:send < signed.json
  # branch on the error code:
  if ! out=$(callsign verify --audience \"$AUD\" --function messages:send < signed.json 2>&1); then
    case \"${out%%:*}\" in expired|not_yet_valid) echo \"clock trouble\" ;; *) echo \"rejected: $out\" ;; esac
  fi
  # reject replays across runs of a script:
  callsign verify --audience \"$AUD\" --function messages:send --seen /var/tmp/callsign-seen.jsonl < signed.json";

/// Flags of `callsign verify`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    keys: KeysArg,

    #[command(flatten)]
    call: CallArgs,

    /// Verification time in ms since the Unix epoch [default: the system clock]
    ///
    /// Example: --now 1700000030000
    #[arg(long, value_name = "MS")]
    now: Option<u64>,

    /// How old a call may be, in ms
    ///
    /// A call signed at ts is `expired` once now > ts + N.
    ///
    /// Example: --max-age-ms 30000
    #[arg(long, value_name = "N", default_value_t = Window::DEFAULT_MAX_AGE_MS)]
    max_age_ms: u64,

    /// How far ahead of now a call may be stamped (signer clock skew), in ms
    ///
    /// A call signed at ts is `not_yet_valid` while now < ts - N.
    ///
    /// Example: --max-future-ms 5000
    #[arg(long, value_name = "N", default_value_t = Window::DEFAULT_MAX_FUTURE_MS)]
    max_future_ms: u64,

    #[command(flatten)]
    limits: LimitArgs,

    /// Reject replays using FILE as the store of accepted (kid, nonce) pairs
    ///
    /// JSON lines: {"watermark_ts","retention_ms"}, then one
    /// {"kid","nonce","ts","remember_until"} per pair; a missing file is
    /// empty. After an accepted call the file is rewritten atomically, without
    /// expired pairs; calls signed at or before the watermark (the latest
    /// forgotten ts) are refused whatever the window. For scripts and tests,
    /// not concurrent use: two runs at once may both accept the same call.
    /// Without --seen, nothing stops a replay inside the time window.
    ///
    /// Example: --seen /var/tmp/callsign-seen.jsonl
    #[arg(long, value_name = "FILE")]
    seen: Option<PathBuf>,
}

/// Verifies the signed args read on stdin and prints the claims.
pub fn run(args: &Args) -> Result<()> {
    let limits = args.limits.limits();
    let verifier = Verifier::new(&args.keys.load()?, &args.call.audience)?
        .with_envelope_field(&args.call.envelope_field)?
        .with_window(Window {
            max_age_ms: args.max_age_ms,
            max_future_ms: args.max_future_ms,
        })
        .with_limits(limits);
    let now = args.now.unwrap_or_else(|| SystemClock.now_ms());
    let input = read_stdin(limits.max_bytes)?;
    let function = &args.call.function;
    let verified = match &args.seen {
        None => verifier.verify(function, &input, now),
        Some(path) => {
            let seen = SeenFile::load(path)?;
            let verified = verifier.verify_once(seen.store(), function, &input, now);
            if verified.is_ok() {
                seen.save(now)?;
            }
            verified
        }
    }
    .map_err(|e| for_the_operator(e, &verifier))?;
    // Only strings and integers, which always serialize.
    let claims = serde_json::to_string(&Claims::from(&verified)).expect("Claims serialize");
    write_stdout(&claims, true)
}

/// What `verify` (and the demo) prints of a verified call: every field of
/// [`Verified`], in its order. The library has no serde.
#[derive(Serialize)]
pub struct Claims<'a> {
    kid: &'a str,
    function: &'a str,
    ts: u64,
    nonce: &'a str,
    remember_until: u64,
    canonical_args: &'a str,
}

impl<'a> From<&'a Verified> for Claims<'a> {
    fn from(v: &'a Verified) -> Claims<'a> {
        Claims {
            kid: &v.kid,
            function: &v.function,
            ts: v.ts,
            nonce: &v.nonce,
            remember_until: v.remember_until,
            canonical_args: &v.canonical_args,
        }
    }
}

/// The library's errors are fit for any caller, so `unknown_key` does not list
/// the kids a verifier holds (SPEC.md §9). Whoever runs this command is the
/// operator: tell them.
fn for_the_operator(err: callsign::Error, verifier: &Verifier) -> CliError {
    let code = err.code();
    let cli = CliError::from(err);
    if code != ErrorCode::UnknownKey {
        return cli;
    }
    let held: Vec<&str> = verifier.kids().collect();
    cli.map_message(|m| format!("{m}; it holds {}", held.join(", ")))
}
