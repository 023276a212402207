//! The envelope: how key id, timestamp, nonce and signature travel inside the args.

use crate::canonical::write_string;
use crate::error::{quoted, Error, Result};
use crate::key::validate_kid;
use crate::spec::{is_lower_hex, validate_nonce, ENVELOPE_VERSION, MAX_TIMESTAMP_MS};

/// What a signer adds to the args: `{"kid", "nonce", "sig", "ts", "v"}`.
///
/// The audience and function name are not sent: the verifier knows its own,
/// and the signature binds them. [`Envelope::to_json`] writes its wire form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// Key id of the key that signed.
    pub kid: String,
    /// Signing time, milliseconds since the Unix epoch.
    pub ts: u64,
    /// Single-use random value, lowercase hex.
    pub nonce: String,
    /// HMAC-SHA256 of the signing message, 64 lowercase hex digits.
    pub sig: String,
}

impl Envelope {
    /// Writes the envelope as canonical JSON (keys sorted).
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(160);
        self.write_json(&mut out);
        out
    }

    pub(crate) fn write_json(&self, out: &mut String) {
        out.push_str("{\"kid\":");
        write_string(&self.kid, out);
        out.push_str(",\"nonce\":");
        write_string(&self.nonce, out);
        out.push_str(",\"sig\":");
        write_string(&self.sig, out);
        out.push_str(",\"ts\":");
        out.push_str(&self.ts.to_string());
        out.push_str(",\"v\":");
        out.push_str(&ENVELOPE_VERSION.to_string());
        out.push('}');
    }

    /// Reads an envelope from the canonical text of its value (as set aside
    /// by the canonicalizer), strictly: exactly the five fields, each of its
    /// type and form.
    ///
    /// The text is canonical, so the reader can be simple: members are sorted
    /// and every string is written one way. A value that is neither a string
    /// nor a number is an error for every field, so nested values never need
    /// to be skipped.
    pub(crate) fn from_canonical(field: &str, text: &str) -> Result<Envelope> {
        let not_object = || {
            Error::malformed(format!(
                "the {field:?} envelope must be an object with kid, nonce, sig, ts and v"
            ))
        };
        let mut rest = text.strip_prefix('{').ok_or_else(not_object)?;
        // `{"$integer":…}` and friends are values, not objects.
        if rest.starts_with("\"$") {
            return Err(not_object());
        }
        let mut kid = None;
        let mut nonce = None;
        let mut sig = None;
        let mut ts = None;
        let mut version = None;
        while let Some((name, after)) = string_token(rest) {
            let value = after.strip_prefix(':').ok_or_else(not_object)?;
            let after = match name {
                "kid" | "nonce" | "sig" => {
                    let (text, after) = string_token(value).ok_or_else(|| {
                        Error::malformed(format!(
                            "the {field:?} envelope field {name:?} must be a string"
                        ))
                    })?;
                    match name {
                        "kid" => kid = Some(text),
                        "nonce" => nonce = Some(text),
                        _ => sig = Some(text),
                    }
                    after
                }
                "ts" | "v" => {
                    let max = if name == "ts" {
                        MAX_TIMESTAMP_MS
                    } else {
                        u64::from(u32::MAX)
                    };
                    let end = value.find([',', '}']).unwrap_or(value.len());
                    let n = integer(&value[..end], max).ok_or_else(|| {
                        Error::malformed(format!(
                            "the {field:?} envelope field {name:?} must be an integer from 0 to {max}"
                        ))
                    })?;
                    if name == "ts" {
                        ts = Some(n);
                    } else {
                        version = Some(n);
                    }
                    &value[end..]
                }
                other => {
                    return Err(Error::malformed(format!(
                        "the {field:?} envelope has an unknown field {}",
                        quoted(other)
                    )))
                }
            };
            rest = after.strip_prefix(',').unwrap_or(after);
        }
        if rest != "}" {
            return Err(not_object());
        }
        let missing =
            |name: &str| Error::malformed(format!("the {field:?} envelope lacks {name:?}"));
        let version = version.ok_or_else(|| missing("v"))?;
        if version != ENVELOPE_VERSION {
            return Err(Error::malformed(format!(
                "the {field:?} envelope has version {version}; this verifier speaks version {ENVELOPE_VERSION}"
            )));
        }
        let envelope = Envelope {
            kid: kid.ok_or_else(|| missing("kid"))?.to_owned(),
            ts: ts.ok_or_else(|| missing("ts"))?,
            nonce: nonce.ok_or_else(|| missing("nonce"))?.to_owned(),
            sig: sig.ok_or_else(|| missing("sig"))?.to_owned(),
        };
        validate_kid(&envelope.kid)
            .map_err(|e| Error::malformed(format!("envelope kid: {}", e.message())))?;
        validate_nonce(&envelope.nonce)
            .map_err(|e| Error::malformed(format!("envelope nonce: {}", e.message())))?;
        if envelope.sig.len() != 64 || !is_lower_hex(&envelope.sig) {
            return Err(Error::malformed(
                "envelope sig must be 64 lowercase hex digits (HMAC-SHA256)",
            ));
        }
        Ok(envelope)
    }

    /// The signature bytes (validated to be 64 hex digits when parsed).
    pub(crate) fn sig_bytes(&self) -> Result<[u8; 32]> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(&self.sig, &mut out)
            .map_err(|_| Error::malformed("envelope sig must be 64 lowercase hex digits"))?;
        Ok(out)
    }
}

/// Checks an envelope field name: it appears in Convex `args` validators, so
/// it must be a Convex identifier (`[A-Za-z_][A-Za-z0-9_]*`, at most 64
/// characters, not only underscores).
pub(crate) fn validate_envelope_field(name: &str) -> Result<()> {
    let mut bytes = name.bytes();
    let first_ok = matches!(bytes.next(), Some(b'A'..=b'Z' | b'a'..=b'z' | b'_'));
    let rest_ok = bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !first_ok || !rest_ok || name.len() > 64 || name.bytes().all(|b| b == b'_') {
        return Err(Error::malformed(format!(
            "envelope field name {} must be a Convex identifier: [A-Za-z_][A-Za-z0-9_]*, \
             at most 64 characters, not only underscores",
            quoted(name)
        )));
    }
    Ok(())
}

/// Splits a canonical string token off the front of `text`: returns its
/// content as written (escapes left in place) and the rest after the closing
/// quote. Escaped content never passes the envelope's checks (kid, nonce and
/// sig are plain ASCII that canonical form never escapes), so it need not be
/// decoded.
fn string_token(text: &str) -> Option<(&str, &str)> {
    let body = text.strip_prefix('"')?;
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return Some((&body[..i], &body[i + 1..])),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    None
}

/// Reads a canonical number as a whole number from 0 to `max`.
///
/// Canonical text writes every integral double below 1e21 as plain digits,
/// and anything else (fractions, negatives, exponents; `-0`, NaN and the
/// infinities are `$float` objects) with other characters, so plain digits
/// are exactly the whole numbers this can accept.
fn integer(text: &str, max: u64) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u64>().ok().filter(|&n| n <= max)
}
