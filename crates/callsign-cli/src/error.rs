//! The one error type of the CLI: a stable code plus a message, printed as `<code>: <message>`.

use std::fmt;

use callsign::ErrorCode;

/// Code for failures of the local machine rather than of the call: reading
/// stdin, or reading, parsing or writing the `--seen` file.
pub const IO: &str = "io";

/// Code for a `callsign demo` run whose outcomes differed from the expected ones.
pub const DEMO_FAILED: &str = "demo_failed";

/// Code for a `callsign call` whose request failed or whose answer was not a
/// function outcome (network, TLS, timeout, an HTTP error status).
pub const TRANSPORT: &str = "transport";

/// Code for a function error that carries no `data.code` (`callsign call`).
pub const FUNCTION_ERROR: &str = "function_error";

/// Exit status of a failed command (and of `callsign call` when the function threw).
pub const EXIT_FAILED: u8 = 1;
/// Exit status of `callsign call` when nothing was sent (and of usage errors).
pub const EXIT_NOT_SENT: u8 = 2;
/// Exit status of `callsign call` when the request failed ([`TRANSPORT`]).
pub const EXIT_TRANSPORT: u8 = 3;

/// A failed command. `code` is one of the library's stable codes
/// (`malformed`, `invalid_key`, …), one of the CLI's own ([`IO`],
/// [`DEMO_FAILED`], [`TRANSPORT`], [`FUNCTION_ERROR`]) or, for `callsign call`,
/// the `data.code` of the function's error, so scripts can branch on the
/// first word of stderr.
#[derive(Debug)]
pub struct CliError {
    code: String,
    message: String,
    exit: u8,
}

impl CliError {
    /// An error with a CLI-level `code`.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        CliError {
            code: code.to_owned(),
            message: message.into(),
            exit: EXIT_FAILED,
        }
    }

    /// The same error, exiting with `status`.
    pub fn with_exit(mut self, status: u8) -> Self {
        self.exit = status;
        self
    }

    /// The process exit status for this error.
    pub fn exit_status(&self) -> u8 {
        self.exit
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
            message: f(&self.message),
            ..self
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
