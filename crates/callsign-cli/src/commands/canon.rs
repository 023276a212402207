//! `callsign canon`: canonical Convex-JSON, the bytes that get signed.

use crate::error::Result;
use crate::stdio::{read_stdin, write_stdout, LimitArgs};

/// Examples shown by `callsign canon --help`.
pub const EXAMPLES: &str = "\
Examples:
  echo '{\"b\": 1.0, \"a\": [1E2, \"\\u00e9\"]}' | callsign canon      # {\"a\":[100,\"é\"],\"b\":1}
  callsign canon --max-bytes 65536 < args.json > args.canonical.json
  callsign canon < args.json || echo \"rejected\"                       # stderr: malformed: …";

/// Flags of `callsign canon`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    limits: LimitArgs,
}

/// Runs `callsign canon`.
pub fn run(args: &Args) -> Result<()> {
    let limits = args.limits.limits();
    let input = read_stdin(limits.max_bytes)?;
    // No trailing newline: the output is exactly the signed bytes.
    write_stdout(&callsign::canonicalize(&input, &limits)?, false)
}
