// Independent check of tests/vectors/http.json (SPEC.md §11) with Node built-ins only: it
// recomputes every digest, signature base, MAC and header of the file with node:crypto, and
// judges every case and sequence step with a strict reference verifier written from SPEC §11.4,
// checking it gives the expected code. Nothing here uses the Rust code.
//
// This is a test-only reference: the product verifies in the Rust core.
//
// Run: node --test tests/node/

import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const doc = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), "..", "vectors", "http.json"), "utf8"));
const hmac = (key, data) => createHmac("sha256", key).update(data).digest();
const COVERED = '("@method" "@authority" "@path" "@query" "content-digest")';

// --- Keys (SPEC §6), just what the file uses ------------------------------------------------
function parseKey(text) {
  let m = /^csk1_([A-Za-z0-9.-]{1,64})_((?:[0-9a-f]{2}){32,64})$/.exec(text);
  if (m) return { kid: m[1], secret: Buffer.from(m[2], "hex"), audience: null };
  m = /^csk1d_([A-Za-z0-9.-]{1,64})_([0-9a-f]{64})@([\x21-\x2b\x2d-\x7e]{1,512})$/.exec(text);
  if (m) return { kid: m[1], secret: Buffer.from(m[2], "hex"), audience: m[3] };
  return null;
}
/** The MAC key of `key` for `audience` (SPEC §6.3), or null when a derived key is bound elsewhere. */
function macKey(key, audience) {
  if (key.audience === null) return hmac(key.secret, Buffer.concat([Buffer.from("callsign/v1/derive\n"), Buffer.from(audience)]));
  return key.audience === audience ? key.secret : null;
}

// --- SPEC §11 --------------------------------------------------------------------------------
/** The authority of an origin (SPEC §11.1), or null when `audience` is no origin. */
function authorityOf(audience) {
  const m = /^(https?):\/\/((?:[a-z0-9-]+)(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]*:[0-9a-f:.]*\])(?::([1-9][0-9]{0,4}))?$/.exec(audience);
  if (!m || audience.length > 512 || /csk1d?_/.test(audience)) return null;
  const [, scheme, , port] = m;
  if (port !== undefined && (Number(port) > 65535 || port === (scheme === "https" ? "443" : "80"))) return null;
  return audience.slice(scheme.length + 3);
}
const bodyOf = (c) => (c.body_hex !== undefined ? Buffer.from(c.body_hex, "hex") : Buffer.from(c.body, "utf8"));
const digestOf = (body) => `sha-256=:${createHash("sha256").update(body).digest("base64")}:`;
const splitTarget = (t) => {
  const q = t.indexOf("?");
  return q < 0 ? [t, ""] : [t.slice(0, q), t.slice(q + 1)];
};
const base = (method, authority, target, digest, params) => {
  const [path, query] = splitTarget(target);
  return [`"@method": ${method}`, `"@authority": ${authority}`, `"@path": ${path}`, `"@query": ?${query}`,
    `"content-digest": ${digest}`, `"@signature-params": ${params}`].join("\n");
};

test("every signer output is recomputed with node:crypto", () => {
  for (const c of doc.signing) {
    const key = parseKey(c.key);
    const digest = digestOf(bodyOf(c));
    const params = `${COVERED};created=${Math.floor(c.now / 1000)};nonce="${c.nonce}";alg="hmac-sha256";keyid="${key.kid}";tag="callsign"`;
    const b = base(c.method, authorityOf(c.audience), c.target, digest, params);
    assert.equal(c.signature_base, b, c.name);
    const sig = hmac(macKey(key, c.audience), b).toString("base64");
    assert.deepEqual(c.headers, [["Content-Digest", digest], ["Signature-Input", `sig1=${params}`], ["Signature", `sig1=:${sig}:`]], c.name);
  }
});

/** The headers a case's recipe and edits give, recomputed (format: tests/vectors/README.md). */
function headersOf(c) {
  const r = c.sign;
  const key = parseKey(r.key);
  const digest = digestOf(bodyOf(r));
  const params = r.params ?? `${COVERED};created=${r.created};nonce="${r.nonce}";alg="hmac-sha256";keyid="${key.kid}";tag="callsign"`;
  const inner = /^\(([^)]*)\)/.exec(params)[1].split(" ").filter(Boolean);
  const [path, query] = splitTarget(r.target);
  const value = {
    '"@method"': r.method, '"@authority"': authorityOf(r.audience) ?? r.audience.split("://")[1], '"@path"': path,
    '"@query"': `?${query}`, '"@target-uri"': r.audience + r.target, '"content-digest"': digest,
  };
  const b = inner.map((comp) => `${comp}: ${value[comp]}`).concat(`"@signature-params": ${params}`).join("\n");
  assert.equal(c.signature_base, b, c.name);
  const sig = hmac(macKey(key, r.audience), b).toString("base64");
  const label = r.label ?? "sig1";
  let text = `content-digest: ${digest}\nsignature-input: ${label}=${params}\nsignature: ${label}=:${sig}:\n`;
  const flipped = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const expand = (t) =>
    t.replaceAll("{sig_flipped}", flipped[flipped.indexOf(sig[0]) ^ 1] + sig.slice(1)).replaceAll("{sig}", sig)
      .replaceAll("{digest}", digest).replaceAll("{body_digest}", digestOf(bodyOf(c)));
  for (const [from, to] of c.edit ?? []) {
    const [f, t] = [expand(from), expand(to)];
    assert.equal(text.split(f).length, 2, `${c.name}: edit ${f} occurs once`);
    text = text.replace(f, () => t);
  }
  return text.split("\n").filter(Boolean).map((line) => {
    const at = line.indexOf(":");
    const v = line.slice(at + 1);
    return [line.slice(0, at), v.startsWith(" ") ? v.slice(1) : v];
  });
}

/** A strict verifier from SPEC §11.4 (steps 1–6) plus a §8 store, for the expected codes. */
function referenceVerify(c, store) {
  const authority = authorityOf(c.audience);
  if (authority === null) return "malformed";
  const keys = c.keys.split(/[, \t\n\f\r]+/).filter(Boolean).map(parseKey);
  if (keys.includes(null)) return "invalid_key";
  const macs = new Map();
  for (const k of keys) {
    const m = macKey(k, c.audience);
    if (m === null) return "invalid_key";
    macs.set(k.kid, m);
  }
  const body = bodyOf(c);
  if (body.length > c.max_body_bytes) return "too_large"; // 1
  if (!/^[A-Z]{1,32}$/.test(c.method)) return "malformed"; // 2
  if (!/^\/[\x21-\x22\x24-\x7e]*$/.test(c.target) || c.target.length > 8192) return "malformed";
  const found = {};
  for (const [name, raw] of c.headers) {
    const n = name.toLowerCase();
    if (!["content-digest", "signature-input", "signature", "content-encoding"].includes(n)) continue;
    if (n in found) return "malformed";
    found[n] = raw.replace(/^[ \t]+|[ \t]+$/g, "");
  }
  if ("content-encoding" in found) return "malformed";
  const si = found["signature-input"], sig = found.signature, cd = found["content-digest"];
  if (si === undefined || sig === undefined || cd === undefined) return "malformed";
  const prefix = `sig1=${COVERED}`;
  if (!si.startsWith(prefix)) return "malformed";
  const P = {};
  const forms = {
    created: /^(0|[1-9][0-9]{0,14})$/, nonce: /^"[0-9a-f]{32,64}"$/, alg: /^"hmac-sha256"$/,
    keyid: /^"[A-Za-z0-9.-]{1,64}"$/, tag: /^"callsign"$/,
  };
  const rest = si.slice(prefix.length);
  if (!/^(;[a-z]+=[^;]*)*$/.test(rest)) return "malformed";
  for (const p of rest.split(";").slice(1)) {
    const [name, value] = [p.slice(0, p.indexOf("=")), p.slice(p.indexOf("=") + 1)];
    if (!(name in forms) || name in P || !forms[name].test(value)) return "malformed";
    P[name] = value.replace(/^"|"$/g, "");
  }
  if (Object.keys(P).length !== 5 || Number(P.created) > 9007199254740) return "malformed";
  const sm = /^sig1=:([A-Za-z0-9+/]{43}=):$/.exec(sig);
  const sigBytes = sm && Buffer.from(sm[1], "base64");
  if (!sm || sigBytes.toString("base64") !== sm[1]) return "malformed";
  const cm = /^sha-256=:([A-Za-z0-9+/]{43}=):$/.exec(cd);
  if (!cm || Buffer.from(cm[1], "base64").toString("base64") !== cm[1]) return "malformed";
  const mac = macs.get(P.keyid); // 3
  if (mac === undefined) return "unknown_key";
  if (digestOf(body) !== cd) return "bad_signature"; // 4
  const want = hmac(mac, base(c.method, authority, c.target, cd, si.slice(5)));
  if (!timingSafeEqual(want, sigBytes)) return "bad_signature"; // 5
  const ts = Number(P.created) * 1000; // 6
  if (c.now > ts + c.window.max_age_ms) return "expired";
  if (c.now < ts - c.window.max_future_ms) return "not_yet_valid";
  // §8: forget ts + R < now, oldest first, raising the watermark; refuse at or before it, or held.
  for (const [id, t] of [...store.held].sort((a, b) => a[1] - b[1])) {
    if (t + store.retention >= c.now) break;
    store.held.delete(id);
    store.watermark = t;
  }
  const id = `${P.keyid} ${P.nonce}`;
  if ((store.watermark !== null && ts <= store.watermark) || store.held.has(id)) return "replayed";
  store.held.set(id, ts);
  store.retention = Math.max(store.retention, c.window.max_age_ms);
  return { kid: P.keyid, ts, nonce: P.nonce, remember_until: ts + c.window.max_age_ms, method: c.method,
    path: splitTarget(c.target)[0], query: splitTarget(c.target)[1] };
}

const newStore = () => ({ held: new Map(), watermark: null, retention: 0 });
const judge = (what, c, store) => {
  assert.deepEqual(c.headers, headersOf(c), `${what}: headers`);
  const got = referenceVerify(c, store);
  if (c.error !== undefined) assert.equal(got, c.error, what);
  else assert.deepEqual(got, { ...c.verified }, what);
};

test("every case's headers are recomputed, and the reference verifier gives its outcome", () => {
  for (const c of doc.cases) judge(`cases ${c.name}`, c, newStore());
  assert.ok(doc.cases.filter((c) => c.error).length >= 30);
});

test("every sequence gives its outcomes through one store", () => {
  for (const s of doc.sequences) {
    const store = newStore();
    s.steps.forEach((step, i) => judge(`${s.name} step ${i + 1}`, step, store));
  }
});
