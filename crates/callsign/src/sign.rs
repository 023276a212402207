//! Signing: a key and an audience turn a function name and args into signed args.

use std::fmt;
use std::sync::Arc;

use hmac::Mac;

use crate::canonical::{canonicalize_args, write_string, Limits};
use crate::envelope::{validate_envelope_field, Envelope};
use crate::error::{Error, ErrorCode, Result};
use crate::key::{Key, MacKey};
use crate::nonce::Nonce;
use crate::spec::{
    canonical_function_name, mac_message, validate_audience, DEFAULT_ENVELOPE_FIELD,
    MAX_TIMESTAMP_MS,
};

/// A source of the current time in milliseconds since the Unix epoch.
///
/// Any `Fn() -> u64` closure is a clock.
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
}

impl<F: Fn() -> u64 + Send + Sync> Clock for F {
    fn now_ms(&self) -> u64 {
        self()
    }
}

/// A source of fresh nonces.
///
/// Any `Fn() -> Result<Nonce>` closure is a nonce source.
pub trait NonceSource: Send + Sync {
    /// A new nonce, never returned before.
    fn next_nonce(&self) -> Result<Nonce>;
}

impl<F: Fn() -> Result<Nonce> + Send + Sync> NonceSource for F {
    fn next_nonce(&self) -> Result<Nonce> {
        self()
    }
}

/// The system clock (not available on `wasm32`, which has none).
#[cfg(not(target_arch = "wasm32"))]
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

#[cfg(not(target_arch = "wasm32"))]
impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0)
    }
}

/// Nonces from the operating system's CSPRNG (not available on `wasm32`).
#[cfg(not(target_arch = "wasm32"))]
#[derive(Clone, Copy, Debug, Default)]
pub struct OsNonces;

#[cfg(not(target_arch = "wasm32"))]
impl NonceSource for OsNonces {
    fn next_nonce(&self) -> Result<Nonce> {
        Nonce::generate()
    }
}

/// The result of signing: the args to send, and what went into them.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignedCall {
    /// The args with the envelope field added, as canonical Convex JSON: send
    /// this as the function's args.
    pub signed_args: String,
    /// The envelope that was added.
    pub envelope: Envelope,
    /// The canonical function name that was signed.
    pub function: String,
    /// The canonical args (without envelope) that were signed.
    pub canonical_args: String,
}

/// Signs calls for one audience with one key.
///
/// ```
/// use callsign::{Key, Nonce, Signer};
///
/// let key = Key::parse("csk1_prod_000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")?;
/// let signer = Signer::new(&key, "https://happy-otter-123.convex.cloud")?;
/// // On native targets `signer.sign(..)` reads the clock and draws a nonce;
/// // `sign_at` takes both explicitly.
/// let nonce = Nonce::parse("00112233445566778899aabbccddeeff")?;
/// let call = signer.sign_at("messages:send", r#"{"body":"hi"}"#, 1_700_000_000_000, &nonce)?;
/// assert!(call.signed_args.starts_with(r#"{"_callsign":{"kid":"prod","#));
/// # Ok::<(), callsign::Error>(())
/// ```
#[derive(Clone)]
pub struct Signer {
    kid: String,
    audience: String,
    mac: MacKey,
    envelope_field: String,
    limits: Limits,
    clock: Option<Arc<dyn Clock>>,
    nonces: Option<Arc<dyn NonceSource>>,
}

impl Signer {
    /// A signer with `key` for `audience` (e.g. the Convex deployment URL).
    ///
    /// A root key is derived for the audience; a derived key must be bound to
    /// exactly this audience. On native targets the clock is the system clock
    /// and nonces come from the OS; on `wasm32` inject both, or use
    /// [`Signer::sign_at`].
    pub fn new(key: &Key, audience: &str) -> Result<Signer> {
        validate_audience(audience)?;
        Ok(Signer {
            kid: key.kid().to_owned(),
            audience: audience.to_owned(),
            mac: key.mac_for(audience)?,
            envelope_field: DEFAULT_ENVELOPE_FIELD.to_owned(),
            limits: Limits::default(),
            clock: default_clock(),
            nonces: default_nonces(),
        })
    }

    /// Uses `name` instead of `_callsign` for the envelope field.
    pub fn with_envelope_field(mut self, name: &str) -> Result<Signer> {
        validate_envelope_field(name)?;
        self.envelope_field = name.to_owned();
        Ok(self)
    }

    /// Applies `limits` to the args being signed.
    pub fn with_limits(mut self, limits: Limits) -> Signer {
        self.limits = limits;
        self
    }

    /// Reads the time from `clock`.
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Signer {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Draws nonces from `nonces`.
    pub fn with_nonce_source(mut self, nonces: impl NonceSource + 'static) -> Signer {
        self.nonces = Some(Arc::new(nonces));
        self
    }

    /// The audience this signer signs for.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The key id this signer signs with.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The args field the envelope goes in (`_callsign` unless set with
    /// [`Signer::with_envelope_field`]).
    pub fn envelope_field(&self) -> &str {
        &self.envelope_field
    }

    /// The limits applied to the args being signed and to the signed args.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Signs a call to `function` with `args` (Convex JSON, an object), now,
    /// with a fresh nonce.
    pub fn sign(&self, function: &str, args: &str) -> Result<SignedCall> {
        let clock = self.clock.as_ref().ok_or_else(|| {
            Error::new(
                ErrorCode::Unsupported,
                "this target has no clock: set one with Signer::with_clock or use sign_at",
            )
        })?;
        let nonces = self.nonces.as_ref().ok_or_else(|| {
            Error::new(
                ErrorCode::Unsupported,
                "this target has no randomness: set a nonce source with Signer::with_nonce_source or use sign_at",
            )
        })?;
        let nonce = nonces.next_nonce()?;
        self.sign_at(function, args, clock.now_ms(), &nonce)
    }

    /// Signs a call with an explicit timestamp and nonce (deterministic; use a
    /// fresh nonce for every call).
    pub fn sign_at(
        &self,
        function: &str,
        args: &str,
        ts_ms: u64,
        nonce: &Nonce,
    ) -> Result<SignedCall> {
        if ts_ms > MAX_TIMESTAMP_MS {
            return Err(Error::malformed(format!(
                "timestamp {ts_ms} is above 2^53 - 1 and would not survive Convex's JSON numbers"
            )));
        }
        // A verifier with the same limits checks the signed args, envelope
        // included; refuse here what it would refuse there. The envelope is
        // an object inside the args, so signed args are at least 2 deep.
        if self.limits.max_depth < 2 {
            return Err(Error::malformed(format!(
                "the signed args nest 2 levels deep (the envelope is an object inside the args), \
                 over the limit of {} levels",
                self.limits.max_depth
            )));
        }
        let function = canonical_function_name(function)?;
        let args = canonicalize_args(args, &self.limits, Some(&self.envelope_field))?;
        if args.field_value.is_some() {
            return Err(Error::malformed(format!(
                "args already contain the reserved envelope field {:?}",
                self.envelope_field
            )));
        }
        let canonical_args = args.text;

        let mut mac = self.mac.keyed();
        mac_message(
            &mut mac,
            &self.kid,
            &self.audience,
            &function,
            ts_ms,
            nonce.as_str(),
            &canonical_args,
        );
        let envelope = Envelope {
            kid: self.kid.clone(),
            ts: ts_ms,
            nonce: nonce.as_str().to_owned(),
            sig: hex::encode(mac.finalize().into_bytes()),
        };

        // Splice `"<field>":<envelope>` into the canonical args where it sorts.
        let at = args.insert_at;
        let (head, tail) = canonical_args.split_at(at);
        let mut signed_args = String::with_capacity(canonical_args.len() + 200);
        signed_args.push_str(head);
        if tail == "}" && head != "{" {
            signed_args.push(','); // after the last member
        }
        write_string(&self.envelope_field, &mut signed_args);
        signed_args.push(':');
        envelope.write_json(&mut signed_args);
        if tail != "}" {
            signed_args.push(','); // before the next member
        }
        signed_args.push_str(tail);
        if signed_args.len() > self.limits.max_bytes {
            return Err(Error::new(
                ErrorCode::TooLarge,
                format!(
                    "signed args would be {} bytes, over the limit of {} bytes",
                    signed_args.len(),
                    self.limits.max_bytes
                ),
            ));
        }
        Ok(SignedCall {
            signed_args,
            envelope,
            function,
            canonical_args,
        })
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("kid", &self.kid)
            .field("audience", &self.audience)
            .field("key", &"<redacted>")
            .field("envelope_field", &self.envelope_field)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn default_clock() -> Option<Arc<dyn Clock>> {
    Some(Arc::new(SystemClock))
}

#[cfg(target_arch = "wasm32")]
pub(crate) fn default_clock() -> Option<Arc<dyn Clock>> {
    None
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn default_nonces() -> Option<Arc<dyn NonceSource>> {
    Some(Arc::new(OsNonces))
}

#[cfg(target_arch = "wasm32")]
pub(crate) fn default_nonces() -> Option<Arc<dyn NonceSource>> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{canonicalize, KeySet, Verifier};

    const ROOT: &str = "csk1_prod_000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const AUD: &str = "https://happy-otter-123.convex.cloud";

    #[test]
    fn getters_report_the_configuration() {
        let key = Key::parse(ROOT).unwrap();
        let signer = Signer::new(&key, AUD).unwrap();
        assert_eq!(signer.envelope_field(), DEFAULT_ENVELOPE_FIELD);
        assert_eq!(signer.limits(), Limits::default());
        let limits = Limits {
            max_bytes: 500,
            max_depth: 4,
        };
        let signer = signer
            .with_envelope_field("auth")
            .unwrap()
            .with_limits(limits);
        assert_eq!((signer.envelope_field(), signer.limits()), ("auth", limits));
    }

    #[test]
    fn envelope_is_spliced_where_it_sorts_and_verifies() {
        let key = Key::parse(ROOT).unwrap();
        let signer = Signer::new(&key, AUD).unwrap();
        let verifier = Verifier::new(&KeySet::from(key), AUD).unwrap();
        let nonce = Nonce::parse("00112233445566778899aabbccddeeff").unwrap();
        // `_callsign` sorts after upper-case names and before lower-case ones.
        for args in [
            "{}",
            r#"{"A":1}"#,
            r#"{"z":1}"#,
            r#"{"z":1,"A":2}"#,
            r#"{"_a":1,"_d":{"x":[]}}"#,
        ] {
            let call = signer.sign_at("m:f", args, 1_000, &nonce).unwrap();
            let limits = Limits::default();
            assert_eq!(call.canonical_args, canonicalize(args, &limits).unwrap());
            assert_eq!(
                canonicalize(&call.signed_args, &limits).unwrap(),
                call.signed_args,
                "{args}"
            );
            let verified = verifier.verify("m:f", &call.signed_args, 1_000).unwrap();
            assert_eq!(verified.canonical_args, call.canonical_args);
        }
    }
}
