// Independent check of the shared vectors (tests/vectors/*.json) with Node
// built-ins only: it re-derives keys, re-frames every signing message and
// recomputes every MAC with node:crypto, re-canonicalizes the plain-JSON
// canonical vectors with JSON.parse + a sorted serializer, normalizes function
// names, and finds the single fault of every call the signer must refuse.
// Nothing here uses the Rust code, so a pass shows the spec can be
// implemented from its text.
//
// This is a test-only reference: the product never canonicalizes in JS.
//
// Run: node --test tests/node/

import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const VECTORS = join(dirname(fileURLToPath(import.meta.url)), "..", "vectors");
const load = (name) => JSON.parse(readFileSync(join(VECTORS, name), "utf8"));

const MESSAGE_PREFIX = "callsign/v1\n";
const DERIVE_LABEL = "callsign/v1/derive\n";

const hmac = (key, data) => createHmac("sha256", key).update(data).digest();

// --- Keys (SPEC §6) -------------------------------------------------------

const KID = "[A-Za-z0-9.-]{1,64}";
// Printable ASCII without space and ',' (0x21-0x2B, 0x2D-0x7E).
const AUDIENCE = "[\\x21-\\x2b\\x2d-\\x7e]{1,512}";
const ROOT_RE = new RegExp(`^csk1_(${KID})_((?:[0-9a-f]{2}){32,64})$`);
const DERIVED_RE = new RegExp(`^csk1d_(${KID})_([0-9a-f]{64})@(${AUDIENCE})$`);

/**
 * Removes leading and trailing ASCII whitespace (space, tab, LF, FF, CR) only:
 * String.prototype.trim would also remove U+00A0, U+3000, VT and more.
 */
const trimAscii = (text) => text.replace(/^[ \t\n\f\r]+|[ \t\n\f\r]+$/g, "");

/** Parses a key string (surrounding ASCII whitespace is ignored), or returns null. */
function parseKey(untrimmed) {
  const text = trimAscii(untrimmed);
  let m = ROOT_RE.exec(text);
  if (m) return { kid: m[1], secret: Buffer.from(m[2], "hex"), audience: null };
  m = DERIVED_RE.exec(text);
  if (m && isAudience(m[3])) return { kid: m[1], secret: Buffer.from(m[2], "hex"), audience: m[3] };
  return null;
}

/** Splits a key set on commas and ASCII whitespace; null if invalid. */
function parseKeySet(text) {
  const keys = text
    .split(/[, \t\n\f\r]+/)
    .filter((part) => part !== "")
    .map(parseKey);
  if (keys.length === 0 || keys.includes(null)) return null;
  const kids = keys.map((k) => k.kid);
  if (new Set(kids).size !== kids.length) return null;
  return keys;
}

/** Derived secret = HMAC-SHA256(root secret, "callsign/v1/derive\n" + audience). */
const deriveSecret = (rootSecret, audience) =>
  hmac(rootSecret, Buffer.from(DERIVE_LABEL + audience, "utf8"));

/** The HMAC key a key uses for `audience`. */
function macKey(key, audience) {
  if (key.audience === null) return deriveSecret(key.secret, audience);
  assert.equal(key.audience, audience, `derived key ${key.kid} is for another audience`);
  return key.secret;
}

// --- Message (SPEC §3) ------------------------------------------------------

/** "callsign/v1\n" then `<decimal byte length>:<bytes>\n` per field. */
function frame(fields) {
  const parts = [Buffer.from(MESSAGE_PREFIX, "utf8")];
  for (const field of fields) {
    const bytes = Buffer.from(field, "utf8");
    parts.push(Buffer.from(`${bytes.length}:`, "utf8"), bytes, Buffer.from("\n", "utf8"));
  }
  return Buffer.concat(parts);
}

/**
 * SPEC §3.3: `messages` -> `messages:default`, `dir/file.js:fn` -> `dir/file:fn`;
 * null if invalid. The name as given is 1 to 512 bytes of 0x21-0x7E; split at
 * the last ':' (none: export `default`); the module loses one `.js`; then both
 * parts are non-empty and the module does not end in '/'.
 */
function canonicalFunction(name) {
  if (!/^[\x21-\x7e]{1,512}$/.test(name)) return null;
  const at = name.lastIndexOf(":");
  let module = at < 0 ? name : name.slice(0, at);
  const exportName = at < 0 ? "default" : name.slice(at + 1);
  if (module.endsWith(".js")) module = module.slice(0, -3);
  if (module === "" || exportName === "" || module.endsWith("/")) return null;
  return `${module}:${exportName}`;
}

const AUDIENCE_RE = new RegExp(`^${AUDIENCE}$`);
/** SPEC §3.2: the characters above, and neither key prefix (two keys run together otherwise). */
const isAudience = (text) => AUDIENCE_RE.test(text) && !/csk1d?_/.test(text);

/** SPEC §6.5: the first 8 hex digits of SHA-256 of the audience. */
const fingerprint = (audience) => createHash("sha256").update(audience, "utf8").digest("hex").slice(0, 8);
const NONCE_RE = /^[0-9a-f]{32,64}$/;

/** SPEC §5: a Convex identifier of at most 64 characters, not only underscores. */
const isEnvelopeField = (name) => /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name) && !/^_+$/.test(name);

// --- Canonical JSON for plain values -----------------------------------------

/** Sorted-key serializer (JCS for values without Convex special forms). */
function canon(value) {
  if (Array.isArray(value)) return `[${value.map(canon).join(",")}]`;
  if (value !== null && typeof value === "object") {
    // Default sort = UTF-16 code units. Build the text directly: an object
    // would enumerate integer-like keys first whatever the insertion order.
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canon(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** True if the value has a `__proto__` member anywhere (SPEC §2.5: refused). */
function hasProto(value) {
  if (Array.isArray(value)) return value.some(hasProto);
  if (value !== null && typeof value === "object") {
    return Object.keys(value).some((k) => k === "__proto__" || hasProto(value[k]));
  }
  return false;
}

/** True if the value has a `$` key or a -0 anywhere (Convex special forms). */
function hasSpecial(value) {
  if (Object.is(value, -0)) return true;
  if (Array.isArray(value)) return value.some(hasSpecial);
  if (value !== null && typeof value === "object") {
    return Object.keys(value).some((k) => k.startsWith("$") || hasSpecial(value[k]));
  }
  return false;
}

/** Nesting depth (SPEC §2.5): the args object is 1, special forms add nothing. */
function depth(value) {
  if (Array.isArray(value)) return 1 + Math.max(0, ...value.map(depth));
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value);
    if (keys.length === 1 && ["$integer", "$float", "$bytes"].includes(keys[0])) return 0;
    return 1 + Math.max(0, ...keys.map((k) => depth(value[k])));
  }
  return 0;
}

function expand(c, field) {
  if (typeof c[field] === "string") return c[field];
  const r = c[`${field}_repeat`];
  assert.ok(r, `case needs ${field} or ${field}_repeat`);
  return r.prefix + r.unit.repeat(r.count) + r.suffix;
}

// --- Tests -------------------------------------------------------------------

test("canonical.json: plain-JSON vectors equal sorted JSON.stringify", () => {
  const { valid } = load("canonical.json");
  let checked = 0;
  for (const c of valid) {
    const parsed = JSON.parse(expand(c, "input"));
    if (hasSpecial(parsed)) continue;
    assert.equal(canon(parsed), c.canonical, c.name);
    checked += 1;
  }
  assert.ok(checked >= 60, `only ${checked} canonical vectors were checkable`);
});

test("canonical.json: input_hex cases are not UTF-8", () => {
  const { invalid } = load("canonical.json");
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let checked = 0;
  for (const c of invalid) {
    if (!("input_hex" in c)) continue;
    assert.match(c.input_hex, /^(?:[0-9a-f]{2})+$/, `${c.name}: lowercase hex`);
    assert.equal(c.error, "malformed", c.name);
    assert.throws(() => decoder.decode(Buffer.from(c.input_hex, "hex")), TypeError, c.name);
    checked += 1;
  }
  assert.ok(checked >= 6, `only ${checked} input_hex cases`);
});

test("keys.json: key strings, derivation and key sets", () => {
  const { valid, invalid, derive, keysets } = load("keys.json");
  assert.ok(valid.length >= 15 && invalid.length >= 37 && keysets.length >= 18);
  for (const c of valid) {
    const key = parseKey(c.key);
    assert.ok(key, `${c.name}: should parse`);
    assert.equal(key.kid, c.kid, c.name);
    assert.equal(key.audience, c.audience, c.name);
    assert.equal(c.audience_fingerprint, c.audience === null ? null : fingerprint(c.audience), c.name);
    // The key string written back: `canonical` if given, else `key` itself.
    assert.equal(trimAscii(c.key), c.canonical ?? c.key, `${c.name}: canonical`);
  }
  for (const c of invalid) {
    assert.equal(parseKey(c.key), null, `${c.name}: should not parse`);
    assert.equal(c.error, "invalid_key", c.name);
  }
  assert.ok(derive.length >= 5);
  for (const c of derive) {
    const root = parseKey(c.root);
    assert.ok(root && root.audience === null, `${c.name}: root key`);
    const secret = deriveSecret(root.secret, c.audience).toString("hex");
    assert.equal(c.derived, `csk1d_${root.kid}_${secret}@${c.audience}`, c.name);
  }
  for (const c of keysets) {
    const set = parseKeySet(c.keys);
    if (c.error) {
      assert.equal(set, null, `${c.name}: should be rejected`);
    } else {
      assert.ok(set, `${c.name}: should parse`);
      assert.deepEqual(set.map((k) => k.kid), c.kids, c.name);
    }
  }
});

test("signing.json: messages, MACs and signed args recomputed", () => {
  const { cases } = load("signing.json");
  assert.ok(cases.length >= 12);
  for (const c of cases) {
    const key = parseKey(c.key);
    assert.ok(key, `${c.name}: key`);
    assert.equal(canonicalFunction(c.function), c.canonical_function, c.name);

    const message = frame([
      key.kid,
      c.audience,
      c.canonical_function,
      String(c.ts),
      c.nonce,
      c.canonical_args,
    ]);
    assert.ok(message.equals(Buffer.from(c.message, "utf8")), `${c.name}: message framing`);
    const sig = hmac(macKey(key, c.audience), message).toString("hex");
    assert.equal(sig, c.sig, `${c.name}: sig`);

    const args = JSON.parse(c.args);
    if (!hasSpecial(args)) assert.equal(canon(args), c.canonical_args, `${c.name}: canonical args`);

    const signed = JSON.parse(c.signed_args);
    assert.deepEqual(
      signed[c.envelope_field],
      { kid: key.kid, nonce: c.nonce, sig, ts: c.ts, v: 1 },
      `${c.name}: envelope`,
    );
    const { [c.envelope_field]: _, ...rest } = signed;
    if (!hasSpecial(rest)) {
      assert.equal(canon(rest), c.canonical_args, `${c.name}: signed args minus envelope`);
      assert.equal(canon(signed), c.signed_args, `${c.name}: signed args are canonical`);
    }
  }
});

test("signing.json: function names normalize per SPEC §3.3", () => {
  const { functions } = load("signing.json");
  assert.ok(functions.length >= 24, `only ${functions.length} function cases`);
  for (const c of functions) {
    const got = canonicalFunction(c.input);
    if (c.error) {
      assert.equal(c.error, "malformed", c.name);
      assert.equal(got, null, `${c.name}: should be rejected`);
    } else {
      assert.equal(got, c.canonical, c.name);
    }
  }
});

/** Every reason the signer must refuse the call `c`, as [what, code]. */
function signingFaults(c) {
  const { limits, envelope_field: field } = c;
  const faults = [];
  const key = parseKey(c.key);
  if (key === null) faults.push(["key string", "invalid_key"]);
  else if (key.audience !== null && key.audience !== c.audience) {
    faults.push(["key derived for another audience", "invalid_key"]);
  }
  if (!isAudience(c.audience)) faults.push(["audience", "malformed"]);
  if (canonicalFunction(c.function) === null) faults.push(["function", "malformed"]);
  if (!Number.isSafeInteger(c.ts) || c.ts < 0) faults.push(["ts", "malformed"]);
  if (!NONCE_RE.test(c.nonce)) faults.push(["nonce", "malformed"]);
  if (!isEnvelopeField(field)) faults.push(["envelope field name", "malformed"]);
  if (Buffer.byteLength(c.args, "utf8") > limits.max_bytes) faults.push(["input size", "too_large"]);
  let args;
  try {
    args = JSON.parse(c.args);
  } catch {
    faults.push(["args JSON", "malformed"]);
    return faults;
  }
  if (args === null || typeof args !== "object" || Array.isArray(args)) {
    faults.push(["args not an object", "malformed"]);
    return faults;
  }
  if (depth(args) > limits.max_depth) faults.push(["args depth", "malformed"]);
  if (hasProto(args)) faults.push(["a __proto__ field name", "malformed"]);
  if (Object.hasOwn(args, field)) {
    faults.push(["args contain the envelope field", "malformed"]);
  } else if (!hasSpecial(args)) {
    // The signed args: canonical args plus the envelope (any 64-digit sig).
    const envelope = { kid: key?.kid ?? "", nonce: c.nonce, sig: "0".repeat(64), ts: c.ts, v: 1 };
    const signed = canon({ ...args, [field]: envelope });
    if (Buffer.byteLength(signed, "utf8") > limits.max_bytes) faults.push(["signed size", "too_large"]);
    // The envelope is an object inside the args: the signed args are at least 2 deep.
    if (depth(args) <= limits.max_depth && limits.max_depth < 2) faults.push(["signed depth", "malformed"]);
  }
  return faults;
}

test("signing.json: every refused call has exactly one fault, with its code", () => {
  const { cases, invalid } = load("signing.json");
  assert.ok(invalid.length >= 22, `only ${invalid.length} invalid cases`);
  for (const c of cases) {
    assert.deepEqual(signingFaults(c), [], `${c.name}: a valid case has no fault`);
  }
  for (const c of invalid) {
    const faults = signingFaults(c);
    assert.equal(faults.length, 1, `${c.name}: faults ${JSON.stringify(faults)}`);
    assert.equal(faults[0][1], c.error, `${c.name}: ${faults[0][0]}`);
  }
});

test("verify.json: every accepted call carries a correct MAC", () => {
  const { cases, sequences } = load("verify.json");
  const accepted = [
    ...cases.filter((c) => c.verified),
    ...sequences.flatMap((s) => s.steps.filter((c) => c.verified).map((c) => ({ ...c, name: s.name }))),
  ];
  assert.ok(accepted.length >= 35, `only ${accepted.length} accepted calls`);
  for (const c of accepted) {
    const v = c.verified;
    const keys = parseKeySet(c.keys);
    assert.ok(keys, `${c.name}: key set`);
    const key = keys.find((k) => k.kid === v.kid);
    assert.ok(key, `${c.name}: kid ${v.kid} is in the key set`);

    const signed = JSON.parse(expand(c, "signed_args"));
    const field = c.envelope_field;
    const envelope = signed[field];
    assert.deepEqual(
      [envelope.kid, envelope.nonce, envelope.ts, envelope.v],
      [v.kid, v.nonce, v.ts, 1],
      `${c.name}: envelope`,
    );
    const { window } = c;
    assert.equal(v.remember_until, v.ts + window.max_age_ms, `${c.name}: remember_until`);
    assert.ok(c.now <= v.ts + window.max_age_ms && c.now >= v.ts - window.max_future_ms, c.name);
    assert.equal(v.function, canonicalFunction(c.function), `${c.name}: function`);

    const message = frame([v.kid, c.audience, v.function, String(v.ts), v.nonce, v.canonical_args]);
    const sig = hmac(macKey(key, c.audience), message).toString("hex");
    assert.equal(envelope.sig, sig, `${c.name}: sig`);

    const rest = { ...signed };
    delete rest[field];
    if (!hasSpecial(rest)) assert.equal(canon(rest), v.canonical_args, `${c.name}: canonical args`);
  }
});

test("verify.json: a verifier envelope field that is not a Convex identifier is malformed", () => {
  // The MAC does not cover the field name, so only this check stops a call
  // whose envelope sits under such a name.
  const { cases } = load("verify.json");
  let withValidEnvelope = 0;
  for (const c of cases) {
    const field = c.envelope_field;
    if (isEnvelopeField(field)) continue;
    assert.equal(c.error, "malformed", c.name);
    const envelope = JSON.parse(expand(c, "signed_args"))[field];
    if (envelope === undefined) continue;
    const key = parseKeySet(c.keys).find((k) => k.kid === envelope.kid);
    const { [field]: _, ...rest } = JSON.parse(expand(c, "signed_args"));
    const fn = canonicalFunction(c.function);
    const message = frame([envelope.kid, c.audience, fn, String(envelope.ts), envelope.nonce, canon(rest)]);
    assert.equal(envelope.sig, hmac(macKey(key, c.audience), message).toString("hex"), c.name);
    withValidEnvelope += 1;
  }
  assert.ok(withValidEnvelope >= 1, "no case carries a valid envelope under a non-identifier field");
});

test("verify.json: rejections for the key, the MAC or the window fail for exactly that reason", () => {
  // unknown_key: the kid is not in the set. bad_signature: the kid is, and
  // the recomputed MAC differs from the envelope's sig. expired and
  // not_yet_valid: the MAC is right (SPEC §7 checks it first) and `now` lies
  // past the stated edge of the window.
  const { cases, sequences } = load("verify.json");
  const reasons = new Set(["unknown_key", "bad_signature", "expired", "not_yet_valid"]);
  const rejected = [
    ...cases.filter((c) => reasons.has(c.error)),
    ...sequences.flatMap((s) => s.steps.filter((c) => reasons.has(c.error)).map((c) => ({ ...c, name: s.name }))),
  ];
  const checked = { unknown_key: 0, bad_signature: 0, expired: 0, not_yet_valid: 0 };
  for (const c of rejected) {
    const keys = parseKeySet(c.keys);
    assert.ok(keys, `${c.name}: the key set is valid`);
    const field = c.envelope_field;
    const signed = JSON.parse(expand(c, "signed_args"));
    const envelope = signed[field];
    const key = keys.find((k) => k.kid === envelope.kid);
    if (c.error === "unknown_key") {
      assert.equal(key, undefined, `${c.name}: kid ${envelope.kid} is unknown`);
      checked.unknown_key += 1;
      continue;
    }
    assert.ok(key, `${c.name}: kid ${envelope.kid} is in the key set`);
    const { [field]: _, ...rest } = signed;
    if (hasSpecial(rest)) continue;
    const fn = canonicalFunction(c.function);
    const message = frame([envelope.kid, c.audience, fn, String(envelope.ts), envelope.nonce, canon(rest)]);
    const sig = hmac(macKey(key, c.audience), message).toString("hex");
    const { window } = c;
    if (c.error === "bad_signature") {
      assert.notEqual(envelope.sig, sig, `${c.name}: the MAC must not match`);
    } else {
      assert.equal(envelope.sig, sig, `${c.name}: the MAC matches; only the window fails`);
      if (c.error === "expired") assert.ok(c.now > envelope.ts + window.max_age_ms, c.name);
      else assert.ok(c.now < envelope.ts - window.max_future_ms, c.name);
    }
    checked[c.error] += 1;
  }
  assert.ok(checked.unknown_key >= 2, JSON.stringify(checked));
  assert.ok(checked.bad_signature >= 15, JSON.stringify(checked));
  assert.ok(checked.expired >= 5, JSON.stringify(checked));
  assert.ok(checked.not_yet_valid >= 3, JSON.stringify(checked));
});
