//! `callsign derive`: the key for one audience, from a root key.

use crate::error::Result;
use crate::keys::KeyArg;
use crate::stdio::write_stdout;

/// Examples shown by `callsign derive --help`.
pub const EXAMPLES: &str = "\
Examples:
  callsign derive --audience https://happy-otter-123.convex.cloud   # root key in $CALLSIGN_KEY
  CALLSIGN_KEY=$(cat prod.key) callsign derive --audience https://happy-otter-123.convex.cloud
  npx convex env set CALLSIGN_KEYS \"$(callsign derive --audience \"$CONVEX_URL\")\"";

/// Flags of `callsign derive`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    key: KeyArg,

    /// The deployment to derive the key for, as CONVEX_CLOUD_URL gives it
    ///
    /// Example: --audience https://happy-otter-123.convex.cloud
    #[arg(long, value_name = "AUD")]
    audience: String,
}

/// Derives the key and prints it.
pub fn run(args: &Args) -> Result<()> {
    let derived = args.key.load()?.derive(&args.audience)?;
    write_stdout(&derived.to_key_string(), true)
}
