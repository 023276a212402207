// convex-callsign/stores' MemoryNonceStore keeps SPEC.md §8's rules, as the Rust core's does:
// the core's own unit cases (crates/callsign/src/replay/mod.rs), and every replay sequence of
// verify.json run through it after the core verifies each step.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { CallsignError, Verifier } from "convex-callsign";
import { MemoryNonceStore } from "convex-callsign/stores";

const record = (nonce, ts, maxAge, kid = "k") => ({ kid, nonce, ts, rememberUntil: ts + maxAge });
const replayed = (f) =>
  assert.throws(f, (e) => e instanceof CallsignError && e.code === "replayed");

test("accepts once, keeps the record through remember_until, then forgets it", () => {
  const store = new MemoryNonceStore();
  store.remember(record("n1", 0, 100), 0);
  replayed(() => store.remember(record("n1", 0, 100), 50));
  store.remember(record("n1", 0, 100, "k2"), 50); // the same nonce under another kid
  replayed(() => store.remember(record("n1", 0, 100), 100)); // at exactly remember_until
  store.remember(record("n2", 1, 100), 101);
  assert.equal(store.size, 1);
  assert.equal(store.watermarkTs, 0);
});

test("refuses what it may have forgotten when clocks disagree", () => {
  const store = new MemoryNonceStore();
  store.remember(record("a", 0, 100), 10);
  store.remember(record("b", 100, 100), 101); // a later clock lets the store forget "a"...
  replayed(() => store.remember(record("a", 0, 100), 99)); // ...so an earlier clock cannot replay it
  store.remember(record("c", 1, 100), 99);
  replayed(() => store.remember(record("b", 100, 100), 99));
});

test("the watermark holds whatever window the replay claims; a long window keeps records", () => {
  const store = new MemoryNonceStore();
  store.remember(record("c1", 0, 1_000), 0);
  store.remember(record("c2", 6_000, 1_000), 6_000);
  replayed(() => store.remember(record("c1", 0, 60_000), 6_000));
  const long = new MemoryNonceStore();
  long.remember(record("long", 0, 60_000), 0);
  long.remember(record("short", 5_000, 1_000), 5_000);
  long.remember(record("third", 9_000, 1_000), 9_000);
  assert.equal(long.size, 3);
  assert.equal(long.watermarkTs, null);
  long.remember(record("late", 1_000, 60_000), 9_000);
  replayed(() => long.remember(record("short", 5_000, 60_000), 9_500));
  replayed(() => long.remember(record("long", 0, 1_000), 9_500));
});

test("forgets in ts order among many records (a heap, not insertion order)", () => {
  const store = new MemoryNonceStore();
  const order = Array.from({ length: 200 }, (_, i) => (i * 7919) % 200);
  for (const ts of order) store.remember(record(`n${ts}`, ts, 10), 0);
  store.remember(record("x", 150, 10), 150); // forgets every ts + 10 < 150, i.e. ts < 140
  assert.equal(store.watermarkTs, 139);
  assert.equal(store.size, 61);
  replayed(() => store.remember(record("n139", 139, 10), 150));
  replayed(() => store.remember(record("n140", 140, 10), 150));
});

test("every replay sequence of verify.json gives the core's outcome through this store", () => {
  const verify = JSON.parse(readFileSync(new URL("../../tests/vectors/verify.json", import.meta.url), "utf8"));
  let steps = 0;
  for (const seq of verify.sequences) {
    const store = new MemoryNonceStore();
    for (const [i, c] of seq.steps.entries()) {
      steps++;
      let outcome = "ok";
      try {
        const claims = new Verifier(c.keys, {
          audience: c.audience,
          window: { maxAgeMs: c.window.max_age_ms, maxFutureMs: c.window.max_future_ms },
          limits: { maxBytes: c.limits.max_bytes, maxDepth: c.limits.max_depth },
          envelopeField: c.envelope_field,
        }).verifyJson(c.function, c.signed_args, { now: c.now });
        store.remember(claims, c.now);
      } catch (e) {
        outcome = e.code;
      }
      assert.equal(outcome, c.error ?? "ok", `${seq.name} step ${i + 1}`);
    }
  }
  assert.ok(steps >= 20, `${steps} steps`);
});
