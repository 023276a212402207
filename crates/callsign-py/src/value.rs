//! Python values → Convex values → Convex JSON text, the way the `convex`
//! Python client (0.8.1) encodes them.
//!
//! The walk follows `convex.values.convex_to_json` check for check (its
//! order decides which rule a value falls under, e.g. `bool` before `int`):
//!
//! | Python | Convex |
//! |---|---|
//! | `None`, `bool`, `str` | null, boolean, string |
//! | `float` | float64 (`-0.0`, NaN, ±inf as `$float`) |
//! | `int` in [-2^53, 2^53] | float64, as the client sends it; outside: `malformed` |
//! | `convex.ConvexInt64` | int64 (`$integer`) |
//! | `bytes`, anything with the buffer protocol | bytes (`$bytes`) |
//! | `list`, `tuple`, other `Sequence` | array |
//! | `dict`, other `Mapping` with `str` keys | object |
//!
//! and refuses, as `malformed`, what Convex refuses: other types, non-`str`
//! keys, lone surrogates, nesting deeper than the limit (which also stops a
//! list that contains itself). Field names are the core's to check.
//!
//! The walk builds a [`Value`] tree once; the JSON text for the core and the
//! fresh Python values handed back to the caller both come from that tree,
//! so what is sent is exactly what was signed, whatever the caller's objects
//! do when they are read a second time.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use callsign::spec::write_canonical_string;
use callsign::{Error, ErrorCode, Limits};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyMapping, PyMemoryView, PySequence, PyString,
    PyTuple, PyType,
};

/// The largest integer a Python `int` may be for the client to send it as a
/// float64 (`convex.values.MAX_SAFE_INTEGER`; the smallest is its negation).
const MAX_SAFE_INTEGER: i64 = 1 << 53;

/// Where `convex.ConvexInt64` lives (`convex` re-exports it from here).
const INT64_MODULE: &str = "_convex.int64";

/// At most this many characters of any input are quoted in a message (SPEC.md §9).
const MAX_QUOTED: usize = 64;

/// A Convex value, as read from Python.
#[derive(Debug)]
pub enum Value {
    Null,
    Boolean(bool),
    Float64(f64),
    Int64(i64),
    String(String),
    Bytes(Vec<u8>),
    Array(Vec<Value>),
    /// Members in the order the Python object gave them.
    Object(Vec<(String, Value)>),
}

/// A failure of the walk: a callsign error (`malformed`, `too_large`), or an
/// exception raised by the caller's own objects (a `Mapping` whose `items()`
/// raises), which is passed on unchanged.
pub enum WalkError {
    Callsign(Error),
    Python(PyErr),
}

impl From<PyErr> for WalkError {
    fn from(err: PyErr) -> Self {
        WalkError::Python(err)
    }
}

fn malformed(message: String) -> WalkError {
    WalkError::Callsign(Error::new(ErrorCode::Malformed, message))
}

/// `text`, cut to [`MAX_QUOTED`] characters (and its length given) if longer.
pub fn quoted(text: &str) -> String {
    match text.char_indices().nth(MAX_QUOTED) {
        Some((end, _)) => format!("{:?}… ({} characters)", &text[..end], text.chars().count()),
        None => format!("{text:?}"),
    }
}

/// The name of `obj`'s type, for messages (never its value: args may hold
/// anything, and a `repr` may be huge).
fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|name| quoted(&name.to_string_lossy()))
        .unwrap_or_else(|_| "<unnamed type>".to_owned())
}

/// Reads Python values into [`Value`]s under the given limits.
pub struct Walker<'py> {
    py: Python<'py>,
    max_depth: usize,
    max_bytes: usize,
    /// A lower bound of the JSON text's length so far: once it passes
    /// `max_bytes` the core would refuse the text as `too_large`, so the
    /// walk stops there instead of copying the rest.
    bytes: usize,
    /// `convex.ConvexInt64`, looked up once per walk (`None` inside: not loaded).
    int64: Option<Option<Bound<'py, PyType>>>,
}

impl<'py> Walker<'py> {
    /// A walker applying `limits` (depth capped as the core caps it).
    pub fn new(py: Python<'py>, limits: Limits) -> Self {
        Walker {
            py,
            max_depth: limits.max_depth.min(Limits::MAX_DEPTH_CAP),
            max_bytes: limits.max_bytes,
            bytes: 0,
            int64: None,
        }
    }

    /// Reads the top-level args: a `dict` (or other `Mapping`) of values;
    /// `None` means no args, as for the client.
    pub fn args(&mut self, args: Option<&Bound<'py, PyAny>>) -> Result<Value, WalkError> {
        let Some(args) = args.filter(|a| !a.is_none()) else {
            return Ok(Value::Object(Vec::new()));
        };
        if args.is_instance_of::<PyDict>() || args.cast::<PyMapping>().is_ok() {
            self.value(args, 1)
        } else {
            Err(malformed(format!(
                "args must be a dict of Convex values, not {}",
                type_name(args)
            )))
        }
    }

    /// Reads one value at nesting `depth` (the args object is 1).
    fn value(&mut self, obj: &Bound<'py, PyAny>, depth: usize) -> Result<Value, WalkError> {
        let value = self.read(obj, depth)?;
        self.count(&value)?;
        Ok(value)
    }

    /// Adds `value`'s shortest possible JSON length to the running total.
    fn count(&mut self, value: &Value) -> Result<(), WalkError> {
        self.bytes += match value {
            Value::Null | Value::Boolean(_) | Value::Float64(_) => 1,
            Value::Int64(_) => 27,
            Value::String(s) => s.len() + 2,
            Value::Bytes(b) => b.len().div_ceil(3) * 4 + 13,
            Value::Array(items) => 1 + items.len().max(1),
            // `{}`, and per member its quotes, colon and comma.
            Value::Object(members) => members.iter().map(|(k, _)| k.len() + 4).sum::<usize>() + 1,
        };
        if self.bytes > self.max_bytes {
            return Err(WalkError::Callsign(Error::new(
                ErrorCode::TooLarge,
                format!(
                    "args are over the limit of {} bytes as Convex JSON",
                    self.max_bytes
                ),
            )));
        }
        Ok(())
    }

    fn read(&mut self, obj: &Bound<'py, PyAny>, depth: usize) -> Result<Value, WalkError> {
        // 1. The exact types that round-trip, in convex_to_json's order.
        if obj.is_none() {
            return Ok(Value::Null);
        }
        if let Ok(b) = obj.cast_exact::<PyBool>() {
            return Ok(Value::Boolean(b.is_true()));
        }
        if let Ok(f) = obj.cast_exact::<PyFloat>() {
            return Ok(Value::Float64(f.value()));
        }
        if let Ok(s) = obj.cast_exact::<PyString>() {
            return string(s).map(Value::String);
        }
        if let Ok(b) = obj.cast_exact::<PyBytes>() {
            return Ok(Value::Bytes(b.as_bytes().to_vec()));
        }
        if let Ok(d) = obj.cast_exact::<PyDict>() {
            // A snapshot of the items: the caller's objects run code while the
            // walk reads them (`__iter__`, `items()`), which may change the dict.
            let items = d.items();
            return self.object(items.iter().map(|pair| split_pair(&pair)), depth);
        }
        if obj.is_exact_instance_of::<PyList>() {
            return self.array(obj, depth);
        }
        if let Some(int64) = self.convex_int64()? {
            if obj.get_type().is(int64) {
                return convex_int64_value(obj).map(Value::Int64);
            }
        }
        // `int` (any subclass, bool aside): a float64, as the client sends it.
        if obj.is_instance_of::<PyInt>() {
            return int(obj).map(Value::Float64);
        }
        // 2. Common types with a clear Convex form.
        if obj.is_instance_of::<PyTuple>() {
            return self.array(obj, depth);
        }
        // 3. Subclasses of the round-tripping types.
        if let Ok(f) = obj.cast::<PyFloat>() {
            return Ok(Value::Float64(f.value()));
        }
        if let Ok(s) = obj.cast::<PyString>() {
            return string(s).map(Value::String);
        }
        if let Ok(b) = obj.cast::<PyBytes>() {
            return Ok(Value::Bytes(b.as_bytes().to_vec()));
        }
        if obj.is_instance_of::<PyDict>() {
            return self.mapping(obj, depth);
        }
        if obj.is_instance_of::<PyList>() {
            return self.array(obj, depth);
        }
        // 4. Protocols: the buffer protocol, then Mapping, then Sequence.
        match PyMemoryView::from(obj) {
            Ok(view) => {
                let bytes = view.call_method0("tobytes")?;
                let bytes = bytes.cast::<PyBytes>().map_err(PyErr::from)?;
                return Ok(Value::Bytes(bytes.as_bytes().to_vec()));
            }
            Err(e) if e.is_instance_of::<PyTypeError>(self.py) => {}
            Err(e) => return Err(e.into()),
        }
        if obj.cast::<PyMapping>().is_ok() {
            return self.mapping(obj, depth);
        }
        if obj.cast::<PySequence>().is_ok() {
            return self.array(obj, depth);
        }
        Err(malformed(format!(
            "a value of type {} is not a Convex value (None, bool, int, float, str, bytes, \
             list, dict or convex.ConvexInt64)",
            type_name(obj)
        )))
    }

    /// The depth check for a container at `depth`.
    fn enter(&self, depth: usize) -> Result<(), WalkError> {
        if depth > self.max_depth {
            return Err(malformed(format!(
                "args nest deeper than {} levels of lists and dicts (does one contain itself?)",
                self.max_depth
            )));
        }
        Ok(())
    }

    fn array(&mut self, obj: &Bound<'py, PyAny>, depth: usize) -> Result<Value, WalkError> {
        self.enter(depth)?;
        let mut items = Vec::new();
        for item in obj.try_iter()? {
            items.push(self.value(&item?, depth + 1)?);
        }
        Ok(Value::Array(items))
    }

    fn mapping(&mut self, obj: &Bound<'py, PyAny>, depth: usize) -> Result<Value, WalkError> {
        // What the client does for a Mapping (and a dict subclass): `v.items()`.
        let items = obj.call_method0("items")?;
        let pairs = items.try_iter()?.map(|pair| split_pair(&pair?));
        self.object(pairs, depth)
    }

    fn object(
        &mut self,
        pairs: impl Iterator<Item = PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)>>,
        depth: usize,
    ) -> Result<Value, WalkError> {
        self.enter(depth)?;
        let mut members = Vec::new();
        for pair in pairs {
            let (key, value) = pair?;
            let Ok(name) = key.cast::<PyString>() else {
                return Err(malformed(format!(
                    "Convex object keys must be str, found a key of type {}",
                    type_name(&key)
                )));
            };
            let name = string(name)?;
            let value = self.value(&value, depth + 1)?;
            members.push((name, value));
        }
        Ok(Value::Object(members))
    }

    /// `convex.ConvexInt64` if the `convex` package is loaded. An instance of
    /// it can only exist once its module is: nothing is imported here.
    fn convex_int64(&mut self) -> PyResult<Option<&Bound<'py, PyType>>> {
        if self.int64.is_none() {
            let modules = self.py.import("sys")?.getattr("modules")?;
            let class = match modules.get_item(INT64_MODULE) {
                Ok(module) => module
                    .getattr("ConvexInt64")
                    .ok()
                    .and_then(|c| c.cast_into::<PyType>().ok()),
                Err(_) => None,
            };
            self.int64 = Some(class);
        }
        Ok(self.int64.as_ref().and_then(Option::as_ref))
    }

    /// A fresh `ConvexInt64(value)` (only called for a value read from one).
    fn make_int64(&mut self, value: i64) -> PyResult<Bound<'py, PyAny>> {
        match self.convex_int64()? {
            Some(class) => class.call1((value,)),
            None => Err(PyTypeError::new_err("convex.ConvexInt64 is not loaded")),
        }
    }

    /// Fresh Python objects for `value`: floats for every number, `bytes`,
    /// `ConvexInt64`, plain lists and dicts. This is what `sign` hands back.
    pub fn make_python(&mut self, value: &Value) -> PyResult<Bound<'py, PyAny>> {
        let py = self.py;
        Ok(match value {
            Value::Null => py.None().into_bound(py),
            Value::Boolean(b) => PyBool::new(py, *b).to_owned().into_any(),
            Value::Float64(f) => PyFloat::new(py, *f).into_any(),
            Value::Int64(i) => self.make_int64(*i)?,
            Value::String(s) => PyString::new(py, s).into_any(),
            Value::Bytes(b) => PyBytes::new(py, b).into_any(),
            Value::Array(items) => {
                let list = PyList::empty(py);
                for item in items {
                    list.append(self.make_python(item)?)?;
                }
                list.into_any()
            }
            Value::Object(members) => {
                let dict = PyDict::new(py);
                for (name, item) in members {
                    dict.set_item(name, self.make_python(item)?)?;
                }
                dict.into_any()
            }
        })
    }
}

/// A `(key, value)` item of a mapping.
fn split_pair<'py>(pair: &Bound<'py, PyAny>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    Ok((pair.get_item(0)?, pair.get_item(1)?))
}

/// A `str`'s text; a lone surrogate (which Python strings may hold and UTF-8
/// cannot) is `malformed`, as SPEC.md §2.3 and Convex have it.
fn string(s: &Bound<'_, PyString>) -> Result<String, WalkError> {
    match s.to_cow() {
        Ok(text) => Ok(text.into_owned()),
        Err(_) => Err(malformed(
            "a string holds a lone surrogate (U+D800 to U+DFFF alone), which is not Unicode text \
             and which Convex rejects"
                .to_owned(),
        )),
    }
}

/// An `int` as the client sends it: a float64, within ±2^53.
fn int(obj: &Bound<'_, PyAny>) -> Result<f64, WalkError> {
    match obj.extract::<i64>() {
        // Exact: |i| <= 2^53.
        Ok(i) if (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&i) => Ok(i as f64),
        _ => {
            let digits = obj.str().map(|s| s.to_string_lossy().into_owned());
            Err(malformed(format!(
                "int {} is outside -2^53 to 2^53, the range the convex client sends as a float64; \
                 use convex.ConvexInt64 for an int64",
                quoted(&digits.unwrap_or_default())
            )))
        }
    }
}

/// The `value` of a `ConvexInt64`, which its constructor keeps in the int64 range.
fn convex_int64_value(obj: &Bound<'_, PyAny>) -> Result<i64, WalkError> {
    obj.getattr("value")?.extract::<i64>().map_err(|_| {
        malformed("a ConvexInt64 whose value is not an int64 (changed after it was made?)".into())
    })
}

/// Writes `value` as Convex JSON (members in their order; the core sorts).
pub fn write_json(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Float64(f) => write_float(*f, out),
        Value::Int64(i) => special(out, "$integer", &i.to_le_bytes()),
        Value::String(s) => write_canonical_string(s, out),
        Value::Bytes(b) => special(out, "$bytes", b),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out);
            }
            out.push(']');
        }
        Value::Object(members) => {
            out.push('{');
            for (i, (name, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical_string(name, out);
                out.push(':');
                write_json(item, out);
            }
            out.push('}');
        }
    }
}

/// A float64: a JSON number, or `$float` with its bits (payload and sign kept,
/// as `struct.pack("<d", v)` does) for NaN, ±inf and -0.
fn write_float(f: f64, out: &mut String) {
    if f.is_finite() && !(f == 0.0 && f.is_sign_negative()) {
        out.push_str(ryu_js::Buffer::new().format_finite(f));
    } else {
        special(out, "$float", &f.to_le_bytes());
    }
}

fn special(out: &mut String, tag: &str, bytes: &[u8]) {
    out.push_str("{\"");
    out.push_str(tag);
    out.push_str("\":\"");
    STANDARD.encode_string(bytes, out);
    out.push_str("\"}");
}

/// The JSON text of `value`.
pub fn to_json(value: &Value) -> String {
    let mut out = String::new();
    write_json(value, &mut out);
    out
}
