//! The fast path for text that is already canonical.
//!
//! A signer writes signed args in canonical form (sorted members, canonical
//! numbers, strings and base64, no whitespace), and canonical text is its own
//! canonical form. So before canonicalizing signed args, the verifier checks in
//! one pass, writing nothing, whether the text is exactly what the parser would
//! write for it; if so, the canonical args are the text itself with the
//! envelope member cut out.
//!
//! The check only ever answers "canonical as it stands" or "not sure": it
//! never reports an error. On the slightest doubt (whitespace, an escape JCS
//! would write differently, an unsorted object, a number or base64 text that
//! is not the canonical spelling, an escaped field name, anything invalid) it
//! gives up, and the caller runs the full parser, which produces the result
//! or the error as it always does. A "yes" must therefore mean exactly: the
//! parser accepts this text and writes it back byte for byte. The unit tests
//! below hold the two to that on generated inputs.

use std::ops::Range;

use super::numbers::is_canonical_plain;
use super::scan::{
    canonical_special, digits, first, name_stops, plain_name, string_stops, word_at,
};
use super::{CanonicalArgs, MAX_FIELD_NAME_LEN};

/// What the check found in canonical text: where the set-aside member lies.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Verbatim {
    /// The set-aside member, if present: the bytes to cut out of the text
    /// (the member and one comma next to it, if it has a neighbour), and
    /// where its value lies.
    cut: Option<(Range<usize>, Range<usize>)>,
    /// Where a member with the set-aside name goes in the text after the cut
    /// (see [`CanonicalArgs::insert_at`]).
    insert_at: usize,
}

impl Verbatim {
    /// The canonical args of `json`, the text the check said yes to.
    pub(super) fn into_args(self, json: &str) -> CanonicalArgs {
        match self.cut {
            None => CanonicalArgs {
                text: json.to_owned(),
                field_value: None,
                insert_at: self.insert_at,
            },
            Some((cut, value)) => {
                let mut text = String::with_capacity(json.len() - cut.len());
                text.push_str(&json[..cut.start]);
                text.push_str(&json[cut.end..]);
                CanonicalArgs {
                    text,
                    field_value: Some(json[value].to_owned()),
                    insert_at: self.insert_at,
                }
            }
        }
    }
}

/// The top-level members seen so far, as far as setting `field` aside needs.
struct Top<'f> {
    field: Option<&'f str>,
    /// Whether a member name at or past `field` has been seen.
    passed: bool,
    /// The set-aside member: its start, where its value starts, where it ends.
    found: Option<(usize, usize, usize)>,
    /// The start of the first member that sorts after `field`.
    after: Option<usize>,
}

impl Top<'_> {
    /// A top-level member named `key` starts at `start`; its value at
    /// `value`. Returns whether it is the set-aside member.
    fn member(&mut self, key: &[u8], start: usize, value: usize) -> bool {
        let Some(field) = self.field else {
            return false;
        };
        if self.passed {
            if self.after.is_none() {
                self.after = Some(start);
            }
            return false;
        }
        match key.cmp(field.as_bytes()) {
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Equal => {
                self.passed = true;
                self.found = Some((start, value, 0));
                true
            }
            std::cmp::Ordering::Greater => {
                self.passed = true;
                self.after = Some(start);
                false
            }
        }
    }
}

/// Checks whether `json` is already the canonical text the parser would write
/// for it (with nesting of at most `max_depth`, already capped), and if so
/// where its top-level member `field` lies. `None` means "not sure": run the
/// parser.
pub(super) fn check(json: &str, max_depth: usize, field: Option<&str>) -> Option<Verbatim> {
    let s = json.as_bytes();
    if s.first() != Some(&b'{') || max_depth == 0 {
        return None;
    }
    if s.get(1) == Some(&b'}') {
        // The parser puts an insertion point into `{}` whatever the field.
        return (s.len() == 2).then_some(Verbatim {
            cut: None,
            insert_at: 1,
        });
    }
    let mut top = Top {
        field,
        passed: false,
        found: None,
        after: None,
    };
    // The top-level members: the name checks here, each value in `value`.
    let mut pos = 1;
    let mut previous: Option<(u64, usize)> = None;
    loop {
        if s.get(pos) != Some(&b'"') {
            return None;
        }
        let start = pos;
        let (at, prefix) = key(s, start + 1)?;
        if let Some((p, name)) = previous {
            if prefix < p || (prefix == p && !names_increase(s, name, start + 1)) {
                return None;
            }
        }
        previous = Some((prefix, start + 1));
        let field_here = top.member(&s[start + 1..at - 2], start, at);
        pos = value(json, at, max_depth - 1)?;
        if field_here {
            if let Some(found) = top.found.as_mut() {
                found.2 = pos;
            }
        }
        match s.get(pos) {
            Some(b',') => pos += 1,
            Some(b'}') if pos + 1 == s.len() => break,
            _ => return None,
        }
    }
    let close = s.len() - 1;
    Some(match top.found {
        // Without a field the parser leaves `insert_at` at 0.
        None if field.is_none() => Verbatim {
            cut: None,
            insert_at: 0,
        },
        None => Verbatim {
            cut: None,
            insert_at: top.after.unwrap_or(close),
        },
        Some((start, value, end)) => match top.after {
            // Cut the member and the comma after it.
            Some(next) => Verbatim {
                cut: Some((start..next, value..end)),
                insert_at: start,
            },
            // The last member: cut the comma before it, if there is one.
            None if start > 1 => Verbatim {
                cut: Some((start - 1..end, value..end)),
                insert_at: start - 1,
            },
            None => Verbatim {
                cut: Some((start..end, value..end)),
                insert_at: start,
            },
        },
    })
}

/// An open container inside a top-level member's value.
#[derive(Clone, Copy)]
struct Open {
    object: bool,
    /// For an object, its latest member name: its first eight bytes (see
    /// [`key`]) and where it starts, or 0 before the first one.
    prefix: u64,
    name: usize,
}

/// The value starting at `pos` (a top-level member's), if it is canonical
/// with containers nested at most `limit` deep within it: returns the offset
/// after it.
#[inline(never)]
fn value(json: &str, mut pos: usize, limit: usize) -> Option<usize> {
    let s = json.as_bytes();
    // The innermost open container, valid when `depth` > 0, and those around
    // it (outermost first).
    let mut cur = Open {
        object: false,
        prefix: 0,
        name: 0,
    };
    let mut outer: Vec<Open> = Vec::new();
    let mut depth = 0;
    'value: loop {
        // Where a member name starts, when one comes next.
        let name = 'scalar: {
            match *s.get(pos)? {
                b'"' => pos = string(s, pos + 1)?,
                b'{' => match *s.get(pos + 1)? {
                    b'}' if depth < limit => pos += 2,
                    b'"' if s.get(pos + 2) == Some(&b'$') => pos = canonical_special(s, pos)?,
                    b'"' if depth < limit => {
                        if depth > 0 {
                            outer.push(cur);
                        }
                        cur = Open {
                            object: true,
                            prefix: 0,
                            name: 0,
                        };
                        depth += 1;
                        break 'scalar pos + 1;
                    }
                    _ => return None,
                },
                b'[' if depth < limit => {
                    if s.get(pos + 1) == Some(&b']') {
                        pos += 2;
                    } else {
                        if depth > 0 {
                            outer.push(cur);
                        }
                        cur = Open {
                            object: false,
                            prefix: 0,
                            name: 0,
                        };
                        depth += 1;
                        pos += 1;
                        continue 'value;
                    }
                }
                b't' => pos = literal(s, pos, b"true")?,
                b'f' => pos = literal(s, pos, b"false")?,
                b'n' => pos = literal(s, pos, b"null")?,
                b'-' | b'0'..=b'9' => pos = number(json, pos)?,
                _ => return None,
            }
            // A value is complete: go on with the next one, or close what ends here.
            loop {
                if depth == 0 {
                    return Some(pos);
                }
                let next = *s.get(pos)?;
                if next == b',' {
                    if cur.object {
                        break 'scalar pos + 1;
                    }
                    pos += 1;
                    continue 'value;
                }
                if next != if cur.object { b'}' } else { b']' } {
                    return None;
                }
                pos += 1;
                depth -= 1;
                if depth > 0 {
                    cur = outer.pop()?;
                }
            }
        };
        // A member name, then its value.
        if s.get(name) != Some(&b'"') {
            return None;
        }
        let (at, prefix) = key(s, name + 1)?;
        // Strictly increasing names: sorted, and no duplicates.
        if cur.name != 0
            && (prefix < cur.prefix
                || (prefix == cur.prefix && !names_increase(s, cur.name, name + 1)))
        {
            return None;
        }
        cur.prefix = prefix;
        cur.name = name + 1;
        pos = at;
    }
}

/// Whether the member name starting at `b` sorts after the one at `a` (both
/// offsets after the quote; names without escapes end at their next quote).
/// Only needed when their first eight bytes are the same.
#[cold]
#[inline(never)]
fn names_increase(s: &[u8], a: usize, b: usize) -> bool {
    let name = |start: usize| {
        let text = &s[start..];
        &text[..text.iter().position(|&c| c == b'"').unwrap_or(text.len())]
    };
    name(a) < name(b)
}

fn literal(s: &[u8], pos: usize, word: &[u8]) -> Option<usize> {
    s[pos..].starts_with(word).then_some(pos + word.len())
}

/// A member name whose text starts at `start` (after its quote), if it is a
/// Convex field name written without escapes and followed by `:`: returns
/// where its value starts, and the name's first eight bytes as the parser's
/// `key_prefix` computes them (big-endian, zero-padded).
#[inline(always)]
fn key(s: &[u8], start: usize) -> Option<(usize, u64)> {
    let (end, prefix) = plain_name(s, start);
    if end != 0 && s.get(end + 1) == Some(&b':') {
        return Some((end + 2, prefix));
    }
    long_key(s, start)
}

/// [`key`] for names of sixteen bytes or more, or near the end of the input.
#[inline(never)]
fn long_key(s: &[u8], start: usize) -> Option<(usize, u64)> {
    let mut pos = start;
    while let Some(word) = word_at(s, pos) {
        let stops = name_stops(word);
        if stops != 0 {
            pos += first(stops);
            break;
        }
        pos += 8;
    }
    loop {
        match *s.get(pos)? {
            b'"' => break,
            b' '..=b'~' if s[pos] != b'\\' => pos += 1,
            _ => return None,
        }
    }
    let name = &s[start..pos];
    if name.first() == Some(&b'$') || name == b"__proto__" || name.len() > MAX_FIELD_NAME_LEN {
        return None;
    }
    if s.get(pos + 1) != Some(&b':') {
        return None;
    }
    let mut bytes = [0u8; 8];
    for (i, &b) in name.iter().take(8).enumerate() {
        bytes[i] = b;
    }
    Some((pos + 2, u64::from_be_bytes(bytes)))
}

/// A string whose text starts at `pos` (after its quote), if it is written as
/// JCS writes it: returns the offset after its closing quote.
#[inline(always)]
fn string(s: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        while let Some(word) = word_at(s, pos) {
            let stops = string_stops(word);
            if stops != 0 {
                pos += first(stops);
                break;
            }
            pos += 8;
        }
        // At the byte that stopped the run, or near the end of the input.
        match *s.get(pos)? {
            b'"' => return Some(pos + 1),
            b'\\' => match *s.get(pos + 1)? {
                b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => pos += 2,
                // `\u00xx`, lowercase, only for the controls without a short form.
                b'u' => match s.get(pos + 2..pos + 6)? {
                    [b'0', b'0', b'0', b'0'..=b'7' | b'b' | b'e' | b'f']
                    | [b'0', b'0', b'1', b'0'..=b'9' | b'a'..=b'f'] => pos += 6,
                    _ => return None,
                },
                _ => return None,
            },
            0..=0x1f => return None,
            _ => pos += 1,
        }
    }
}

/// A number starting at `start`, if it is JSON written as ECMAScript prints
/// the double it denotes: returns the offset after it.
#[inline(always)]
fn number(json: &str, start: usize) -> Option<usize> {
    let s = json.as_bytes();
    let mut pos = start;
    let negative = s[pos] == b'-';
    if negative {
        pos += 1;
    }
    let int_start = pos;
    match s.get(pos) {
        Some(b'0') => pos += 1,
        Some(b'1'..=b'9') => pos = digits(s, pos + 1),
        _ => return None,
    }
    let int_end = pos;
    let mut frac_start = pos;
    if s.get(pos) == Some(&b'.') {
        frac_start = pos + 1;
        if !matches!(s.get(frac_start), Some(b'0'..=b'9')) {
            return None;
        }
        pos = digits(s, frac_start);
    }
    let mut canonical = is_canonical_plain(negative, &s[int_start..int_end], &s[frac_start..pos]);
    if let Some(b'e' | b'E') = s.get(pos) {
        canonical = false;
        pos += 1;
        if let Some(b'+' | b'-') = s.get(pos) {
            pos += 1;
        }
        if !matches!(s.get(pos), Some(b'0'..=b'9')) {
            return None;
        }
        pos = digits(s, pos + 1);
    }
    if canonical {
        return Some(pos);
    }
    number_as_printed(&json[start..pos]).then_some(pos)
}

/// True if `text` (a JSON number) is how ECMAScript prints the double it
/// denotes: the numbers with exponents, or with 16 or 17 digits.
#[cold]
#[inline(never)]
fn number_as_printed(text: &str) -> bool {
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() && !(value == 0.0 && value.is_sign_negative()) => {
            ryu_js::Buffer::new().format_finite(value) == text
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::STANDARD as BASE64;
    use base64::Engine as _;

    use super::*;
    use crate::canonical::{parser, Limits};

    /// The parser's result for `json`, as the verbatim check must give it.
    fn parsed(json: &str, field: Option<&str>) -> Option<(String, Option<String>, usize)> {
        let got = parser::parse(json, Limits::DEFAULT_MAX_DEPTH, field).ok()?;
        Some((got.text, got.field_value, got.insert_at))
    }

    fn verbatim(json: &str, field: Option<&str>) -> Option<(String, Option<String>, usize)> {
        let got = check(json, Limits::DEFAULT_MAX_DEPTH, field)?.into_args(json);
        Some((got.text, got.field_value, got.insert_at))
    }

    #[test]
    fn canonical_text_passes_and_anything_else_goes_to_the_parser() {
        for json in [
            "{}",
            r#"{"a":1}"#,
            r#"{"":0," ":-1,"A":[],"a":{},"aa":[[],{}],"b":[1,"x",true,false,null]}"#,
            r#"{"n":[0,-0.5,1e+21,1e-7,5e-324,0.30000000000000004,123456789012345680000]}"#,
            r#"{"s":"\"\\\b\f\n\r\t\u0000\u001f\u000b é/"}"#,
            r#"{"x":{"$bytes":""},"y":{"$bytes":"AQ=="},"z":{"$integer":"AQAAAAAAAAA="}}"#,
            r#"{"f":[{"$float":"AAAAAAAA+H8="},{"$float":"AAAAAAAAAIA="}]}"#,
            r#"{"abcdefgh":1,"abcdefgha":2,"abcdefgi":3}"#,
        ] {
            assert!(check(json, 63, None).is_some(), "{json}");
            assert_eq!(verbatim(json, None), parsed(json, None), "{json}");
        }
        for json in [
            " {}",
            "{} ",
            r#"{"a": 1}"#,
            r#"{"b":1,"a":2}"#,
            r#"{"a":1,"a":2}"#,
            r#"{"a\"":1}"#,
            r#"{"\u0061":1}"#,
            r#"{"$x":1}"#,
            r#"{"__proto__":1}"#,
            r#"{"s":"\/"}"#,
            r#"{"s":"\u00e9"}"#,
            r#"{"s":"\u000A"}"#,
            r#"{"s":"\u000a"}"#,
            r#"{"n":1.0}"#,
            r#"{"n":1E2}"#,
            r#"{"n":-0}"#,
            r#"{"n":1e400}"#,
            r#"{"n":01}"#,
            r#"{"b":{"$bytes":"AQI"}}"#,
            r#"{"b":{"$bytes":"AQJ="}}"#,
            r#"{"b":{"$bytes":"AQ=="} }"#,
            r#"{"i":{"$integer":"AQ=="}}"#,
            r#"{"f":{"$float":"AAAAAAAA+D8="}}"#,
            r#"{"f":{"$float":"AQAAAAAA+H8="}}"#,
            r#"{"$integer":"AQAAAAAAAAA="}"#,
            "[]",
            r#"{"a":[1,]}"#,
            r#"{"a":tru}"#,
        ] {
            assert!(check(json, 63, None).is_none(), "{json}");
        }
    }

    #[test]
    fn depth_is_checked_like_the_parser_does() {
        let nest = |n: usize| format!("{{\"a\":{}{}}}", "[".repeat(n - 1), "]".repeat(n - 1));
        assert!(check(&nest(3), 3, None).is_some());
        assert!(check(&nest(4), 3, None).is_none());
        assert!(check(r#"{"a":[{}]}"#, 2, None).is_none());
        assert!(check(r#"{"a":[{"$bytes":""}]}"#, 2, None).is_some());
    }

    #[test]
    fn the_set_aside_member_is_cut_wherever_it_sorts() {
        for json in [
            r#"{"_e":{"v":1}}"#,
            r#"{"A":3,"_e":2,"z":1}"#,
            r#"{"_e":2,"z":1}"#,
            r#"{"A":3,"_e":[2]}"#,
            r#"{"A":3}"#,
            r#"{"z":3}"#,
            r#"{"A":1,"B":2,"z":3}"#,
            r#"{"_":1,"_e":2,"_ea":3,"_f":{"_e":1}}"#,
            "{}",
        ] {
            assert!(check(json, 63, Some("_e")).is_some(), "{json}");
            assert_eq!(
                verbatim(json, Some("_e")),
                parsed(json, Some("_e")),
                "{json}"
            );
        }
    }

    #[test]
    fn numbers_pass_exactly_when_the_parser_writes_them_back() {
        // Digits, points and exponents from a fixed-seed generator, as in the
        // parser's own test of the numbers it copies.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut passed = 0;
        for _ in 0..50_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let digits = format!("{:019}", state % 10_000_000_000_000_000_000);
            let len = 1 + (state >> 59) as usize % 19;
            let point = (state >> 54) as usize % (len + 1);
            let (int, frac) = digits[19 - len..].split_at(point);
            let int = int.trim_start_matches('0');
            let int = if int.is_empty() { "0" } else { int };
            let sign = if state & 1 == 1 { "-" } else { "" };
            let exp = match (state >> 40) % 6 {
                0 => format!("e{}", (state >> 30) % 30),
                1 => format!("e-{}", (state >> 30) % 30),
                2 => format!("e+{}", (state >> 30) % 400),
                _ => String::new(),
            };
            let text = if frac.is_empty() {
                format!("{sign}{int}{exp}")
            } else {
                format!("{sign}{int}.{frac}{exp}")
            };
            let json = format!("{{\"n\":{text}}}");
            let yes = check(&json, 63, None).is_some();
            let written_back = parsed(&json, None).map(|p| p.0).as_deref() == Some(json.as_str());
            assert_eq!(yes, written_back, "{text}");
            passed += usize::from(yes);
        }
        assert!(passed > 10_000, "{passed}");
    }

    // --- Differential tests: the check against the parser on generated text.

    use proptest::prelude::*;
    use proptest::test_runner::Config;

    /// A JSON-ish value; its text is written by [`Writer`] in one of many
    /// spellings, most of them valid Convex JSON, some not.
    #[derive(Clone, Debug)]
    enum Gen {
        Literal(&'static str),
        Number(&'static str),
        Str(Vec<&'static str>),
        /// A special form: its name and base64 text, as written.
        Special(&'static str, String),
        Arr(Vec<Gen>),
        Obj(Vec<(&'static str, Gen)>),
    }

    const NAMES: &[&str] = &[
        "",
        " ",
        "a",
        "aa",
        "ab",
        "b",
        "z",
        "A",
        "Z",
        "~",
        "_a",
        "_d",
        "_callsign",
        "_callsigm",
        "_callsignz",
        "abcdefg",
        "abcdefgh",
        "abcdefgh0",
        "abcdefghi",
        "abcdefgi",
        "abcdefghijklmnop",
        "abcdefghijklmnopq",
        "abcdefghijklmnoq",
        "$x",
        "$bytes",
        "__proto__",
        "__proto_",
        "q\\\"",
        "k\\u0061",
        "\\n",
        "é",
        "a b",
    ];

    const NUMBERS: &[&str] = &[
        "0",
        "-0",
        "1",
        "-1",
        "0.5",
        "-0.5",
        "1.0",
        "1e2",
        "1E2",
        "1e+21",
        "1e21",
        "1e-7",
        "123456789012345",
        "1234567890123456",
        "12345678901234567",
        "9007199254740993",
        "9007199254740992",
        "0.1",
        "0.30000000000000004",
        "5e-324",
        "0.000001",
        "0.0000001",
        "1e400",
        "-1e-400",
        "100",
        "1.5e-300",
        "-1.5e-300",
        "-0.0",
        "0e0",
        "01",
        "1.",
        "123456789012345680000",
        "1.7976931348623157e+308",
        "299.533",
        "1700007839621",
    ];

    const PIECES: &[&str] = &[
        "a",
        "hello",
        "x y",
        "é",
        "日本",
        "😀",
        "\u{2028}",
        "/",
        "\\/",
        "\\\"",
        "\\\\",
        "\\n",
        "\\t",
        "\\b",
        "\\f",
        "\\r",
        "\\u0000",
        "\\u001f",
        "\\u000b",
        "\\u000B",
        "\\u000a",
        "\\u00e9",
        "\\u0041",
        "\\ud83d\\ude00",
        "\\ud800",
        "\\x",
        "\u{1}",
        "\u{7f}",
        "abcdefghijklmnopqrstuvwxyz0123456789",
    ];

    fn special() -> impl Strategy<Value = Gen> {
        let base64 = prop::collection::vec(any::<u8>(), 0..20).prop_map(|b| BASE64.encode(b));
        prop_oneof![
            4 => base64.clone().prop_map(|t| Gen::Special("$bytes", t)),
            2 => any::<i64>().prop_map(|i| Gen::Special("$integer", BASE64.encode(i.to_le_bytes()))),
            1 => base64.prop_map(|t| Gen::Special("$integer", t)),
            2 => prop::sample::select(vec![
                "AAAAAAAA+H8=", "AAAAAAAA8H8=", "AAAAAAAA8P8=", "AAAAAAAAAIA=", "AQAAAAAA+H8=",
                "AAAAAAAA+D8=", "AAAAAAAAAAA=", "AQI", "AQJ=", "AQ==", "A===", "",
            ])
            .prop_map(|t| Gen::Special("$float", t.to_owned())),
            1 => prop::sample::select(vec!["AQ=", "AQID\\u0041", "AQ==x", "QUJD", "+/+/"])
                .prop_map(|t| Gen::Special("$bytes", t.to_owned())),
        ]
    }

    fn leaf() -> impl Strategy<Value = Gen> {
        prop_oneof![
            1 => prop::sample::select(vec!["true", "false", "null", "tru", "nul"]).prop_map(Gen::Literal),
            3 => prop::sample::select(NUMBERS).prop_map(Gen::Number),
            3 => prop::collection::vec(prop::sample::select(PIECES), 0..4).prop_map(Gen::Str),
            2 => special(),
        ]
    }

    fn tree() -> impl Strategy<Value = Gen> {
        leaf().prop_recursive(5, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Gen::Arr),
                prop::collection::vec((prop::sample::select(NAMES), inner), 0..5)
                    .prop_map(Gen::Obj),
            ]
        })
    }

    /// Writes a value: `sort` sorts members by their text as written (the
    /// canonical order for names without escapes); `spaces` puts whitespace
    /// between tokens.
    fn write(v: &Gen, sort: bool, spaces: bool, out: &mut String) {
        let ws = |out: &mut String| {
            if spaces {
                out.push(' ');
            }
        };
        match v {
            Gen::Literal(t) | Gen::Number(t) => out.push_str(t),
            Gen::Str(pieces) => {
                out.push('"');
                pieces.iter().for_each(|p| out.push_str(p));
                out.push('"');
            }
            Gen::Special(name, text) => {
                out.push_str(&format!("{{\"{name}\":"));
                ws(out);
                out.push_str(&format!("\"{text}\"}}"));
            }
            Gen::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                        ws(out);
                    }
                    write(item, sort, spaces, out);
                }
                out.push(']');
            }
            Gen::Obj(members) => {
                let mut members: Vec<_> = members.iter().collect();
                if sort {
                    members.sort_by_key(|(name, _)| *name);
                }
                out.push('{');
                for (i, (name, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    ws(out);
                    out.push_str(&format!("\"{name}\":"));
                    write(value, sort, spaces, out);
                }
                out.push('}');
            }
        }
    }

    /// Byte-level edits of (mostly canonical) text: what a mutated call looks like.
    fn mutate(text: &str, edits: &[(usize, u8, u8)]) -> String {
        const BYTES: &[u8] = b"\"\\{}[],:0159-+eE.$= A/aZ_\x01\t";
        let mut bytes = text.as_bytes().to_vec();
        for &(at, op, b) in edits {
            if bytes.is_empty() {
                break;
            }
            let at = at % bytes.len();
            let b = BYTES[usize::from(b) % BYTES.len()];
            match op % 4 {
                0 => bytes[at] = b,
                1 => bytes.insert(at, b),
                2 => {
                    bytes.remove(at);
                }
                _ => {
                    // Swap with the next byte: reorders names and digits.
                    if at + 1 < bytes.len() {
                        bytes.swap(at, at + 1);
                    }
                }
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The property: a "yes" from the check is exactly the parser's result;
    /// and text that is its own canonical form gets a "yes".
    fn agree(json: &str, max_depth: usize, field: Option<&str>) -> Result<(), TestCaseError> {
        let parsed = parser::parse(json, max_depth, field);
        if let Some(found) = check(json, max_depth, field) {
            let got = found.into_args(json);
            let Ok(want) = parsed else {
                return Err(TestCaseError::fail(format!(
                    "check said yes, parser no: {json:?}"
                )));
            };
            prop_assert_eq!(&got.text, &want.text, "{:?}", json);
            prop_assert_eq!(&got.field_value, &want.field_value, "{:?}", json);
            prop_assert_eq!(got.insert_at, want.insert_at, "{:?}", json);
        } else if parsed.is_ok() && !has_escaped_name(json) {
            // The check may decline only what is not written canonically
            // (and names with escapes, which it leaves to the parser).
            let whole = parser::parse(json, max_depth, None).map(|c| c.text);
            prop_assert!(
                whole.as_deref() != Ok(json),
                "declined canonical text {:?}",
                json
            );
        }
        Ok(())
    }

    /// Whether a member name in `json` (valid JSON) holds an escape.
    fn has_escaped_name(json: &str) -> bool {
        let b = json.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'"' {
                let start = i;
                i += 1;
                while b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                if b.get(i + 1) == Some(&b':') && json[start..i].contains('\\') {
                    return true;
                }
            }
            i += 1;
        }
        false
    }

    /// Args, most with an envelope-like member `_callsign` somewhere among
    /// names that sort before and after it.
    fn top_level() -> impl Strategy<Value = Gen> {
        let members = prop::collection::vec(
            (
                prop::sample::select(NAMES),
                prop_oneof![3 => tree(), 1 => leaf()],
            ),
            0..7,
        );
        (
            members,
            prop::option::weighted(0.7, (tree(), any::<usize>())),
        )
            .prop_map(|(mut members, envelope)| {
                if let Some((value, at)) = envelope {
                    members.insert(at % (members.len() + 1), ("_callsign", value));
                }
                Gen::Obj(members)
            })
    }

    proptest! {
        #![proptest_config(Config { cases: 4000, ..Config::default() })]

        #[test]
        fn the_check_agrees_with_the_parser(
            value in top_level(),
            sort in any::<bool>(),
            spaces in prop::bool::weighted(0.1),
            edits in prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 0..3),
            depth in prop_oneof![4 => Just(Limits::DEFAULT_MAX_DEPTH), 1 => 1usize..6],
            field in prop::sample::select(vec![
                None, Some("_callsign"), Some("_callsign"), Some("_callsign"), Some("a"), Some("_e"),
            ]),
        ) {
            let mut text = String::new();
            write(&value, sort, spaces, &mut text);
            agree(&text, depth, field)?;
            // Its canonical form (if any), and edits of either.
            if let Ok(canon) = parser::parse(&text, Limits::MAX_DEPTH_CAP, None) {
                agree(&canon.text, depth, field)?;
                agree(&mutate(&canon.text, &edits), depth, field)?;
            }
            agree(&mutate(&text, &edits), depth, field)?;
        }
    }
}
