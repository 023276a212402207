// The replay store component (SPEC.md §8), through the app's reference to it
// (components.callsign.store.*) and through signed mutations: claims, the retention, the
// cleanup's order and batches, the watermark, and its cron.
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { Signer, generateKey } from "convex-callsign";
import { api, components } from "./_generated/api.js";
import { AUDIENCE, codeOf, inStore, newApp, nonces, watermark, type App } from "./helpers.js";

const root = generateKey("ops");
const signer = new Signer(root, { audience: AUDIENCE });
const store = components.callsign.store;

beforeEach(() => {
  process.env.CALLSIGN_KEYS = root;
  process.env.CONVEX_CLOUD_URL = AUDIENCE;
});
afterEach(() => {
  vi.useRealTimers();
});

/** Nonces as signed calls with a 60 s window record them, and the store's 60 s retention. */
async function seed(t: App, signedAt: number[]) {
  await inStore(t, async (ctx) => {
    for (const [i, ts] of signedAt.entries()) {
      await ctx.db.insert("nonces", { kid: "ops", nonce: `n${i}`, ts, rememberUntil: ts + 60_000 });
    }
    await ctx.db.insert("watermark", { watermarkTs: null, retentionMs: 60_000 });
  });
}

test("claim accepts a pair once and answers a refusal value, not an exception", async () => {
  const t = newApp();
  const call = { kid: "k", nonce: "ab".repeat(16), ts: 1_000, rememberUntil: 61_000 };
  expect(await t.mutation(store.claim, call)).toBeNull();
  expect(await t.mutation(store.claim, call)).toEqual({
    code: "replayed",
    message: `the call with nonce ${call.nonce} (key k) was already accepted`,
  });
  // Another kid with the same nonce is another pair.
  expect(await t.mutation(store.claim, { ...call, kid: "other" })).toBeNull();
  expect(await nonces(t)).toHaveLength(2);
});

test("the retention is the longest window accepted, never shortened", async () => {
  const t = newApp();
  const claim = (nonce: string, window: number) =>
    t.mutation(store.claim, { kid: "k", nonce, ts: 1_000, rememberUntil: 1_000 + window });
  expect(await watermark(t)).toBeNull();
  await claim("a".repeat(32), 60_000);
  expect(await watermark(t)).toMatchObject({ watermarkTs: null, retentionMs: 60_000 });
  await claim("b".repeat(32), 600_000);
  await claim("c".repeat(32), 10_000);
  expect(await watermark(t)).toMatchObject({ watermarkTs: null, retentionMs: 600_000 });
});

test("cleanup deletes only nonces older than the retention, and nothing before any claim", async () => {
  const now = Date.now();
  vi.useFakeTimers({ toFake: ["Date"], now });
  expect(await newApp().mutation(store.cleanup, {})).toEqual({ deleted: 0, more: false });
  // (A fresh app: convex-test moves each transaction's clock past the previous one's.)
  const t = newApp();
  const age = (ms: number) => now - 60_000 - ms;
  await seed(t, [age(5), age(1), age(0), age(-1), now]);
  expect(await t.mutation(store.cleanup, {})).toEqual({ deleted: 2, more: false });
  // A call is accepted while now <= ts + 60 000 (SPEC §8): those signed since now - 60 000 stay.
  expect((await nonces(t)).map((n) => n.ts).sort()).toEqual([age(0), age(-1), now]);
  expect(await watermark(t)).toMatchObject({ watermarkTs: age(1) });
});

test("cleanup keeps every nonce while a longer window is in use", async () => {
  const signedAt = Date.now();
  vi.useFakeTimers({ toFake: ["Date"], now: signedAt });
  const t = newApp();
  await t.mutation(api.messages.send, signer.sign("messages:send", { body: "60 s" }));
  await t.mutation(api.wide.send, signer.sign("wide:send", { body: "10 min" }));
  vi.setSystemTime(signedAt + 61_000);
  expect(await t.mutation(store.cleanup, {})).toEqual({ deleted: 0, more: false });
  vi.setSystemTime(signedAt + 600_001);
  expect(await t.mutation(store.cleanup, {})).toEqual({ deleted: 2, more: false });
});

test("cleanup works in bounded batches of 256 and schedules itself until done", async () => {
  const now = Date.now();
  vi.useFakeTimers({ toFake: ["Date"], now });
  const t = newApp();
  await seed(t, [...Array.from({ length: 600 }, (_, i) => now - 61_000 + i), now]);
  expect(await t.mutation(store.cleanup, {})).toEqual({ deleted: 256, more: true });
  expect(await nonces(t)).toHaveLength(601 - 256);
  // The watermark follows the batch: the latest ts it dropped.
  expect(await watermark(t)).toMatchObject({ watermarkTs: now - 61_000 + 255 });
  vi.useRealTimers();
  await t.finishAllScheduledFunctions(() => {});
  expect((await nonces(t)).map((n) => n.ts)).toEqual([now]);
  expect(await watermark(t)).toMatchObject({ watermarkTs: now - 61_000 + 599 });
});

test("calls signed at or before the watermark are refused as replayed, later ones accepted", async () => {
  const signedAt = Date.now();
  vi.useFakeTimers({ toFake: ["Date"], now: signedAt });
  const t = newApp();
  await t.mutation(api.messages.send, signer.sign("messages:send", { body: "once" }));
  vi.setSystemTime(signedAt + 60_001);
  expect(await t.mutation(store.cleanup, {})).toEqual({ deleted: 1, more: false });
  expect(await watermark(t)).toMatchObject({ watermarkTs: signedAt, retentionMs: 60_000 });

  // Concurrent requests do not read the clock in order (SPEC §8): a request whose clock
  // still reads inside the window of a call the cleanup dropped must not accept it again.
  // convex-test's clock never runs backwards, so stand in for that request with calls signed
  // exactly at a raised watermark, and a millisecond after it.
  const t0 = signedAt + 60_001;
  await inStore(t, async (ctx) => {
    const row = await ctx.db.query("watermark").first();
    await ctx.db.patch(row._id, { watermarkTs: t0 });
  });
  const atMark = signer.sign("messages:send", { body: "at" }, { now: t0 });
  const pastMark = signer.sign("messages:send", { body: "past" }, { now: t0 + 1 });
  expect(await codeOf(t.mutation(api.messages.send, atMark))).toBe("replayed");
  expect(await t.mutation(store.claim, { kid: "ops", nonce: "f".repeat(32), ts: t0, rememberUntil: t0 + 60_000 })).toMatchObject({
    code: "replayed",
    message: expect.stringMatching(/older than what the replay store still remembers/),
  });
  await t.mutation(api.messages.send, pastMark);
  expect(await t.run(async (ctx) => (await ctx.db.query("messages").collect()).map((m) => m.body))).toEqual(["once", "past"]);
});

test("the component's cron runs the cleanup every 10 minutes", async () => {
  const crons = (await import("../../dist/component/crons.js")).default as unknown as {
    crons: Record<string, { name: string; args: unknown[]; schedule: unknown }>;
  };
  expect(Object.values(crons.crons)).toEqual([
    { name: "store:cleanup", args: [{}], schedule: { type: "interval", minutes: 10 } },
  ]);
});
