// The package inside convex-test's edge runtime: the Convex functions in calls.js import it
// unmodified and verify calls signed here (in Node, through the same package).
import { convexTest } from "convex-test";
import { beforeEach, expect, test } from "vitest";
import { Signer, generateKey } from "convex-callsign";
import { api } from "./_generated/api.js";

const modules = import.meta.glob("./**/*.js");
const AUDIENCE = "https://happy-otter-123.convex.cloud";
const key = generateKey("prod");

beforeEach(() => {
  process.env.CALLSIGN_KEYS = key;
});

test("a signed call verifies inside a Convex query", async () => {
  const t = convexTest(undefined, modules);
  const args = new Signer(key, { audience: AUDIENCE }).sign("calls:echo", { body: "hi", count: 3n });
  expect(await t.query(api.calls.echo, args)).toEqual({
    ok: true,
    kid: "prod",
    function: "calls:echo",
    body: "hi",
  });
});

test("a call signed for another function, or changed, is rejected with the Rust codes", async () => {
  const t = convexTest(undefined, modules);
  const signer = new Signer(key, { audience: AUDIENCE });
  const other = signer.sign("calls:other", { body: "hi", count: 3n });
  expect(await t.query(api.calls.echo, other)).toEqual({ ok: false, code: "bad_signature" });

  const changed = { ...signer.sign("calls:echo", { body: "hi", count: 3n }), count: 4n };
  expect(await t.query(api.calls.echo, changed)).toEqual({ ok: false, code: "bad_signature" });

  const old = signer.sign("calls:echo", { body: "hi", count: 3n }, { now: Date.now() - 120_000 });
  expect(await t.query(api.calls.echo, old)).toEqual({ ok: false, code: "expired" });

  const stranger = new Signer(generateKey("stranger"), { audience: AUDIENCE });
  const unknown = stranger.sign("calls:echo", { body: "hi", count: 3n });
  expect(await t.query(api.calls.echo, unknown)).toEqual({ ok: false, code: "unknown_key" });
});

test("signing inside a Convex action draws its nonce from the runtime's crypto", async () => {
  const t = convexTest(undefined, modules);
  const first = await t.action(api.calls.signInside, {});
  const second = await t.action(api.calls.signInside, {});
  expect(first.kid).toBe("inside");
  expect(first.verified).toBe("inside");
  expect(first.nonce).toMatch(/^[0-9a-f]{32}$/);
  expect(second.nonce).not.toBe(first.nonce);
});
