//! callsign for the official Rust Convex client, [`convex`].
//!
//! [`ConvexSigner::sign`] takes the args a [`convex::ConvexClient`] call takes
//! (`BTreeMap<String, convex::Value>`) and returns them with the `_callsign`
//! envelope added, signed for the function and the deployment:
//!
//! ```no_run
//! use std::collections::BTreeMap;
//! use callsign::Key;
//! use callsign_convex::ConvexSigner;
//! use convex::{ConvexClient, Value};
//!
//! # async fn run() -> anyhow::Result<()> {
//! let url = std::env::var("CONVEX_URL")?;                   // https://happy-otter-123.convex.cloud
//! let signer = ConvexSigner::new(&Key::parse(&std::env::var("CALLSIGN_KEY")?)?, &url)?;
//! let mut client = ConvexClient::new(&url).await?;
//!
//! let args = BTreeMap::from([("body".to_owned(), Value::from("hello"))]);
//! let result = client.mutation("messages:send", signer.sign("messages:send", args)?).await?;
//! // Internal functions, through the deployment's gateway:
//! let args = BTreeMap::from([("open".to_owned(), Value::from(false))]);
//! client.mutation("callsign:runMutation", signer.gateway_args("admin:setOpen", args)?).await?;
//! # Ok(()) }
//! ```
//!
//! What is signed is what the client sends: the client writes args as
//! `serde_json::Value::from(convex::Value)` (int64 as `$integer`, bytes as
//! `$bytes`, NaN, ±inf and -0 as `$float`), and so does the signer
//! ([`to_convex_json`]) before the core canonicalizes it. The envelope's `ts`
//! and `v` are `Float64`s, as Convex numbers are. (Not `Value::export()`: that
//! is Convex's lossy readable form, int64 as a decimal string.)
//!
//! **TLS.** This crate builds `convex` with its `native-tls` feature: the
//! system's OpenSSL (`libssl-dev` and `pkg-config` to build, `libssl` to
//! run), not convex's default, which compiles OpenSSL from source.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::collections::BTreeMap;

use callsign::spec::ENVELOPE_VERSION;
use callsign::{Error, ErrorCode, Key, Limits, Nonce, SignedCall, Signer};
use convex::Value;

/// Signs `convex::Value` args for one deployment with one key.
#[derive(Clone, Debug)]
pub struct ConvexSigner {
    signer: Signer,
}

impl ConvexSigner {
    /// A signer with `key` for the deployment at `deployment_url` (the
    /// audience is the URL without its trailing slash, as the deployment's
    /// `CONVEX_CLOUD_URL` reads).
    ///
    /// # Errors
    /// `malformed` for an invalid audience; `invalid_key` for a derived key
    /// bound to another deployment.
    pub fn new(key: &Key, deployment_url: &str) -> callsign::Result<ConvexSigner> {
        let audience = deployment_url.trim_end_matches('/');
        Ok(ConvexSigner::from_signer(Signer::new(key, audience)?))
    }

    /// Wraps a configured [`Signer`] (another envelope field, other limits, an
    /// injected clock).
    pub fn from_signer(signer: Signer) -> ConvexSigner {
        ConvexSigner { signer }
    }

    /// The underlying signer (kid, audience, limits).
    pub fn signer(&self) -> &Signer {
        &self.signer
    }

    /// `args` plus the envelope, signed for `function` now, with a fresh nonce:
    /// pass the result to `ConvexClient::mutation(function, …)` (or `query`,
    /// `action`).
    ///
    /// # Errors
    /// `malformed` (a field name Convex refuses, the envelope field already in
    /// `args`, nesting over the limit, a bad function name) or `too_large`.
    pub fn sign(
        &self,
        function: &str,
        args: BTreeMap<String, Value>,
    ) -> callsign::Result<BTreeMap<String, Value>> {
        let call = self.signer.sign(function, &self.wire_json(&args)?)?;
        Ok(self.with_envelope(args, &call))
    }

    /// [`ConvexSigner::sign`] at `ts_ms` with `nonce` (to reproduce a known
    /// signature; a reused nonce is a replay).
    ///
    /// # Errors
    /// As [`ConvexSigner::sign`].
    pub fn sign_at(
        &self,
        function: &str,
        args: BTreeMap<String, Value>,
        ts_ms: u64,
        nonce: &Nonce,
    ) -> callsign::Result<BTreeMap<String, Value>> {
        let call = self
            .signer
            .sign_at(function, &self.wire_json(&args)?, ts_ms, nonce)?;
        Ok(self.with_envelope(args, &call))
    }

    /// The args for the gateway (`callsign:runQuery|runMutation|runAction`) to
    /// run the internal function `function` with `args`:
    /// `{"function", "args", "_callsign"}`, signed for `function` and `args`.
    ///
    /// # Errors
    /// As [`ConvexSigner::sign`].
    pub fn gateway_args(
        &self,
        function: &str,
        args: BTreeMap<String, Value>,
    ) -> callsign::Result<BTreeMap<String, Value>> {
        let call = self.signer.sign(function, &self.wire_json(&args)?)?;
        Ok(self.gateway(args, &call))
    }

    /// [`ConvexSigner::gateway_args`] at `ts_ms` with `nonce`.
    ///
    /// # Errors
    /// As [`ConvexSigner::sign`].
    pub fn gateway_args_at(
        &self,
        function: &str,
        args: BTreeMap<String, Value>,
        ts_ms: u64,
        nonce: &Nonce,
    ) -> callsign::Result<BTreeMap<String, Value>> {
        let call = self
            .signer
            .sign_at(function, &self.wire_json(&args)?, ts_ms, nonce)?;
        Ok(self.gateway(args, &call))
    }

    /// The client's JSON of `args`, after a depth check that keeps deep values
    /// from overflowing the stack in the (recursive) conversion.
    fn wire_json(&self, args: &BTreeMap<String, Value>) -> callsign::Result<String> {
        check_depth(args, self.signer.limits())?;
        Ok(to_convex_json(args))
    }

    fn with_envelope(
        &self,
        mut args: BTreeMap<String, Value>,
        call: &SignedCall,
    ) -> BTreeMap<String, Value> {
        args.insert(self.signer.envelope_field().to_owned(), envelope(call));
        args
    }

    fn gateway(&self, args: BTreeMap<String, Value>, call: &SignedCall) -> BTreeMap<String, Value> {
        BTreeMap::from([
            ("function".to_owned(), Value::String(call.function.clone())),
            ("args".to_owned(), Value::Object(args)),
            (self.signer.envelope_field().to_owned(), envelope(call)),
        ])
    }
}

/// The envelope as a Convex object; `ts` and `v` are float64s, as the client
/// sends every number that is not an explicit int64.
fn envelope(call: &SignedCall) -> Value {
    let e = &call.envelope;
    Value::Object(BTreeMap::from([
        ("kid".to_owned(), Value::String(e.kid.clone())),
        ("nonce".to_owned(), Value::String(e.nonce.clone())),
        ("sig".to_owned(), Value::String(e.sig.clone())),
        // Exact: ts <= 2^53 - 1.
        ("ts".to_owned(), Value::Float64(e.ts as f64)),
        ("v".to_owned(), Value::Float64(ENVELOPE_VERSION as f64)),
    ]))
}

/// The JSON text the `convex` client sends for `args`:
/// `serde_json::Value::from(convex::Value::Object(args))`.
pub fn to_convex_json(args: &BTreeMap<String, Value>) -> String {
    serde_json::Value::from(Value::Object(args.clone())).to_string()
}

/// Convex JSON text (e.g. signed args written by another signer) as the args
/// of a client call, read as the client reads JSON (`Value::try_from`).
///
/// # Errors
/// `malformed` when the text is not JSON, not an object, or not Convex JSON.
pub fn from_convex_json(text: &str) -> callsign::Result<BTreeMap<String, Value>> {
    let malformed = |why: String| Error::new(ErrorCode::Malformed, why);
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| malformed(format!("not JSON: {e}")))?;
    match Value::try_from(json) {
        Ok(Value::Object(args)) => Ok(args),
        Ok(_) => Err(malformed("args must be an object".to_owned())),
        Err(e) => Err(malformed(format!("not Convex JSON: {e}"))),
    }
}

/// Refuses args nested deeper than the signer's limit (which the core would
/// refuse anyway), without recursion.
fn check_depth(args: &BTreeMap<String, Value>, limits: Limits) -> callsign::Result<()> {
    let max = limits.max_depth.min(Limits::MAX_DEPTH_CAP);
    let mut stack: Vec<(&Value, usize)> = args.values().map(|v| (v, 2)).collect();
    while let Some((value, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(members) => Box::new(members.values()),
            _ => continue,
        };
        if depth > max {
            return Err(Error::new(
                ErrorCode::Malformed,
                format!("args nest deeper than {max} levels of arrays and objects"),
            ));
        }
        stack.extend(children.map(|child| (child, depth + 1)));
    }
    Ok(())
}
