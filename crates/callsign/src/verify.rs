//! Verification: every policy in one value, `now` passed in explicitly.

use std::fmt;

use hmac::Mac;

use crate::canonical::{canonicalize_args, Limits};
use crate::envelope::{validate_envelope_field, Envelope};
use crate::error::{quoted, Error, ErrorCode, Result};
use crate::key::{KeySet, MacKey};
use crate::replay::{NonceRecord, NonceStore};
use crate::spec::{
    canonical_function_name, mac_message, validate_audience, DEFAULT_ENVELOPE_FIELD,
};

/// How far a call's timestamp may lie from the verifier's clock.
///
/// A call signed at `ts` is accepted while
/// `ts - max_future_ms <= now <= ts + max_age_ms` (both ends inclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// How old a call may be, in milliseconds. Default 60 000.
    pub max_age_ms: u64,
    /// How far in the future a call may be stamped (signer clock ahead), in
    /// milliseconds. Default 60 000.
    pub max_future_ms: u64,
}

impl Window {
    /// Default maximum age: 60 s.
    pub const DEFAULT_MAX_AGE_MS: u64 = 60_000;
    /// Default maximum future skew: 60 s.
    pub const DEFAULT_MAX_FUTURE_MS: u64 = 60_000;
}

impl Default for Window {
    fn default() -> Self {
        Window {
            max_age_ms: Self::DEFAULT_MAX_AGE_MS,
            max_future_ms: Self::DEFAULT_MAX_FUTURE_MS,
        }
    }
}

/// What a successful verification proves.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verified {
    /// Id of the key that signed.
    pub kid: String,
    /// The canonical function name the call was signed for.
    pub function: String,
    /// Signing time, milliseconds since the Unix epoch.
    pub ts: u64,
    /// The call's nonce.
    pub nonce: String,
    /// Until when (ms since the epoch) the (kid, nonce) pair must be
    /// remembered to reject replays: `ts + max_age_ms`. After that the call
    /// is expired anyway.
    pub remember_until: u64,
    /// The verified args without the envelope, in canonical form.
    pub canonical_args: String,
}

impl Verified {
    /// What a replay store records of this call (SPEC.md §8).
    pub fn nonce_record(&self) -> NonceRecord<'_> {
        NonceRecord {
            kid: &self.kid,
            nonce: &self.nonce,
            ts: self.ts,
            remember_until: self.remember_until,
        }
    }
}

/// Verifies signed calls for one audience.
///
/// Holds the key set, the audience, the time [`Window`], the [`Limits`] and
/// the envelope field name; [`Verifier::verify`] takes the current time.
///
/// ```
/// use callsign::{Key, KeySet, Nonce, Signer, Verifier, ErrorCode};
///
/// let aud = "https://happy-otter-123.convex.cloud";
/// let key = Key::parse("csk1_prod_000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")?;
/// let signed = Signer::new(&key, aud)?
///     .sign_at("messages:send", r#"{"body":"hi"}"#, 1_700_000_000_000, &Nonce::parse("00112233445566778899aabbccddeeff")?)?
///     .signed_args;
///
/// let verifier = Verifier::new(&KeySet::from(key), aud)?;
/// let ok = verifier.verify("messages:send", &signed, 1_700_000_000_500)?;
/// assert_eq!(ok.kid, "prod");
/// let err = verifier.verify("messages:remove", &signed, 1_700_000_000_500).unwrap_err();
/// assert_eq!(err.code(), ErrorCode::BadSignature);
/// # Ok::<(), callsign::Error>(())
/// ```
#[derive(Clone)]
pub struct Verifier {
    audience: String,
    /// One MAC per key id, in the key set's order. A key set holds a few keys
    /// (rotation keeps two or three side by side): a linear search is as fast
    /// as a hash map here, and the wasm module is smaller without one.
    macs: Vec<(String, MacKey)>,
    window: Window,
    limits: Limits,
    envelope_field: String,
}

impl Verifier {
    /// A verifier for `audience` accepting the keys in `keys`.
    ///
    /// Fails with `invalid_key` when a derived key in the set is bound to a
    /// different audience (a misconfiguration better caught at start-up).
    pub fn new(keys: &KeySet, audience: &str) -> Result<Verifier> {
        validate_audience(audience)?;
        Ok(Verifier {
            audience: audience.to_owned(),
            macs: keys.macs_for(audience)?,
            window: Window::default(),
            limits: Limits::default(),
            envelope_field: DEFAULT_ENVELOPE_FIELD.to_owned(),
        })
    }

    /// Uses `window` instead of the default ±60 s.
    pub fn with_window(mut self, window: Window) -> Verifier {
        self.window = window;
        self
    }

    /// Applies `limits` to incoming signed args.
    pub fn with_limits(mut self, limits: Limits) -> Verifier {
        self.limits = limits;
        self
    }

    /// Reads the envelope from `name` instead of `_callsign`.
    pub fn with_envelope_field(mut self, name: &str) -> Result<Verifier> {
        validate_envelope_field(name)?;
        self.envelope_field = name.to_owned();
        Ok(self)
    }

    /// The audience this verifier accepts calls for.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The time window.
    pub fn window(&self) -> Window {
        self.window
    }

    /// The size and depth limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The envelope field name.
    pub fn envelope_field(&self) -> &str {
        &self.envelope_field
    }

    /// The key ids this verifier holds, in the key set's order: for the
    /// operator's log when a call is `unknown_key` (the error does not list
    /// them, since it may reach the caller).
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.macs.iter().map(|(kid, _)| kid.as_str())
    }

    /// Verifies `signed_args` (Convex JSON: args plus the envelope field) as a
    /// call to `function` at time `now_ms`.
    ///
    /// Checks, in order: size, form, key id, signature, time window. Does not
    /// check replays; see [`Verifier::verify_once`].
    pub fn verify(&self, function: &str, signed_args: &str, now_ms: u64) -> Result<Verified> {
        let args = canonicalize_args(signed_args, &self.limits, Some(&self.envelope_field))?;
        let envelope_text = args.field_value.ok_or_else(|| {
            Error::malformed(format!(
                "the args lack the {:?} envelope field: was the call signed?",
                self.envelope_field
            ))
        })?;
        let envelope = Envelope::from_canonical(&self.envelope_field, &envelope_text)?;
        let function = canonical_function_name(function)?;

        // The message names the call's kid, not the ones held: callers need
        // not learn the setup (SPEC.md §9). `Verifier::kids` tells the operator.
        let mac_key = self.mac_for(&envelope.kid).ok_or_else(|| {
            Error::new(
                ErrorCode::UnknownKey,
                format!(
                    "no key with id {:?} in this verifier's key set",
                    envelope.kid
                ),
            )
        })?;

        let canonical_args = args.text;
        let mut mac = mac_key.keyed();
        mac_message(
            &mut mac,
            &envelope.kid,
            &self.audience,
            &function,
            envelope.ts,
            &envelope.nonce,
            &canonical_args,
        );
        // `verify_slice` compares in constant time.
        mac.verify_slice(&envelope.sig_bytes()?).map_err(|_| {
            Error::new(
                ErrorCode::BadSignature,
                format!(
                    "signature does not match key {:?} for function {} on audience {}: \
                     check that the signer used this function and audience, and that the args were not changed",
                    envelope.kid,
                    quoted(&function),
                    quoted(&self.audience)
                ),
            )
        })?;

        check_window(self.window, envelope.ts, now_ms)?;
        Ok(Verified {
            remember_until: envelope.ts.saturating_add(self.window.max_age_ms),
            kid: envelope.kid,
            function,
            ts: envelope.ts,
            nonce: envelope.nonce,
            canonical_args,
        })
    }

    /// Verifies like [`Verifier::verify`], then records the (kid, nonce) pair
    /// in `store`, failing with `replayed` if it was already there.
    pub fn verify_once(
        &self,
        store: &dyn NonceStore,
        function: &str,
        signed_args: &str,
        now_ms: u64,
    ) -> Result<Verified> {
        let verified = self.verify(function, signed_args, now_ms)?;
        store.remember(&verified.nonce_record(), now_ms)?;
        Ok(verified)
    }

    fn mac_for(&self, kid: &str) -> Option<&MacKey> {
        self.macs
            .iter()
            .find_map(|(k, mac)| (k == kid).then_some(mac))
    }
}

/// SPEC.md §7 step 6: `ts − max_future ≤ now ≤ ts + max_age`, or `expired` /
/// `not_yet_valid` saying by how much (shared by calls and HTTP requests).
pub(crate) fn check_window(window: Window, ts: u64, now: u64) -> Result<()> {
    if now > ts.saturating_add(window.max_age_ms) {
        let late = now - ts - window.max_age_ms;
        return Err(Error::new(
            ErrorCode::Expired,
            format!(
                "signed at {} ({ts}), {late} ms past the {} ms maximum age (now {}, {now})",
                describe_ms(ts),
                window.max_age_ms,
                describe_ms(now)
            ),
        ));
    }
    if now < ts.saturating_sub(window.max_future_ms) {
        let early = ts - window.max_future_ms - now;
        return Err(Error::new(
            ErrorCode::NotYetValid,
            format!(
                "signed for {} ({ts}), {early} ms beyond the {} ms allowed clock skew (now {}, {now}): \
                 is the signer's clock ahead?",
                describe_ms(ts),
                window.max_future_ms,
                describe_ms(now)
            ),
        ));
    }
    Ok(())
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kids: Vec<&str> = self.kids().collect();
        f.debug_struct("Verifier")
            .field("audience", &self.audience)
            .field("kids", &kids)
            .field("window", &self.window)
            .field("limits", &self.limits)
            .field("envelope_field", &self.envelope_field)
            .finish()
    }
}

/// Formats a millisecond timestamp as RFC 3339 for error messages.
fn describe_ms(ms: u64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{ms} ms"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Key, Nonce, Signer};

    const AUD: &str = "https://happy-otter-123.convex.cloud";

    fn key(kid: &str, byte: u8) -> Key {
        Key::from_secret(kid, &[byte; 32]).unwrap()
    }

    #[test]
    fn picks_the_key_named_by_the_call_and_never_tells_the_caller_which_it_holds() {
        let keys = KeySet::new(vec![key("new", 1), key("old", 2), key("older", 3)]).unwrap();
        let verifier = Verifier::new(&keys, AUD).unwrap();
        let nonce = Nonce::parse("00112233445566778899aabbccddeeff").unwrap();
        for (kid, byte) in [("new", 1), ("old", 2), ("older", 3)] {
            let call = Signer::new(&key(kid, byte), AUD)
                .unwrap()
                .sign_at("m:f", "{}", 1_000, &nonce)
                .unwrap();
            assert_eq!(
                verifier
                    .verify("m:f", &call.signed_args, 1_000)
                    .unwrap()
                    .kid,
                kid
            );
            // Same kid, another secret: the key is chosen by kid, never tried in turn.
            let forged = Signer::new(&key(kid, 9), AUD)
                .unwrap()
                .sign_at("m:f", "{}", 1_000, &nonce)
                .unwrap();
            let err = verifier
                .verify("m:f", &forged.signed_args, 1_000)
                .unwrap_err();
            assert_eq!(err.code(), ErrorCode::BadSignature);
        }
        let stranger = Signer::new(&key("stranger", 1), AUD)
            .unwrap()
            .sign_at("m:f", "{}", 1_000, &nonce)
            .unwrap();
        let err = verifier
            .verify("m:f", &stranger.signed_args, 1_000)
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::UnknownKey);
        assert_eq!(
            err.message(),
            "no key with id \"stranger\" in this verifier's key set"
        );
        assert_eq!(verifier.kids().collect::<Vec<_>>(), ["new", "old", "older"]);
    }

    #[test]
    fn describes_timestamps() {
        assert_eq!(describe_ms(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }
}
