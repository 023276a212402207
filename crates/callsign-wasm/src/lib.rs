//! The WebAssembly face of [`callsign`]: the module the npm package `callsign`
//! (`pkg/`) wraps. `pkg/build` builds this crate for `wasm32-unknown-unknown`;
//! wasm-bindgen writes its JS glue, `callsign_wasm.js`. On other targets the
//! crate is empty: Rust code uses the `callsign` crate itself.
//!
//! The JS wrapper in `pkg/` is the public API; these exports are its engine,
//! so they trade convenience for one boundary crossing per call: args cross as
//! Convex JSON text, results come back as JSON text.
//!
//! Errors are thrown as JS `Error`s whose message is `"<code>: <message>"`
//! (the Rust [`callsign::Error`]'s `Display`); the wrapper turns them into
//! `CallsignError` with `.code`.
//!
//! Time always comes in from JS (`Date.now()`); there is no clock here.
//! Randomness (nonces, new keys) is drawn by [`callsign::Key::generate`] and
//! [`callsign::Nonce::generate`], from `crypto.getRandomValues` (getrandom's `wasm_js`
//! backend, chosen in this crate's manifest), only when a call asks for it,
//! never when the module is instantiated: Convex seeds randomness per function
//! run and fixes it at import time.

#![cfg(target_arch = "wasm32")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use wasm_bindgen::prelude::*;

use callsign::http::{Request, RequestSigner, RequestVerifier};
use callsign::spec::{write_canonical_string, DEFAULT_ENVELOPE_FIELD, MAX_TIMESTAMP_MS};
use callsign::{
    Error, ErrorCode, Key, KeySet, Limits, Nonce, SignedCall, Signer, Verified, Verifier, Window,
};

/// JSON text arrives as UTF-8 bytes that JS encoded with `TextEncoder`:
/// wasm-bindgen's own string passing copies non-large strings one UTF-16 unit
/// at a time in JS, several times slower than `TextEncoder` plus a memcpy.
/// The wrapper never passes invalid UTF-8; the check is cheap and keeps the
/// core's `&str` contract.
fn utf8(bytes: &[u8]) -> Result<&str, Error> {
    std::str::from_utf8(bytes).map_err(|e| {
        Error::new(
            ErrorCode::Malformed,
            format!("the text is not valid UTF-8 (at byte {})", e.valid_up_to()),
        )
    })
}

fn thrown(err: Error) -> JsError {
    JsError::new(&err.to_string())
}

/// A JS number that must be a whole number of `what` between 0 and 2^53 − 1.
///
/// JS numbers are doubles; wasm-bindgen would silently wrap or truncate them
/// into integer types, so they cross as `f64` and are checked here.
fn whole(value: f64, what: &str) -> Result<u64, Error> {
    if value.is_finite() && value.fract() == 0.0 && (0.0..=MAX_TIMESTAMP_MS as f64).contains(&value)
    {
        // Exact: an integral double in [0, 2^53 - 1].
        Ok(value as u64)
    } else {
        // ryu_js prints the number as JS would, without pulling core's float
        // formatting (about 17 KB of wasm) in for one error message.
        let got = ryu_js::Buffer::new().format(value).to_owned();
        Err(Error::new(
            ErrorCode::Malformed,
            format!("{what} must be a whole number from 0 to 2^53 - 1, got {got}"),
        ))
    }
}

/// [`whole`] for an optional setting: absent means `default`.
fn setting(value: Option<f64>, what: &str, default: u64) -> Result<u64, Error> {
    value.map_or(Ok(default), |v| whole(v, what))
}

/// Limits from JS; an absent field keeps the default.
fn limits(max_bytes: Option<f64>, max_depth: Option<f64>) -> Result<Limits, Error> {
    let size = |value: Option<f64>, what: &str, default: usize| {
        let n = setting(value, what, default as u64)?;
        usize::try_from(n)
            .map_err(|_| Error::new(ErrorCode::Malformed, format!("{what} is too large: {n}")))
    };
    Ok(Limits {
        max_bytes: size(max_bytes, "limits.maxBytes", Limits::DEFAULT_MAX_BYTES)?,
        max_depth: size(max_depth, "limits.maxDepth", Limits::DEFAULT_MAX_DEPTH)?,
    })
}

/// Canonicalizes Convex JSON args text (see [`callsign::canonicalize`]).
#[wasm_bindgen]
pub fn canonicalize(
    convex_json: &[u8],
    max_bytes: Option<f64>,
    max_depth: Option<f64>,
) -> Result<String, JsError> {
    let limits = limits(max_bytes, max_depth).map_err(thrown)?;
    utf8(convex_json)
        .and_then(|json| callsign::canonicalize(json, &limits))
        .map_err(thrown)
}

/// Parses a key string and describes it without its secret or its audience's
/// text (SPEC.md §6.5): `{"kid":..,"root":bool,"audience":null|{"bytes":n,"fingerprint":".."}}`.
#[wasm_bindgen(js_name = inspectKey)]
pub fn inspect_key(key: &str) -> Result<String, JsError> {
    let key = Key::parse(key).map_err(thrown)?;
    let mut out = String::from("{\"kid\":");
    write_canonical_string(key.kid(), &mut out);
    out.push_str(if key.is_root() {
        ",\"root\":true"
    } else {
        ",\"root\":false"
    });
    out.push_str(",\"audience\":");
    match (key.audience(), key.audience_fingerprint()) {
        (Some(audience), Some(fingerprint)) => {
            out.push_str("{\"bytes\":");
            out.push_str(&audience.len().to_string());
            out.push_str(",\"fingerprint\":");
            write_canonical_string(&fingerprint, &mut out);
            out.push('}');
        }
        _ => out.push_str("null"),
    }
    out.push('}');
    Ok(out)
}

/// Checks a key set string (`CALLSIGN_KEYS`) and returns its kids, comma-separated.
#[wasm_bindgen(js_name = inspectKeySet)]
pub fn inspect_key_set(keys: &str) -> Result<String, JsError> {
    let set = KeySet::parse(keys).map_err(thrown)?;
    let kids: Vec<&str> = set.keys().iter().map(Key::kid).collect();
    Ok(kids.join(","))
}

/// Derives the key for `audience` from a root key; returns its key string.
#[wasm_bindgen(js_name = deriveKey)]
pub fn derive_key(root: &str, audience: &str) -> Result<String, JsError> {
    let root = Key::parse(root).map_err(thrown)?;
    let derived = root.derive(audience).map_err(thrown)?;
    Ok(derived.to_key_string().to_string())
}

/// Generates a new 256-bit root key with id `kid`; returns its key string.
#[wasm_bindgen(js_name = generateKey)]
pub fn generate_key(kid: &str) -> Result<String, JsError> {
    let key = Key::generate(kid).map_err(thrown)?;
    Ok(key.to_key_string().to_string())
}

/// A [`Signer`] held by JS. Nonces come from `crypto.getRandomValues`, the
/// time from the caller.
#[wasm_bindgen]
pub struct WasmSigner {
    inner: Signer,
}

#[wasm_bindgen]
impl WasmSigner {
    /// Sets up a signer; bad configuration throws here, before any call.
    #[wasm_bindgen(constructor)]
    pub fn new(
        key: &str,
        audience: &str,
        envelope_field: Option<String>,
        max_bytes: Option<f64>,
        max_depth: Option<f64>,
    ) -> Result<WasmSigner, JsError> {
        let setup = || -> Result<Signer, Error> {
            let key = Key::parse(key)?;
            let field = envelope_field.as_deref().unwrap_or(DEFAULT_ENVELOPE_FIELD);
            Ok(Signer::new(&key, audience)?
                .with_envelope_field(field)?
                .with_limits(limits(max_bytes, max_depth)?))
        };
        Ok(WasmSigner {
            inner: setup().map_err(thrown)?,
        })
    }

    /// The key id this signer signs with.
    #[wasm_bindgen(getter)]
    pub fn kid(&self) -> String {
        self.inner.kid().to_owned()
    }

    /// The audience this signer signs for.
    #[wasm_bindgen(getter)]
    pub fn audience(&self) -> String {
        self.inner.audience().to_owned()
    }

    /// Signs `args_json` (Convex JSON, an object) for `function` at `now_ms`;
    /// returns the envelope as JSON text, for the caller to add to its own
    /// args object under the envelope field.
    ///
    /// `nonce` is drawn from `crypto.getRandomValues` when absent; pass one
    /// only to reproduce a known signature (a reused nonce is a replay).
    pub fn sign(
        &self,
        function: &str,
        args_json: &[u8],
        now_ms: f64,
        nonce: Option<String>,
    ) -> Result<String, JsError> {
        let call = self.sign_call(function, args_json, now_ms, nonce)?;
        Ok(call.envelope.to_json())
    }

    /// Like [`WasmSigner::sign`], but returns the whole signed args as Convex
    /// JSON text (canonical, envelope included).
    #[wasm_bindgen(js_name = signArgsJson)]
    pub fn sign_args_json(
        &self,
        function: &str,
        args_json: &[u8],
        now_ms: f64,
        nonce: Option<String>,
    ) -> Result<String, JsError> {
        Ok(self
            .sign_call(function, args_json, now_ms, nonce)?
            .signed_args)
    }
}

impl WasmSigner {
    fn sign_call(
        &self,
        function: &str,
        args_json: &[u8],
        now_ms: f64,
        nonce: Option<String>,
    ) -> Result<SignedCall, JsError> {
        let sign = || {
            let ts = whole(now_ms, "now")?;
            let nonce = match nonce {
                Some(text) => Nonce::parse(&text)?,
                None => Nonce::generate()?,
            };
            self.inner.sign_at(function, utf8(args_json)?, ts, &nonce)
        };
        sign().map_err(thrown)
    }
}

/// A [`Verifier`] held by JS. Replay protection is the caller's (it stores
/// `kid`/`nonce` until `rememberUntil`).
#[wasm_bindgen]
pub struct WasmVerifier {
    inner: Verifier,
}

#[wasm_bindgen]
impl WasmVerifier {
    /// Sets up a verifier; bad configuration throws here, before any call.
    #[wasm_bindgen(constructor)]
    pub fn new(
        keys: &str,
        audience: &str,
        envelope_field: Option<String>,
        max_age_ms: Option<f64>,
        max_future_ms: Option<f64>,
        max_bytes: Option<f64>,
        max_depth: Option<f64>,
    ) -> Result<WasmVerifier, JsError> {
        let setup = || -> Result<Verifier, Error> {
            let window = Window {
                max_age_ms: setting(max_age_ms, "window.maxAgeMs", Window::DEFAULT_MAX_AGE_MS)?,
                max_future_ms: setting(
                    max_future_ms,
                    "window.maxFutureMs",
                    Window::DEFAULT_MAX_FUTURE_MS,
                )?,
            };
            let field = envelope_field.as_deref().unwrap_or(DEFAULT_ENVELOPE_FIELD);
            Ok(Verifier::new(&KeySet::parse(keys)?, audience)?
                .with_envelope_field(field)?
                .with_window(window)
                .with_limits(limits(max_bytes, max_depth)?))
        };
        Ok(WasmVerifier {
            inner: setup().map_err(thrown)?,
        })
    }

    /// The size limit in bytes, so that JS can refuse longer text before
    /// copying it into wasm memory (which never shrinks).
    #[wasm_bindgen(getter, js_name = maxBytes)]
    pub fn max_bytes(&self) -> f64 {
        self.inner.limits().max_bytes as f64
    }

    /// The key ids held, comma-separated: for the operator's log, since an
    /// `unknown_key` error does not list them (SPEC.md §9).
    #[wasm_bindgen(getter)]
    pub fn kids(&self) -> String {
        self.inner.kids().collect::<Vec<_>>().join(",")
    }

    /// Verifies `signed_args_json` as a call to `function` at `now_ms`.
    ///
    /// Returns the claims `{"kid","function","ts","nonce","rememberUntil"}` as
    /// JSON text, then a newline, then the canonical args (the claims never
    /// contain a raw newline, so the first one splits them).
    pub fn verify(
        &self,
        function: &str,
        signed_args_json: &[u8],
        now_ms: f64,
    ) -> Result<String, JsError> {
        let verified = whole(now_ms, "now")
            .and_then(|now| self.inner.verify(function, utf8(signed_args_json)?, now))
            .map_err(thrown)?;
        Ok(verified_json(&verified))
    }
}

fn verified_json(v: &Verified) -> String {
    let mut out = String::with_capacity(200 + v.canonical_args.len());
    out.push_str("{\"kid\":");
    write_canonical_string(&v.kid, &mut out);
    out.push_str(",\"function\":");
    write_canonical_string(&v.function, &mut out);
    out.push_str(",\"ts\":");
    out.push_str(&v.ts.to_string());
    out.push_str(",\"nonce\":");
    write_canonical_string(&v.nonce, &mut out);
    out.push_str(",\"rememberUntil\":");
    out.push_str(&v.remember_until.to_string());
    out.push_str("}\n");
    out.push_str(&v.canonical_args);
    out
}

/// A [`callsign::http::RequestSigner`] held by JS: signs HTTP requests to one
/// origin (SPEC.md §11). Nonces come from `crypto.getRandomValues`, the time
/// from the caller.
#[wasm_bindgen]
pub struct WasmRequestSigner {
    inner: RequestSigner,
}

#[wasm_bindgen]
impl WasmRequestSigner {
    /// Sets up a signer for `audience` (an origin); bad configuration throws here.
    #[wasm_bindgen(constructor)]
    pub fn new(key: &str, audience: &str) -> Result<WasmRequestSigner, JsError> {
        let setup = || RequestSigner::new(&Key::parse(key)?, audience);
        Ok(WasmRequestSigner {
            inner: setup().map_err(thrown)?,
        })
    }

    /// The key id this signer signs with.
    #[wasm_bindgen(getter)]
    pub fn kid(&self) -> String {
        self.inner.kid().to_owned()
    }

    /// The origin this signer signs for.
    #[wasm_bindgen(getter)]
    pub fn audience(&self) -> String {
        self.inner.audience().to_owned()
    }

    /// Signs `method` `target` with `body` at `now_ms`; returns the values of
    /// `Content-Digest`, `Signature-Input` and `Signature`, one per line (no
    /// value holds a newline). `nonce` is drawn when absent.
    pub fn sign(
        &self,
        method: &str,
        target: &str,
        body: &[u8],
        now_ms: f64,
        nonce: Option<String>,
    ) -> Result<String, JsError> {
        let sign = || {
            let now = whole(now_ms, "now")?;
            let nonce = match nonce {
                Some(text) => Nonce::parse(&text)?,
                None => Nonce::generate()?,
            };
            self.inner
                .sign_request_at(method, target, body, now, &nonce)
        };
        let signed = sign().map_err(thrown)?;
        Ok(format!(
            "{}\n{}\n{}",
            signed.content_digest, signed.signature_input, signed.signature
        ))
    }
}

/// A [`callsign::http::RequestVerifier`] held by JS. Replays are checked by
/// the caller's store, with the claims' `kid`, `nonce`, `ts`, `rememberUntil`.
#[wasm_bindgen]
pub struct WasmRequestVerifier {
    inner: RequestVerifier,
}

#[wasm_bindgen]
impl WasmRequestVerifier {
    /// Sets up a verifier for `audience` (its own origin); bad configuration throws here.
    #[wasm_bindgen(constructor)]
    pub fn new(
        keys: &str,
        audience: &str,
        max_age_ms: Option<f64>,
        max_future_ms: Option<f64>,
        max_body_bytes: Option<f64>,
    ) -> Result<WasmRequestVerifier, JsError> {
        let setup = || -> Result<RequestVerifier, Error> {
            let window = Window {
                max_age_ms: setting(max_age_ms, "window.maxAgeMs", Window::DEFAULT_MAX_AGE_MS)?,
                max_future_ms: setting(
                    max_future_ms,
                    "window.maxFutureMs",
                    Window::DEFAULT_MAX_FUTURE_MS,
                )?,
            };
            let max_body = setting(
                max_body_bytes,
                "maxBodyBytes",
                callsign::http::DEFAULT_MAX_BODY_BYTES as u64,
            )?;
            let max_body = usize::try_from(max_body).map_err(|_| {
                Error::new(
                    ErrorCode::Malformed,
                    format!("maxBodyBytes is too large: {max_body}"),
                )
            })?;
            Ok(RequestVerifier::new(&KeySet::parse(keys)?, audience)?
                .with_window(window)
                .with_max_body_bytes(max_body))
        };
        Ok(WasmRequestVerifier {
            inner: setup().map_err(thrown)?,
        })
    }

    /// The body size limit, so that JS can refuse a longer body before
    /// reading it all or copying it into wasm memory.
    #[wasm_bindgen(getter, js_name = maxBodyBytes)]
    pub fn max_body_bytes(&self) -> f64 {
        self.inner.max_body_bytes() as f64
    }

    /// The key ids held, comma-separated: for the operator's log.
    #[wasm_bindgen(getter)]
    pub fn kids(&self) -> String {
        self.inner.kids().collect::<Vec<_>>().join(",")
    }

    /// Verifies a request: `headers` is the flat list `[name, value, name,
    /// value, …]` of the received headers (repeats as separate pairs, or joined
    /// as `Headers.get` joins them). Returns the claims as JSON:
    /// `{"kid","ts","nonce","rememberUntil","method","path","query"}`.
    pub fn verify(
        &self,
        method: &str,
        target: &str,
        headers: Vec<String>,
        body: &[u8],
        now_ms: f64,
    ) -> Result<String, JsError> {
        let pairs: Vec<(&str, &str)> = headers
            .chunks(2)
            .map(|pair| (pair[0].as_str(), pair.get(1).map_or("", String::as_str)))
            .collect();
        let request = Request {
            method,
            target,
            headers: &pairs,
            body,
        };
        let verified = whole(now_ms, "now")
            .and_then(|now| self.inner.verify_request(&request, now))
            .map_err(thrown)?;
        let mut out = String::from("{\"kid\":");
        write_canonical_string(&verified.kid, &mut out);
        out.push_str(",\"ts\":");
        out.push_str(&verified.ts.to_string());
        out.push_str(",\"nonce\":");
        write_canonical_string(&verified.nonce, &mut out);
        out.push_str(",\"rememberUntil\":");
        out.push_str(&verified.remember_until.to_string());
        out.push_str(",\"method\":");
        write_canonical_string(&verified.method, &mut out);
        out.push_str(",\"path\":");
        write_canonical_string(&verified.path, &mut out);
        out.push_str(",\"query\":");
        write_canonical_string(&verified.query, &mut out);
        out.push('}');
        Ok(out)
    }
}
