//! Strings: reading a JSON string (escapes decoded, lone surrogates
//! refused), and writing one as JCS does: only `"`, `\` and control
//! characters escaped, everything else as it is.

use std::borrow::Cow;

use super::parser::Canonicalizer;
use super::scan::{first, string_stops, word_at};
use crate::error::{Error, Result};

impl<'a> Canonicalizer<'a, '_> {
    /// Advances over string bytes that need no attention (not `"`, `\` or a
    /// control character); returns where the run started.
    ///
    /// Most string bytes need none, so they are checked eight at a time
    /// (`scan::string_stops`), which also finds the exact stop.
    fn plain_run(&mut self) -> usize {
        let start = self.pos;
        let mut pos = self.pos;
        while let Some(word) = word_at(self.src, pos) {
            let stops = string_stops(word);
            if stops != 0 {
                self.pos = pos + first(stops);
                return start;
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
    /// it canonically, without decoding it into a buffer first: only escapes
    /// that JCS writes otherwise are rewritten, the rest is output as it came.
    pub(super) fn string_value(&mut self) -> Result<()> {
        let start = self.pos;
        self.pos += 1;
        loop {
            self.plain_run();
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    let at = self.pos;
                    let c = self.escape()?;
                    if !is_canonical_escape(&self.src[at..self.pos], c) {
                        self.flush_to(at);
                        push_escaped(c, &mut self.out);
                        self.pending = self.pos;
                    }
                }
                Some(_) => return Err(self.error("unescaped control character in string")),
                None => return Err(unterminated(start)),
            }
        }
    }

    /// Parses a string (the cursor is on its opening quote) into its decoded
    /// text, borrowed from the input when it has no escapes.
    pub(super) fn decoded_string(&mut self) -> Result<Cow<'a, str>> {
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
    pub(super) fn object_key(&mut self) -> Result<Cow<'a, str>> {
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
}

fn unterminated(start: usize) -> Error {
    Error::malformed(format!("unterminated string starting at byte {start}"))
}

fn lone_surrogate(unit: u16, at: usize) -> Error {
    Error::malformed(format!(
        "lone surrogate \\u{unit:04x} at byte {at}: strings must be valid Unicode"
    ))
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// True if `escape` (the text of one escape, backslash included, that
/// denotes `c`) is how JCS writes `c`.
fn is_canonical_escape(escape: &[u8], c: char) -> bool {
    match c {
        '"' => escape == b"\\\"",
        '\\' => escape == b"\\\\",
        '\u{8}' => escape == b"\\b",
        '\u{c}' => escape == b"\\f",
        '\n' => escape == b"\\n",
        '\r' => escape == b"\\r",
        '\t' => escape == b"\\t",
        '\0'..='\u{1f}' => {
            let b = c as u8;
            escape
                == [
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(b >> 4)],
                    HEX[usize::from(b & 0xf)],
                ]
        }
        // Everything else is written as itself, not escaped.
        _ => false,
    }
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
    use crate::canonical::{canonicalize, Limits};

    fn canon(s: &str) -> Result<String> {
        canonicalize(s, &Limits::default())
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
