//! `convex_callsign._native`: the callsign core as a CPython extension module.
//!
//! The Python package `convex_callsign` (in `python/`) re-exports everything
//! here; its type stubs (`_native.pyi`) document the Python API. Python code
//! never canonicalizes, hashes or encodes: values are read into Convex values
//! here (module `value`), written as Convex JSON, and given to the core
//! ([`callsign::Signer`], [`callsign::canonicalize`]).
//!
//! Every refusal is a `convex_callsign.CallsignError` whose `code` is one of
//! SPEC.md §9's strings; its message never holds key material (the core's
//! messages never do) nor more than 64 characters of any input.

#![forbid(unsafe_code)]

mod value;

use std::borrow::Cow;

use callsign::{ErrorCode, Key, KeySet, Limits, Nonce, SignedCall, SystemClock};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyFloat, PyString, PyType};

use value::{WalkError, Walker};

/// The module that defines `CallsignError` (in Python, so that it pickles and
/// prints like any exception).
const ERRORS_MODULE: &str = "convex_callsign._errors";

/// A callsign error as the Python exception `CallsignError(code, message)`.
fn raise(err: callsign::Error) -> PyErr {
    Python::attach(|py| {
        static CLASS: PyOnceLock<Py<PyType>> = PyOnceLock::new();
        let class = match CLASS.import(py, ERRORS_MODULE, "CallsignError") {
            Ok(class) => class,
            Err(import_failed) => return import_failed,
        };
        match class.call1((err.code().as_str(), err.message())) {
            Ok(instance) => PyErr::from_value(instance),
            Err(e) => e,
        }
    })
}

fn walk_error(err: WalkError) -> PyErr {
    match err {
        WalkError::Callsign(e) => raise(e),
        WalkError::Python(e) => e,
    }
}

fn error(code: ErrorCode, message: impl Into<String>) -> PyErr {
    raise(callsign::Error::new(code, message))
}

/// JSON text given as `str` or as UTF-8 `bytes`.
fn json_text<'a>(text: &'a Bound<'_, PyAny>, what: &str) -> PyResult<Cow<'a, str>> {
    if let Ok(s) = text.cast::<PyString>() {
        return s.to_cow().map_err(|_| {
            error(
                ErrorCode::Malformed,
                format!("{what} holds a lone surrogate (U+D800 to U+DFFF alone)"),
            )
        });
    }
    if let Ok(b) = text.cast::<PyBytes>() {
        return std::str::from_utf8(b.as_bytes())
            .map(|s| Cow::Owned(s.to_owned()))
            .map_err(|e| {
                error(
                    ErrorCode::Malformed,
                    format!("{what} is not valid UTF-8 (at byte {})", e.valid_up_to()),
                )
            });
    }
    Err(pyo3::exceptions::PyTypeError::new_err(format!(
        "{what} must be str or bytes (JSON text)"
    )))
}

// The Python signatures spell the defaults out (so that `inspect.signature` and the
// stubs show them); they must be the core's.
const _: () = assert!(Limits::DEFAULT_MAX_BYTES == 1048576 && Limits::DEFAULT_MAX_DEPTH == 63);
const _: () = assert!(matches!(
    callsign::spec::DEFAULT_ENVELOPE_FIELD.as_bytes(),
    b"_callsign"
));

/// Limits from keyword arguments.
fn limits(max_bytes: usize, max_depth: usize) -> Limits {
    Limits {
        max_bytes,
        max_depth,
    }
}

/// Canonicalizes args given as Convex JSON text (SPEC.md §2): the text the
/// signature covers.
#[pyfunction]
#[pyo3(signature = (convex_json, *, max_bytes = 1048576, max_depth = 63))]
fn canonicalize(
    py: Python<'_>,
    convex_json: &Bound<'_, PyAny>,
    max_bytes: usize,
    max_depth: usize,
) -> PyResult<String> {
    let text = json_text(convex_json, "the Convex JSON")?;
    let limits = limits(max_bytes, max_depth);
    py.detach(|| callsign::canonicalize(&text, &limits))
        .map_err(raise)
}

/// Convex JSON text of Python args, as the signer reads them (the form
/// `convex.convex_to_json` gives, members in their order).
#[pyfunction]
#[pyo3(signature = (args, *, max_bytes = 1048576, max_depth = 63))]
fn to_convex_json(
    py: Python<'_>,
    args: Option<&Bound<'_, PyAny>>,
    max_bytes: usize,
    max_depth: usize,
) -> PyResult<String> {
    let value = Walker::new(py, limits(max_bytes, max_depth))
        .args(args)
        .map_err(walk_error)?;
    Ok(value::to_json(&value))
}

/// Describes a key without its secret: `{"kid", "root", "audience"}`, the
/// audience of a derived key given by length and fingerprint (SPEC.md §6.5).
#[pyfunction]
fn inspect_key<'py>(py: Python<'py>, key: &str) -> PyResult<Bound<'py, PyDict>> {
    let key = Key::parse(key).map_err(raise)?;
    let info = PyDict::new(py);
    info.set_item("kid", key.kid())?;
    info.set_item("root", key.is_root())?;
    match (key.audience(), key.audience_fingerprint()) {
        (Some(audience), Some(fingerprint)) => {
            let named = PyDict::new(py);
            named.set_item("bytes", audience.len())?;
            named.set_item("fingerprint", fingerprint)?;
            info.set_item("audience", named)?;
        }
        _ => info.set_item("audience", py.None())?,
    }
    Ok(info)
}

/// The kids of a key set (e.g. `CALLSIGN_KEYS`), in order.
#[pyfunction]
fn inspect_key_set(keys: &str) -> PyResult<Vec<String>> {
    let set = KeySet::parse(keys).map_err(raise)?;
    Ok(set.keys().iter().map(|k| k.kid().to_owned()).collect())
}

/// Derives the key for `audience` from a root key (SPEC.md §6.3).
#[pyfunction]
fn derive_key(root: &str, audience: &str) -> PyResult<String> {
    let root = Key::parse(root).map_err(raise)?;
    let derived = root.derive(audience).map_err(raise)?;
    Ok(derived.to_key_string().to_string())
}

/// A new 256-bit root key with id `kid`, from the OS's random source.
#[pyfunction]
fn generate_key(kid: &str) -> PyResult<String> {
    let key = Key::generate(kid).map_err(raise)?;
    Ok(key.to_key_string().to_string())
}

/// Signs calls with one key for one deployment. The key stays in Rust memory
/// (zeroed when the signer is freed) and is never shown.
#[pyclass(frozen, module = "convex_callsign")]
struct Signer {
    inner: callsign::Signer,
}

#[pymethods]
impl Signer {
    #[new]
    #[pyo3(signature = (key, audience, *, envelope_field = "_callsign", max_bytes = 1048576, max_depth = 63))]
    fn new(
        key: &str,
        audience: &str,
        envelope_field: &str,
        max_bytes: usize,
        max_depth: usize,
    ) -> PyResult<Self> {
        // CONVEX_CLOUD_URL has no trailing slash; a configured URL sometimes has one.
        let audience = audience.strip_suffix('/').unwrap_or(audience);
        let setup = || -> callsign::Result<callsign::Signer> {
            let key = Key::parse(key)?;
            Ok(callsign::Signer::new(&key, audience)?
                .with_envelope_field(envelope_field)?
                .with_limits(limits(max_bytes, max_depth)))
        };
        Ok(Signer {
            inner: setup().map_err(raise)?,
        })
    }

    /// The key id calls are signed with.
    #[getter]
    fn kid(&self) -> &str {
        self.inner.kid()
    }

    /// The deployment calls are signed for.
    #[getter]
    fn audience(&self) -> &str {
        self.inner.audience()
    }

    /// The args field the envelope goes in.
    #[getter]
    fn envelope_field(&self) -> &str {
        self.inner.envelope_field()
    }

    /// `Signer(kid='…', audience='…')`: never the key.
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let kid = PyString::new(py, self.inner.kid()).repr()?;
        let audience = PyString::new(py, self.inner.audience()).repr()?;
        Ok(format!("Signer(kid={kid}, audience={audience})"))
    }

    /// The args to send to `function`: fresh copies of `args`' values (every
    /// number a float, as the client sends it) plus the envelope.
    #[pyo3(signature = (function, args = None, *, now = None, nonce = None))]
    fn sign<'py>(
        &self,
        py: Python<'py>,
        function: &str,
        args: Option<&Bound<'py, PyAny>>,
        now: Option<&Bound<'py, PyAny>>,
        nonce: Option<&str>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let mut walker = Walker::new(py, self.inner.limits());
        let value = walker.args(args).map_err(walk_error)?;
        let call = self.sign_text(py, function, &value::to_json(&value), now, nonce)?;
        let signed = walker.make_python(&value)?.cast_into::<PyDict>()?;
        signed.set_item(self.inner.envelope_field(), envelope(py, &call)?)?;
        Ok(signed)
    }

    /// Signs args given as Convex JSON text; returns the signed args as
    /// canonical Convex JSON text (for `{"path", "args", "format": "json"}`).
    #[pyo3(signature = (function, args_json, *, now = None, nonce = None))]
    fn sign_json(
        &self,
        py: Python<'_>,
        function: &str,
        args_json: &Bound<'_, PyAny>,
        now: Option<&Bound<'_, PyAny>>,
        nonce: Option<&str>,
    ) -> PyResult<String> {
        let text = json_text(args_json, "args_json")?;
        Ok(self.sign_text(py, function, &text, now, nonce)?.signed_args)
    }

    /// The args for the gateway (`callsign:runQuery|runMutation|runAction`) to
    /// run the internal function `function` with `args`, signed for it:
    /// `{"function", "args", <envelope field>}`.
    #[pyo3(signature = (function, args = None, *, now = None, nonce = None))]
    fn gateway_args<'py>(
        &self,
        py: Python<'py>,
        function: &str,
        args: Option<&Bound<'py, PyAny>>,
        now: Option<&Bound<'py, PyAny>>,
        nonce: Option<&str>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let mut walker = Walker::new(py, self.inner.limits());
        let value = walker.args(args).map_err(walk_error)?;
        let call = self.sign_text(py, function, &value::to_json(&value), now, nonce)?;
        let out = PyDict::new(py);
        out.set_item("function", &call.function)?;
        out.set_item("args", walker.make_python(&value)?)?;
        out.set_item(self.inner.envelope_field(), envelope(py, &call)?)?;
        Ok(out)
    }
}

impl Signer {
    fn sign_text(
        &self,
        py: Python<'_>,
        function: &str,
        args_json: &str,
        now: Option<&Bound<'_, PyAny>>,
        nonce: Option<&str>,
    ) -> PyResult<SignedCall> {
        let ts = match now {
            None => callsign::Clock::now_ms(&SystemClock),
            Some(now) => timestamp(now)?,
        };
        let nonce = match nonce {
            Some(text) => Nonce::parse(text),
            None => Nonce::generate(),
        }
        .map_err(raise)?;
        py.detach(|| self.inner.sign_at(function, args_json, ts, &nonce))
            .map_err(raise)
    }
}

/// `now=`: whole milliseconds since the epoch, an `int` (not a `bool`) from 0
/// to 2^53 − 1, or a `float` holding one.
fn timestamp(now: &Bound<'_, PyAny>) -> PyResult<u64> {
    let bad = || {
        error(
            ErrorCode::Malformed,
            "now must be whole milliseconds since the Unix epoch, from 0 to 2^53 - 1",
        )
    };
    if now.is_instance_of::<pyo3::types::PyBool>() {
        return Err(bad());
    }
    if let Ok(f) = now.cast::<PyFloat>() {
        let f = f.value();
        let max = callsign::spec::MAX_TIMESTAMP_MS as f64;
        return if f.fract() == 0.0 && (0.0..=max).contains(&f) {
            // Exact: an integral double in [0, 2^53 - 1].
            Ok(f as u64)
        } else {
            Err(bad())
        };
    }
    match now.extract::<u64>() {
        Ok(ms) if ms <= callsign::spec::MAX_TIMESTAMP_MS => Ok(ms),
        _ => Err(bad()),
    }
}

/// The envelope as the client sends it: `ts` and `v` are float64 numbers.
fn envelope<'py>(py: Python<'py>, call: &SignedCall) -> PyResult<Bound<'py, PyDict>> {
    let e = &call.envelope;
    let out = PyDict::new(py);
    out.set_item("kid", &e.kid)?;
    out.set_item("nonce", &e.nonce)?;
    out.set_item("sig", &e.sig)?;
    // Exact: ts <= 2^53 - 1.
    out.set_item("ts", e.ts as f64)?;
    out.set_item("v", callsign::spec::ENVELOPE_VERSION as f64)?;
    Ok(out)
}

/// The module `convex_callsign._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Signer>()?;
    m.add_function(wrap_pyfunction!(canonicalize, m)?)?;
    m.add_function(wrap_pyfunction!(to_convex_json, m)?)?;
    m.add_function(wrap_pyfunction!(inspect_key, m)?)?;
    m.add_function(wrap_pyfunction!(inspect_key_set, m)?)?;
    m.add_function(wrap_pyfunction!(derive_key, m)?)?;
    m.add_function(wrap_pyfunction!(generate_key, m)?)?;
    let codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    m.add("ERROR_CODES", pyo3::types::PyTuple::new(m.py(), codes)?)?;
    m.add(
        "DEFAULT_ENVELOPE_FIELD",
        callsign::spec::DEFAULT_ENVELOPE_FIELD,
    )?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
