//! The one-pass parser: values, the explicit stack of open containers,
//! objects (members sorted and checked for duplicates as each one closes,
//! the envelope member set aside), field names and the `$integer`, `$float`
//! and `$bytes` forms. Numbers and strings are read and written by the
//! methods in `numbers.rs` and `strings.rs`.

use std::borrow::Cow;
use std::cmp::Ordering;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use super::numbers::{is_special_float, write_number, write_special_text};
use super::scan::{canonical_base64, canonical_special, plain_name};
use super::strings::write_string;
use super::{CanonicalArgs, MAX_FIELD_NAME_LEN};
use crate::error::{quoted, Error, Result};

/// Parses `json` into canonical args, setting the top-level member `field`
/// aside (see [`canonicalize_args`](super::canonicalize_args), which checks the
/// size first). `max_depth` is already capped.
pub(super) fn parse(json: &str, max_depth: usize, field: Option<&str>) -> Result<CanonicalArgs> {
    let mut c = Canonicalizer {
        text: json,
        src: json.as_bytes(),
        pos: 0,
        pending: 0,
        max_depth,
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
    // `{}` is still pending; any other object was written when it closed.
    c.flush_to(c.pos);
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

pub(super) struct Canonicalizer<'a, 'f> {
    pub(super) text: &'a str,
    pub(super) src: &'a [u8],
    pub(super) pos: usize,
    /// Where the input not yet copied to the output starts: the text from
    /// here to the cursor is output as it came (see [`Self::flush_to`]).
    pub(super) pending: usize,
    max_depth: usize,
    pub(super) out: String,
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
    pub(super) fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    pub(super) fn error(&self, what: &str) -> Error {
        match self.peek() {
            None => Error::malformed(format!("{what} (at end of input)")),
            Some(_) => Error::malformed(format!("{what} (at byte {})", self.pos)),
        }
    }

    /// Skips whitespace, which is never output: the input before it is
    /// copied first.
    fn skip_ws(&mut self) {
        if let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.flush_to(self.pos);
            while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
                self.pos += 1;
            }
            self.pending = self.pos;
        }
    }

    /// Copies the pending input up to `end` to the output.
    ///
    /// Input that is already canonical (in compact input, most of it:
    /// punctuation, names, literals, strings, numbers) is not copied token by
    /// token but in long runs: the parser only advances the cursor over it,
    /// and copies what is pending when it must write something else (or skip
    /// whitespace). Whoever consumes input that is not output as it came
    /// copies up to its start, writes the replacement and moves `pending` past it.
    pub(super) fn flush_to(&mut self, end: usize) {
        self.out.push_str(&self.text[self.pending..end]);
        self.pending = end;
    }

    /// The output's length once everything pending up to the cursor is copied.
    fn out_len(&self) -> usize {
        self.out.len() + (self.pos - self.pending)
    }

    /// Prepares to replace the input from `at` (whose output offset is
    /// `out_at`) to the cursor: copies what is pending before `at`, or, if
    /// part of that input was copied already (whitespace inside it was
    /// skipped), takes that back.
    fn replace_from(&mut self, at: usize, out_at: usize) {
        if self.pending <= at {
            self.flush_to(at);
        } else {
            self.out.truncate(out_at);
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
                    } else {
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
                            continue 'value;
                        }
                        Some(b']') => {
                            self.pos += 1;
                            self.stack.pop();
                        }
                        _ => return Err(self.error("expected ',' or ']' in array")),
                    },
                    Some(Frame::Object {
                        out_start,
                        base,
                        at,
                    }) => {
                        let end = self.out_len();
                        if let Some(member) = self.members.last_mut() {
                            member.end = end;
                        }
                        match self.peek() {
                            Some(b',') => {
                                self.pos += 1;
                                self.skip_ws();
                                let (end, prefix) = match self.peek() {
                                    Some(b'"') => plain_name(self.src, self.pos + 1),
                                    _ => (0, 0),
                                };
                                if end != 0 {
                                    self.plain_member(end, prefix)?;
                                } else {
                                    let key_at = self.pos;
                                    let key = self.object_key()?;
                                    self.member(key, at, key_at)?;
                                }
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
        if !self.stack.is_empty() {
            if let Some(end) = canonical_special(self.src, at) {
                // A special form written as it is written out: output as it
                // came (it is a scalar, at any depth).
                self.pos = end;
                return Ok(false);
            }
        }
        let out_at = self.out_len();
        self.pos += 1;
        self.skip_ws();
        let too_deep = self.next_depth() > self.max_depth;
        match self.peek() {
            Some(b'}') if !too_deep => {
                self.pos += 1;
                if self.stack.is_empty() {
                    // Empty args: a set-aside member would go before the `}`.
                    self.insert_at = out_at + 1;
                }
                return Ok(false);
            }
            Some(b'"') => {}
            // Past the limit only a special form may follow, and it has a key.
            _ if too_deep => return Err(self.too_deep()),
            _ => return Err(self.error("expected a string key in object")),
        }
        // Most names are plain (and so never a special form's).
        let (end, prefix) = plain_name(self.src, self.pos + 1);
        if end != 0 {
            if too_deep {
                // Reported after the name, as the long way does.
                self.pos = end + 1;
                return Err(self.too_deep());
            }
            self.stack.push(Frame::Object {
                out_start: out_at,
                base: self.members.len(),
                at,
            });
            self.plain_member(end, prefix)?;
            return Ok(true);
        }
        let key_at = self.pos;
        let key = self.object_key()?;
        if let Some(special) = Special::from_name(&key) {
            if self.stack.is_empty() {
                return Err(Error::malformed(
                    "args must be a JSON object at the top level, not a $integer/$float/$bytes value",
                ));
            }
            // A special form is a scalar in Convex: it adds no level.
            self.special_form(special, at, out_at)?;
            return Ok(false);
        }
        if too_deep {
            return Err(self.too_deep());
        }
        self.stack.push(Frame::Object {
            out_start: out_at,
            base: self.members.len(),
            at,
        });
        self.member(key, at, key_at)?;
        Ok(true)
    }

    /// Starts a member of the innermost object whose name, starting at
    /// `key_at`, was just read: checks the name, writes `"name":` and leaves
    /// the cursor on its value.
    fn member(&mut self, key: Cow<'a, str>, at: usize, key_at: usize) -> Result<()> {
        validate_field_name(&key, at)?;
        // Everything up to the name is pending or written.
        let start = self.out.len() + (key_at - self.pending);
        if let Cow::Owned(decoded) = &key {
            // A name with escapes is written as JCS escapes it (a name taken
            // from the input without escapes has nothing to escape).
            self.flush_to(key_at);
            write_string(decoded, &mut self.out);
            self.pending = self.pos;
        }
        self.skip_ws();
        self.expect(b':', "expected ':' after object key")?;
        self.members.push(Member {
            prefix: key_prefix(&key),
            key,
            start,
            end: start,
        });
        Ok(())
    }

    /// [`Self::member`] for a name that `scan::plain_name` found valid: the
    /// cursor is on its opening quote, `end` is its closing quote's offset.
    fn plain_member(&mut self, end: usize, prefix: u64) -> Result<()> {
        // Output as it came: nothing in it needs escaping.
        let start = self.out_len();
        let name = self.pos + 1;
        self.pos = end + 1;
        self.skip_ws();
        self.expect(b':', "expected ':' after object key")?;
        self.members.push(Member {
            prefix,
            key: Cow::Borrowed(&self.text[name..end]),
            start,
            end: start,
        });
        Ok(())
    }

    /// Ends an object whose members are `members[base..]` (the cursor is
    /// after its `}`), putting them in order first; at the top level, also
    /// sets the requested member aside.
    fn close_object(&mut self, out_start: usize, base: usize, at: usize) -> Result<()> {
        let members = &mut self.members[base..];
        // Strictly increasing also means no duplicates.
        let sorted = members
            .windows(2)
            .all(|w| w[0].cmp_key(&w[1]) == Ordering::Less);
        let top = self.stack.is_empty();
        if sorted && !top {
            // The object's text stands as it came (pending, or written).
            self.members.truncate(base);
            return Ok(());
        }
        // Write the object's text up to its `}`, to rearrange it.
        self.flush_to(self.pos - 1);
        let members = &mut self.members[base..];
        if !sorted {
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
        if top {
            self.set_aside(base);
        }
        self.members.truncate(base);
        self.out.push('}');
        self.pending = self.pos;
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
            Ok(())
        } else {
            Err(self.error("expected a JSON value"))
        }
    }

    /// Parses the rest of a `$integer`/`$float`/`$bytes` object (the cursor is
    /// after its key) and writes it canonically. `at` is its `{` in the
    /// input, `out_at` in the output.
    fn special_form(&mut self, special: Special, at: usize, out_at: usize) -> Result<()> {
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
        let not_canonical = || {
            Error::malformed(format!(
                "{name} (object at byte {at}) is not canonical padded base64: {}",
                quoted(&text)
            ))
        };
        let wrong_length = |len: usize| {
            Error::malformed(format!(
                "{name} (object at byte {at}) must encode exactly 8 bytes, got {len}"
            ))
        };
        match special {
            // Canonical padded base64 (padding as needed, unused bits zero) is
            // exactly the encoding of its bytes: `$integer` and `$bytes` are
            // validated (scan::canonical_base64 accepts what the decoder
            // does, no more) and written back as they came.
            Special::Integer | Special::Bytes => {
                let b64 = text.as_bytes();
                if canonical_base64(b64) != Some(b64.len()) {
                    return Err(not_canonical());
                }
                if let Special::Integer = special {
                    let padding = b64.iter().rev().take_while(|&&c| c == b'=').count();
                    let len = b64.len() / 4 * 3 - padding;
                    if len != 8 {
                        return Err(wrong_length(len));
                    }
                }
                // `{"name":"text"}` is the shortest spelling: any other
                // (whitespace, escapes) is longer.
                let canonical = name.len() + text.len() + 7;
                if self.pos - at != canonical {
                    self.replace_from(at, out_at);
                    write_special_text(name, &text, &mut self.out);
                    self.pending = self.pos;
                }
            }
            Special::Float => {
                self.bytes.clear();
                BASE64
                    .decode_vec(text.as_bytes(), &mut self.bytes)
                    .map_err(|_| not_canonical())?;
                let bytes = <[u8; 8]>::try_from(self.bytes.as_slice())
                    .map_err(|_| wrong_length(self.bytes.len()))?;
                let f = f64::from_le_bytes(bytes);
                if !is_special_float(f) {
                    // Printed with ryu_js, as JS would: core's float formatting
                    // would add about 17 KB to the wasm module for this message.
                    let shown = ryu_js::Buffer::new().format(f).to_owned();
                    return Err(Error::malformed(format!(
                        "$float (object at byte {at}) encodes {shown}, which Convex requires as a plain number; \
                         $float is only for NaN, Infinity, -Infinity and -0"
                    )));
                }
                self.replace_from(at, out_at);
                write_number(f, &mut self.out);
                self.pending = self.pos;
            }
        }
        Ok(())
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::{canonicalize, Limits};
    use crate::error::ErrorCode;

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
    fn nesting_too_deep_is_reported_after_the_name_however_it_is_read() {
        let limits = Limits {
            max_bytes: 1 << 20,
            max_depth: 1,
        };
        for (json, at) in [
            (r#"{"a":{"b":1}}"#, 9),
            (r#"{"a":{"\u0062":1}}"#, 14),
            (r#"{"a":{"bcdefghijklmnopqr":1}}"#, 25),
        ] {
            let err = canonicalize(json, &limits).unwrap_err();
            assert!(err.message().ends_with(&format!("(at byte {at})")), "{err}");
        }
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
}
