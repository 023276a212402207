//! `callsign keygen`: a new root key.

use callsign::Key;

use crate::error::Result;
use crate::stdio::write_stdout;

/// Examples shown by `callsign keygen --help`.
pub const EXAMPLES: &str = "\
Examples:
  callsign keygen                      # csk1_k1_<64 hex>
  callsign keygen --kid prod > prod.key
  export CALLSIGN_KEY=$(callsign keygen --kid prod-2025)";

/// Flags of `callsign keygen`.
#[derive(clap::Args)]
pub struct Args {
    /// Key id: 1 to 64 characters from A-Z a-z 0-9 . -
    ///
    /// The key id is public: it travels with every call so the verifier can
    /// pick the key, and a new id per key makes rotation possible.
    ///
    /// Example: --kid prod-2025
    #[arg(long, value_name = "ID", default_value = "k1")]
    kid: String,
}

/// Runs `callsign keygen`.
pub fn run(args: &Args) -> Result<()> {
    let key = Key::generate(&args.kid)?;
    write_stdout(&key.to_key_string(), true)
}
