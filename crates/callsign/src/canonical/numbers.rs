//! Numbers: reading a JSON number, and writing the double it denotes as
//! ECMAScript's `Number::toString` does (JCS), or as a `$float` when Convex
//! JSON has no plain form for it (`-0`, NaN, the infinities).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use super::parser::Canonicalizer;
use super::scan::digits;
use crate::error::{Error, Result};

/// The bit pattern every NaN is written with: the quiet NaN JavaScript engines use.
const CANONICAL_NAN_BITS: u64 = 0x7ff8_0000_0000_0000;

impl Canonicalizer<'_, '_> {
    /// Parses a JSON number and writes the double it denotes (or leaves it
    /// pending when that is its own text).
    pub(super) fn number(&mut self) -> Result<()> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        let int_start = self.pos;
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.skip_digits(),
            _ => return Err(self.error("invalid number: expected a digit")),
        }
        let int_end = self.pos;
        let mut frac_start = self.pos;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            frac_start = self.pos;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.error("invalid number: expected a digit after '.'"));
            }
            self.skip_digits();
        }
        let frac = &self.src[frac_start..self.pos];
        let exponent = matches!(self.peek(), Some(b'e' | b'E'));
        if exponent {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.error("invalid number: expected a digit in the exponent"));
            }
            self.skip_digits();
        }
        if !exponent && is_canonical_plain(negative, &self.src[int_start..int_end], frac) {
            // Output as it came.
            return Ok(());
        }
        let text = &self.text[start..self.pos];
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
        self.flush_to(start);
        write_number(value, &mut self.out);
        self.pending = self.pos;
        Ok(())
    }

    fn skip_digits(&mut self) {
        self.pos = digits(self.src, self.pos);
    }
}

/// True when a number written `[-]int[.frac]` (valid JSON without an
/// exponent; `frac` empty when there is no point) is already how ECMAScript
/// prints the double it denotes, so it can be copied instead of being parsed
/// and printed.
///
/// That is text with at most 15 significant digits, no trailing zero after
/// the point, at least 1e-6 in magnitude, and not `-0`: two different
/// decimals of at most 15 significant digits are always different doubles
/// (15 is f64's `DIGITS`), so the shortest digits that round-trip are the
/// text's own, and ECMAScript writes numbers from 1e-6 to 1e21 in this fixed
/// notation.
pub(super) fn is_canonical_plain(negative: bool, int: &[u8], frac: &[u8]) -> bool {
    let zero = int == b"0";
    match frac.last() {
        None => int.len() <= 15 && !(negative && zero),
        Some(b'0') => false,
        Some(_) if zero => {
            let zeros = frac.iter().take_while(|&&d| d == b'0').count();
            zeros <= 5 && frac.len() - zeros <= 15
        }
        Some(_) => int.len() + frac.len() <= 15,
    }
}

/// True for the doubles that Convex JSON cannot write as plain numbers.
pub(super) fn is_special_float(f: f64) -> bool {
    !f.is_finite() || (f == 0.0 && f.is_sign_negative())
}

pub(super) fn write_number(f: f64, out: &mut String) {
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
pub(super) fn write_special_text(key: &str, base64: &str, out: &mut String) {
    out.push_str("{\"");
    out.push_str(key);
    out.push_str("\":\"");
    out.push_str(base64);
    out.push_str("\"}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::{canonicalize, Limits};

    fn canon(s: &str) -> Result<String> {
        canonicalize(s, &Limits::default())
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

    /// [`is_canonical_plain`] on a number's text (without an exponent).
    fn is_canonical_number(text: &str) -> bool {
        if text.contains(['e', 'E']) {
            return false;
        }
        let unsigned = text.strip_prefix('-').unwrap_or(text);
        let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        is_canonical_plain(unsigned.len() < text.len(), int.as_bytes(), frac.as_bytes())
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
