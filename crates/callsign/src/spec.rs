//! The protocol's constants and rules, as SPEC.md states them: the signed
//! message, the limits on each field, the key-string and envelope formats.
//!
//! The crate root ([`crate::Signer`], [`crate::Verifier`], [`crate::Key`],
//! …) applies all of this; this module is for code that checks a field on
//! its own, builds the signing message itself (another implementation, a
//! test), or needs a limit.

use hmac::Mac;

use crate::error::{quoted, Error, Result};

pub use crate::canonical::{write_string as write_canonical_string, MAX_FIELD_NAME_LEN};

// --- The signing message (SPEC.md §3).

/// First line of every v1 message; separates callsign MACs from any other
/// use of the same key.
pub const MESSAGE_PREFIX: &str = "callsign/v1\n";

/// Longest accepted audience, in bytes.
pub const MAX_AUDIENCE_LEN: usize = 512;
/// Longest accepted function name, in bytes.
pub const MAX_FUNCTION_LEN: usize = 512;
/// Shortest nonce, in hex digits (128 bits).
pub const MIN_NONCE_HEX: usize = 32;
/// Longest nonce, in hex digits (256 bits).
pub const MAX_NONCE_HEX: usize = 64;
/// Largest timestamp: 2^53 − 1, the largest integer a double holds exactly.
pub const MAX_TIMESTAMP_MS: u64 = (1 << 53) - 1;

// --- Keys (SPEC.md §6).

/// Shortest accepted secret: 256 bits.
pub const MIN_SECRET_BYTES: usize = 32;
/// Longest accepted root secret: 512 bits (one SHA-256 block; longer keys
/// would be hashed by HMAC and gain nothing).
pub const MAX_SECRET_BYTES: usize = 64;
/// Longest accepted key id.
pub const MAX_KID_LEN: usize = 64;

/// Prefix of a root key string.
pub(crate) const ROOT_PREFIX: &str = "csk1_";
/// Prefix of a derived key string.
pub(crate) const DERIVED_PREFIX: &str = "csk1d_";

/// True if `text` contains a key prefix: in a key string, past its own
/// prefix, that is a second key run into the first (SPEC.md §6.2).
pub(crate) fn holds_key_prefix(text: &str) -> bool {
    text.contains(ROOT_PREFIX) || text.contains(DERIVED_PREFIX)
}

// --- The envelope (SPEC.md §5).

/// Default name of the reserved args field that carries the [`Envelope`](crate::Envelope).
pub const DEFAULT_ENVELOPE_FIELD: &str = "_callsign";

/// Envelope format version carried in its `v` field.
pub const ENVELOPE_VERSION: u64 = 1;

// --- Building the message and checking its fields.

/// Builds the exact bytes that are MACed (SPEC.md §3).
///
/// `function` must already be in canonical form (see [`canonical_function_name`])
/// and `canonical_args` must be the output of [`crate::canonicalize`].
///
/// ```
/// let msg = callsign::spec::signing_message("k1", "https://a.convex.cloud", "messages:send",
///     1700000000000, "00112233445566778899aabbccddeeff", r#"{"body":"hi"}"#);
/// assert_eq!(msg, concat!(
///     "callsign/v1\n", "2:k1\n", "22:https://a.convex.cloud\n", "13:messages:send\n",
///     "13:1700000000000\n", "32:00112233445566778899aabbccddeeff\n", "13:{\"body\":\"hi\"}\n"));
/// ```
pub fn signing_message(
    kid: &str,
    audience: &str,
    function: &str,
    ts_ms: u64,
    nonce: &str,
    canonical_args: &str,
) -> String {
    let mut out = message_head(kid, audience, function, ts_ms, nonce, canonical_args.len());
    out.reserve_exact(canonical_args.len() + 1);
    out.push_str(canonical_args);
    out.push('\n');
    out
}

/// Feeds the signing message (SPEC.md §3) to `mac` piece by piece, exactly as
/// [`signing_message`] lays it out, without copying the canonical args into a
/// message buffer first: for large args that copy costs as much as hashing.
pub(crate) fn mac_message<M: Mac>(
    mac: &mut M,
    kid: &str,
    audience: &str,
    function: &str,
    ts_ms: u64,
    nonce: &str,
    canonical_args: &str,
) {
    let head = message_head(kid, audience, function, ts_ms, nonce, canonical_args.len());
    mac.update(head.as_bytes());
    mac.update(canonical_args.as_bytes());
    mac.update(b"\n");
}

/// The message up to the canonical args' bytes: the prefix line, the first
/// five fields, and the length prefix of the args.
fn message_head(
    kid: &str,
    audience: &str,
    function: &str,
    ts_ms: u64,
    nonce: &str,
    args_len: usize,
) -> String {
    let mut out = String::with_capacity(
        MESSAGE_PREFIX.len()
            + 6 * 8
            + kid.len()
            + audience.len()
            + function.len()
            + 20
            + nonce.len(),
    );
    out.push_str(MESSAGE_PREFIX);
    // Written by hand rather than with `write!`: for small calls the
    // formatting machinery costs more than the hashing.
    let field = |text: &str, out: &mut String| {
        push_decimal(text.len() as u64, out);
        out.push(':');
        out.push_str(text);
        out.push('\n');
    };
    field(kid, &mut out);
    field(audience, &mut out);
    field(function, &mut out);
    push_decimal(decimal_len(ts_ms), &mut out);
    out.push(':');
    push_decimal(ts_ms, &mut out);
    out.push('\n');
    field(nonce, &mut out);
    push_decimal(args_len as u64, &mut out);
    out.push(':');
    out
}

/// Number of decimal digits of `n` (at least one).
fn decimal_len(mut n: u64) -> u64 {
    let mut len = 1;
    while n >= 10 {
        n /= 10;
        len += 1;
    }
    len
}

/// Appends `n` in decimal, without leading zeros.
fn push_decimal(n: u64, out: &mut String) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    let mut rest = n;
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend(digits[start..].iter().map(|&d| char::from(d)));
}

/// Checks an audience: 1 to 512 printable ASCII characters, no space or
/// comma, and neither key prefix (`csk1_`, `csk1d_`): a derived key string
/// ends with its audience, so one that could hold a prefix would let two keys
/// run together parse as one (SPEC.md §3.2).
///
/// The audience is compared byte for byte. For Convex it is the deployment
/// URL exactly as `CONVEX_CLOUD_URL` gives it, e.g.
/// `https://happy-otter-123.convex.cloud` (no trailing slash).
pub fn validate_audience(audience: &str) -> Result<()> {
    if audience.is_empty() || audience.len() > MAX_AUDIENCE_LEN {
        return Err(Error::malformed(format!(
            "an audience has 1 to {MAX_AUDIENCE_LEN} bytes, got {}",
            audience.len()
        )));
    }
    if let Some(c) = audience
        .chars()
        .find(|c| !c.is_ascii_graphic() || *c == ',')
    {
        return Err(Error::malformed(format!(
            "audience {} contains {c:?}; allowed are printable ASCII characters except ','",
            quoted(audience)
        )));
    }
    if holds_key_prefix(audience) {
        return Err(Error::malformed(
            "an audience cannot contain a key prefix (csk1_ or csk1d_): is a key pasted into it?",
        ));
    }
    Ok(())
}

/// Normalizes a Convex function name to `module/path:export` form, as Convex
/// itself does: a missing `:export` means `:default`, and a trailing `.js` on
/// the module path is dropped. So `messages` → `messages:default` and
/// `dir/file.js:fn` → `dir/file:fn`.
///
/// Names have 1 to 512 bytes of printable ASCII (no spaces).
pub fn canonical_function_name(name: &str) -> Result<String> {
    if name.is_empty() || name.len() > MAX_FUNCTION_LEN {
        return Err(Error::malformed(format!(
            "a function name has 1 to {MAX_FUNCTION_LEN} bytes, got {}",
            name.len()
        )));
    }
    if let Some(c) = name.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(Error::malformed(format!(
            "function name {} contains {c:?}; expected Convex's \"dir/file:fn\" form",
            quoted(name)
        )));
    }
    let (module, export) = match name.rsplit_once(':') {
        Some((module, export)) => (module, export),
        None => (name, "default"),
    };
    let module = module.strip_suffix(".js").unwrap_or(module);
    if module.is_empty() || module.ends_with('/') || export.is_empty() {
        return Err(Error::malformed(format!(
            "function name {} must have a module path and an export name, as in \"dir/file:fn\"",
            quoted(name)
        )));
    }
    Ok(format!("{module}:{export}"))
}

/// Checks a nonce: 32 to 64 lowercase hex digits (SPEC.md §3.5).
pub(crate) fn validate_nonce(text: &str) -> Result<()> {
    let ok_len = (MIN_NONCE_HEX..=MAX_NONCE_HEX).contains(&text.len());
    if ok_len && is_lower_hex(text) {
        Ok(())
    } else {
        Err(Error::malformed(format!(
            "a nonce is {MIN_NONCE_HEX} to {MAX_NONCE_HEX} lowercase hex digits, got {}",
            quoted(text)
        )))
    }
}

/// True if every byte of `text` is a lowercase hex digit (`0-9a-f`), the
/// one form secrets, nonces and signatures take (SPEC.md §3.5, §5, §6.2).
pub(crate) fn is_lower_hex(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn function_names_normalize_like_convex() {
        assert_eq!(
            canonical_function_name("messages").unwrap(),
            "messages:default"
        );
        assert_eq!(
            canonical_function_name("dir/file.js:fn").unwrap(),
            "dir/file:fn"
        );
        assert_eq!(
            canonical_function_name("messages:send").unwrap(),
            "messages:send"
        );
        for bad in [
            "",
            ":fn",
            "mod:",
            "has space:fn",
            "é:fn",
            ".js:fn",
            "dir/.js:fn",
            "dir/:fn",
        ] {
            assert_eq!(
                canonical_function_name(bad).unwrap_err().code(),
                ErrorCode::Malformed,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn framing_is_length_prefixed() {
        // Moving a byte between fields changes the lengths, hence the message.
        let a = signing_message("k", "a:b", "c", 1, &"0".repeat(32), "{}");
        let b = signing_message("k", "a", "b:c", 1, &"0".repeat(32), "{}");
        assert_ne!(a, b);
    }

    #[test]
    fn lower_hex_is_digits_and_a_to_f_only() {
        assert!(is_lower_hex("0123456789abcdef"));
        assert!(is_lower_hex(""));
        for bad in ["A", "0F", "g", "0x1", " 00", "é"] {
            assert!(!is_lower_hex(bad), "{bad:?}");
        }
    }
}
