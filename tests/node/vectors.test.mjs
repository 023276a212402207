// Independent check of the shared vectors (tests/vectors/*.json) with Node
// built-ins only: it re-derives keys, re-frames every signing message and
// recomputes every MAC with node:crypto, and re-canonicalizes the plain-JSON
// canonical vectors with JSON.parse + a sorted serializer. Nothing here uses
// the Rust code, so a pass shows the spec can be implemented from its text.
//
// This is a test-only reference: the product never canonicalizes in JS.
//
// Run: node --test tests/node/

import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
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

/** Parses a key string, or returns null. */
function parseKey(text) {
  let m = ROOT_RE.exec(text);
  if (m) return { kid: m[1], secret: Buffer.from(m[2], "hex"), audience: null };
  m = DERIVED_RE.exec(text);
  if (m) return { kid: m[1], secret: Buffer.from(m[2], "hex"), audience: m[3] };
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

/** `messages` -> `messages:default`, `dir/file.js:fn` -> `dir/file:fn`. */
function canonicalFunction(name) {
  const at = name.lastIndexOf(":");
  let module = at < 0 ? name : name.slice(0, at);
  const exportName = at < 0 ? "default" : name.slice(at + 1);
  if (module.endsWith(".js")) module = module.slice(0, -3);
  return `${module}:${exportName}`;
}

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

/** True if the value has a `$` key or a -0 anywhere (Convex special forms). */
function hasSpecial(value) {
  if (Object.is(value, -0)) return true;
  if (Array.isArray(value)) return value.some(hasSpecial);
  if (value !== null && typeof value === "object") {
    return Object.keys(value).some((k) => k.startsWith("$") || hasSpecial(value[k]));
  }
  return false;
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

test("keys.json: key strings, derivation and key sets", () => {
  const { valid, invalid, derive, keysets } = load("keys.json");
  for (const c of valid) {
    const key = parseKey(c.key);
    assert.ok(key, `${c.name}: should parse`);
    assert.equal(key.kid, c.kid, c.name);
    assert.equal(key.audience, c.audience, c.name);
  }
  for (const c of invalid) {
    assert.equal(parseKey(c.key), null, `${c.name}: should not parse`);
    assert.equal(c.error, "invalid_key", c.name);
  }
  assert.ok(derive.length >= 3);
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
  assert.ok(cases.length >= 6);
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
      signed._callsign,
      { kid: key.kid, nonce: c.nonce, sig, ts: c.ts, v: 1 },
      `${c.name}: envelope`,
    );
    const { _callsign, ...rest } = signed;
    if (!hasSpecial(rest)) {
      assert.equal(canon(rest), c.canonical_args, `${c.name}: signed args minus envelope`);
      assert.equal(canon(signed), c.signed_args, `${c.name}: signed args are canonical`);
    }
  }
});

test("verify.json: every accepted call carries a correct MAC", () => {
  const { defaults, cases, sequences } = load("verify.json");
  const accepted = [
    ...cases.filter((c) => c.verified),
    ...sequences.flatMap((s) => s.steps.filter((c) => c.verified).map((c) => ({ ...c, name: s.name }))),
  ];
  assert.ok(accepted.length >= 15, `only ${accepted.length} accepted calls`);
  for (const c of accepted) {
    const setting = (f) => (f in c ? c[f] : defaults[f]);
    const v = c.verified;
    const keys = parseKeySet(setting("keys"));
    assert.ok(keys, `${c.name}: key set`);
    const key = keys.find((k) => k.kid === v.kid);
    assert.ok(key, `${c.name}: kid ${v.kid} is in the key set`);

    const signed = JSON.parse(expand(c, "signed_args"));
    const field = setting("envelope_field");
    const envelope = signed[field];
    assert.deepEqual(
      [envelope.kid, envelope.nonce, envelope.ts, envelope.v],
      [v.kid, v.nonce, v.ts, 1],
      `${c.name}: envelope`,
    );
    assert.equal(v.remember_until, v.ts + setting("window").max_age_ms, `${c.name}: remember_until`);
    const window = setting("window");
    assert.ok(c.now <= v.ts + window.max_age_ms && c.now >= v.ts - window.max_future_ms, c.name);
    assert.equal(v.function, canonicalFunction(setting("function")), `${c.name}: function`);

    const message = frame([v.kid, setting("audience"), v.function, String(v.ts), v.nonce, v.canonical_args]);
    const sig = hmac(macKey(key, setting("audience")), message).toString("hex");
    assert.equal(envelope.sig, sig, `${c.name}: sig`);

    const rest = { ...signed };
    delete rest[field];
    if (!hasSpecial(rest)) assert.equal(canon(rest), v.canonical_args, `${c.name}: canonical args`);
  }
});
