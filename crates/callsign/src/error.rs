//! Typed errors with stable codes shared by every runtime.

use std::fmt;

/// The stable, machine-readable reason a call was refused.
///
/// The string form ([`ErrorCode::as_str`]) is part of the protocol: the WASM
/// package and the Convex wrappers report exactly the same strings, so a client
/// can branch on them whatever runtime produced the error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// The input is not well formed: bad JSON, a lone surrogate, a duplicate
    /// key, a number that overflows a double, nesting deeper than the limit, a
    /// bad `$integer`/`$float`/`$bytes` value, a missing or mistyped envelope,
    /// or an invalid function name or audience.
    Malformed,
    /// The input is larger than the configured size limit (checked before parsing).
    TooLarge,
    /// A key or key-set string cannot be parsed, is too short, or does not fit
    /// the audience it is used with.
    InvalidKey,
    /// The call names a key id that the verifier does not hold.
    UnknownKey,
    /// The signature does not match this function, these args, this audience,
    /// this timestamp and this nonce under the named key.
    BadSignature,
    /// The call was signed longer ago than the window's maximum age.
    Expired,
    /// The call is timestamped further in the future than the allowed clock skew.
    NotYetValid,
    /// This (key id, nonce) pair has already been accepted.
    Replayed,
    /// The operation needs something this target or configuration lacks, for
    /// example a clock or randomness on `wasm32` when none was injected.
    Unsupported,
    /// The call verified, but it names a function the verifier does not expose
    /// (the Convex gateway's allow-list) or one its key may not call (a key
    /// scope). The core never returns it; it is listed here so that every
    /// runtime knows the same codes.
    NotAllowed,
    /// The verifier's own configuration (key set, audience) is invalid. What a
    /// verifier that answers callers (a Convex function) reports instead of the
    /// configuration's own `invalid_key` or `malformed`, whose detail belongs
    /// in its log. The core never returns it.
    Misconfigured,
    /// A shared replay store (e.g. Redis) could not be reached or failed, so
    /// the call was not accepted: fail closed. Nothing was recorded for
    /// certain, so the same call may be tried again while it is in its window.
    Unavailable,
}

impl ErrorCode {
    /// Every code, in the order of SPEC.md §9's table.
    pub const ALL: [ErrorCode; 12] = [
        ErrorCode::Malformed,
        ErrorCode::TooLarge,
        ErrorCode::InvalidKey,
        ErrorCode::UnknownKey,
        ErrorCode::BadSignature,
        ErrorCode::Expired,
        ErrorCode::NotYetValid,
        ErrorCode::Replayed,
        ErrorCode::Unsupported,
        ErrorCode::NotAllowed,
        ErrorCode::Misconfigured,
        ErrorCode::Unavailable,
    ];

    /// The code's wire string, e.g. `"bad_signature"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Malformed => "malformed",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::InvalidKey => "invalid_key",
            ErrorCode::UnknownKey => "unknown_key",
            ErrorCode::BadSignature => "bad_signature",
            ErrorCode::Expired => "expired",
            ErrorCode::NotYetValid => "not_yet_valid",
            ErrorCode::Replayed => "replayed",
            ErrorCode::Unsupported => "unsupported",
            ErrorCode::NotAllowed => "not_allowed",
            ErrorCode::Misconfigured => "misconfigured",
            ErrorCode::Unavailable => "unavailable",
        }
    }

    /// The code whose wire string is `code`, if any.
    pub fn parse(code: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == code)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error from parsing, signing or verifying.
///
/// Carries a stable [`ErrorCode`] and a human message meant to help debugging.
/// Messages never contain key material or the expected MAC, and quote at most
/// 64 characters of any input (SPEC.md §9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    code: ErrorCode,
    message: String,
}

impl Error {
    /// Creates an error with `code` and a human-readable `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn malformed(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::Malformed, message)
    }

    pub(crate) fn invalid_key(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::InvalidKey, message)
    }

    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The human-readable explanation (without the code).
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The most characters of any input that a message quotes (SPEC.md §9).
pub(crate) const QUOTE_MAX: usize = 64;

/// `text` as a message quotes it: in double quotes, escaped as `{:?}` escapes
/// it, cut to at most [`QUOTE_MAX`] characters of that escaped form. A cut
/// text ends in `…"` and is followed by its length in bytes, so a message's
/// size never depends on the size of what was sent.
pub(crate) fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(QUOTE_MAX.min(text.len()) + 24);
    out.push('"');
    let mut shown = 0;
    for c in text.chars() {
        let escaped = c.escape_debug();
        if shown + escaped.len() > QUOTE_MAX {
            out.push_str("…\" (");
            out.push_str(&text.len().to_string());
            out.push_str(" bytes)");
            return out;
        }
        shown += escaped.len();
        out.extend(escaped);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_their_wire_strings() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
        }
        assert_eq!(ErrorCode::parse("Malformed"), None);
        let err = Error::new(ErrorCode::Expired, "late");
        assert_eq!(err.to_string(), "expired: late");
    }

    #[test]
    fn codes_are_the_spec_table_in_its_order() {
        // SPEC.md §9 lists the codes, one table row each; the npm package checks
        // its ERROR_CODES against the same table (pkg/test/api.test.mjs).
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../SPEC.md");
        let spec = std::fs::read_to_string(path).expect("SPEC.md");
        let start = spec.find("\n## 9. Error codes\n").expect("SPEC.md §9");
        let end = start + spec[start..].find("\n## 10.").expect("SPEC.md §10");
        let table: Vec<&str> = spec[start..end]
            .lines()
            .filter_map(|line| line.strip_prefix("| `")?.split_once("` |"))
            .map(|(code, _)| code)
            .collect();
        assert_eq!(table, ErrorCode::ALL.map(ErrorCode::as_str));
    }

    #[test]
    fn quoting_cuts_long_input_and_gives_its_length() {
        assert_eq!(quoted("messages:send"), r#""messages:send""#);
        assert_eq!(quoted("a\"b\n"), r#""a\"b\n""#);
        let exactly = "x".repeat(QUOTE_MAX);
        assert_eq!(quoted(&exactly), format!("\"{exactly}\""));
        let long = "y".repeat(600_000);
        let shown = quoted(&long);
        assert_eq!(
            shown,
            format!("\"{}…\" (600000 bytes)", "y".repeat(QUOTE_MAX))
        );
        // Escapes count as what they print: no cut escape, never more than the cap.
        let escapes = "\u{0}".repeat(100);
        let shown = quoted(&escapes);
        assert!(shown.starts_with("\"\\0\\0"), "{shown}");
        assert!(shown.len() <= QUOTE_MAX + 24, "{shown}");
        assert!(shown.ends_with("…\" (100 bytes)"), "{shown}");
        // Multi-byte characters are never split.
        assert!(quoted(&"é".repeat(100)).contains(&"é".repeat(QUOTE_MAX)));
    }
}
