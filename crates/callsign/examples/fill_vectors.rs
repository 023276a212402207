//! Fills the computed values into the shared test vectors in `tests/vectors/`
//! and writes the files in one layout (notation: tests/vectors/README.md).
//!
//! ```text
//! cargo run -p callsign --example fill_vectors            # fill and rewrite the files
//! cargo run -p callsign --example fill_vectors -- --check # fail, naming each stale field
//! ```
//!
//! The JSON files are the hand-edited source: every input and every expected
//! outcome (codes, canonical texts, claims) is written there by hand. This
//! filler computes only what cannot be: derived keys, audience fingerprints,
//! signing messages, MACs and the signed args that carry them. It does so with
//! `hmac` and `sha2` directly, never with the callsign library, so that the
//! vectors cannot agree with the library merely because the library wrote
//! them. `tests/node/` recomputes the same values again with node:crypto.

use std::path::Path;

use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

const FILES: [&str; 5] = [
    "canonical.json",
    "keys.json",
    "signing.json",
    "verify.json",
    "http.json",
];

/// Every field the files may hold, in the order they are written: sections;
/// then a case's inputs and settings, recipes, computed values and expected
/// outcomes; then the fields of `limits`, `window` and `*_repeat`. A name not
/// listed is refused: a misspelt field would otherwise be ignored by every runner.
const ORDER: &str = "signing signing_invalid cases valid invalid derive keysets functions sequences
    name input input_repeat input_hex root key keys kid audience audience_fingerprint
    function method target path query body body_hex created ts nonce remember_until args
    window limits max_body_bytes envelope_field
    derived_keys sign params label edit
    canonical_function canonical_args canonical derived message sig signed_args signed_args_repeat
    signature_base headers
    now kids error verified steps
    max_bytes max_depth max_age_ms max_future_ms prefix unit count suffix";

/// Stops at the first template error: the files are not written.
fn fail(at: &str, message: impl std::fmt::Display) -> ! {
    eprintln!("fill_vectors: {at}: {message}");
    std::process::exit(2)
}

fn text<'a>(at: &str, v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| fail(at, format!("{field} must be a string")))
}

fn uint(at: &str, v: &Value, field: &str) -> u64 {
    v[field]
        .as_u64()
        .unwrap_or_else(|| fail(at, format!("{field} must be an unsigned integer")))
}

// ---------------------------------------------------------------------------
// SPEC §3, §4, §6, computed with `hmac` and `sha2` directly.

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// Kid, secret and (for a derived key) audience of a key string.
fn parse_key<'a>(at: &str, key: &'a str) -> (&'a str, Vec<u8>, Option<&'a str>) {
    let (derived, rest) = match key.strip_prefix("csk1d_") {
        Some(rest) => (true, rest),
        None => (
            false,
            key.strip_prefix("csk1_")
                .unwrap_or_else(|| fail(at, "not a key")),
        ),
    };
    let (kid, rest) = rest
        .split_once('_')
        .unwrap_or_else(|| fail(at, "key without kid"));
    let (hex_secret, audience) = match rest.split_once('@') {
        Some((hex_secret, audience)) if derived => (hex_secret, Some(audience)),
        _ => (rest, None),
    };
    let secret = hex::decode(hex_secret).unwrap_or_else(|e| fail(at, format!("key secret: {e}")));
    (kid, secret, audience)
}

/// SPEC §6.3: HMAC-SHA256(root secret, "callsign/v1/derive" LF audience).
fn derive(root_secret: &[u8], audience: &str) -> Vec<u8> {
    hmac_sha256(root_secret, &[b"callsign/v1/derive\n", audience.as_bytes()])
}

/// The derived key string of `root` for `audience` (what `callsign derive` writes).
fn derived_key(at: &str, root: &str, audience: &str) -> String {
    let (kid, secret, _) = parse_key(at, root);
    let secret = hex::encode(derive(&secret, audience));
    format!("csk1d_{kid}_{secret}@{audience}")
}

/// The MAC key of `key` for `audience` (SPEC §6.3).
fn mac_key(at: &str, key: &str, audience: &str) -> Vec<u8> {
    match parse_key(at, key) {
        (_, secret, None) => derive(&secret, audience),
        (_, secret, Some(bound)) if bound == audience => secret,
        _ => fail(at, "a derived key signs only for its own audience"),
    }
}

/// SPEC §3.1: "callsign/v1" LF, then `len:field` LF for each field.
fn frame(fields: [&str; 6]) -> String {
    let mut out = String::from("callsign/v1\n");
    for field in fields {
        out += &format!("{}:{field}\n", field.len());
    }
    out
}

/// Inserts `"field":value` into canonical args at its sorted place (top-level
/// field names are ASCII, so byte order is UTF-16 order).
fn splice(args: &str, field: &str, value: &str) -> String {
    let inner = &args[1..args.len() - 1];
    let mut members = Vec::new();
    let (mut depth, mut in_str, mut esc, mut start) = (0, false, false, 0);
    for (i, ch) in inner.char_indices() {
        match (in_str, esc, ch) {
            (true, true, _) => esc = false,
            (true, false, '\\') => esc = true,
            (true, false, '"') | (false, _, '"') => in_str = !in_str,
            (false, _, '{' | '[') => depth += 1,
            (false, _, '}' | ']') => depth -= 1,
            (false, _, ',') if depth == 0 => {
                members.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if !inner.is_empty() {
        members.push(&inner[start..]);
    }
    let name = |m: &str| m[1..m.find("\":").expect("member")].to_owned();
    let at = members.iter().position(|m| name(m).as_str() > field);
    let new = format!("\"{field}\":{value}");
    members.insert(at.unwrap_or(members.len()), &new);
    format!("{{{}}}", members.join(","))
}

/// Message, sig and signed args of the call whose key, audience, function, ts,
/// nonce and args are the fields `names` of `v`. Function and args are given in
/// canonical form, by hand: the filler does not canonicalize.
fn sign(at: &str, v: &Value, names: [&str; 6], envelope_field: &str) -> (String, String, String) {
    let ts = uint(at, v, names[3]).to_string();
    let [key, audience, function, _, nonce, args] =
        names.map(|f| if f == names[3] { "" } else { text(at, v, f) });
    let ts = ts.as_str();
    let kid = parse_key(at, key).0;
    let message = frame([kid, audience, function, ts, nonce, args]);
    let sig = hex::encode(hmac_sha256(
        &mac_key(at, key, audience),
        &[message.as_bytes()],
    ));
    let envelope = format!(r#"{{"kid":"{kid}","nonce":"{nonce}","sig":"{sig}","ts":{ts},"v":1}}"#);
    let signed = splice(args, envelope_field, &envelope);
    (message, sig, signed)
}

/// Expands `{sig}`, `{SIG}` (upper case) and `{sig[:N]}` (its first N digits).
fn expand(at: &str, text: &str, sig: &str) -> String {
    let mut out = text
        .replace("{sig}", sig)
        .replace("{SIG}", &sig.to_uppercase());
    while let Some(i) = out.find("{sig[:") {
        let end = out[i..].find("]}").map(|j| i + j);
        let n = end.and_then(|end| out[i + 6..end].parse::<usize>().ok());
        let (Some(end), Some(n)) = (end, n.filter(|n| *n <= sig.len())) else {
            fail(at, format!("bad placeholder in edit {text:?}"))
        };
        out.replace_range(i..end + 2, &sig[..n]);
    }
    out
}

/// `text` with every `csk1d_<kid>_<hex>@<audience>` replaced by `derived`, and
/// how many there were.
fn replace_derived(text: &str, head: &str, tail: &str, derived: &str) -> (String, usize) {
    let (mut out, mut rest, mut found) = (String::new(), text, 0);
    while let Some(i) = rest.find(head) {
        let after = &rest[i + head.len()..];
        let hex_len = after.bytes().take_while(u8::is_ascii_hexdigit).count();
        if after[hex_len..].starts_with(tail) {
            out += &rest[..i];
            out += derived;
            rest = &after[hex_len + tail.len()..];
            found += 1;
        } else {
            out += &rest[..i + head.len()];
            rest = after;
        }
    }
    (out + rest, found)
}

// ---------------------------------------------------------------------------
// SPEC §11, the HTTP profile: digest, signature base and MAC, with `sha2`,
// `hmac` and `base64` directly.

const COVERED: &str = r#"("@method" "@authority" "@path" "@query" "content-digest")"#;

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A body given as `body` (text) or `body_hex` (bytes) in `v`.
fn body_of(at: &str, v: &Value) -> Vec<u8> {
    match (v.get("body"), v.get("body_hex")) {
        (Some(Value::String(text)), None) => text.as_bytes().to_vec(),
        (None, Some(Value::String(h))) => {
            hex::decode(h).unwrap_or_else(|e| fail(at, format!("body_hex: {e}")))
        }
        _ => fail(at, "needs exactly one of body (text) and body_hex"),
    }
}

/// RFC 9530: `sha-256=:<base64>:`.
fn digest(body: &[u8]) -> String {
    format!("sha-256=:{}:", b64(&<Sha256 as sha2::Digest>::digest(body)))
}

/// The base and the signer's headers (lower-case names, one `name: value`
/// line each) of the request that `r` describes: `r` holds key, audience,
/// method, target, body and nonce; `created` is in seconds; `params` and
/// `label` replace the profile's own signature parameters and label.
fn sign_request(
    at: &str,
    r: &Value,
    created: u64,
    params: Option<&str>,
    label: Option<&str>,
) -> (String, String) {
    let [key, audience, method, target, nonce] =
        ["key", "audience", "method", "target", "nonce"].map(|f| text(at, r, f));
    let kid = parse_key(at, key).0;
    let cd = digest(&body_of(at, r));
    let params = params.map_or_else(
        || format!(r#"{COVERED};created={created};nonce="{nonce}";alg="hmac-sha256";keyid="{kid}";tag="callsign""#),
        str::to_owned,
    );
    let authority = audience
        .split_once("://")
        .map_or_else(|| fail(at, "audience without scheme"), |(_, a)| a);
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    // The components named in the inner list, in order.
    let inner = params
        .strip_prefix('(')
        .and_then(|p| p.split_once(')'))
        .unwrap_or_else(|| fail(at, "params must start with an inner list"))
        .0;
    let mut base = String::new();
    for component in inner.split(' ').filter(|c| !c.is_empty()) {
        let value = match component {
            "\"@method\"" => method.to_owned(),
            "\"@authority\"" => authority.to_owned(),
            "\"@path\"" => path.to_owned(),
            "\"@query\"" => format!("?{query}"),
            "\"@target-uri\"" => format!("{audience}{target}"),
            "\"content-digest\"" => cd.clone(),
            other => fail(at, format!("no recipe for component {other}")),
        };
        base += &format!("{component}: {value}\n");
    }
    base += &format!("\"@signature-params\": {params}");
    let sig = b64(&hmac_sha256(
        &mac_key(at, key, audience),
        &[base.as_bytes()],
    ));
    let label = label.unwrap_or("sig1");
    let headers = format!(
        "content-digest: {cd}\nsignature-input: {label}={params}\nsignature: {label}=:{sig}:\n"
    );
    (base, headers)
}

/// `sig` (base64) with the lowest bit of its first digit flipped: the MAC
/// with one bit changed, still canonical base64 of 32 bytes.
fn flip_first_bit(sig: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let first = ALPHABET
        .iter()
        .position(|&c| c == sig.as_bytes()[0])
        .expect("base64");
    format!("{}{}", ALPHABET[first ^ 1] as char, &sig[1..])
}

/// `name: value` as a `[name, value]` pair, with the signer's spelling of
/// the three names.
fn header_pair(line: &str) -> Value {
    let (name, value) = line.split_once(": ").expect("name: value");
    let name = match name {
        "content-digest" => "Content-Digest",
        "signature-input" => "Signature-Input",
        "signature" => "Signature",
        other => other,
    };
    serde_json::json!([name, value])
}

// ---------------------------------------------------------------------------
// Filling.

#[derive(Default)]
struct Filler {
    /// `file case: field` of every computed value that was missing or differed.
    stale: Vec<String>,
}

impl Filler {
    /// Sets a computed field, noting it if the file held another value.
    fn set(&mut self, at: &str, obj: &mut Value, field: &str, value: Value) {
        if obj.get(field) != Some(&value) {
            let how = ["missing", "stale"][usize::from(obj.get(field).is_some())];
            self.stale.push(format!("{at}: {field} is {how}"));
            obj[field] = value;
        }
    }

    fn fill_file(&mut self, file: &str, doc: &mut Value) {
        let sections = doc
            .as_object_mut()
            .unwrap_or_else(|| fail(file, "not an object"));
        for (section, cases) in sections.iter_mut() {
            let cases = cases
                .as_array_mut()
                .unwrap_or_else(|| fail(file, format!("{section} must be an array")));
            for case in cases {
                let at = format!("{file} {section} {:?}", case["name"].as_str().unwrap_or(""));
                if section != "sequences" {
                    self.fill_case(&at, file, section, case);
                    continue;
                }
                let steps = case["steps"].as_array_mut();
                for (i, step) in steps
                    .unwrap_or_else(|| fail(&at, "needs steps"))
                    .iter_mut()
                    .enumerate()
                {
                    self.fill_case(&format!("{at} step {}", i + 1), file, section, step);
                }
            }
        }
    }

    fn fill_case(&mut self, at: &str, file: &str, section: &str, case: &mut Value) {
        resolved(at, file, section, case);
        self.fill_derived_keys(at, case);
        match (file, section) {
            ("keys.json", "valid") => {
                let audience = case["audience"].as_str().map(str::as_bytes);
                let fingerprint =
                    audience.map(|a| hex::encode(&<Sha256 as sha2::Digest>::digest(a)[..4]));
                self.set(at, case, "audience_fingerprint", fingerprint.into());
            }
            ("keys.json", "derive") => {
                let derived = derived_key(at, text(at, case, "root"), text(at, case, "audience"));
                self.set(at, case, "derived", derived.into());
            }
            ("signing.json", "cases") => {
                let names = [
                    "key",
                    "audience",
                    "canonical_function",
                    "ts",
                    "nonce",
                    "canonical_args",
                ];
                let (message, sig, signed) =
                    sign(at, case, names, text(at, case, "envelope_field"));
                self.set(at, case, "message", message.into());
                self.set(at, case, "sig", sig.into());
                self.set(at, case, "signed_args", signed.into());
            }
            ("verify.json", _) if case.get("sign").is_some() => self.fill_signed_args(at, case),
            ("http.json", "signing") => {
                let secs = uint(at, case, "now") / 1000;
                let (base, headers) = sign_request(at, case, secs, None, None);
                let headers = headers.lines().map(header_pair).collect::<Vec<_>>();
                self.set(at, case, "signature_base", base.into());
                self.set(at, case, "headers", headers.into());
            }
            ("http.json", "signing_invalid") => {}
            ("http.json", _) => self.fill_request_headers(at, case),
            _ if case.get("edit").is_some() => fail(at, "edit needs sign"),
            _ if case.get("sign").is_some() => fail(at, "sign belongs to verify.json cases"),
            _ => {}
        }
    }

    /// `derived_keys: [[root, audience], …]`: each derived key is written over
    /// the one with its kid and audience in `key`, `keys` and `sign.key`.
    fn fill_derived_keys(&mut self, at: &str, case: &mut Value) {
        let Some(pairs) = case.get("derived_keys").cloned() else {
            return;
        };
        for pair in pairs
            .as_array()
            .unwrap_or_else(|| fail(at, "derived_keys must be a list"))
        {
            let [Some(root), Some(audience)] = [0, 1].map(|i| pair.get(i).and_then(Value::as_str))
            else {
                fail(at, "derived_keys holds [root key, audience] pairs")
            };
            let derived = derived_key(at, root, audience);
            let kid = parse_key(at, root).0;
            let (head, tail) = (format!("csk1d_{kid}_"), format!("@{audience}"));
            let mut found = 0;
            for (path, field) in [("", "key"), ("", "keys"), ("sign", "key")] {
                let obj = if path.is_empty() {
                    Some(&mut *case)
                } else {
                    case.get_mut(path)
                };
                let Some(obj) = obj else { continue };
                let Some(old) = obj.get(field).and_then(Value::as_str) else {
                    continue;
                };
                let (new, n) = replace_derived(old, &head, &tail, &derived);
                found += n;
                let label = if path.is_empty() {
                    at.to_owned()
                } else {
                    format!("{at} {path}")
                };
                self.set(&label, obj, field, new.into());
            }
            if found == 0 {
                fail(
                    at,
                    format!("derived_keys: no csk1d_{kid}_…@{audience} in key, keys or sign.key"),
                );
            }
        }
    }

    /// http.json: the received `headers` from `sign` (the signer's headers,
    /// lower-case names, as a Fetch-API runtime shows them) and `edit`.
    fn fill_request_headers(&mut self, at: &str, case: &mut Value) {
        let r = case
            .get("sign")
            .unwrap_or_else(|| fail(at, "an http.json case needs sign"));
        let params = r.get("params").map(|_| text(at, r, "params"));
        let label = r.get("label").map(|_| text(at, r, "label"));
        let (base, mut lines) = sign_request(at, r, uint(at, r, "created"), params, label);
        let sig = lines
            .split("signature: ")
            .nth(1)
            .and_then(|l| l.split_once("=:"))
            .and_then(|(_, rest)| rest.split_once(":\n"))
            .map(|(sig, _)| sig.to_owned())
            .unwrap_or_else(|| fail(at, "no signature line"));
        let received = digest(&body_of(at, case));
        let signed = digest(&body_of(at, r));
        let no_edits = Vec::new();
        let edits = case.get("edit").map_or(&no_edits, |e| {
            e.as_array()
                .unwrap_or_else(|| fail(at, "edit must be a list"))
        });
        for edit in edits {
            let [Some(from), Some(to)] = [0, 1].map(|i| edit.get(i).and_then(Value::as_str)) else {
                fail(at, "edit holds [from, to] pairs")
            };
            let expand = |t: &str| {
                t.replace("{sig_flipped}", &flip_first_bit(&sig))
                    .replace("{sig}", &sig)
                    .replace("{digest}", &signed)
                    .replace("{body_digest}", &received)
            };
            let (from, to) = (expand(from), expand(to));
            if lines.matches(&from).count() != 1 || from == to {
                fail(
                    at,
                    format!("edit {from:?} must occur once in {lines:?} and change it"),
                );
            }
            lines = lines.replacen(&from, &to, 1);
        }
        let headers: Vec<Value> = lines
            .lines()
            .map(|line| {
                let (name, value) = line
                    .split_once(':')
                    .unwrap_or_else(|| fail(at, format!("header line {line:?} has no ':'")));
                serde_json::json!([name, value.strip_prefix(' ').unwrap_or(value)])
            })
            .collect();
        self.set(at, case, "signature_base", base.into());
        self.set(at, case, "headers", headers.into());
    }

    /// verify.json: `signed_args` (or `signed_args_repeat`'s prefix and suffix)
    /// from `sign` and `edit`.
    fn fill_signed_args(&mut self, at: &str, case: &mut Value) {
        let r = &case["sign"];
        let args = text(at, r, "args");
        let canonical = serde_json::from_str::<Value>(args)
            .ok()
            .map(|v| v.to_string());
        if canonical.as_deref() != Some(args) {
            fail(
                at,
                "sign.args must be canonical args (compact, fields sorted)",
            );
        }
        let names = ["key", "audience", "function", "ts", "nonce", "args"];
        let field = r
            .get("envelope_field")
            .map_or("_callsign", |_| text(at, r, "envelope_field"));
        let (_, sig, mut signed) = sign(at, r, names, field);
        let no_edits = Vec::new();
        let edits = match case.get("edit") {
            None => &no_edits,
            Some(e) => e
                .as_array()
                .unwrap_or_else(|| fail(at, "edit must be a list")),
        };
        for edit in edits {
            let [Some(from), Some(to)] = [0, 1].map(|i| edit.get(i).and_then(Value::as_str)) else {
                fail(at, "edit holds [from, to] pairs")
            };
            let (from, to) = (expand(at, from, &sig), expand(at, to, &sig));
            if signed.matches(&from).count() != 1 || from == to {
                fail(
                    at,
                    format!("edit {from:?} must occur once in {signed:?} and change it"),
                );
            }
            signed = signed.replacen(&from, &to, 1);
        }
        match case.get_mut("signed_args_repeat") {
            Some(repeat) => {
                let Some((prefix, suffix)) = signed.split_once("{repeat}") else {
                    fail(at, "signed_args_repeat needs an edit that inserts {repeat}")
                };
                let label = format!("{at} signed_args_repeat");
                self.set(&label, repeat, "prefix", prefix.into());
                self.set(&label, repeat, "suffix", suffix.into());
            }
            None if signed.contains("{repeat}") => fail(at, "{repeat} needs signed_args_repeat"),
            None => self.set(at, case, "signed_args", signed.into()),
        }
    }
}

/// Cases are fully resolved (README): each states the settings its file uses.
fn resolved(at: &str, file: &str, section: &str, case: &Value) {
    let needs = match (file, section) {
        ("canonical.json", _) => "limits",
        ("signing.json", "cases" | "invalid") => "limits envelope_field",
        ("verify.json", _) => "keys audience function window limits envelope_field",
        ("http.json", "signing" | "signing_invalid") => "key audience method target now nonce",
        ("http.json", _) => "keys audience window max_body_bytes method target now",
        _ => "",
    };
    for need in needs.split_whitespace() {
        let fields: &[&str] = match need {
            "limits" => &["max_bytes", "max_depth"],
            "window" => &["max_age_ms", "max_future_ms"],
            _ => &[],
        };
        let ok = match case[need].as_object() {
            Some(obj) => {
                obj.len() == fields.len()
                    && fields
                        .iter()
                        .all(|f| obj.get(*f).is_some_and(Value::is_u64))
            }
            None if need == "now" || need == "max_body_bytes" => case[need].is_u64(),
            None => fields.is_empty() && case[need].is_string(),
        };
        if !ok {
            fail(
                at,
                format!("needs {need} with every field (cases are fully resolved)"),
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Layout: one field per line for each case and sequence step, every value on
// one line, ASCII only (other characters and DEL as \u escapes).

fn members<'a>(file: &str, v: &'a Value) -> Vec<(&'a String, &'a Value)> {
    let mut out: Vec<_> = v.as_object().expect("object").iter().collect();
    let rank = |k: &str| ORDER.split_whitespace().position(|o| o == k);
    if let Some((k, _)) = out.iter().find(|(k, _)| rank(k).is_none()) {
        fail(
            file,
            format!("unknown field {k:?} (known: fill_vectors.rs ORDER)"),
        );
    }
    out.sort_by_key(|(k, _)| rank(k));
    out
}

fn string(s: &str) -> String {
    let json = Value::from(s).to_string();
    let mut out = String::with_capacity(json.len());
    for ch in json.chars() {
        if ch.is_ascii() && ch != '\u{7f}' {
            out.push(ch);
        } else {
            for unit in ch.encode_utf16(&mut [0; 2]) {
                out += &format!("\\u{unit:04x}");
            }
        }
    }
    out
}

fn compact(file: &str, v: &Value) -> String {
    match v {
        Value::Object(_) => {
            let fields: Vec<_> = members(file, v)
                .into_iter()
                .map(|(k, v)| format!("{}: {}", string(k), compact(file, v)))
                .collect();
            format!("{{{}}}", fields.join(", "))
        }
        Value::Array(items) => {
            let items: Vec<_> = items.iter().map(|i| compact(file, i)).collect();
            format!("[{}]", items.join(", "))
        }
        Value::String(s) => string(s),
        other => other.to_string(),
    }
}

/// A list of cases (or steps), one per block, at `indent`.
fn block_list(file: &str, items: &[Value], indent: usize) -> String {
    let pad = " ".repeat(indent);
    let blocks: Vec<_> = items.iter().map(|c| block(file, c, indent + 2)).collect();
    format!("[\n{}\n{pad}]", blocks.join(",\n"))
}

/// An object with one member per line.
fn block(file: &str, v: &Value, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let lines: Vec<_> = members(file, v)
        .into_iter()
        .map(|(k, v)| match v.as_array() {
            Some(items) if indent == 0 || k == "steps" => {
                format!(
                    "{pad}  {}: {}",
                    string(k),
                    block_list(file, items, indent + 2)
                )
            }
            _ => format!("{pad}  {}: {}", string(k), compact(file, v)),
        })
        .collect();
    format!("{pad}{{\n{}\n{pad}}}", lines.join(",\n"))
}

fn main() {
    let check = std::env::args().skip(1).any(|a| a == "--check");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors");
    let mut filler = Filler::default();
    let mut changed = Vec::new();
    let mut summary = Vec::new();
    for file in FILES {
        let path = dir.join(file);
        let old = std::fs::read_to_string(&path).unwrap_or_else(|e| fail(file, e));
        let mut doc: Value = serde_json::from_str(&old).unwrap_or_else(|e| fail(file, e));
        filler.fill_file(file, &mut doc);
        let new = block(file, &doc, 0) + "\n";
        let counts: Vec<_> = members(file, &doc)
            .into_iter()
            .map(|(k, v)| format!("{} {k}", v.as_array().map_or(0, Vec::len)))
            .collect();
        summary.push(format!("{file}: {}", counts.join(", ")));
        if new != old {
            changed.push((path, file, new));
        }
    }
    if check {
        for stale in &filler.stale {
            eprintln!("stale: {stale}");
        }
        if changed.is_empty() {
            println!("vectors are fresh ({})", summary.join("; "));
            return;
        }
        let files: Vec<_> = changed.iter().map(|c| c.1).collect();
        if filler.stale.is_empty() {
            eprintln!(
                "{}: computed values are fresh, the layout is not",
                files.join(", ")
            );
        }
        eprintln!("run `cargo run -p callsign --example fill_vectors` and review the diff");
        std::process::exit(1);
    }
    for stale in &filler.stale {
        println!("filled {stale}");
    }
    for (path, file, new) in changed {
        std::fs::write(&path, new).unwrap_or_else(|e| fail(file, e));
        println!("wrote {file}");
    }
    println!("{}", summary.join("\n"));
}
