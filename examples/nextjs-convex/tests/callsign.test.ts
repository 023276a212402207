// Level 1: the replay store's cleanup and the signed gateway to internal functions.
import { CallSigner } from "convex-callsign/client";
import { generateKey } from "convex-callsign";
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { api, internal } from "../convex/_generated/api";
import { AUDIENCE, codeOf, count, newApp, type App } from "./helpers";

const root = generateKey("ops");
const signer = new CallSigner(root, { audience: AUDIENCE });

beforeEach(() => {
  process.env.CALLSIGN_KEYS = root;
  process.env.CONVEX_CLOUD_URL = AUDIENCE;
});
afterEach(() => {
  vi.useRealTimers();
});

const nonces = (t: App) =>
  t.run(async (ctx) => (await ctx.db.query("callsignNonces").collect()).map((n) => n.ts));

/** Nonces as signed calls record them (60 s window), and the store's 60 s retention. */
async function seed(t: App, signedAt: number[]) {
  await t.run(async (ctx) => {
    for (const [i, ts] of signedAt.entries()) {
      await ctx.db.insert("callsignNonces", { kid: "ops", nonce: `n${i}`, ts, rememberUntil: ts + 60_000 });
    }
    await ctx.db.insert("callsignWatermark", { watermarkTs: null, retentionMs: 60_000 });
  });
}

test("cleanup deletes only nonces whose window has passed", async () => {
  const now = Date.now();
  vi.useFakeTimers({ toFake: ["Date"], now });
  const t = newApp();
  const age = (ms: number) => now - 60_000 - ms;
  await seed(t, [age(5), age(1), age(0), age(-1), now]);
  expect(await t.mutation(internal.callsign.cleanupNonces, {})).toEqual({ deleted: 2, more: false });
  // A call is accepted while now <= ts + 60 000 (SPEC §8): those signed since now - 60 000 stay.
  expect((await nonces(t)).sort()).toEqual([age(0), age(-1), now]);
});

test("cleanup works in bounded batches and schedules itself until done", async () => {
  const now = Date.now();
  vi.useFakeTimers({ toFake: ["Date"], now });
  const t = newApp();
  await seed(t, [...Array.from({ length: 600 }, (_, i) => now - 61_000 + i), now]);
  // The default batch is 256: the first run deletes 256 and schedules the next.
  expect(await t.mutation(internal.callsign.cleanupNonces, {})).toEqual({ deleted: 256, more: true });
  expect(await count(t, "callsignNonces")).toBe(601 - 256);
  vi.useRealTimers();
  await t.finishAllScheduledFunctions(() => {});
  expect(await nonces(t)).toHaveLength(1);
});

test("cleanup raises the watermark; calls signed at or before it are refused as replayed", async () => {
  const signedAt = Date.now();
  vi.useFakeTimers({ toFake: ["Date"], now: signedAt });
  const t = newApp();
  await t.mutation(api.messages.send, signer.args(api.messages.send, { body: "once", author: "ops" }));
  vi.setSystemTime(signedAt + 60_001);
  expect(await t.mutation(internal.callsign.cleanupNonces, {})).toEqual({ deleted: 1, more: false });
  const watermark = await t.run(async (ctx) => ctx.db.query("callsignWatermark").first());
  expect(watermark).toMatchObject({ watermarkTs: signedAt, retentionMs: 60_000 });

  // Concurrent requests do not read the clock in order (SPEC §8): a request whose clock
  // still reads inside the window of a call the cleanup dropped must not accept it again.
  // convex-test's clock never runs backwards, so stand in for that request with a call
  // signed exactly at the watermark, and one a millisecond after it.
  const t0 = signedAt + 60_001;
  await t.run(async (ctx) => {
    await ctx.db.patch(watermark!._id, { watermarkTs: t0 });
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
  expect(await count(t, "callsignNonces")).toBe(2);
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
  expect(await count(t, "callsignNonces")).toBe(1);
});

test("a gateway mutation whose internal function throws leaves the nonce unused", async () => {
  const t = newApp();
  const signed = signer.gatewayArgs(internal.admin.setOpen, { open: "yes" as unknown as boolean });
  // The internal function's own validator rejects the args, inside the gateway's transaction.
  await expect(t.mutation(api.callsign.runMutation, signed)).rejects.toThrow(/Validator error|validator/i);
  expect(await count(t, "callsignNonces")).toBe(0);
});

test("setup mistakes fail when the module loads, not on a call", async () => {
  const { callsign } = await import("convex-callsign/convex");
  const { v } = await import("convex/values");
  const server = await import("../convex/_generated/server");
  const builders = { query: server.query, mutation: server.mutation, action: server.action, internalMutation: server.internalMutation };
  const fns = callsign(builders);
  expect(() => fns.signedMutation({ args: { _callsign: v.string() }, handler: async () => null })).toThrow(
    /envelope's field/,
  );
  expect(() => callsign(builders, { cleanupBatch: 0 })).toThrow(/cleanupBatch/);
  expect(() =>
    callsign(builders, { gateway: { mutations: ["admin:purge" as never] } }),
  ).toThrow(/references like internal.file.fn/);
});
