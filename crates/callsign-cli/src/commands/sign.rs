//! `callsign sign`: args in, signed args out.

use callsign::{Clock, Nonce, Signer, SystemClock};

use super::CallArgs;
use crate::error::Result;
use crate::keys::KeyArg;
use crate::stdio::{read_stdin, write_stdout, LimitArgs};

/// Examples shown by `callsign sign --help`.
pub const EXAMPLES: &str = "\
Examples:
  export CALLSIGN_KEY=$(cat prod.key)
  echo '{\"body\":\"hi\"}' | callsign sign --audience https://happy-otter-123.convex.cloud --function messages:send
  # reproducible output, e.g. for test vectors:
  echo '{\"body\":\"hi\"}' | callsign sign --audience https://happy-otter-123.convex.cloud \\
    --function messages:send --now 1700000000000 --nonce 00112233445566778899aabbccddeeff";

/// Flags of `callsign sign`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    key: KeyArg,

    #[command(flatten)]
    call: CallArgs,

    /// Signing time in ms since the Unix epoch [default: the system clock]
    ///
    /// Example: --now 1700000000000
    #[arg(long, value_name = "MS")]
    now: Option<u64>,

    /// The call's nonce, 32 to 64 lowercase hex digits [default: 128 random bits]
    ///
    /// Never reuse a nonce with the same key: the verifier accepts each once.
    ///
    /// Example: --nonce 00112233445566778899aabbccddeeff
    #[arg(long, value_name = "HEX")]
    nonce: Option<String>,

    #[command(flatten)]
    limits: LimitArgs,
}

/// Signs the args read on stdin and prints the signed args.
pub fn run(args: &Args) -> Result<()> {
    let limits = args.limits.limits();
    let signer = Signer::new(&args.key.load()?, &args.call.audience)?
        .with_envelope_field(&args.call.envelope_field)?
        .with_limits(limits);
    let nonce = args.nonce.as_deref().map(Nonce::parse).transpose()?;
    let input = read_stdin(limits.max_bytes)?;
    // --now or the clock, --nonce or a fresh one: what Signer::sign does when
    // neither flag is given.
    let ts = args.now.unwrap_or_else(|| SystemClock.now_ms());
    let nonce = match nonce {
        Some(nonce) => nonce,
        None => Nonce::generate()?,
    };
    let call = signer.sign_at(&args.call.function, &input, ts, &nonce)?;
    write_stdout(&call.signed_args, true)
}
