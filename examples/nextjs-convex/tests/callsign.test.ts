// Level 1: the replay store's cleanup (the component's), the signed gateway to internal
// functions, the reporting key's scope and the customized report builder.
import { CallSigner } from "convex-callsign/client";
import { deriveKey, generateKey } from "convex-callsign";
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { api, components, internal } from "../convex/_generated/api";
import { AUDIENCE, codeOf, count, inStore, newApp, nonces, type App } from "./helpers";

const root = generateKey("ops");
const signer = new CallSigner(root, { audience: AUDIENCE });

beforeEach(() => {
  process.env.CALLSIGN_KEYS = root;
  process.env.CONVEX_CLOUD_URL = AUDIENCE;
});
afterEach(() => {
  vi.useRealTimers();
});

const cleanup = components.callsign.store.cleanup;
const signedAtOf = async (t: App) => (await nonces(t)).map((n) => n.ts);

/** Nonces as signed calls record them (60 s window), and the store's 60 s retention. */
async function seed(t: App, signedAt: number[]) {
  await inStore(t, async (ctx) => {
    for (const [i, ts] of signedAt.entries()) {
      await ctx.db.insert("nonces", { kid: "ops", nonce: `n${i}`, ts, rememberUntil: ts + 60_000 });
    }
    await ctx.db.insert("watermark", { watermarkTs: null, retentionMs: 60_000 });
  });
}

test("cleanup deletes only nonces whose window has passed", async () => {
  const now = Date.now();
  vi.useFakeTimers({ toFake: ["Date"], now });
  const t = newApp();
  const age = (ms: number) => now - 60_000 - ms;
  await seed(t, [age(5), age(1), age(0), age(-1), now]);
  expect(await t.mutation(cleanup, {})).toEqual({ deleted: 2, more: false });
  // A call is accepted while now <= ts + 60 000 (SPEC §8): those signed since now - 60 000 stay.
  expect((await signedAtOf(t)).sort()).toEqual([age(0), age(-1), now]);
});

test("cleanup works in bounded batches and schedules itself until done", async () => {
  const now = Date.now();
  vi.useFakeTimers({ toFake: ["Date"], now });
  const t = newApp();
  await seed(t, [...Array.from({ length: 600 }, (_, i) => now - 61_000 + i), now]);
  // The default batch is 256: the first run deletes 256 and schedules the next.
  expect(await t.mutation(cleanup, {})).toEqual({ deleted: 256, more: true });
  expect(await nonces(t)).toHaveLength(601 - 256);
  vi.useRealTimers();
  await t.finishAllScheduledFunctions(() => {});
  expect(await signedAtOf(t)).toEqual([now]);
});

test("cleanup raises the watermark; calls signed at or before it are refused as replayed", async () => {
  const signedAt = Date.now();
  vi.useFakeTimers({ toFake: ["Date"], now: signedAt });
  const t = newApp();
  await t.mutation(api.messages.send, signer.args(api.messages.send, { body: "once", author: "ops" }));
  vi.setSystemTime(signedAt + 60_001);
  expect(await t.mutation(cleanup, {})).toEqual({ deleted: 1, more: false });
  const watermark = await inStore(t, async (ctx) => ctx.db.query("watermark").first());
  expect(watermark).toMatchObject({ watermarkTs: signedAt, retentionMs: 60_000 });

  // Concurrent requests do not read the clock in order (SPEC §8): a request whose clock
  // still reads inside the window of a call the cleanup dropped must not accept it again.
  // convex-test's clock never runs backwards, so stand in for that request with a call
  // signed exactly at the watermark, and one a millisecond after it.
  const t0 = signedAt + 60_001;
  await inStore(t, async (ctx) => {
    await ctx.db.patch(watermark._id, { watermarkTs: t0 });
  });
  const atMark = signer.args(api.messages.send, { body: "at", author: "ops" }, { now: t0 });
  const pastMark = signer.args(api.messages.send, { body: "past", author: "ops" }, { now: t0 + 1 });
  expect(await codeOf(t.mutation(api.messages.send, atMark))).toBe("replayed");
  await t.mutation(api.messages.send, pastMark);
  expect(await count(t, "messages")).toBe(2);
});

test("the gateway runs an allowed internal mutation, query and action for signed calls", async () => {
  const t = newApp();
  expect(await t.mutation(api.callsign.runMutation, signer.gatewayArgs(internal.admin.setOpen, { open: false }))).toBe(false);
  const settings = await t.run(async (ctx) => ctx.db.query("settings").first());
  expect(settings?.open).toBe(false);
  expect(await t.query(api.callsign.runQuery, signer.gatewayArgs(internal.admin.stats, {}))).toEqual({ messages: 0 });
  expect(await t.action(api.callsign.runAction, signer.gatewayArgs(internal.admin.digest, { title: "ops" }))).toBe(
    "ops: 0 message(s)",
  );
  // Mutation and action each recorded one nonce; the query cannot write.
  expect(await nonces(t)).toHaveLength(2);
});

test("the gateway refuses functions off its allow-list, changed calls, and replays", async () => {
  const t = newApp();
  await t.run(async (ctx) => {
    await ctx.db.insert("messages", { body: "keep", author: "x", kid: "ops" });
  });
  // Validly signed, but purge is not on the allow-list.
  expect(await codeOf(t.mutation(api.callsign.runMutation, signer.gatewayArgs(internal.admin.purge, {})))).toBe("not_allowed");
  // An allowed query sent to the mutation gateway is refused too: each kind has its own list.
  expect(await codeOf(t.mutation(api.callsign.runMutation, signer.gatewayArgs(internal.admin.stats, {}) as never))).toBe("not_allowed");
  // A signature for setOpen {open: true} does not cover {open: false}, nor another function.
  const signed = signer.gatewayArgs(internal.admin.setOpen, { open: true });
  expect(await codeOf(t.mutation(api.callsign.runMutation, { ...signed, args: { open: false } }))).toBe("bad_signature");
  expect(await codeOf(t.mutation(api.callsign.runMutation, { ...signed, function: "admin:purge" }))).toBe("bad_signature");
  // The inner args cannot smuggle an envelope of their own.
  expect(
    await codeOf(t.mutation(api.callsign.runMutation, { ...signed, args: { open: true, _callsign: signed._callsign } })),
  ).toBe("malformed");
  expect(await t.mutation(api.callsign.runMutation, signed)).toBe(true);
  expect(await codeOf(t.mutation(api.callsign.runMutation, signed))).toBe("replayed");
  expect(await count(t, "messages")).toBe(1);
  expect(await nonces(t)).toHaveLength(1);
});

test("a gateway mutation whose internal function throws leaves the nonce unused", async () => {
  const t = newApp();
  const signed = signer.gatewayArgs(internal.admin.setOpen, { open: "yes" as unknown as boolean });
  // The internal function's own validator rejects the args, inside the gateway's transaction.
  await expect(t.mutation(api.callsign.runMutation, signed)).rejects.toThrow(/Validator error|validator/i);
  expect(await nonces(t)).toHaveLength(0);
});

test("the reporting key reads the report and nothing else", async () => {
  const reporting = generateKey("reporting");
  // The deployment holds only keys derived for it.
  process.env.CALLSIGN_KEYS = `${deriveKey(root, AUDIENCE)},${deriveKey(reporting, AUDIENCE)}`;
  const t = newApp();
  const dashboard = new CallSigner(reporting, { audience: AUDIENCE });
  await t.mutation(api.messages.send, signer.args(api.messages.send, { body: "hi", author: "ops" }));
  // The report, built with the customized builder: its ctx names the verified caller.
  expect(await t.query(api.reports.byKey, dashboard.args(api.reports.byKey, {}))).toEqual({
    for: "server key reporting",
    counts: { ops: 1 },
  });
  // Anything else, though validly signed, is not_allowed; nothing is written or claimed.
  const refused = [
    t.mutation(api.messages.send, dashboard.args(api.messages.send, { body: "no", author: "dash" })),
    t.query(api.messages.list, dashboard.args(api.messages.list, {})),
    t.action(api.messages.digest, dashboard.args(api.messages.digest, { title: "x" })),
    t.query(api.callsign.runQuery, dashboard.gatewayArgs(internal.admin.stats, {})),
    t.mutation(api.callsign.runMutation, dashboard.gatewayArgs(internal.admin.setOpen, { open: false })),
  ];
  for (const call of refused) expect(await codeOf(call)).toBe("not_allowed");
  expect(await count(t, "messages")).toBe(1);
  expect((await nonces(t)).map((n) => n.kid)).toEqual(["ops"]);
  // The ops key is not scoped: it reads the report too.
  expect(await t.query(api.reports.byKey, signer.args(api.reports.byKey, {}))).toMatchObject({ for: "server key ops" });
});

test("the report's builder has its own window: 30 s", async () => {
  const t = newApp();
  const now = Date.now();
  const old = signer.args(api.reports.byKey, {}, { now: now - 31_000 });
  expect(await codeOf(t.query(api.reports.byKey, old))).toBe("expired");
  // The same age is inside the default ±60 s of the other functions.
  const list = signer.args(api.messages.list, {}, { now: now - 31_000 });
  expect(await t.query(api.messages.list, list)).toEqual([]);
});

test("setup mistakes fail when the module loads, not on a call", async () => {
  const { Callsign } = await import("convex-callsign/convex");
  const { v } = await import("convex/values");
  const { action, internalMutation, mutation, query } = await import("../convex/_generated/server");
  const cs = new Callsign(components.callsign);
  expect(() => cs.signed(mutation)({ args: { _callsign: v.string() }, handler: async () => null })).toThrow(
    /envelope's field/,
  );
  expect(() =>
    cs.signed(mutation)({ args: v.union(v.object({ a: v.string() }), v.object({ b: v.string() })) as never, handler: async () => null }),
  ).toThrow(/Args validator must be an object or any/);
  // @ts-expect-error signed functions are public: internal ones are reached through the gateway
  expect(() => cs.signed(internalMutation)({ args: {}, handler: async () => null })).toThrow(/cs.gateway/);
  expect(() => cs.gateway({ query, mutation, action }, { mutations: ["admin:purge" as never] })).toThrow(
    /references like internal.file.fn/,
  );
  expect(() => new Callsign(components.callsign, { scopes: { reporting: ["reports.js:byKey" as never] } })).toThrow(
    /is not a function/,
  );
});
