//! Signed HTTP requests: the HTTP profile of protocol v1 (SPEC.md §11).
//!
//! A server signs a request (method, the receiver's origin, path, raw query,
//! a digest of the body, time, nonce, key id) as an RFC 9421 HTTP message
//! signature with HMAC-SHA256, under the same audience-scoped key as calls
//! (SPEC.md §6.3, the audience being the receiver's origin). The receiver
//! checks it with its **own** origin, the received method, target, headers
//! and body bytes, and a time `now`; replays go through the same
//! [`NonceStore`] as calls.
//!
//! No HTTP library is involved: a request is its method, its target, its
//! headers as name/value pairs and its body bytes.
//!
//! ```
//! use callsign::http::{Request, RequestSigner, RequestVerifier};
//! use callsign::{Key, KeySet, MemoryNonceStore, Nonce, ErrorCode};
//!
//! let site = "https://happy-otter-123.convex.site";
//! let key = Key::parse("csk1_prod_000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")?;
//! let nonce = Nonce::parse("00112233445566778899aabbccddeeff")?;
//! let body = br#"{"body":"hi"}"#;
//! let signed = RequestSigner::new(&key, site)?
//!     .sign_request_at("POST", "/api/messages?channel=general", body, 1_700_000_000_000, &nonce)?;
//!
//! let headers = signed.headers();
//! let request = Request { method: "POST", target: "/api/messages?channel=general", headers: &headers, body };
//! let verifier = RequestVerifier::new(&KeySet::from(key), site)?;
//! let store = MemoryNonceStore::new();
//! let ok = verifier.verify_request_once(&store, &request, 1_700_000_000_500)?;
//! assert_eq!((ok.kid.as_str(), ok.path.as_str(), ok.query.as_str()), ("prod", "/api/messages", "channel=general"));
//! let again = verifier.verify_request_once(&store, &request, 1_700_000_000_600);
//! assert_eq!(again.unwrap_err().code(), ErrorCode::Replayed);
//! # Ok::<(), callsign::Error>(())
//! ```

mod profile;

use std::fmt;
use std::sync::Arc;

use hmac::Mac;

pub use profile::{
    authority, content_digest, signature_base, signature_params, split_target, validate_method,
    ALG, COMPONENTS, CONTENT_DIGEST, CONTENT_ENCODING, COVERED, DEFAULT_MAX_BODY_BYTES, LABEL,
    MAX_CREATED_S, MAX_METHOD_LEN, MAX_TARGET_LEN, SIGNATURE, SIGNATURE_INPUT,
    SIGNER_PARAMETER_ORDER, TAG,
};

use crate::error::{quoted, Error, ErrorCode, Result};
use crate::key::{Key, KeySet, MacKey};
use crate::nonce::Nonce;
use crate::replay::{NonceRecord, NonceStore};
use crate::sign::{default_clock, default_nonces, Clock, NonceSource};
use crate::spec::MAX_TIMESTAMP_MS;
use crate::verify::{check_window, Window};

/// A request as the verifier received it.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// The method, as sent (upper case).
    pub method: &'a str,
    /// The request target as received: the path and, if any, `?` and the raw
    /// query (`/api/send?x=1`). In a Fetch-API runtime, `url.pathname + url.search`.
    pub target: &'a str,
    /// Every header as a (name, value) pair, repeated headers as separate
    /// pairs or joined with `", "` (both are refused for the signature's
    /// headers). Names compare case-insensitively; leading and trailing
    /// spaces and tabs of values are ignored, as HTTP parsing drops them.
    pub headers: &'a [(&'a str, &'a str)],
    /// The body's bytes exactly as received (empty for none).
    pub body: &'a [u8],
}

/// The headers a signer adds to a request, and what went into them.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignedRequest {
    /// `Content-Digest`: `sha-256=:<base64>:` of the body.
    pub content_digest: String,
    /// `Signature-Input`: `sig1=("@method" …);created=…;nonce=…;alg=…;keyid=…;tag=…`.
    pub signature_input: String,
    /// `Signature`: `sig1=:<base64 of the MAC>:`.
    pub signature: String,
    /// The key id that signed.
    pub kid: String,
    /// The `created` parameter: the signing time in whole seconds.
    pub created: u64,
    /// `created · 1000`: the signing time as the claims give it (ms).
    pub ts: u64,
    /// The nonce.
    pub nonce: String,
    /// The signature base that was MACed (RFC 9421 §2.5), for debugging and tests.
    pub signature_base: String,
}

impl SignedRequest {
    /// The three headers to add, as (name, value): `Content-Digest`,
    /// `Signature-Input`, `Signature`.
    pub fn headers(&self) -> [(&'static str, &str); 3] {
        [
            (CONTENT_DIGEST, &self.content_digest),
            (SIGNATURE_INPUT, &self.signature_input),
            (SIGNATURE, &self.signature),
        ]
    }
}

/// What a verified request proves (SPEC.md §11.4).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedRequest {
    /// The key id that signed.
    pub kid: String,
    /// The signing time in ms: `created · 1000`.
    pub ts: u64,
    /// The request's nonce.
    pub nonce: String,
    /// Until when the (kid, nonce) pair must be remembered: `ts + max_age`.
    pub remember_until: u64,
    /// The signed method.
    pub method: String,
    /// The signed path, as sent (percent-encoding kept).
    pub path: String,
    /// The signed raw query, without its `?` (empty when there was none).
    pub query: String,
}

impl VerifiedRequest {
    /// What a replay store records of this request (SPEC.md §8).
    pub fn nonce_record(&self) -> NonceRecord<'_> {
        NonceRecord {
            kid: &self.kid,
            nonce: &self.nonce,
            ts: self.ts,
            remember_until: self.remember_until,
        }
    }
}

/// Signs requests to one origin with one key.
#[derive(Clone)]
pub struct RequestSigner {
    kid: String,
    audience: String,
    authority: String,
    mac: MacKey,
    clock: Option<Arc<dyn Clock>>,
    nonces: Option<Arc<dyn NonceSource>>,
}

impl RequestSigner {
    /// A signer with `key` for requests to `audience`, an origin such as
    /// `https://happy-otter-123.convex.site` (SPEC.md §11.1). A root key is
    /// derived for the origin; a derived key must be bound to exactly it.
    /// The audience is checked first (`malformed`), then the key (`invalid_key`).
    pub fn new(key: &Key, audience: &str) -> Result<RequestSigner> {
        let authority = authority(audience)?.to_owned();
        Ok(RequestSigner {
            kid: key.kid().to_owned(),
            audience: audience.to_owned(),
            authority,
            mac: key.mac_for(audience)?,
            clock: default_clock(),
            nonces: default_nonces(),
        })
    }

    /// Reads the time from `clock`.
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> RequestSigner {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Draws nonces from `nonces`.
    pub fn with_nonce_source(mut self, nonces: impl NonceSource + 'static) -> RequestSigner {
        self.nonces = Some(Arc::new(nonces));
        self
    }

    /// The origin this signer signs for.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The key id this signer signs with.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Signs a request now, with a fresh nonce (see [`RequestSigner::sign_request_at`]).
    pub fn sign_request(&self, method: &str, target: &str, body: &[u8]) -> Result<SignedRequest> {
        let clock = self.clock.as_ref().ok_or_else(|| {
            Error::new(
                ErrorCode::Unsupported,
                "this target has no clock: set one with RequestSigner::with_clock or use sign_request_at",
            )
        })?;
        let nonces = self.nonces.as_ref().ok_or_else(|| {
            Error::new(
                ErrorCode::Unsupported,
                "this target has no randomness: set a nonce source with \
                 RequestSigner::with_nonce_source or use sign_request_at",
            )
        })?;
        let nonce = nonces.next_nonce()?;
        self.sign_request_at(method, target, body, clock.now_ms(), &nonce)
    }

    /// Signs a request: `method` (upper case), `target` (the path and
    /// optional `?query` exactly as it will be sent), the body's bytes, at
    /// `now_ms` (`created` is its whole seconds) with `nonce`.
    pub fn sign_request_at(
        &self,
        method: &str,
        target: &str,
        body: &[u8],
        now_ms: u64,
        nonce: &Nonce,
    ) -> Result<SignedRequest> {
        validate_method(method)?;
        let (path, query) = split_target(target)?;
        if now_ms > MAX_TIMESTAMP_MS {
            return Err(Error::malformed(format!(
                "time {now_ms} is above 2^53 - 1 ms"
            )));
        }
        let created = now_ms / 1000;
        let content_digest = content_digest(body);
        let params = signature_params(created, nonce.as_str(), &self.kid);
        let signature_base = signature_base(
            method,
            &self.authority,
            path,
            query,
            &content_digest,
            &params,
        );
        let mut mac = self.mac.keyed();
        mac.update(signature_base.as_bytes());
        Ok(SignedRequest {
            content_digest,
            signature_input: format!("{LABEL}={params}"),
            signature: profile::signature_value(&mac.finalize().into_bytes()),
            kid: self.kid.clone(),
            created,
            ts: created * 1000,
            nonce: nonce.as_str().to_owned(),
            signature_base,
        })
    }
}

impl fmt::Debug for RequestSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestSigner")
            .field("kid", &self.kid)
            .field("audience", &self.audience)
            .field("key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// Verifies signed requests to one origin (SPEC.md §11.4).
#[derive(Clone)]
pub struct RequestVerifier {
    audience: String,
    authority: String,
    macs: Vec<(String, MacKey)>,
    window: Window,
    max_body_bytes: usize,
}

impl RequestVerifier {
    /// A verifier for requests to `audience`, this server's own origin (for
    /// Convex HTTP actions exactly `CONVEX_SITE_URL`), accepting `keys`.
    ///
    /// Fails with `malformed` for an audience that is no origin and with
    /// `invalid_key` for a derived key bound to another audience.
    pub fn new(keys: &KeySet, audience: &str) -> Result<RequestVerifier> {
        let authority = authority(audience)?.to_owned();
        Ok(RequestVerifier {
            audience: audience.to_owned(),
            authority,
            macs: keys.macs_for(audience)?,
            window: Window::default(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        })
    }

    /// Uses `window` instead of the default ±60 s.
    pub fn with_window(mut self, window: Window) -> RequestVerifier {
        self.window = window;
        self
    }

    /// Refuses bodies longer than `max_body_bytes` (default 1 MiB) as
    /// `too_large`, before hashing them.
    pub fn with_max_body_bytes(mut self, max_body_bytes: usize) -> RequestVerifier {
        self.max_body_bytes = max_body_bytes;
        self
    }

    /// The origin this verifier accepts requests for.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The time window.
    pub fn window(&self) -> Window {
        self.window
    }

    /// The body size limit in bytes.
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// The key ids held, in the key set's order: for the operator's log (an
    /// `unknown_key` error does not list them).
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.macs.iter().map(|(kid, _)| kid.as_str())
    }

    /// Verifies `request` at `now_ms`. Checks, in order (SPEC.md §11.4):
    /// body size, the form of method, target and headers, the key id, the
    /// body against `Content-Digest`, the MAC, the time window. Does not
    /// check replays; see [`RequestVerifier::verify_request_once`].
    pub fn verify_request(&self, request: &Request<'_>, now_ms: u64) -> Result<VerifiedRequest> {
        if request.body.len() > self.max_body_bytes {
            return Err(Error::new(
                ErrorCode::TooLarge,
                format!(
                    "the body has {} bytes, over the limit of {} bytes",
                    request.body.len(),
                    self.max_body_bytes
                ),
            ));
        }
        validate_method(request.method)?;
        let (path, query) = split_target(request.target)?;
        let [content_digest, signature_input, signature, content_encoding] = find_headers(
            request.headers,
            [CONTENT_DIGEST, SIGNATURE_INPUT, SIGNATURE, CONTENT_ENCODING],
        )?;
        if content_encoding.is_some() {
            return Err(Error::malformed(
                "a signed request carries no Content-Encoding: its digest covers the body's bytes as sent",
            ));
        }
        let missing = |name: &str| {
            Error::malformed(format!(
                "the request has no {name} header: was it signed (callsign sign-request, signRequest)?"
            ))
        };
        let signature_input = signature_input.ok_or_else(|| missing(SIGNATURE_INPUT))?;
        let signature = signature.ok_or_else(|| missing(SIGNATURE))?;
        let content_digest = content_digest.ok_or_else(|| missing(CONTENT_DIGEST))?;
        let params = profile::parse_signature_input(signature_input)?;
        let sig = profile::parse_signature(signature)?;
        profile::check_content_digest(content_digest)?;

        let mac_key = self
            .macs
            .iter()
            .find_map(|(k, mac)| (k == params.kid).then_some(mac))
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::UnknownKey,
                    format!("no key with id {:?} in this verifier's key set", params.kid),
                )
            })?;

        if profile::content_digest(request.body) != content_digest {
            return Err(Error::new(
                ErrorCode::BadSignature,
                format!(
                    "the body ({} bytes) does not match its Content-Digest: it was changed after signing, \
                     or a layer re-encoded it",
                    request.body.len()
                ),
            ));
        }
        let base = signature_base(
            request.method,
            &self.authority,
            path,
            query,
            content_digest,
            params.text,
        );
        let mut mac = mac_key.keyed();
        mac.update(base.as_bytes());
        // `verify_slice` compares in constant time.
        mac.verify_slice(&sig).map_err(|_| {
            Error::new(
                ErrorCode::BadSignature,
                format!(
                    "signature does not match key {:?} for {} {} on {}: check that the signer used \
                     this origin, method, path and query, spelled as sent",
                    params.kid,
                    request.method,
                    quoted(request.target),
                    quoted(&self.audience)
                ),
            )
        })?;

        let ts = params.created * 1000;
        check_window(self.window, ts, now_ms)?;
        Ok(VerifiedRequest {
            kid: params.kid.to_owned(),
            ts,
            nonce: params.nonce.to_owned(),
            remember_until: ts.saturating_add(self.window.max_age_ms),
            method: request.method.to_owned(),
            path: path.to_owned(),
            query: query.to_owned(),
        })
    }

    /// Verifies like [`RequestVerifier::verify_request`], then records the
    /// (kid, nonce) pair in `store`, failing with `replayed` if it is there.
    pub fn verify_request_once(
        &self,
        store: &dyn NonceStore,
        request: &Request<'_>,
        now_ms: u64,
    ) -> Result<VerifiedRequest> {
        let verified = self.verify_request(request, now_ms)?;
        store.remember(&verified.nonce_record(), now_ms)?;
        Ok(verified)
    }
}

impl fmt::Debug for RequestVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kids: Vec<&str> = self.kids().collect();
        f.debug_struct("RequestVerifier")
            .field("audience", &self.audience)
            .field("kids", &kids)
            .field("window", &self.window)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish()
    }
}

/// The value of each header in `names` (trimmed of spaces and tabs), `None`
/// when absent; `malformed` when one appears more than once.
fn find_headers<'a, const N: usize>(
    headers: &[(&str, &'a str)],
    names: [&str; N],
) -> Result<[Option<&'a str>; N]> {
    let mut found = [None; N];
    for (name, value) in headers {
        let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(name)) else {
            continue;
        };
        if found[i].is_some() {
            return Err(Error::malformed(format!(
                "the {} header appears more than once: a signed request has exactly one",
                names[i]
            )));
        }
        found[i] = Some(value.trim_matches([' ', '\t']));
    }
    Ok(found)
}
