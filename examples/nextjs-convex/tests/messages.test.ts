// Level 1: the example app's signed functions under convex-test (edge runtime), called with
// args signed by the same client code a Next.js server uses.
import { CallSigner } from "convex-callsign/client";
import { deriveKey, generateKey } from "convex-callsign";
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { api } from "../convex/_generated/api";
import { AUDIENCE, codeOf, count, newApp, nonces } from "./helpers";

const root = generateKey("prod");
const signer = () => new CallSigner(root, { audience: AUDIENCE });

beforeEach(() => {
  process.env.CALLSIGN_KEYS = root;
  process.env.CONVEX_CLOUD_URL = AUDIENCE;
});
afterEach(() => {
  vi.useRealTimers();
});

test("a signed call is accepted, runs once, and the handler sees the verified key id", async () => {
  const t = newApp();
  const args = signer().args(api.messages.send, { body: "hello", author: "web" });
  const id = await t.mutation(api.messages.send, args);
  const row = await t.run(async (ctx) => await ctx.db.get(id));
  // The envelope is stripped before the handler: only the app's fields are stored.
  expect(row).toMatchObject({ body: "hello", author: "web", kid: "prod" });
  expect(Object.keys(row!).sort()).toEqual(["_creationTime", "_id", "author", "body", "kid"]);
  expect((await nonces(t)).length).toBe(1);
});

test("a replay after a first success is rejected and writes nothing", async () => {
  const t = newApp();
  const args = signer().args(api.messages.send, { body: "once", author: "web" });
  await t.mutation(api.messages.send, args);
  expect(await codeOf(t.mutation(api.messages.send, args))).toBe("replayed");
  expect(await count(t, "messages")).toBe(1);
  expect((await nonces(t)).length).toBe(1);
});

test("the same call submitted concurrently commits once", async () => {
  // convex-test serializes transactions: this shows the check and the record inside one
  // transaction. On a deployment, OCC on the claim's (kid, nonce) index read makes the
  // concurrent copies conflict and retry (SECURITY.md).
  const t = newApp();
  const args = signer().args(api.messages.send, { body: "race", author: "web" });
  const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => t.mutation(api.messages.send, args)));
  expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
  const refused = await Promise.all(
    outcomes.flatMap((o) => (o.status === "rejected" ? [codeOf(Promise.reject(o.reason))] : [])),
  );
  expect(refused).toEqual(["replayed", "replayed", "replayed", "replayed"]);
  expect(await count(t, "messages")).toBe(1);
});

test("rejected calls carry their code and write nothing", async () => {
  const t = newApp();
  const good = signer().args(api.messages.send, { body: "hello", author: "web" });
  const cases: [string, Promise<unknown>][] = [
    ["bad_signature", t.mutation(api.messages.send, { ...good, body: "HELLO" })],
    // Signed for messages:send, sent to messages:remove (same envelope, other function).
    [
      "bad_signature",
      (async () => {
        const id = await t.run(async (ctx) =>
          ctx.db.insert("messages", { body: "x", author: "y", kid: "prod" }),
        );
        const forSend = signer().args(api.messages.send, { body: "x", author: "y" });
        return t.mutation(api.messages.remove, { id, _callsign: forSend._callsign });
      })(),
    ],
    [
      "bad_signature",
      t.mutation(
        api.messages.send,
        new CallSigner(root, { audience: "https://other-456.convex.cloud" }).args(
          api.messages.send,
          { body: "elsewhere", author: "web" },
        ),
      ),
    ],
    [
      "unknown_key",
      t.mutation(
        api.messages.send,
        new CallSigner(generateKey("stranger"), { audience: AUDIENCE }).args(api.messages.send, {
          body: "who?",
          author: "web",
        }),
      ),
    ],
    [
      "malformed",
      t.mutation(api.messages.send, { ...good, _callsign: { ...good._callsign, sig: "zz" } }),
    ],
  ];
  for (const [code, call] of cases) expect(await codeOf(call)).toBe(code);
  expect(await count(t, "messages")).toBe(1); // the row the wrong-function case inserted itself
  expect((await nonces(t)).length).toBe(0);
});

test("the time window: expired and not yet valid calls are rejected; its edges are accepted", async () => {
  const t = newApp();
  const now = Date.now();
  const old = signer().args(api.messages.send, { body: "old", author: "web" }, { now: now - 60_001 });
  const future = signer().args(api.messages.send, { body: "soon", author: "web" }, { now: now + 60_001 });
  vi.useFakeTimers({ toFake: ["Date"], now });
  expect(await codeOf(t.mutation(api.messages.send, old))).toBe("expired");
  expect(await codeOf(t.mutation(api.messages.send, future))).toBe("not_yet_valid");
  expect((await nonces(t)).length).toBe(0);
  // One millisecond earlier (or later) each is exactly at the edge of the ±60 s window.
  // (A fresh app each time: convex-test never lets a transaction's time go backwards.)
  vi.setSystemTime(now - 1);
  const early = newApp();
  await early.mutation(api.messages.send, old);
  vi.setSystemTime(now + 1);
  const late = newApp();
  await late.mutation(api.messages.send, future);
  expect([await count(early, "messages"), await count(late, "messages")]).toEqual([1, 1]);
});

test("a handler that throws leaves the nonce unused: the same call succeeds later, once", async () => {
  const t = newApp();
  await t.run(async (ctx) => {
    await ctx.db.insert("settings", { open: false });
  });
  const args = signer().args(api.messages.send, { body: "retry me", author: "web" });
  // The app's own refusal: a ConvexError, but not a callsign one.
  await expect(t.mutation(api.messages.send, args)).rejects.toMatchObject({ data: { code: "closed" } });
  expect((await nonces(t)).length).toBe(0);

  await t.run(async (ctx) => {
    const settings = await ctx.db.query("settings").first();
    await ctx.db.patch(settings!._id, { open: true });
  });
  await t.mutation(api.messages.send, args);
  expect(await codeOf(t.mutation(api.messages.send, args))).toBe("replayed");
  expect(await count(t, "messages")).toBe(1);
});

test("keys come from CALLSIGN_KEYS on every call: rotation takes effect at once", async () => {
  const t = newApp();
  const next = generateKey("next");
  const byNext = new CallSigner(next, { audience: AUDIENCE });
  expect(await codeOf(t.mutation(api.messages.send, byNext.args(api.messages.send, { body: "a", author: "w" })))).toBe("unknown_key");
  // Runbook step 1: add the new key beside the old one.
  process.env.CALLSIGN_KEYS = `${root},${next}`;
  await t.mutation(api.messages.send, byNext.args(api.messages.send, { body: "b", author: "w" }));
  await t.mutation(api.messages.send, signer().args(api.messages.send, { body: "c", author: "w" }));
  // Step 3: drop the old key; its calls are now refused.
  process.env.CALLSIGN_KEYS = next;
  expect(await codeOf(t.mutation(api.messages.send, signer().args(api.messages.send, { body: "d", author: "w" })))).toBe("unknown_key");
  expect(await count(t, "messages")).toBe(2);
});

test("a derived key works with the deployment holding only that key", async () => {
  const t = newApp();
  const derived = deriveKey(root, AUDIENCE);
  process.env.CALLSIGN_KEYS = derived;
  // The signer may hold the root key or the derived one: both sign the same.
  await t.mutation(api.messages.send, signer().args(api.messages.send, { body: "root", author: "w" }));
  const withDerived = new CallSigner(derived, { audience: AUDIENCE });
  await t.mutation(api.messages.send, withDerived.args(api.messages.send, { body: "derived", author: "w" }));
  expect(await count(t, "messages")).toBe(2);
});

test("a missing CALLSIGN_KEYS is a configuration error with a code, not a crash", async () => {
  const t = newApp();
  delete process.env.CALLSIGN_KEYS;
  const args = signer().args(api.messages.send, { body: "x", author: "w" });
  // The caller learns only that the deployment is misconfigured; its log says how (SPEC §7).
  vi.spyOn(console, "error").mockImplementation(() => {});
  expect(await codeOf(t.mutation(api.messages.send, args))).toBe("misconfigured");
});

test("signed queries verify but cannot reject replays (documented)", async () => {
  const t = newApp();
  await t.mutation(api.messages.send, signer().args(api.messages.send, { body: "hi", author: "w" }));
  const args = signer().args(api.messages.list, { limit: 5 });
  expect(await t.query(api.messages.list, args)).toEqual([{ body: "hi", author: "w" }]);
  expect(await t.query(api.messages.list, args)).toEqual([{ body: "hi", author: "w" }]);
  expect(await codeOf(t.query(api.messages.list, { ...args, limit: 6 }))).toBe("bad_signature");
  expect((await nonces(t)).length).toBe(1);
});

test("signed actions record the nonce before the handler runs; replays are rejected", async () => {
  const t = newApp();
  const args = signer().args(api.messages.digest, { title: "today" });
  expect(await t.action(api.messages.digest, args)).toBe("today: 0 message(s)");
  expect((await nonces(t)).length).toBe(1);
  expect(await codeOf(t.action(api.messages.digest, args))).toBe("replayed");
  expect(await codeOf(t.action(api.messages.digest, { ...args, title: "x" }))).toBe("bad_signature");
});
