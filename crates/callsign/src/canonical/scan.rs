//! Word-at-a-time scanning shared by the parser and the verbatim check:
//! eight input bytes are classified at once with integer arithmetic (SWAR),
//! which every target has (wasm32 too), without `unsafe` or SIMD intrinsics.
//!
//! A classifier returns a mask with the top bit of flagged bytes set. Some
//! flag more than they must, but only bytes above a flagged one (a borrow or
//! carry only runs upward), so the lowest flag, which [`first`] finds, is
//! always exact; the tests check every byte value in every lane.

pub(super) const ONES: u64 = 0x0101_0101_0101_0101;
pub(super) const TOPS: u64 = 0x8080_8080_8080_8080;

/// The top bit of every byte of `word` below `n` (`n` at most 0x80), and
/// perhaps of bytes above such a byte: a borrow only runs upward, so the
/// lowest flagged byte is exact.
pub(super) fn below(word: u64, n: u8) -> u64 {
    word.wrapping_sub(ONES * u64::from(n)) & !word & TOPS
}

/// Flags (lowest flag exact, as in [`below`]) the bytes of `word` equal to `b`.
pub(super) fn equal(word: u64, b: u8) -> u64 {
    below(word ^ (ONES * u64::from(b)), 1)
}

/// Flags the bytes of `word` that end a run of plain string text: `"`, `\`
/// and the controls below 0x20.
pub(super) fn string_stops(word: u64) -> u64 {
    equal(word, b'"') | equal(word, b'\\') | below(word, 0x20)
}

/// Flags the bytes of `word` that end a run of field-name text written without
/// escapes: [`string_stops`], and every byte above 0x7E.
pub(super) fn name_stops(word: u64) -> u64 {
    // A byte of 0x7F or more has its top bit set in `word` or in `word + 1`;
    // a carry out of a lower 0xFF can only flag bytes above a flagged one.
    string_stops(word) | ((word | word.wrapping_add(ONES)) & TOPS)
}

/// The index of the lowest flagged byte of a nonzero mask.
pub(super) fn first(mask: u64) -> usize {
    (mask.trailing_zeros() / 8) as usize
}

/// The eight bytes at `pos` as a little-endian word, if there are eight.
#[inline(always)]
pub(super) fn word_at(s: &[u8], pos: usize) -> Option<u64> {
    let chunk = s.get(pos..pos.wrapping_add(8))?;
    Some(u64::from_le_bytes(*chunk.first_chunk::<8>()?))
}

/// A member name whose text starts at `start` (after its quote), if it is a
/// Convex field name shorter than sixteen bytes written without escapes, not
/// too near the end of the input: returns the offset of its closing quote and
/// its first eight bytes as the parser's `key_prefix` computes them
/// (big-endian, zero-padded). `(0, 0)` for anything else (longer names,
/// escapes, `$` names, `__proto__`, bytes outside 0x20–0x7E), which the
/// callers take the long way.
///
/// Returned as a pair, 0 for "no": a plain pair stays in registers.
#[inline(always)]
pub(super) fn plain_name(s: &[u8], start: usize) -> (usize, u64) {
    // Most names are shorter than sixteen bytes: one or two words hold the
    // name and its quote.
    let Some(word) = word_at(s, start) else {
        return (0, 0);
    };
    let stops = name_stops(word);
    if stops != 0 {
        // The bit offset of the first byte that is not name text.
        let shift = stops.trailing_zeros() & !7;
        if (word >> shift) as u8 != b'"' || word as u8 == b'$' {
            return (0, 0);
        }
        // The name's bytes, the first one highest.
        let prefix = (word & ((1u64 << shift) - 1)).swap_bytes();
        return (start + (shift / 8) as usize, prefix);
    }
    let Some(second) = word_at(s, start + 8) else {
        return (0, 0);
    };
    let stops = name_stops(second);
    if stops == 0 {
        return (0, 0);
    }
    let shift = stops.trailing_zeros() & !7;
    if (second >> shift) as u8 != b'"'
        || word as u8 == b'$'
        || (shift == 8 && word == u64::from_le_bytes(*b"__proto_") && second as u8 == b'_')
    {
        return (0, 0);
    }
    (start + 8 + (shift / 8) as usize, word.swap_bytes())
}

/// Flags the bytes of `word` that are not ASCII digits.
pub(super) fn digit_stops(word: u64) -> u64 {
    // Digits become 0 to 9, everything else 10 or more.
    let x = word ^ (ONES * 0x30);
    // Top bit set for 10 or more (x + 0x76 reaches 0x80) or when x has it
    // already; a carry out of a byte only flags bytes above a flagged one.
    (x.wrapping_add(ONES * 0x76) | x) & TOPS
}

/// The offset of the first byte from `pos` on that is not an ASCII digit.
pub(super) fn digits(s: &[u8], mut pos: usize) -> usize {
    while let Some(word) = word_at(s, pos) {
        let stops = digit_stops(word);
        if stops != 0 {
            return pos + first(stops);
        }
        pos += 8;
    }
    while let Some(b'0'..=b'9') = s.get(pos) {
        pos += 1;
    }
    pos
}

/// Flags, exactly, the bytes of `word` outside the base64 alphabet
/// (`A–Z a–z 0–9 + /`).
pub(super) fn base64_stops(word: u64) -> u64 {
    // Every byte's top bit set over its low seven bits: subtracting n (at
    // most 0x80) from a byte then never borrows from the next one, and leaves
    // the top bit set exactly when the low seven bits are at least n.
    let y = word | TOPS;
    let at_least = |n: u8| y.wrapping_sub(ONES * u64::from(n));
    let within = |lo: u8, hi: u8| at_least(lo) & !at_least(hi + 1);
    let alphabet =
        within(b'A', b'Z') | within(b'a', b'z') | within(b'/', b'9') | within(b'+', b'+');
    // Bytes of 0x80 and more are never in the alphabet.
    (!alphabet | word) & TOPS
}

/// The value of a base64 character (one of the alphabet).
fn base64_value(c: u8) -> u8 {
    match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    }
}

/// The length of the canonical padded base64 text at the start of `s` (up
/// to its first character outside the alphabet and padding), if it is
/// canonical: a multiple of 4 long, padded only as needed, unused bits zero.
pub(super) fn canonical_base64(s: &[u8]) -> Option<usize> {
    let mut body = 0;
    while let Some(word) = word_at(s, body) {
        let stops = base64_stops(word);
        if stops != 0 {
            body += first(stops);
            break;
        }
        body += 8;
    }
    while let Some(&c) = s.get(body) {
        if base64_stops(u64::from(c)) & 0x80 != 0 {
            break;
        }
        body += 1;
    }
    let pad = match &s[body..] {
        [b'=', b'=', ..] => 2,
        [b'=', ..] => 1,
        _ => 0,
    };
    let len = body + pad;
    if len % 4 != 0 {
        return None;
    }
    let unused = match pad {
        1 => 0b11,
        2 => 0b1111,
        _ => return Some(len),
    };
    // `len` is a multiple of 4 and `pad` at most 2, so `body` is at least 2.
    (base64_value(s[body - 1]) & unused == 0).then_some(len)
}

/// A `$integer`, `$float` or `$bytes` object at `pos` (its `{`), if it is
/// written exactly as the parser writes it (no whitespace or escapes,
/// canonical base64, one of the four `$float` texts): returns the offset
/// after it.
pub(super) fn canonical_special(s: &[u8], pos: usize) -> Option<usize> {
    // `{"$` and then the name, `":"` and the base64 text: each of the names
    // with the `":"` or `"` after it fills one word.
    const BYTES: u64 = u64::from_le_bytes(*b"bytes\":\"");
    const INTEGER: u64 = u64::from_le_bytes(*b"integer\"");
    const FLOAT: u64 = u64::from_le_bytes(*b"float\":\"");
    if s.get(pos..pos + 3)? != b"{\"$" {
        return None;
    }
    let word = word_at(s, pos + 3)?;
    let end = if word == BYTES {
        let text = pos + 11;
        text + canonical_base64(&s[text..])?
    } else if word == INTEGER {
        // Exactly 8 bytes: 12 characters, the last one padding.
        let text = pos + 13;
        if s.get(pos + 11..text)? != b":\"" || canonical_base64(&s[text..])? != 12 {
            return None;
        }
        if s[text + 10] == b'=' || s[text + 11] != b'=' {
            return None;
        }
        text + 12
    } else if word == FLOAT {
        // One of the four canonical texts: NaN (the one NaN written),
        // +Infinity, −Infinity, −0: `AAAAAAAA` and one of four endings.
        let text = pos + 11;
        if word_at(s, text)? != u64::from_le_bytes(*b"AAAAAAAA") {
            return None;
        }
        let tail = u32::from_le_bytes(*s.get(text + 8..text + 12)?.first_chunk::<4>()?);
        let endings = [b"+H8=", b"8H8=", b"8P8=", b"AIA="].map(|e| u32::from_le_bytes(*e));
        if !endings.contains(&tail) {
            return None;
        }
        text + 12
    } else {
        return None;
    };
    (s.get(end..end + 2)? == b"\"}").then_some(end + 2)
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::STANDARD as BASE64;
    use base64::Engine as _;

    use super::*;

    #[test]
    fn word_checks_find_the_first_byte_the_byte_checks_find() {
        // Every byte value in every lane, next to fillers on either side of
        // the classes' boundaries; each word check must flag the first byte
        // that its byte check flags (bytes above it may be flagged too).
        type Check = (fn(u64) -> u64, fn(u8) -> bool);
        let checks: [Check; 4] = [
            (string_stops, |b| b == b'"' || b == b'\\' || b < 0x20),
            (name_stops, |b| {
                b == b'"' || b == b'\\' || !(0x20..=0x7e).contains(&b)
            }),
            (base64_stops, |b| {
                !(b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
            }),
            (digit_stops, |b| !b.is_ascii_digit()),
        ];
        let fillers = [
            0x00u8, 0x1f, 0x20, 0x21, 0x23, 0x2a, 0x2b, 0x2c, 0x2e, 0x2f, 0x30, 0x39, 0x3a, 0x40,
            0x41, 0x5a, 0x5b, 0x5c, 0x5d, 0x60, 0x61, 0x7a, 0x7b, 0x7e, 0x7f, 0x80, 0xff, b'a',
        ];
        for (word_check, byte_check) in checks {
            for &filler in &fillers {
                for lane in 0..8 {
                    for b in 0..=255u8 {
                        let mut bytes = [filler; 8];
                        bytes[lane] = b;
                        let flags = word_check(u64::from_le_bytes(bytes));
                        let want = bytes.iter().position(|&b| byte_check(b));
                        let got = (flags != 0).then(|| first(flags));
                        assert_eq!(got, want, "{bytes:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn base64_passes_exactly_when_the_decoder_takes_it() {
        // As in the parser's test: non-canonical text differs only in the last
        // quantum, so try every last quantum after a fixed prefix, and a few lengths.
        const ALPHABET: &[u8] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\"";
        for prefix in [&b""[..], b"QUJD"] {
            for a in [b'A', b'z', b'/', b'=', b'"'] {
                for &b in ALPHABET {
                    for &c in ALPHABET {
                        for &d in ALPHABET {
                            let mut text = prefix.to_vec();
                            text.extend([a, b, c, d]);
                            let end = text.iter().position(|&c| c == b'"').unwrap_or(text.len());
                            let whole = canonical_base64(&text[..end]) == Some(end);
                            assert_eq!(whole, BASE64.decode(&text[..end]).is_ok(), "{text:?}");
                        }
                    }
                }
            }
        }
    }
}
