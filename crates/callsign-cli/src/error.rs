//! The one error type of the CLI: a stable code plus a message, printed as `<code>: <message>`.

use std::fmt;

use callsign::ErrorCode;

/// Code for failures of the local machine rather than of the call: reading
/// stdin, or reading, parsing or writing the `--seen` file.
pub const IO: &str = "io";

/// Code for a `callsign demo` run whose outcomes differed from the expected ones.
pub const DEMO_FAILED: &str = "demo_failed";

/// A failed command. `code` is one of the library's stable codes
/// (`malformed`, `invalid_key`, …) or one of the CLI's own ([`IO`],
/// [`DEMO_FAILED`]), so scripts can branch on the first word of stderr.
#[derive(Debug)]
pub struct CliError {
    code: &'static str,
    message: String,
}

impl CliError {
    /// An error with a CLI-level `code`.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        CliError {
            code,
            message: message.into(),
        }
    }

    /// An error with one of the library's codes.
    pub fn call(code: ErrorCode, message: impl Into<String>) -> Self {
        CliError::new(code.as_str(), message)
    }

    /// An I/O failure while doing `what`.
    pub fn io(what: impl fmt::Display, err: std::io::Error) -> Self {
        CliError::new(IO, format!("{what}: {err}"))
    }

    /// The same error with its message passed through `f` (used to redact).
    pub fn map_message(self, f: impl FnOnce(&str) -> String) -> Self {
        CliError {
            code: self.code,
            message: f(&self.message),
        }
    }
}

impl From<callsign::Error> for CliError {
    fn from(err: callsign::Error) -> Self {
        CliError::call(err.code(), err.message())
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// `Result` with [`CliError`].
pub type Result<T, E = CliError> = std::result::Result<T, E>;
