//! The envelope: how key id, timestamp, nonce and signature travel inside the args.

use serde::Serialize;

use crate::canonical::{write_string, Value};
use crate::error::{Error, Result};
use crate::key::validate_kid;
use crate::message::{validate_nonce, MAX_TIMESTAMP_MS};

/// Default name of the reserved args field that carries the [`Envelope`].
pub const DEFAULT_ENVELOPE_FIELD: &str = "_callsign";

/// Envelope format version carried in its `v` field.
pub const ENVELOPE_VERSION: u64 = 1;

/// What a signer adds to the args: `{"kid", "nonce", "sig", "ts", "v"}`.
///
/// The audience and function name are not sent: the verifier knows its own,
/// and the signature binds them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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

    /// Reads an envelope from its parsed value, strictly: exactly the five
    /// fields, each of its type and form.
    pub(crate) fn from_value(field: &str, value: Value) -> Result<Envelope> {
        let Value::Object(members) = value else {
            return Err(Error::malformed(format!(
                "the {field:?} envelope must be an object with kid, nonce, sig, ts and v"
            )));
        };
        let mut kid = None;
        let mut nonce = None;
        let mut sig = None;
        let mut ts = None;
        let mut version = None;
        for (name, value) in members {
            match name.as_str() {
                "kid" => kid = Some(string_field(field, "kid", value)?),
                "nonce" => nonce = Some(string_field(field, "nonce", value)?),
                "sig" => sig = Some(string_field(field, "sig", value)?),
                "ts" => ts = Some(integer_field(field, "ts", value, MAX_TIMESTAMP_MS)?),
                "v" => version = Some(integer_field(field, "v", value, u64::from(u32::MAX))?),
                other => {
                    return Err(Error::malformed(format!(
                        "the {field:?} envelope has an unknown field {other:?}"
                    )))
                }
            }
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
            kid: kid.ok_or_else(|| missing("kid"))?,
            ts: ts.ok_or_else(|| missing("ts"))?,
            nonce: nonce.ok_or_else(|| missing("nonce"))?,
            sig: sig.ok_or_else(|| missing("sig"))?,
        };
        validate_kid(&envelope.kid)
            .map_err(|e| Error::malformed(format!("envelope kid: {}", e.message())))?;
        validate_nonce(&envelope.nonce)
            .map_err(|e| Error::malformed(format!("envelope nonce: {}", e.message())))?;
        if envelope.sig.len() != 64
            || !envelope
                .sig
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
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
            "envelope field name {name:?} must be a Convex identifier: [A-Za-z_][A-Za-z0-9_]*, \
             at most 64 characters, not only underscores"
        )));
    }
    Ok(())
}

fn string_field(field: &str, name: &str, value: Value) -> Result<String> {
    match value {
        Value::String(s) => Ok(s),
        _ => Err(Error::malformed(format!(
            "the {field:?} envelope field {name:?} must be a string"
        ))),
    }
}

fn integer_field(field: &str, name: &str, value: Value, max: u64) -> Result<u64> {
    match value {
        // `-0.0` is excluded: Convex would deliver it as a `$float`.
        Value::Number(f)
            if f.fract() == 0.0 && f >= 0.0 && !f.is_sign_negative() && f <= max as f64 =>
        {
            Ok(f as u64)
        }
        _ => Err(Error::malformed(format!(
            "the {field:?} envelope field {name:?} must be an integer from 0 to {max}"
        ))),
    }
}
