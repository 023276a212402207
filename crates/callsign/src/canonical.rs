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

use std::cmp::Ordering;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use crate::error::{Error, ErrorCode, Result};

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
    /// The deepest nesting ever accepted, whatever `max_depth` says: parsing
    /// recurses once per level, and this bound keeps the stack small even in
    /// wasm32's 1 MiB stack. Twice what Convex itself accepts.
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
    let members = parse_args_object(convex_json, limits)?;
    let mut out = String::with_capacity(convex_json.len());
    write_object(&members, &mut out);
    Ok(out)
}

/// A Convex value, decoded from Convex JSON.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    /// A Convex `v.float64()`; NaN, ±Infinity and −0 are written as `$float`.
    Number(f64),
    String(String),
    Array(Vec<Value>),
    /// Members sorted by [`utf16_cmp`] of their keys, keys unique.
    Object(Vec<(String, Value)>),
    /// A Convex `v.int64()`, written as `$integer`.
    Int64(i64),
    /// A Convex `v.bytes()`, written as `$bytes`.
    Bytes(Vec<u8>),
    /// Text that is already canonical JSON, written as is (the envelope a
    /// signer splices into the args).
    Verbatim(String),
}

/// Parses `json` whose top level must be an object; returns its sorted members.
pub(crate) fn parse_args_object(json: &str, limits: &Limits) -> Result<Vec<(String, Value)>> {
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
    let mut parser = Parser {
        src: json.as_bytes(),
        pos: 0,
        max_depth: limits.max_depth.min(Limits::MAX_DEPTH_CAP),
    };
    parser.skip_ws();
    if parser.peek() != Some(b'{') {
        return Err(match parser.peek() {
            None => Error::malformed("args are empty: expected a JSON object"),
            Some(_) => Error::malformed("args must be a JSON object at the top level"),
        });
    }
    let value = parser.parse_value(1)?;
    parser.skip_ws();
    if parser.pos != parser.src.len() {
        return Err(parser.error("unexpected characters after the args object"));
    }
    match value {
        Value::Object(members) => Ok(members),
        // `{"$integer": …}` and friends are values, not an args object.
        _ => Err(Error::malformed(
            "args must be a JSON object at the top level, not a $integer/$float/$bytes value",
        )),
    }
}

/// Compares two strings by their UTF-16 code units, as JCS and JavaScript do.
pub(crate) fn utf16_cmp(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        return a.as_bytes().cmp(b.as_bytes());
    }
    a.encode_utf16().cmp(b.encode_utf16())
}

const SPECIAL_KEYS: [&str; 3] = ["$integer", "$float", "$bytes"];

/// The bit pattern every NaN is written with: the quiet NaN JavaScript engines use.
const CANONICAL_NAN_BITS: u64 = 0x7ff8_0000_0000_0000;

struct Parser<'a> {
    src: &'a [u8],
    pos: usize,
    max_depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn error(&self, what: &str) -> Error {
        match self.peek() {
            None => Error::malformed(format!("{what} (at end of input)")),
            Some(_) => Error::malformed(format!("{what} (at byte {})", self.pos)),
        }
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8, what: &str) -> Result<()> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    fn too_deep(&self) -> Error {
        Error::malformed(format!(
            "args nest deeper than the limit of {} levels (at byte {})",
            self.max_depth, self.pos
        ))
    }

    /// Parses one value; `depth` is the depth a container starting here would have.
    ///
    /// Recursion is bounded by `max_depth`: the depth check happens before
    /// descending, so hostile input cannot exhaust the stack.
    fn parse_value(&mut self, depth: usize) -> Result<Value> {
        match self.peek() {
            Some(b'{') => self.parse_object(depth),
            Some(b'[') => {
                if depth > self.max_depth {
                    return Err(self.too_deep());
                }
                self.parse_array(depth)
            }
            Some(b'"') => Ok(Value::String(self.parse_string()?)),
            Some(b't') => self.parse_literal("true", Value::Bool(true)),
            Some(b'f') => self.parse_literal("false", Value::Bool(false)),
            Some(b'n') => self.parse_literal("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.parse_number().map(Value::Number),
            Some(_) => Err(self.error("expected a JSON value")),
            None => Err(self.error("expected a JSON value")),
        }
    }

    fn parse_literal(&mut self, word: &str, value: Value) -> Result<Value> {
        if self.src[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.error("expected a JSON value"))
        }
    }

    fn parse_array(&mut self, depth: usize) -> Result<Value> {
        self.pos += 1; // '['
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_ws();
            items.push(self.parse_value(depth + 1)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.error("expected ',' or ']' in array")),
            }
        }
    }

    fn parse_object(&mut self, depth: usize) -> Result<Value> {
        let start = self.pos;
        self.pos += 1; // '{'
        if depth > self.max_depth {
            // Only a `$integer`/`$float`/`$bytes` value may sit past the limit:
            // it is a scalar in Convex, so it does not add a level.
            return self.parse_special_past_limit(start);
        }
        let mut members: Vec<(String, Value)> = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a string key in object"));
            }
            let key = self.parse_string()?;
            self.skip_ws();
            self.expect(b':', "expected ':' after object key")?;
            self.skip_ws();
            let value = self.parse_value(depth + 1)?;
            members.push((key, value));
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.error("expected ',' or '}' in object")),
            }
        }
        finish_object(members, start)
    }

    fn parse_special_past_limit(&mut self, start: usize) -> Result<Value> {
        self.skip_ws();
        if self.peek() != Some(b'"') {
            return Err(self.too_deep());
        }
        let key = self.parse_string()?;
        if !SPECIAL_KEYS.contains(&key.as_str()) {
            return Err(self.too_deep());
        }
        self.skip_ws();
        self.expect(b':', "expected ':' after object key")?;
        self.skip_ws();
        if self.peek() != Some(b'"') {
            return Err(Error::malformed(format!(
                "{key} must hold a base64 string (object at byte {start})"
            )));
        }
        let value = Value::String(self.parse_string()?);
        self.skip_ws();
        if self.peek() != Some(b'}') {
            return Err(self.too_deep());
        }
        self.pos += 1;
        finish_object(vec![(key, value)], start)
    }

    /// Parses a JSON number into the double it denotes.
    fn parse_number(&mut self) -> Result<f64> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.skip_digits(),
            _ => return Err(self.error("invalid number: expected a digit")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.error("invalid number: expected a digit after '.'"));
            }
            self.skip_digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.error("invalid number: expected a digit in the exponent"));
            }
            self.skip_digits();
        }
        let text =
            std::str::from_utf8(&self.src[start..self.pos]).expect("a number token is ASCII");
        // Rust's float parsing is correctly rounded (round half to even),
        // exactly like ECMAScript's ToNumber on the same text.
        let value: f64 = text
            .parse()
            .map_err(|_| Error::malformed(format!("invalid number at byte {start}")))?;
        if value.is_infinite() {
            return Err(Error::malformed(format!(
                "number at byte {start} overflows a double"
            )));
        }
        Ok(value)
    }

    fn skip_digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }

    /// Parses a JSON string (the cursor is on its opening quote).
    fn parse_string(&mut self) -> Result<String> {
        let start = self.pos;
        self.pos += 1; // '"'
        let mut out = String::new();
        loop {
            let run_start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            // The input is a &str and the run stops only at ASCII bytes, so
            // the run is whole UTF-8.
            out.push_str(
                std::str::from_utf8(&self.src[run_start..self.pos])
                    .expect("input is UTF-8 and runs end at ASCII bytes"),
            );
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    self.parse_escape(&mut out)?;
                }
                Some(_) => {
                    return Err(self.error("unescaped control character in string"));
                }
                None => {
                    return Err(Error::malformed(format!(
                        "unterminated string starting at byte {start}"
                    )));
                }
            }
        }
    }

    fn parse_escape(&mut self, out: &mut String) -> Result<()> {
        let Some(b) = self.peek() else {
            return Err(self.error("unterminated escape in string"));
        };
        self.pos += 1;
        let c = match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let escape_at = self.pos - 2;
                let unit = self.parse_hex4()?;
                match unit {
                    0xD800..=0xDBFF => {
                        if self.src[self.pos..].starts_with(b"\\u") {
                            self.pos += 2;
                            let low = self.parse_hex4()?;
                            if !(0xDC00..=0xDFFF).contains(&low) {
                                return Err(lone_surrogate(unit, escape_at));
                            }
                            let code = 0x10000
                                + ((u32::from(unit) - 0xD800) << 10)
                                + (u32::from(low) - 0xDC00);
                            char::from_u32(code).expect("a surrogate pair is a valid scalar")
                        } else {
                            return Err(lone_surrogate(unit, escape_at));
                        }
                    }
                    0xDC00..=0xDFFF => return Err(lone_surrogate(unit, escape_at)),
                    _ => char::from_u32(u32::from(unit)).expect("not a surrogate"),
                }
            }
            _ => {
                self.pos -= 1;
                return Err(self.error("invalid escape in string"));
            }
        };
        out.push(c);
        Ok(())
    }

    fn parse_hex4(&mut self) -> Result<u16> {
        let digits = self
            .src
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.error("truncated \\u escape"))?;
        let mut unit: u16 = 0;
        for &d in digits {
            let v = match d {
                b'0'..=b'9' => d - b'0',
                b'a'..=b'f' => d - b'a' + 10,
                b'A'..=b'F' => d - b'A' + 10,
                _ => return Err(self.error("invalid \\u escape")),
            };
            unit = unit << 4 | u16::from(v);
        }
        self.pos += 4;
        Ok(unit)
    }
}

fn lone_surrogate(unit: u16, at: usize) -> Error {
    Error::malformed(format!(
        "lone surrogate \\u{unit:04x} at byte {at}: strings must be valid Unicode"
    ))
}

/// Turns parsed members into a value: decodes `$`-forms, sorts, rejects duplicates.
fn finish_object(mut members: Vec<(String, Value)>, start: usize) -> Result<Value> {
    if members.len() == 1 && SPECIAL_KEYS.contains(&members[0].0.as_str()) {
        let (key, value) = members.pop().expect("one member");
        return decode_special(&key, value, start);
    }
    for (key, _) in &members {
        validate_field_name(key, start)?;
    }
    members.sort_by(|a, b| utf16_cmp(&a.0, &b.0));
    if let Some(pair) = members.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(Error::malformed(format!(
            "duplicate key {:?} in object at byte {start}",
            pair[0].0
        )));
    }
    Ok(Value::Object(members))
}

fn decode_special(key: &str, value: Value, start: usize) -> Result<Value> {
    let Value::String(text) = value else {
        return Err(Error::malformed(format!(
            "{key} (object at byte {start}) must hold a base64 string"
        )));
    };
    let bytes = BASE64.decode(text.as_bytes()).map_err(|_| {
        Error::malformed(format!(
            "{key} (object at byte {start}) is not canonical padded base64: {text:?}"
        ))
    })?;
    let eight = |bytes: Vec<u8>| -> Result<[u8; 8]> {
        <[u8; 8]>::try_from(bytes.as_slice()).map_err(|_| {
            Error::malformed(format!(
                "{key} (object at byte {start}) must encode exactly 8 bytes, got {}",
                bytes.len()
            ))
        })
    };
    match key {
        "$integer" => Ok(Value::Int64(i64::from_le_bytes(eight(bytes)?))),
        "$float" => {
            let f = f64::from_le_bytes(eight(bytes)?);
            if is_special_float(f) {
                Ok(Value::Number(f))
            } else {
                Err(Error::malformed(format!(
                    "$float (object at byte {start}) encodes {f}, which Convex requires as a plain number; \
                     $float is only for NaN, Infinity, -Infinity and -0"
                )))
            }
        }
        _ => Ok(Value::Bytes(bytes)),
    }
}

/// Longest field name Convex accepts, in bytes.
pub const MAX_FIELD_NAME_LEN: usize = 1024;

/// Checks a field name the way Convex does: printable ASCII (0x20–0x7E), at
/// most 1024 bytes, not starting with `$`. Rejecting here what Convex rejects
/// gives the signer a clear error instead of an opaque one from the deployment.
fn validate_field_name(key: &str, start: usize) -> Result<()> {
    if key.starts_with('$') {
        return Err(Error::malformed(format!(
            "field name {key:?} (object at byte {start}) starts with '$', which Convex reserves; \
             $integer, $float and $bytes must be the only key of their object"
        )));
    }
    if let Some(c) = key.chars().find(|c| !(' '..='~').contains(c)) {
        return Err(Error::malformed(format!(
            "field name {key:?} (object at byte {start}) contains {c:?}; \
             Convex field names are printable ASCII (0x20 to 0x7E)"
        )));
    }
    if key.len() > MAX_FIELD_NAME_LEN {
        return Err(Error::malformed(format!(
            "a field name (object at byte {start}) has {} bytes; Convex allows at most {MAX_FIELD_NAME_LEN}",
            key.len()
        )));
    }
    Ok(())
}

/// True for the doubles that Convex JSON cannot write as plain numbers.
fn is_special_float(f: f64) -> bool {
    !f.is_finite() || (f == 0.0 && f.is_sign_negative())
}

/// Writes `value` in canonical form.
pub(crate) fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(f) => write_number(*f, out),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Value::Object(members) => write_object(members, out),
        Value::Int64(i) => write_special("$integer", &i.to_le_bytes(), out),
        Value::Bytes(b) => write_special("$bytes", b, out),
        Value::Verbatim(text) => out.push_str(text),
    }
}

/// Writes already-sorted members as a canonical object.
pub(crate) fn write_object(members: &[(String, Value)], out: &mut String) {
    out.push('{');
    for (i, (key, value)) in members.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(key, out);
        out.push(':');
        write_value(value, out);
    }
    out.push('}');
}

fn write_number(f: f64, out: &mut String) {
    if f.is_nan() {
        write_special("$float", &CANONICAL_NAN_BITS.to_le_bytes(), out);
    } else if is_special_float(f) {
        write_special("$float", &f.to_le_bytes(), out);
    } else {
        // ECMAScript Number::toString, as JCS requires.
        out.push_str(ryu_js::Buffer::new().format_finite(f));
    }
}

fn write_special(key: &str, bytes: &[u8], out: &mut String) {
    out.push_str("{\"");
    out.push_str(key);
    out.push_str("\":\"");
    BASE64.encode_string(bytes, out);
    out.push_str("\"}");
}

/// Writes a string as JCS (ECMAScript `JSON.stringify`) does.
pub(crate) fn write_string(s: &str, out: &mut String) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut run_start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: Option<&str> = match b {
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            0x08 => Some("\\b"),
            0x0c => Some("\\f"),
            b'\n' => Some("\\n"),
            b'\r' => Some("\\r"),
            b'\t' => Some("\\t"),
            0x00..=0x1f => None,
            _ => continue,
        };
        out.push_str(&s[run_start..i]);
        match escape {
            Some(e) => out.push_str(e),
            None => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            }
        }
        run_start = i + 1;
    }
    out.push_str(&s[run_start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> Result<String> {
        canonicalize(s, &Limits::default())
    }

    fn code(s: &str) -> ErrorCode {
        canon(s).unwrap_err().code()
    }

    #[test]
    fn utf16_order_puts_surrogate_pairs_before_private_use() {
        // U+1F600 is the surrogate pair D83D DE00, which sorts before U+E000,
        // although its code point is larger.
        assert_eq!(utf16_cmp("\u{1f600}", "\u{e000}"), Ordering::Less);
        assert_eq!(utf16_cmp("a", "\u{e000}"), Ordering::Less);
        assert_eq!(utf16_cmp("ab", "a"), Ordering::Greater);
    }

    #[test]
    fn sorts_keys_and_rejects_what_convex_rejects_as_field_names() {
        assert_eq!(
            canon(r#"{"b":1,"B":2," ":3,"~":4,"":5,"aa":6,"a":7}"#).unwrap(),
            r#"{"":5," ":3,"B":2,"a":7,"aa":6,"b":1,"~":4}"#
        );
        for bad in [
            "{\"\u{e000}\":1}",
            "{\"\u{1f600}\":1}",
            "{\"a\\u007f\":1}",
            "{\"\\n\":1}",
        ] {
            assert_eq!(code(bad), ErrorCode::Malformed, "{bad:?}");
        }
        assert!(canon(&format!("{{\"{}\":1}}", "k".repeat(1024))).is_ok());
        assert_eq!(
            code(&format!("{{\"{}\":1}}", "k".repeat(1025))),
            ErrorCode::Malformed
        );
    }

    #[test]
    fn numbers_print_like_ecmascript() {
        assert_eq!(
            canon(
                r#"{"a":[1.0,1E2,9007199254740993,1e21,1e-7,0.1,-1.5e-300,123456789012345678901]}"#
            )
            .unwrap(),
            r#"{"a":[1,100,9007199254740992,1e+21,1e-7,0.1,-1.5e-300,123456789012345680000]}"#
        );
    }

    #[test]
    fn negative_zero_becomes_float_form() {
        for spelling in ["-0", "-0.0", "-0e5", "-1e-400"] {
            assert_eq!(
                canon(&format!("{{\"z\":{spelling}}}")).unwrap(),
                r#"{"z":{"$float":"AAAAAAAAAIA="}}"#,
                "{spelling}"
            );
        }
        assert_eq!(canon(r#"{"z":1e-400}"#).unwrap(), r#"{"z":0}"#);
    }

    #[test]
    fn special_forms_round_trip_and_nan_is_canonical() {
        // A NaN with a payload is written as the canonical quiet NaN.
        let payload_nan = BASE64.encode(0x7ff8_0000_0000_0001u64.to_le_bytes());
        assert_eq!(
            canon(&format!(r#"{{"n":{{"$float":"{payload_nan}"}}}}"#)).unwrap(),
            r#"{"n":{"$float":"AAAAAAAA+H8="}}"#
        );
        let input = r#"{"b":{"$bytes":"AQID"},"i":{"$integer":"AQAAAAAAAAA="},"inf":{"$float":"AAAAAAAA8H8="}}"#;
        assert_eq!(canon(input).unwrap(), input);
    }

    #[test]
    fn rejects_what_convex_would_not_see_the_same_way() {
        assert_eq!(
            code(r#"{"f":{"$float":"AAAAAAAA+D8="}}"#),
            ErrorCode::Malformed
        ); // 1.5
        assert_eq!(code(r#"{"i":{"$integer":"AQ=="}}"#), ErrorCode::Malformed);
        assert_eq!(code(r#"{"b":{"$bytes":"AQI"}}"#), ErrorCode::Malformed); // unpadded
        assert_eq!(code(r#"{"b":{"$bytes":"AQJ="}}"#), ErrorCode::Malformed); // trailing bits
        assert_eq!(code(r#"{"$x":1}"#), ErrorCode::Malformed);
        assert_eq!(
            code(r#"{"$integer":"AQAAAAAAAAA=","a":1}"#),
            ErrorCode::Malformed
        );
        assert_eq!(code(r#"{"$integer":"AQAAAAAAAAA="}"#), ErrorCode::Malformed);
    }

    #[test]
    fn rejects_bad_json() {
        for bad in [
            "",
            "[]",
            "1",
            "{",
            "{\"a\":1,}",
            "{\"a\":01}",
            "{\"a\":1.}",
            "{\"a\":.5}",
            "{\"a\":1e}",
            "{\"a\":NaN}",
            "{\"a\":\"\u{1}\"}",
            "{\"a\":\"\\x\"}",
            "{\"a\":1} x",
            "{\"a\":1,\"a\":2}",
            "{\"a\":\"\\ud800\"}",
            "{\"a\":\"\\udc00x\"}",
            "{\"a\":\"\\ud800\\u0041\"}",
            "{\"a\":1e400}",
            "{\"a\":-1e309}",
            "{'a':1}",
        ] {
            assert_eq!(code(bad), ErrorCode::Malformed, "{bad:?}");
        }
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
    fn escapes_strings_like_jcs() {
        assert_eq!(
            canon("{\"s\":\"\\u0000\\u001f\\b\\f\\n\\r\\t\\\"\\\\\\/\u{7f}\u{2028}\u{e9}\"}")
                .unwrap(),
            "{\"s\":\"\\u0000\\u001f\\b\\f\\n\\r\\t\\\"\\\\/\u{7f}\u{2028}\u{e9}\"}"
        );
    }
}
