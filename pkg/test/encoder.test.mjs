// The one-walk encoder against the reference, on a short seeded sample (the long run:
// npm run diff:encoder -- 100000). The rules are in encoder-fuzz.mjs.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CallsignError, canonicalizeArgs, generateKey, Signer, Verifier } from "convex-callsign";
import { differential, fixedCases, loadEncoder, values } from "./encoder-fuzz.mjs";

const mod = await loadEncoder();

test("encoder: equal to JSON.stringify(convexToJson(v)), or both refuse, on 3,000 fuzzed values", () => {
  const counts = differential(mod, values(3000, 20261201));
  // The sample reaches every outcome that a value can have.
  assert.ok(counts.equal > 500, JSON.stringify(counts));
  assert.ok(counts.bothRefuse > 200, JSON.stringify(counts));
  assert.ok(counts.coreRefuses > 20, JSON.stringify(counts));
  assert.ok(counts.deeperThanWalk >= 1, JSON.stringify(counts));
});

test("encoder: the differential catches a difference", () => {
  const broken = { ...mod, encodeConvexJson: (v) => mod.encodeConvexJson(v)?.replace("1", "2") };
  assert.throws(() => differential(broken, [{ a: 1 }]), /encoder differs/);
  const lax = { ...mod, encodeConvexJson: (v) => mod.encodeConvexJson(v) ?? "{}" };
  assert.throws(() => differential(lax, [{ a: 1n << 64n }]), /encoder differs/);
  const strict = { ...mod, encodeConvexJson: () => undefined };
  assert.throws(() => differential(strict, [{ a: 1 }]), /encoder differs/);
});

test("encoder: every fixed case ends in the package as in the reference", () => {
  // canonicalizeArgs runs the encoder (or, where it refuses, the reference) and the core.
  for (const v of fixedCases()) {
    let want;
    try {
      want = mod.referenceArgsToJson(v);
    } catch (e) {
      want = e;
    }
    let got;
    try {
      got = canonicalizeArgs(v, { maxDepth: 128 });
    } catch (e) {
      got = e;
    }
    if (want instanceof Error) {
      assert.ok(got instanceof CallsignError && got.code === "malformed", `${got}`);
      // Refused by the walk: the caller gets the reference's message unchanged.
      if (mod.encodeConvexJson(v) === undefined) assert.equal(got.message, want.message);
    } else if (!(got instanceof Error)) {
      assert.equal(typeof got, "string");
    }
  }
});

test("encoder: a signed object with an own __proto__ member fails to verify with the prototype message", () => {
  const key = generateKey("k");
  const aud = "https://happy-otter-123.convex.cloud";
  const signed = new Signer(key, { audience: aud }).sign("f:g", { a: 1 });
  const tampered = { ...signed, s: JSON.parse('{"__proto__":{"isAdmin":true}}') };
  assert.throws(
    () => new Verifier(key, { audience: aud }).verify("f:g", tampered),
    (e) => e.code === "malformed" && /args\.s is an object or array whose prototype is not the plain one/.test(e.message),
  );
});

test("input buffer: text of every UTF-8 width reaches the core whole, after longer and shorter text", async () => {
  const { canonicalize } = await import("convex-callsign");
  const widths = ["a", "é", "€", "😀", "\u2028", "\u007f"];
  const rand = (await import("./encoder-fuzz.mjs")).prng(7);
  for (let i = 0; i < 300; i++) {
    let s = "";
    const n = [0, 1, 5, 100, 5000][i % 5];
    for (let j = 0; j < n; j++) s += widths[Math.floor(rand() * widths.length)];
    const text = JSON.stringify({ a: s, b: i });
    assert.equal(canonicalize(text), text);
  }
});
