//! JSON in on stdin (under the size limit), results out on stdout.

use std::io::{self, Read, Write};

use callsign::{ErrorCode, Limits};

use crate::error::{CliError, Result};

/// `--max-bytes` and `--max-depth`, shared by every command that reads JSON.
#[derive(clap::Args)]
pub struct LimitArgs {
    /// Largest accepted input, in bytes
    ///
    /// Longer input is refused with `too_large` before it is parsed (and
    /// before more than N + 1 bytes of stdin are read).
    ///
    /// Example: --max-bytes 65536
    #[arg(long, value_name = "N", default_value_t = Limits::DEFAULT_MAX_BYTES)]
    pub max_bytes: usize,

    /// Deepest accepted nesting of objects and arrays
    ///
    /// The top-level args object is depth 1; `$integer`, `$float` and
    /// `$bytes` values do not add a level. Deeper input is `malformed`.
    ///
    /// Example: --max-depth 16
    #[arg(long, value_name = "N", default_value_t = Limits::DEFAULT_MAX_DEPTH)]
    pub max_depth: usize,
}

impl LimitArgs {
    /// The limits as the library takes them.
    pub fn limits(&self) -> Limits {
        Limits {
            max_bytes: self.max_bytes,
            max_depth: self.max_depth,
        }
    }
}

/// Reads stdin as UTF-8 text of at most `max_bytes` bytes.
///
/// Reading stops one byte past the limit, so a huge or endless stdin costs
/// no more memory than the limit allows.
pub fn read_stdin(max_bytes: usize) -> Result<String> {
    let cap = u64::try_from(max_bytes)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let mut bytes = Vec::new();
    io::stdin()
        .lock()
        .take(cap)
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::io("reading stdin", e))?;
    if bytes.len() > max_bytes {
        return Err(CliError::call(
            ErrorCode::TooLarge,
            format!("stdin has more than {max_bytes} bytes, the limit set by --max-bytes"),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        CliError::call(
            ErrorCode::Malformed,
            format!(
                "stdin is not valid UTF-8 (at byte {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// Writes `text` to stdout, followed by a newline if `newline`.
///
/// Errors (a closed pipe, a full disk) are reported, not panicked on as
/// `println!` would.
pub fn write_stdout(text: &str, newline: bool) -> Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| {
            if newline {
                out.write_all(b"\n")
            } else {
                Ok(())
            }
        })
        .and_then(|()| out.flush())
        .map_err(|e| CliError::io("writing stdout", e))
}
