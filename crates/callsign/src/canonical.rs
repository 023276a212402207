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
//! output buffer as soon as it is parsed. Strings without escapes are copied
//! from the input as they are (their canonical form is their input form);
//! integers of up to 15 digits likewise (they are exact doubles and print as
//! themselves). An object's members are written in input order, each
//! remembered as a key and a byte range of the output; when the object ends
//! they are sorted, and only if the input order was not already sorted is
//! the object's text rearranged (one copy through a scratch buffer).
//!
//! Nesting is tracked on an explicit stack, not by recursion, so no input can
//! overflow the call stack; its height is bounded by [`Limits::MAX_DEPTH_CAP`].

use std::borrow::Cow;
use std::cmp::Ordering;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use crate::error::{quoted, Error, ErrorCode, Result};

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
    let mut c = Canonicalizer {
        text: json,
        src: json.as_bytes(),
        pos: 0,
        max_depth: limits.max_depth.min(Limits::MAX_DEPTH_CAP),
        out: String::with_capacity(json.len()),
        stack: Vec::new(),
        members: Vec::new(),
        scratch: String::new(),
        bytes: Vec::new(),
        field,
        field_value: None,
        insert_at: 0,
    };
    c.skip_ws();
    match c.peek() {
        Some(b'{') => {}
        None => return Err(Error::malformed("args are empty: expected a JSON object")),
        Some(_) => {
            return Err(Error::malformed(
                "args must be a JSON object at the top level",
            ))
        }
    }
    c.run()?;
    c.skip_ws();
    if c.pos != c.src.len() {
        return Err(c.error("unexpected characters after the args object"));
    }
    Ok(CanonicalArgs {
        text: c.out,
        field_value: c.field_value,
        insert_at: c.insert_at,
    })
}

/// The three special forms: objects with exactly one member of these names.
#[derive(Clone, Copy)]
enum Special {
    Integer,
    Float,
    Bytes,
}

impl Special {
    fn from_name(name: &str) -> Option<Special> {
        match name {
            "$integer" => Some(Special::Integer),
            "$float" => Some(Special::Float),
            "$bytes" => Some(Special::Bytes),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Special::Integer => "$integer",
            Special::Float => "$float",
            Special::Bytes => "$bytes",
        }
    }
}

/// The bit pattern every NaN is written with: the quiet NaN JavaScript engines use.
const CANONICAL_NAN_BITS: u64 = 0x7ff8_0000_0000_0000;

/// An open container on the explicit stack.
#[derive(Clone, Copy)]
enum Frame {
    Array,
    Object {
        /// Offset of the object's `{` in the output.
        out_start: usize,
        /// Index of its first member in [`Canonicalizer::members`].
        base: usize,
        /// Offset of its `{` in the input, for error messages.
        at: usize,
    },
}

/// One member of an open object: its decoded name and where its canonical
/// `"name":value` text lies in the output.
struct Member<'a> {
    key: Cow<'a, str>,
    /// The key's first eight bytes (see [`key_prefix`]).
    prefix: u64,
    start: usize,
    end: usize,
}

impl Member<'_> {
    /// Byte order of the keys (for ASCII field names, the UTF-16 order JCS
    /// asks for). Most pairs differ in their first eight bytes, so one integer
    /// comparison settles them.
    fn cmp_key(&self, other: &Member<'_>) -> Ordering {
        self.prefix
            .cmp(&other.prefix)
            .then_with(|| self.key.cmp(&other.key))
    }
}

/// The first eight bytes of a field name, big-endian and zero-padded, so that
/// comparing prefixes agrees with byte order. Field names never contain a zero
/// byte, so the padding sorts a name before its extensions, as byte order does.
fn key_prefix(key: &str) -> u64 {
    let mut bytes = [0u8; 8];
    let n = key.len().min(8);
    bytes[..n].copy_from_slice(&key.as_bytes()[..n]);
    u64::from_be_bytes(bytes)
}

struct Canonicalizer<'a, 'f> {
    text: &'a str,
    src: &'a [u8],
    pos: usize,
    max_depth: usize,
    out: String,
    /// Open containers, innermost last; never more than `max_depth` entries.
    stack: Vec<Frame>,
    /// Members of all open objects; each object owns the tail from its `base`.
    members: Vec<Member<'a>>,
    /// Reused buffer for rearranging an object's members.
    scratch: String,
    /// Reused buffer for decoding base64.
    bytes: Vec<u8>,
    /// The top-level member to set aside, and what was found of it.
    field: Option<&'f str>,
    field_value: Option<String>,
    insert_at: usize,
}

impl<'a> Canonicalizer<'a, '_> {
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

    /// Depth a container opened now would have: the top-level object is 1.
    fn next_depth(&self) -> usize {
        self.stack.len() + 1
    }

    /// Parses and writes the whole top-level object (the cursor is on its `{`).
    ///
    /// A loop over values instead of recursion: opening a container pushes a
    /// frame and goes on with its first value; after each complete value, the
    /// frames that end there are closed.
    fn run(&mut self) -> Result<()> {
        'value: loop {
            self.skip_ws();
            match self.peek() {
                Some(b'{') => {
                    if self.open_object()? {
                        continue 'value;
                    }
                }
                Some(b'[') => {
                    if self.next_depth() > self.max_depth {
                        return Err(self.too_deep());
                    }
                    self.pos += 1;
                    self.skip_ws();
                    if self.peek() == Some(b']') {
                        self.pos += 1;
                        self.out.push_str("[]");
                    } else {
                        self.out.push('[');
                        self.stack.push(Frame::Array);
                        continue 'value;
                    }
                }
                Some(b'"') => self.string_value()?,
                Some(b't') => self.literal("true")?,
                Some(b'f') => self.literal("false")?,
                Some(b'n') => self.literal("null")?,
                Some(b'-' | b'0'..=b'9') => self.number()?,
                _ => return Err(self.error("expected a JSON value")),
            }
            // A value is complete; close every container that ends after it.
            loop {
                self.skip_ws();
                match self.stack.last().copied() {
                    None => return Ok(()),
                    Some(Frame::Array) => match self.peek() {
                        Some(b',') => {
                            self.pos += 1;
                            self.out.push(',');
                            continue 'value;
                        }
                        Some(b']') => {
                            self.pos += 1;
                            self.out.push(']');
                            self.stack.pop();
                        }
                        _ => return Err(self.error("expected ',' or ']' in array")),
                    },
                    Some(Frame::Object {
                        out_start,
                        base,
                        at,
                    }) => {
                        if let Some(member) = self.members.last_mut() {
                            member.end = self.out.len();
                        }
                        match self.peek() {
                            Some(b',') => {
                                self.pos += 1;
                                self.out.push(',');
                                self.skip_ws();
                                let key = self.object_key()?;
                                self.member(key, at)?;
                                continue 'value;
                            }
                            Some(b'}') => {
                                self.pos += 1;
                                self.stack.pop();
                                self.close_object(out_start, base, at)?;
                            }
                            _ => return Err(self.error("expected ',' or '}' in object")),
                        }
                    }
                }
            }
        }
    }

    /// Handles a `{`. Returns true when an object was opened and its first
    /// member's value comes next; false when the whole value was written
    /// (`{}` or a `$integer`/`$float`/`$bytes` form).
    fn open_object(&mut self) -> Result<bool> {
        let at = self.pos;
        self.pos += 1;
        self.skip_ws();
        let too_deep = self.next_depth() > self.max_depth;
        match self.peek() {
            Some(b'}') if !too_deep => {
                self.pos += 1;
                if self.stack.is_empty() {
                    // Empty args: a set-aside member would go before the `}`.
                    self.insert_at = self.out.len() + 1;
                }
                self.out.push_str("{}");
                return Ok(false);
            }
            Some(b'"') => {}
            // Past the limit only a special form may follow, and it has a key.
            _ if too_deep => return Err(self.too_deep()),
            _ => return Err(self.error("expected a string key in object")),
        }
        let key = self.object_key()?;
        if let Some(special) = Special::from_name(&key) {
            if self.stack.is_empty() {
                return Err(Error::malformed(
                    "args must be a JSON object at the top level, not a $integer/$float/$bytes value",
                ));
            }
            // A special form is a scalar in Convex: it adds no level.
            self.special_form(special, at)?;
            return Ok(false);
        }
        if too_deep {
            return Err(self.too_deep());
        }
        self.stack.push(Frame::Object {
            out_start: self.out.len(),
            base: self.members.len(),
            at,
        });
        self.out.push('{');
        self.member(key, at)?;
        Ok(true)
    }

    /// Starts a member of the innermost object: checks its name, writes
    /// `"name":` and leaves the cursor on its value.
    fn member(&mut self, key: Cow<'a, str>, at: usize) -> Result<()> {
        validate_field_name(&key, at)?;
        self.skip_ws();
        self.expect(b':', "expected ':' after object key")?;
        let start = self.out.len();
        match &key {
            // Taken from the input without escapes, so nothing to escape.
            Cow::Borrowed(raw) => {
                self.out.push('"');
                self.out.push_str(raw);
                self.out.push_str("\":");
            }
            Cow::Owned(decoded) => {
                write_string(decoded, &mut self.out);
                self.out.push(':');
            }
        }
        self.members.push(Member {
            prefix: key_prefix(&key),
            key,
            start,
            end: start,
        });
        Ok(())
    }

    /// Writes the `}` of an object whose members are `members[base..]`,
    /// putting them in order first; at the top level, also sets the
    /// requested member aside.
    fn close_object(&mut self, out_start: usize, base: usize, at: usize) -> Result<()> {
        let members = &mut self.members[base..];
        // Strictly increasing also means no duplicates.
        if !members
            .windows(2)
            .all(|w| w[0].cmp_key(&w[1]) == Ordering::Less)
        {
            members.sort_unstable_by(Member::cmp_key);
            if let Some(w) = members.windows(2).find(|w| w[0].key == w[1].key) {
                return Err(Error::malformed(format!(
                    "duplicate key {} in object at byte {at}",
                    quoted(&w[0].key)
                )));
            }
            // Rearrange the object's text in sorted order, through the scratch buffer.
            let body = out_start + 1;
            self.scratch.clear();
            self.scratch.push_str(&self.out[body..]);
            self.out.truncate(body);
            for (i, m) in members.iter_mut().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let start = self.out.len();
                self.out
                    .push_str(&self.scratch[m.start - body..m.end - body]);
                m.start = start;
                m.end = self.out.len();
            }
        }
        if self.stack.is_empty() {
            self.set_aside(base);
        }
        self.members.truncate(base);
        self.out.push('}');
        Ok(())
    }

    /// At the end of the top-level object (before its `}`): takes the member
    /// named `field` out of the text and records where it belongs.
    fn set_aside(&mut self, base: usize) {
        let Some(field) = self.field else {
            return;
        };
        let members = &self.members[base..];
        let i = members.partition_point(|m| m.key.as_ref() < field);
        match members.get(i) {
            Some(m) if m.key == field => {
                let value_start = m.start + field.len() + 3; // `"field":`, no escapes in a field name
                self.field_value = Some(self.out[value_start..m.end].to_owned());
                let last = i + 1 == members.len();
                if i > 0 && last {
                    // `…,"field":v` → `…`; the insertion point is the `}`.
                    self.out.truncate(m.start - 1);
                    self.insert_at = m.start - 1;
                } else if last {
                    // The only member: `{"field":v` → `{`.
                    self.out.truncate(m.start);
                    self.insert_at = m.start;
                } else {
                    // Remove the member and the comma after it.
                    let next = members[i + 1].start;
                    self.out.replace_range(m.start..next, "");
                    self.insert_at = m.start;
                }
            }
            Some(m) => self.insert_at = m.start,
            None => self.insert_at = self.out.len(),
        }
    }

    fn literal(&mut self, word: &'static str) -> Result<()> {
        if self.src[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            self.out.push_str(word);
            Ok(())
        } else {
            Err(self.error("expected a JSON value"))
        }
    }

    /// Parses a JSON number and writes the double it denotes.
    fn number(&mut self) -> Result<()> {
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
        let text = &self.text[start..self.pos];
        if is_canonical_number(text) {
            self.out.push_str(text);
            return Ok(());
        }
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
        write_number(value, &mut self.out);
        Ok(())
    }

    fn skip_digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }

    /// Advances over string bytes that need no attention (not `"`, `\` or a
    /// control character); returns where the run started.
    ///
    /// Most string bytes need none, so they are checked eight at a time
    /// first; the byte loop then finds the exact stop.
    fn plain_run(&mut self) -> usize {
        let start = self.pos;
        let mut pos = self.pos;
        while let Some(chunk) = self.src.get(pos..).and_then(<[u8]>::first_chunk::<8>) {
            if needs_attention(u64::from_le_bytes(*chunk)) {
                break;
            }
            pos += 8;
        }
        while let Some(&b) = self.src.get(pos) {
            if b == b'"' || b == b'\\' || b < 0x20 {
                break;
            }
            pos += 1;
        }
        self.pos = pos;
        start
    }

    /// Parses a string value (the cursor is on its opening quote) and writes
    /// it canonically, without decoding it into a buffer first.
    fn string_value(&mut self) -> Result<()> {
        let start = self.pos;
        self.pos += 1;
        self.out.push('"');
        loop {
            let run = self.plain_run();
            // Runs stop only at ASCII bytes, so they are whole UTF-8.
            self.out.push_str(&self.text[run..self.pos]);
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    self.out.push('"');
                    return Ok(());
                }
                Some(b'\\') => {
                    let c = self.escape()?;
                    push_escaped(c, &mut self.out);
                }
                Some(_) => return Err(self.error("unescaped control character in string")),
                None => return Err(unterminated(start)),
            }
        }
    }

    /// Parses a string (the cursor is on its opening quote) into its decoded
    /// text, borrowed from the input when it has no escapes.
    fn decoded_string(&mut self) -> Result<Cow<'a, str>> {
        let start = self.pos;
        self.pos += 1;
        let run = self.plain_run();
        let text = self.text;
        let mut decoded = match self.peek() {
            Some(b'"') => {
                self.pos += 1;
                return Ok(Cow::Borrowed(&text[run..self.pos - 1]));
            }
            Some(b'\\') => String::from(&text[run..self.pos]),
            Some(_) => return Err(self.error("unescaped control character in string")),
            None => return Err(unterminated(start)),
        };
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Cow::Owned(decoded));
                }
                Some(b'\\') => decoded.push(self.escape()?),
                Some(_) => return Err(self.error("unescaped control character in string")),
                None => return Err(unterminated(start)),
            }
            let run = self.plain_run();
            decoded.push_str(&text[run..self.pos]);
        }
    }

    /// Parses an object key (the cursor must be on its opening quote).
    fn object_key(&mut self) -> Result<Cow<'a, str>> {
        if self.peek() != Some(b'"') {
            return Err(self.error("expected a string key in object"));
        }
        self.decoded_string()
    }

    /// Parses one escape (the cursor is on its backslash) into the character it denotes.
    fn escape(&mut self) -> Result<char> {
        let escape_at = self.pos;
        self.pos += 1;
        let Some(b) = self.peek() else {
            return Err(self.error("unterminated escape in string"));
        };
        self.pos += 1;
        Ok(match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = self.hex4()?;
                let code = match unit {
                    0xD800..=0xDBFF => {
                        if !self.src[self.pos..].starts_with(b"\\u") {
                            return Err(lone_surrogate(unit, escape_at));
                        }
                        self.pos += 2;
                        let low = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return Err(lone_surrogate(unit, escape_at));
                        }
                        0x10000 + ((u32::from(unit) - 0xD800) << 10) + (u32::from(low) - 0xDC00)
                    }
                    0xDC00..=0xDFFF => return Err(lone_surrogate(unit, escape_at)),
                    _ => u32::from(unit),
                };
                // Every value built above is a Unicode scalar value.
                char::from_u32(code).ok_or_else(|| lone_surrogate(unit, escape_at))?
            }
            _ => {
                self.pos -= 1;
                return Err(self.error("invalid escape in string"));
            }
        })
    }

    fn hex4(&mut self) -> Result<u16> {
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

    /// Parses the rest of a `$integer`/`$float`/`$bytes` object (the cursor is
    /// after its key) and writes it canonically. `at` is its `{` in the input.
    fn special_form(&mut self, special: Special, at: usize) -> Result<()> {
        let name = special.name();
        self.skip_ws();
        self.expect(b':', "expected ':' after object key")?;
        self.skip_ws();
        if self.peek() != Some(b'"') {
            return Err(Error::malformed(format!(
                "{name} (object at byte {at}) must hold a base64 string"
            )));
        }
        let text = self.decoded_string()?;
        self.skip_ws();
        if self.peek() != Some(b'}') {
            return Err(Error::malformed(format!(
                "{name} (object at byte {at}) must be the only key of its object: \
                 Convex reserves field names starting with '$'"
            )));
        }
        self.pos += 1;
        self.bytes.clear();
        BASE64
            .decode_vec(text.as_bytes(), &mut self.bytes)
            .map_err(|_| {
                Error::malformed(format!(
                    "{name} (object at byte {at}) is not canonical padded base64: {}",
                    quoted(&text)
                ))
            })?;
        let eight = |bytes: &[u8]| -> Result<[u8; 8]> {
            <[u8; 8]>::try_from(bytes).map_err(|_| {
                Error::malformed(format!(
                    "{name} (object at byte {at}) must encode exactly 8 bytes, got {}",
                    bytes.len()
                ))
            })
        };
        // The decoder accepts only canonical padded base64 (padding as
        // needed, unused bits zero), so an accepted text is exactly the
        // encoding of its bytes: `$integer` and `$bytes` are written back as
        // they came instead of being encoded again.
        match special {
            Special::Integer => {
                eight(&self.bytes)?;
                write_special_text("$integer", &text, &mut self.out);
            }
            Special::Float => {
                let f = f64::from_le_bytes(eight(&self.bytes)?);
                if !is_special_float(f) {
                    // Printed with ryu_js, as JS would: core's float formatting
                    // would add about 17 KB to the wasm module for this message.
                    let shown = ryu_js::Buffer::new().format(f).to_owned();
                    return Err(Error::malformed(format!(
                        "$float (object at byte {at}) encodes {shown}, which Convex requires as a plain number; \
                         $float is only for NaN, Infinity, -Infinity and -0"
                    )));
                }
                write_number(f, &mut self.out);
            }
            Special::Bytes => write_special_text("$bytes", &text, &mut self.out),
        }
        Ok(())
    }
}

/// True if any of the eight bytes in `word` is `"`, `\` or below 0x20.
///
/// The classic bit trick: `x - 0x01…01` borrows into a byte's top bit, where
/// `!x` still has it set, exactly when some byte of `x` is below the
/// subtrahend's byte; carries can add false hits only above a true one, so
/// "any" is exact.
fn needs_attention(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const TOPS: u64 = 0x8080_8080_8080_8080;
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & TOPS;
    let quote = word ^ (ONES * u64::from(b'"'));
    let backslash = word ^ (ONES * u64::from(b'\\'));
    (below(quote, 1) | below(backslash, 1) | below(word, 0x20)) != 0
}

fn unterminated(start: usize) -> Error {
    Error::malformed(format!("unterminated string starting at byte {start}"))
}

fn lone_surrogate(unit: u16, at: usize) -> Error {
    Error::malformed(format!(
        "lone surrogate \\u{unit:04x} at byte {at}: strings must be valid Unicode"
    ))
}

/// Longest field name Convex accepts, in bytes.
pub const MAX_FIELD_NAME_LEN: usize = 1024;

/// The one field name Convex accepts but callsign refuses (SPEC.md §2.5).
const PROTO: &str = "__proto__";

/// Checks a field name the way Convex does: printable ASCII (0x20–0x7E), at
/// most 1024 bytes, not starting with `$`. Rejecting here what Convex rejects
/// gives the signer a clear error instead of an opaque one from the deployment.
///
/// `__proto__` is refused too: Convex's `jsonToConvex` would make such a
/// member the object's prototype, which the handler reads but the signature,
/// computed over the object's own members, never covered.
fn validate_field_name(key: &str, start: usize) -> Result<()> {
    if key.starts_with('$') {
        return Err(Error::malformed(format!(
            "field name {} (object at byte {start}) starts with '$', which Convex reserves; \
             $integer, $float and $bytes must be the only key of their object",
            quoted(key)
        )));
    }
    if let Some(c) = key.chars().find(|c| !(' '..='~').contains(c)) {
        return Err(Error::malformed(format!(
            "field name {} (object at byte {start}) contains {c:?}; \
             Convex field names are printable ASCII (0x20 to 0x7E)",
            quoted(key)
        )));
    }
    if key == PROTO {
        return Err(Error::malformed(format!(
            "field name \"__proto__\" (object at byte {start}) is refused: in JavaScript it would \
             set the object's prototype, which the signature does not cover"
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

/// True when a number's text (valid JSON, as the parser checked) is already
/// how ECMAScript prints the double it denotes, so it can be copied instead of
/// being parsed and printed.
///
/// That is plain `[-]digits[.digits]` text with at most 15 significant digits,
/// no trailing zero after the point, at least 1e-6 in magnitude, and not `-0`:
/// two different decimals of at most 15 significant digits are always
/// different doubles (15 is f64's `DIGITS`), so the shortest digits that
/// round-trip are the text's own, and ECMAScript writes numbers from 1e-6 to
/// 1e21 in this fixed notation.
fn is_canonical_number(text: &str) -> bool {
    if text.bytes().any(|b| b == b'e' || b == b'E') {
        return false;
    }
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    if frac.is_empty() {
        return int.len() <= 15 && text != "-0";
    }
    if frac.ends_with('0') {
        return false;
    }
    if int == "0" {
        let zeros = frac.len() - frac.trim_start_matches('0').len();
        zeros <= 5 && frac.len() - zeros <= 15
    } else {
        int.len() + frac.len() <= 15
    }
}

/// True for the doubles that Convex JSON cannot write as plain numbers.
fn is_special_float(f: f64) -> bool {
    !f.is_finite() || (f == 0.0 && f.is_sign_negative())
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

/// Writes a special form whose base64 text is already canonical.
fn write_special_text(key: &str, base64: &str, out: &mut String) {
    out.push_str("{\"");
    out.push_str(key);
    out.push_str("\":\"");
    out.push_str(base64);
    out.push_str("\"}");
}

/// Writes one decoded character as JCS (ECMAScript `JSON.stringify`) does.
fn push_escaped(c: char, out: &mut String) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\0'..='\u{1f}' => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let b = c as u8;
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
        _ => out.push(c),
    }
}

/// Appends `s` to `out` as a JSON string in canonical form (SPEC.md §2.6):
/// escaped exactly as JCS (ECMAScript's `JSON.stringify`) escapes it.
pub fn write_string(s: &str, out: &mut String) {
    out.push('"');
    let mut run_start = 0;
    for (i, &b) in s.as_bytes().iter().enumerate() {
        if b == b'"' || b == b'\\' || b < 0x20 {
            // `i` is an ASCII byte, so both slices end on character boundaries.
            out.push_str(&s[run_start..i]);
            push_escaped(char::from(b), out);
            run_start = i + 1;
        }
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
            // jsonToConvex would make these prototypes (SPEC.md §2.5), at any depth.
            r#"{"__proto__":{"isAdmin":true}}"#,
            r#"{"settings":{"__proto__":{"isAdmin":true},"theme":"dark"}}"#,
            r#"{"a":[{"__proto__":1}]}"#,
            r#"{"\u005f_proto__":1}"#,
            r#"{"__proto\u005f_":1}"#,
        ] {
            assert_eq!(code(bad), ErrorCode::Malformed, "{bad:?}");
        }
        // Only that name: its neighbours are ordinary field names.
        for fine in [
            "_proto_",
            "__proto",
            "__proto___",
            "__PROTO__",
            "constructor",
            "prototype",
        ] {
            assert!(canon(&format!("{{\"{fine}\":1}}")).is_ok(), "{fine}");
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
    fn unsorted_objects_are_rearranged_at_every_level() {
        assert_eq!(
            canon(r#"{"z":{"y":[{"b":2,"a":1}],"x":"s"},"a":[{"d":null,"c":true}],"m":{}}"#)
                .unwrap(),
            r#"{"a":[{"c":true,"d":null}],"m":{},"z":{"x":"s","y":[{"a":1,"b":2}]}}"#
        );
        assert_eq!(code(r#"{"a":{"k":1,"j":2,"k":3}}"#), ErrorCode::Malformed);
        // Names that share their first eight bytes still sort by the rest.
        assert_eq!(
            canon(r#"{"abcdefghij":1,"abcdefgha":2,"abcdefgh":3,"abcdefghi":4,"abcdefg":5}"#)
                .unwrap(),
            r#"{"abcdefg":5,"abcdefgh":3,"abcdefgha":2,"abcdefghi":4,"abcdefghij":1}"#
        );
        assert_eq!(
            code(r#"{"abcdefghij":1,"abcdefghik":2,"abcdefghij":3}"#),
            ErrorCode::Malformed
        );
        // Escaped names compare by their decoded text, and are written canonically.
        assert_eq!(
            canon(r#"{"\u0062":1,"a\"":2,"a":3}"#).unwrap(),
            r#"{"a":3,"a\"":2,"b":1}"#
        );
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

    #[test]
    fn word_check_agrees_with_the_byte_check() {
        let byte_check = |w: u64| {
            w.to_le_bytes()
                .iter()
                .any(|&b| b == b'"' || b == b'\\' || b < 0x20)
        };
        // Every byte value in every lane, next to fillers that sit on either
        // side of the boundaries (0x1f/0x20, 0x21/0x22/0x23, 0x5b/0x5c/0x5d, high bytes).
        for filler in [0x20u8, 0x21, 0x23, 0x5b, 0x5d, 0x7f, 0x80, 0xff, b'a'] {
            for lane in 0..8 {
                for b in 0..=255u8 {
                    let mut bytes = [filler; 8];
                    bytes[lane] = b;
                    let w = u64::from_le_bytes(bytes);
                    assert_eq!(needs_attention(w), byte_check(w), "{bytes:?}");
                }
            }
        }
    }

    #[test]
    fn accepted_base64_is_the_canonical_encoding_of_its_bytes() {
        // The special forms are written back as they came, which is right only
        // if decoding accepts nothing but canonical text. Non-canonical text
        // can only differ in the last quantum (padding, unused bits), and only
        // in its last three characters, so try all of those after a fixed prefix.
        const ALPHABET: &[u8] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
        let mut accepted = 0;
        for a in [b'A', b'z', b'/', b'='] {
            for &b in ALPHABET {
                for &c in ALPHABET {
                    for &d in ALPHABET {
                        let text = [b'Q', b'U', b'J', b'D', a, b, c, d];
                        if let Ok(bytes) = BASE64.decode(text) {
                            accepted += 1;
                            assert_eq!(BASE64.encode(&bytes).as_bytes(), text);
                        }
                    }
                }
            }
        }
        assert!(accepted > 100_000, "{accepted}");
    }

    #[test]
    fn numbers_copied_as_written_are_exactly_what_ecmascript_prints() {
        let printed = |text: &str| {
            let mut out = String::new();
            write_number(text.parse().unwrap(), &mut out);
            out
        };
        for (text, copied) in [
            ("0", true),
            ("-0", false),
            ("123456789012345", true),
            ("1234567890123456", false),
            ("0.5", true),
            ("-0.5", true),
            ("0.000001", true),
            ("0.0000001", false),
            ("1.10", false),
            ("12345678901234.5", true),
            ("123456789012345.6", false),
            ("0.100000000000001", true),
            ("1e2", false),
        ] {
            assert_eq!(is_canonical_number(text), copied, "{text}");
            if copied {
                assert_eq!(printed(text), text);
            }
        }
        // Many more, from a fixed-seed generator: whatever the check lets
        // through must print as itself.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut copied = 0;
        for _ in 0..100_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let digits = format!("{:017}", state % 100_000_000_000_000_000);
            let len = 1 + (state >> 57) as usize % 17;
            let point = (state >> 52) as usize % (len + 1);
            let digits = &digits[17 - len..];
            let (int, frac) = digits.split_at(point);
            let int = int.trim_start_matches('0');
            let int = if int.is_empty() { "0" } else { int };
            let sign = if state & 1 == 1 { "-" } else { "" };
            let text = if frac.is_empty() {
                format!("{sign}{int}")
            } else {
                format!("{sign}{int}.{frac}")
            };
            if is_canonical_number(&text) {
                copied += 1;
                assert_eq!(printed(&text), text);
            }
        }
        assert!(copied > 10_000, "{copied}");
    }
}
