//! Canonical Convex-JSON: the exact bytes of a call's args that get signed.
//!
//! Input is args in Convex's JSON encoding (what `convexToJson` produces, or
//! what a server posts to Convex's HTTP API with `"format": "json"`). Output
//! is RFC 8785 (JCS) text, with the Convex-specific rules of SPEC.md §2 applied
//! first so that a signer and the Convex-side verifier always produce the same
//! bytes for one call:
//!
//! * `$integer`, `$float` and `$bytes` objects are decoded strictly and
//!   re-encoded canonically;
//! * every number is a double; `-0` (and anything that rounds to it) becomes
//!   `{"$float":"AAAAAAAAAIA="}`, because that is how Convex hands `-0` to a
//!   function, and a `$float` holding an ordinary number is rejected, because
//!   Convex rejects it too;
//! * field names starting with `$` are rejected (Convex reserves them);
//! * duplicate keys, lone surrogates, overflowing numbers, nesting deeper than
//!   [`Limits::max_depth`] and input longer than [`Limits::max_bytes`] are
//!   rejected.
//!
//! The parser is written out here rather than borrowed from `serde_json`
//! because the rules above (duplicate detection, `-0`, depth counted on Convex
//! values, the size check before parsing, precise error codes) are the
//! protocol itself, and the output must not depend on a general-purpose
//! library's leniencies.
//!
//! # How it works
//!
//! One pass, no value tree: each value is written in canonical form into one
//! output buffer as soon as it is parsed. Most compact input is canonical
//! already, token by token (punctuation, literals, names and strings without
//! escapes other than JCS's own, numbers of up to 15 digits, which are exact
//! doubles and print as themselves, canonical base64), so the parser does not
//! copy tokens one at a time: it advances over them and copies the input in
//! long runs, whenever it must write something else instead (whitespace
//! skipped, an escape respelled, a number reprinted). An object's members are
//! written in input order, each remembered as a key and a byte range of the
//! output; when the object ends they are sorted, and only if the input order
//! was not already sorted is the object's text rearranged (one copy through a
//! scratch buffer).
//!
//! Signed args, which the signer writes canonically, are first checked in one
//! pass that writes nothing (`verbatim.rs`): when the text is its own
//! canonical form it is used as it is, else the parser runs.
//!
//! Nesting is tracked on an explicit stack, not by recursion, so no input can
//! overflow the call stack; its height is bounded by [`Limits::MAX_DEPTH_CAP`].
//!
//! # Parts
//!
//! * this file: the API ([`canonicalize`], the crate's `canonicalize_args`)
//!   and the [`Limits`];
//! * `parser.rs`: the one-pass parser, its stack, objects and their sorting,
//!   field names and the `$integer`/`$float`/`$bytes` forms;
//! * `numbers.rs`: reading JSON numbers and writing doubles as ECMAScript does;
//! * `strings.rs`: reading JSON strings and writing them as JCS does;
//! * `scan.rs`: what both passes use: the word-at-a-time byte classifiers,
//!   digits, canonical base64 and the canonically written special forms;
//! * `verbatim.rs`: the check that text is canonical as it stands.

mod numbers;
mod parser;
mod scan;
mod strings;
mod verbatim;

use crate::error::{Error, ErrorCode, Result};

pub use strings::write_string;

/// Size and depth limits applied to args before and while parsing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Maximum length of the JSON text in bytes, checked before parsing.
    pub max_bytes: usize,
    /// Maximum nesting of objects and arrays; the top-level args object is
    /// depth 1. `$integer`/`$float`/`$bytes` objects are values, not levels.
    /// Values above [`Limits::MAX_DEPTH_CAP`] act as that cap.
    pub max_depth: usize,
}

impl Limits {
    /// Default maximum input size: 1 MiB.
    pub const DEFAULT_MAX_BYTES: usize = 1 << 20;
    /// Default maximum nesting depth: 63. Convex allows values nested 64
    /// levels and counts the argument list that wraps the args object as one,
    /// so 63 is the deepest args object a deployment accepts.
    pub const DEFAULT_MAX_DEPTH: usize = 63;
    /// The deepest nesting ever accepted, whatever `max_depth` says. The
    /// parser keeps one small stack entry per level (on the heap, not the call
    /// stack); the cap bounds that memory and matches what other
    /// implementations (e.g. a recursive one in a 1 MiB wasm32 stack) can
    /// promise. Twice what Convex itself accepts.
    pub const MAX_DEPTH_CAP: usize = 128;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: Self::DEFAULT_MAX_BYTES,
            max_depth: Self::DEFAULT_MAX_DEPTH,
        }
    }
}

/// Canonicalizes args given in Convex's JSON encoding.
///
/// The top level must be an object. Returns the canonical text (UTF-8,
/// no whitespace), which is what SPEC.md calls *canonical args*.
///
/// ```
/// use callsign::{canonicalize, Limits};
///
/// let canon = canonicalize(r#"{ "b": 1.0, "a": [1E2, "\u00e9"] }"#, &Limits::default())?;
/// assert_eq!(canon, r#"{"a":[100,"é"],"b":1}"#);
/// # Ok::<(), callsign::Error>(())
/// ```
///
/// # Errors
/// [`ErrorCode::TooLarge`] when the text exceeds `limits.max_bytes`;
/// [`ErrorCode::Malformed`] for anything SPEC.md §2 rejects.
pub fn canonicalize(convex_json: &str, limits: &Limits) -> Result<String> {
    Ok(canonicalize_args(convex_json, limits, None)?.text)
}

/// Canonical args, with one top-level member (the envelope) set aside.
#[derive(Debug)]
pub(crate) struct CanonicalArgs {
    /// The canonical text of the args without the set-aside member.
    pub(crate) text: String,
    /// The canonical text of the set-aside member's value, if it was present.
    pub(crate) field_value: Option<String>,
    /// Where in `text` a member with the set-aside name goes in sorted order:
    /// the offset of the first member that sorts after it, or of the closing
    /// brace.
    pub(crate) insert_at: usize,
}

/// Canonicalizes `json` (its top level must be an object) and takes the
/// top-level member named `field`, if any, out of the result.
pub(crate) fn canonicalize_args(
    json: &str,
    limits: &Limits,
    field: Option<&str>,
) -> Result<CanonicalArgs> {
    check_size(json, limits)?;
    parser::parse(json, limits.max_depth.min(Limits::MAX_DEPTH_CAP), field)
}

/// [`canonicalize_args`] for text that is probably canonical already, as
/// signed args are (the signer writes them so): checks that in one pass
/// without writing anything, and falls back to the parser when it is not so,
/// with the same result, or error, either way.
pub(crate) fn canonicalize_signed_args(
    json: &str,
    limits: &Limits,
    field: &str,
) -> Result<CanonicalArgs> {
    check_size(json, limits)?;
    let max_depth = limits.max_depth.min(Limits::MAX_DEPTH_CAP);
    match verbatim::check(json, max_depth, Some(field)) {
        Some(found) => Ok(found.into_args(json)),
        None => parser::parse(json, max_depth, Some(field)),
    }
}

/// SPEC.md §2.1: the size check, before any parsing.
fn check_size(json: &str, limits: &Limits) -> Result<()> {
    if json.len() > limits.max_bytes {
        return Err(Error::new(
            ErrorCode::TooLarge,
            format!(
                "args are {} bytes, over the limit of {} bytes",
                json.len(),
                limits.max_bytes
            ),
        ));
    }
    Ok(())
}

/// Longest field name Convex accepts, in bytes.
pub const MAX_FIELD_NAME_LEN: usize = 1024;

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> Result<String> {
        canonicalize(s, &Limits::default())
    }

    #[test]
    fn depth_limit_counts_containers_but_not_special_forms() {
        let limits = Limits {
            max_bytes: 1 << 20,
            max_depth: 3,
        };
        assert!(canonicalize(r#"{"a":[{"b":1}]}"#, &limits).is_ok());
        assert!(canonicalize(r#"{"a":[{"b":{"$integer":"AQAAAAAAAAA="}}]}"#, &limits).is_ok());
        assert_eq!(
            canonicalize(r#"{"a":[{"b":[]}]}"#, &limits)
                .unwrap_err()
                .code(),
            ErrorCode::Malformed
        );
        assert_eq!(
            canonicalize(r#"{"a":[{"b":{"c":1}}]}"#, &limits)
                .unwrap_err()
                .code(),
            ErrorCode::Malformed
        );
    }

    #[test]
    fn depth_is_capped_whatever_the_limit_says() {
        let limits = Limits {
            max_bytes: usize::MAX,
            max_depth: usize::MAX,
        };
        let nest = |n: usize| format!("{{\"a\":{}{}}}", "[".repeat(n - 1), "]".repeat(n - 1));
        assert!(canonicalize(&nest(Limits::MAX_DEPTH_CAP), &limits).is_ok());
        let err = canonicalize(&nest(Limits::MAX_DEPTH_CAP + 1), &limits).unwrap_err();
        assert_eq!(err.code(), ErrorCode::Malformed);
        assert!(err.message().contains("128 levels"), "{err}");
        // Far deeper input fails the same way instead of exhausting the stack.
        assert!(canonicalize(&nest(1_000_000), &limits).is_err());
    }

    #[test]
    fn size_limit_is_checked_before_parsing() {
        let limits = Limits {
            max_bytes: 8,
            max_depth: 64,
        };
        assert_eq!(
            canonicalize("{\"a\":\"xy\"}", &limits).unwrap_err().code(),
            ErrorCode::TooLarge
        );
        // Even garbage is reported as too large, because nothing is parsed.
        assert_eq!(
            canonicalize("not json at all", &limits).unwrap_err().code(),
            ErrorCode::TooLarge
        );
    }

    #[test]
    fn default_depth_accepts_exactly_the_limit_and_rejects_one_more() {
        // Depth 63 made of alternating objects and arrays, then 64: the
        // iterative parser must count both kinds (and nothing else).
        let nest = |n: usize| {
            let mut open = String::from("{\"a\":");
            let mut close = String::from("}");
            for level in 2..=n {
                if level % 2 == 0 {
                    open.push('[');
                    close.insert(0, ']');
                } else {
                    open.push_str("{\"b\":");
                    close.insert(0, '}');
                }
            }
            format!("{open}1{close}")
        };
        let at_limit = nest(Limits::DEFAULT_MAX_DEPTH);
        assert_eq!(canon(&at_limit).unwrap(), at_limit);
        let err = canon(&nest(Limits::DEFAULT_MAX_DEPTH + 1)).unwrap_err();
        assert_eq!(err.code(), ErrorCode::Malformed);
        assert!(err.message().contains("63 levels"), "{err}");
        // A special form at the limit does not count as a level.
        let special = at_limit.replacen("1", r#"{"$integer":"AQAAAAAAAAA="}"#, 1);
        assert_eq!(canon(&special).unwrap(), special);
    }

    #[test]
    fn hostile_nesting_far_past_the_cap_fails_without_recursion() {
        // 4 MiB of `{"a":` with every limit lifted: a recursive parser would
        // need millions of frames; this one stops at the cap.
        let limits = Limits {
            max_bytes: usize::MAX,
            max_depth: usize::MAX,
        };
        let deep = "{\"a\":".repeat((4 << 20) / 5);
        let err = canonicalize(&deep, &limits).unwrap_err();
        assert_eq!(err.code(), ErrorCode::Malformed);
        assert!(err.message().contains("128 levels"), "{err}");
    }

    #[test]
    fn a_member_is_set_aside_wherever_it_sorts() {
        let take = |json: &str| canonicalize_args(json, &Limits::default(), Some("_e")).unwrap();
        for (json, text, value, insert_at) in [
            (r#"{"_e":{"v":1}}"#, "{}", Some(r#"{"v":1}"#), 1),
            (r#"{"z":1,"_e":2,"A":3}"#, r#"{"A":3,"z":1}"#, Some("2"), 7),
            (r#"{"_e":2,"z":1}"#, r#"{"z":1}"#, Some("2"), 1),
            (r#"{"A":3,"_e":[2]}"#, r#"{"A":3}"#, Some("[2]"), 6),
            (r#"{"A":3}"#, r#"{"A":3}"#, None, 6),
            (r#"{"z":3}"#, r#"{"z":3}"#, None, 1),
            ("{}", "{}", None, 1),
        ] {
            let got = take(json);
            assert_eq!(got.text, text, "{json}");
            assert_eq!(got.field_value.as_deref(), value, "{json}");
            assert_eq!(got.insert_at, insert_at, "{json}");
        }
    }
}
