// The review's findings, attacked through the npm package (the Rust core in wasm): keys run
// together never show a secret, values with a foreign prototype are refused, callers learn
// nothing about the setup, and no error grows with its input.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { inspect } from "node:util";
import { jsonToConvex } from "convex/values";
import {
  CallsignError,
  Signer,
  Verifier,
  canonicalizeArgs,
  deriveKey,
  inspectKey,
  inspectKeySet,
} from "convex-callsign";

const AUD = "https://happy-otter-123.convex.cloud";
const OTHER = "https://sad-badger-456.convex.cloud";
const SECRET = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const ROOTS = [`csk1_old_${SECRET}`, `csk1_new_${SECRET.replaceAll("9", "7")}`];
const DERIVED_ROOTS = [`csk1_dold_${SECRET.replaceAll("a", "b")}`, `csk1_dnew_${SECRET.replaceAll("f", "e")}`];

const fails = (f, code) =>
  assert.throws(f, (e) => {
    assert.ok(e instanceof CallsignError, `not a CallsignError: ${e}`);
    assert.equal(e.code, code, e.message);
    return true;
  });

const hexOf = (key) => key.split("_")[2].split("@")[0];

/** Every 16-digit run of every secret that must stay hidden. */
function hiddenRuns() {
  const secrets = [];
  for (const root of [...ROOTS, ...DERIVED_ROOTS]) {
    secrets.push(hexOf(root), hexOf(deriveKey(root, AUD)), hexOf(deriveKey(root, OTHER)));
  }
  return secrets.flatMap((s) => Array.from({ length: s.length - 15 }, (_, i) => s.slice(i, i + 16)));
}

test("keys run together, every pair and triple, show no secret through any entry point", () => {
  const pool = [...ROOTS, ...DERIVED_ROOTS.map((k) => deriveKey(k, AUD))];
  const runs = hiddenRuns();
  const tuples = [];
  pool.forEach((a, i) =>
    pool.forEach((b, j) => {
      if (i === j) return;
      tuples.push([a, b]);
      pool.forEach((c, k) => k !== i && k !== j && tuples.push([a, b, c]));
    }),
  );
  assert.equal(tuples.length, 36);
  const signed = new Signer(ROOTS[0], { audience: AUD }).signJson("m:f", "{}");
  let joinedCount = 0;
  for (const keys of tuples) {
    for (const seps of [["", ""], [",", ","], [" ", "\n"], ["", ","], [",", ""]]) {
      const used = seps.slice(0, keys.length - 1);
      const joined = used.includes("");
      const text = keys.reduce((acc, key, i) => (i === 0 ? key : acc + used[i - 1] + key));
      const shown = [];
      // `deriveKey` returns a derived key: that output is the point. Its errors are not.
      const attempt = (f, { returnsKey = false } = {}) => {
        try {
          const value = f();
          if (!returnsKey) shown.push(inspect(value, { depth: 5, showHidden: true }), JSON.stringify(value) ?? "");
          return value;
        } catch (e) {
          assert.ok(e instanceof CallsignError, String(e));
          shown.push(e.message, e.stack);
          return e;
        }
      };
      const set = attempt(() => inspectKeySet(text));
      if (joined) {
        assert.equal(set.code, "invalid_key");
        assert.match(set.message, /run together/);
        joinedCount++;
      } else {
        assert.equal(set.length, keys.length);
      }
      for (const aud of [AUD, OTHER]) {
        const verifier = attempt(() => new Verifier(text, { audience: aud }));
        if (verifier instanceof Verifier) attempt(() => verifier.verifyJson("m:f", signed));
        attempt(() => new Signer(text, { audience: aud }));
        attempt(() => deriveKey(text, aud), { returnsKey: true });
      }
      attempt(() => inspectKey(text));
      for (const key of keys) {
        attempt(() => inspectKey(key));
        for (const aud of [AUD, OTHER]) {
          attempt(() => new Signer(key, { audience: aud }));
          attempt(() => deriveKey(key, aud), { returnsKey: true });
        }
      }
      for (const out of shown) {
        for (const run of runs) assert.ok(!out.includes(run), `secret digits ${run} in: ${out}`);
      }
    }
  }
  assert.equal(joinedCount, 12 * 2 + 24 * 3);
});

test("inspectKey names a derived key's audience by length and fingerprint only", () => {
  const derived = deriveKey(ROOTS[0], AUD);
  const fingerprint = createHash("sha256").update(AUD).digest("hex").slice(0, 8);
  assert.deepEqual(inspectKey(derived), { kid: "old", root: false, audience: { bytes: AUD.length, fingerprint } });
  assert.deepEqual(inspectKey(ROOTS[0]), { kid: "old", root: true, audience: null });
  // The review's repro: the second key, secret included, used to be the first one's audience.
  const runTogether = derived + deriveKey(ROOTS[1], AUD);
  fails(() => inspectKey(runTogether), "invalid_key");
  fails(() => new Verifier(runTogether, { audience: AUD }), "invalid_key");
});

test("__proto__: a prototype smuggled in by jsonToConvex is refused, signing and verifying", () => {
  const signer = new Signer(ROOTS[0], { audience: AUD });
  const verifier = new Verifier(ROOTS[0], { audience: AUD });
  const signed = signer.sign("m:f", { settings: { theme: "dark" } });
  // What Convex hands the handler for the attacker's JSON (SPEC.md §2.5).
  const text = JSON.stringify(signed).replace('"settings":{', '"settings":{"__proto__":{"isAdmin":true},');
  const received = jsonToConvex(JSON.parse(text));
  assert.equal(received.settings.isAdmin, true, "the attack is real: the handler would read it");
  fails(() => verifier.verify("m:f", received), "malformed");
  // The JSON text form never gets that far either: the core refuses the member name.
  fails(() => verifier.verifyJson("m:f", text), "malformed");
  // And the signer refuses to sign such values, or such a member.
  fails(() => signer.sign("m:f", received), "malformed");
  fails(() => signer.signJson("m:f", '{"__proto__":{"a":1}}'), "malformed");
  fails(() => canonicalizeArgs(JSON.parse('{"a":{"__proto__":1}}')), "malformed");
  // Other prototypes: a class instance, an array subclass, an object deep in an array.
  class Settings {
    constructor() {
      this.theme = "dark";
    }
  }
  class Tags extends Array {}
  const inherits = Object.create({ isAdmin: true });
  for (const args of [{ s: new Settings() }, { t: Tags.from([1]) }, { a: [[inherits]] }, Object.create({ x: 1 })]) {
    fails(() => signer.sign("m:f", args), "malformed");
  }
  // Plain values and null-prototype objects are fine, and verify to exactly what was signed.
  const bare = Object.assign(Object.create(null), { theme: "dark" });
  const ok = signer.sign("m:f", { settings: bare, list: [{ a: 1n }] });
  assert.equal(verifier.verify("m:f", ok).canonicalArgs, '{"list":[{"a":{"$integer":"AQAAAAAAAAA="}}],"settings":{"theme":"dark"}}');
});

test("a caller never learns which kids a verifier holds; the operator can ask", () => {
  const verifier = new Verifier(`${ROOTS[0]},${ROOTS[1]}`, { audience: AUD });
  const stranger = new Signer(`csk1_stranger_${"ab".repeat(32)}`, { audience: AUD }).signJson("m:f", "{}");
  assert.throws(
    () => verifier.verifyJson("m:f", stranger),
    (e) => e.code === "unknown_key" && !/old|new/.test(e.message) && e.message.includes('"stranger"'),
  );
  assert.deepEqual(verifier.kids, ["old", "new"]);
});

test("no error grows with its input: at most a short prefix of it is quoted", () => {
  const signer = new Signer(ROOTS[0], { audience: AUD, limits: { maxBytes: 4 << 20 } });
  const verifier = new Verifier(ROOTS[0], { audience: AUD, limits: { maxBytes: 4 << 20 } });
  const name = "n".repeat(600_000);
  const attempts = [
    () => signer.signJson("m:f", `{"$${name}":1}`),
    () => signer.sign("m:f", { [`$${name}`]: 1 }),
    () => signer.sign("m:f", { [`é${name}`]: 1 }),
    () => verifier.verifyJson("m:f", `{"_callsign":{"kid":"old","${name}":1},"a":1}`),
    () => verifier.verify("m:f", { [name]: { when: new Date() } }),
    () => signer.sign(`${name}:f`, {}),
    () => new Signer(ROOTS[0], { audience: `https://${name}` }),
  ];
  for (const f of attempts) {
    try {
      f();
      assert.fail("expected an error");
    } catch (e) {
      assert.ok(e instanceof CallsignError, String(e));
      assert.ok(e.message.length < 400, `${e.message.length} characters: ${e.message.slice(0, 200)}`);
    }
  }
});
