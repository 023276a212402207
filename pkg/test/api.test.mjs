// The package's own behaviour at the JS boundary: typed errors, inputs JS can produce but
// Rust cannot see (lone surrogates, non-integral numbers, unset env vars, non-Convex values),
// no randomness or key material where it must not be.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { inspect } from "node:util";
import {
  CallsignError,
  ERROR_CODES,
  Signer,
  Verifier,
  canonicalize,
  canonicalizeArgs,
  generateKey,
} from "convex-callsign";

const AUD = "https://happy-otter-123.convex.cloud";
const KEY = "csk1_k1_000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const SECRET = KEY.slice("csk1_k1_".length);

const fails = (f, code) =>
  assert.throws(f, (e) => {
    assert.ok(e instanceof CallsignError, `not a CallsignError: ${e}`);
    assert.equal(e.code, code, e.message);
    assert.equal(e.name, "CallsignError");
    return true;
  });

test("error codes are SPEC.md §9's, in the same order (as the Rust core's are)", () => {
  // The code table of SPEC.md §9, row by row. The Rust core checks its ErrorCode::ALL
  // against the same table (crates/callsign/src/error.rs), so the two lists agree.
  const spec = readFileSync(new URL("../../SPEC.md", import.meta.url), "utf8");
  const start = spec.indexOf("\n## 9. Error codes\n");
  const end = spec.indexOf("\n## 10.", start);
  assert.ok(start >= 0 && end > start, "SPEC.md has no §9 Error codes");
  const table = [...spec.slice(start, end).matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]);
  assert.ok(table.length >= 11, `only ${table.length} codes found in SPEC.md §9`);
  assert.deepEqual(ERROR_CODES, table);
});

test("lone surrogates are rejected, in JSON text and in values", () => {
  fails(() => canonicalize('{"a":"\ud800"}'), "malformed");
  fails(() => canonicalize('{"a":"\udc00x"}'), "malformed");
  fails(() => canonicalizeArgs({ a: "\ud800" }), "malformed");
  const signer = new Signer(KEY, { audience: AUD });
  fails(() => signer.sign("m:f", { a: "x\udfff" }), "malformed");
  fails(() => signer.signJson("m:f", '{"a":"\ud83d"}'), "malformed");
  fails(() => new Verifier(KEY, { audience: AUD }).verifyJson("m:f", '{"a":"\ud800"}'), "malformed");
  // A surrogate pair is fine.
  assert.equal(canonicalize('{"a":"\ud83d\ude00"}'), '{"a":"\u{1F600}"}');
});

test("times and limits must be whole numbers from 0 to 2^53 - 1", () => {
  const signer = new Signer(KEY, { audience: AUD });
  for (const now of [-1, 1.5, NaN, Infinity, 2 ** 53]) {
    fails(() => signer.sign("m:f", {}, { now }), "malformed");
  }
  for (const maxBytes of [-1, 0.5, NaN]) fails(() => canonicalize("{}", { maxBytes }), "malformed");
  fails(() => new Verifier(KEY, { audience: AUD, window: { maxAgeMs: -5 } }), "malformed");
  assert.equal(signer.sign("m:f", {}, { now: 2 ** 53 - 1 })._callsign.ts, 2 ** 53 - 1);
});

test("unset configuration gets a typed error, not a wasm-bindgen TypeError", () => {
  fails(() => new Signer(undefined, { audience: AUD }), "invalid_key");
  fails(() => new Signer(KEY, {}), "malformed");
  fails(() => new Verifier(undefined, { audience: AUD }), "invalid_key");
  fails(() => new Verifier(KEY, { audience: undefined }), "malformed");
  fails(() => new Verifier("", { audience: AUD }), "invalid_key");
});

test("args must be Convex values; undefined fields are dropped as a Convex client drops them", () => {
  const signer = new Signer(KEY, { audience: AUD });
  fails(() => signer.sign("m:f", { when: new Date() }), "malformed");
  fails(() => signer.sign("m:f", { f: () => 1 }), "malformed");
  fails(() => signer.sign("m:f", { $a: 1 }), "malformed");
  const signed = signer.sign("m:f", { a: 1, gone: undefined });
  const { gone, ...sent } = signed;
  assert.equal(gone, undefined);
  const claims = new Verifier(KEY, { audience: AUD }).verify("m:f", sent);
  assert.equal(claims.canonicalArgs, '{"a":1}');
});

test("depth at the cap is accepted and one past it rejected, without a trap", () => {
  const nested = (n) => `{"a":${"[".repeat(n - 1)}${"]".repeat(n - 1)}}`;
  assert.ok(canonicalize(nested(128), { maxDepth: 128 }).startsWith('{"a":[[['));
  fails(() => canonicalize(nested(129), { maxDepth: 128 }), "malformed");
  fails(() => canonicalize(nested(64)), "malformed"); // default depth 63
  // Far deeper than any stack: still a clean error, and the module keeps working.
  fails(() => canonicalize(nested(100_000), { maxBytes: 1 << 20 }), "malformed");
  assert.equal(canonicalize('{"b":1,"a":2}'), '{"a":2,"b":1}');
});

test("oversized signed args are refused before they reach wasm memory", async () => {
  const core = await import("../dist/wasm/callsign_wasm.js");
  const memory = () => core.initSync().memory.buffer.byteLength; // already instantiated
  const verifier = new Verifier(KEY, { audience: AUD });
  verifier.verifyJson("m:f", new Signer(KEY, { audience: AUD }).signJson("m:f", "{}"));
  const before = memory();
  const hostile = `{"a":"${"x".repeat(16 << 20)}"}`; // 16 MiB
  fails(() => verifier.verifyJson("m:f", hostile), "too_large");
  fails(() => verifier.verify("m:f", { a: "x".repeat(16 << 20) }), "too_large");
  assert.equal(memory(), before);
  // At the limit the core decides (here: too large once the quotes and braces count).
  const small = new Verifier(KEY, { audience: AUD, limits: { maxBytes: 20 } });
  fails(() => small.verifyJson("m:f", '{"a":"é"}'.padEnd(20, " ")), "too_large");
});

test("the key never shows in the signer, verifier, errors or JSON", () => {
  const signer = new Signer(KEY, { audience: AUD });
  const verifier = new Verifier(KEY, { audience: AUD });
  const shown = [
    inspect(signer, { showHidden: true, depth: 5 }),
    inspect(verifier, { showHidden: true, depth: 5 }),
    JSON.stringify(signer),
    JSON.stringify(verifier),
    JSON.stringify(signer.sign("m:f", { a: 1 })),
  ];
  try {
    verifier.verifyJson("m:f", signer.signJson("m:f", '{"a":1}').replace("1}", "2}"));
  } catch (e) {
    shown.push(e.message, e.stack);
  }
  try {
    new Signer(KEY.replace("0001", "00z1"), { audience: AUD });
  } catch (e) {
    shown.push(e.message, e.stack);
  }
  for (const text of shown) {
    assert.ok(!text.includes(SECRET.slice(0, 16)), `key material in: ${text}`);
    assert.ok(!text.includes(SECRET.slice(-16)), `key material in: ${text}`);
  }
});

test("importing, instantiating and verifying draw no randomness; signing draws 16 bytes", () => {
  // A fresh process, so the module is instantiated inside the measurement.
  const script = `
    let bytes = 0;
    const real = crypto.getRandomValues.bind(crypto);
    crypto.getRandomValues = (a) => { bytes += a.byteLength; return real(a); };
    const { Signer, Verifier } = await import("convex-callsign");
    const key = ${JSON.stringify(KEY)}, audience = ${JSON.stringify(AUD)};
    const afterImport = bytes;
    const signed = new Signer(key, { audience }).signJson("m:f", "{}", { nonce: "00112233445566778899aabbccddeeff" });
    new Verifier(key, { audience }).verifyJson("m:f", signed);
    const afterVerify = bytes;
    new Signer(key, { audience }).sign("m:f", {});
    console.log(JSON.stringify([afterImport, afterVerify, bytes]));`;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
    cwd: new URL("..", import.meta.url),
    encoding: "utf8",
  });
  assert.deepEqual(JSON.parse(out), [0, 0, 16]);
});

test("generated keys differ and are 256-bit root keys", () => {
  const a = generateKey("k");
  const b = generateKey("k");
  assert.notEqual(a, b);
  assert.match(a, /^csk1_k_[0-9a-f]{64}$/);
  fails(() => generateKey("bad kid!"), "invalid_key");
});
