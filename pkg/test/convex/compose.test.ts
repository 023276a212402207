// cs.signed(...) with every args form, composed with convex-helpers (customMutation, its zod
// builder) in both orders, and the mistakes it refuses where a function is defined.
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { v } from "convex/values";
import { customCtx, customMutation } from "convex-helpers/server/customFunctions";
import { Signer, generateKey } from "convex-callsign";
import { Callsign } from "convex-callsign/convex";
import { api, components } from "./_generated/api.js";
import { action, internalMutation, mutation, query } from "./_generated/server.js";
import { AUDIENCE, codeOf, newApp, nonces } from "./helpers.js";

const root = generateKey("prod");
const signer = new Signer(root, { audience: AUDIENCE });

beforeEach(() => {
  process.env.CALLSIGN_KEYS = root;
  process.env.CONVEX_CLOUD_URL = AUDIENCE;
});
afterEach(() => {
  vi.useRealTimers();
});

test("args as a record, v.object, v.any(), none, or a bare handler: verified, envelope stripped", async () => {
  const t = newApp();
  const call = (name: string, args: Record<string, unknown>) =>
    t.mutation((api.shapes as any)[name], signer.sign(`shapes:${name}`, args as never));
  expect(await call("record", { a: 1 })).toEqual({ kid: "prod", args: { a: 1 } });
  expect(await call("object", { a: 2, b: "x" })).toEqual({ kid: "prod", args: { a: 2, b: "x" } });
  expect(await call("any", { z: [1, { y: null }] })).toEqual({ kid: "prod", args: { z: [1, { y: null }] } });
  expect(await call("none", { free: "form" })).toEqual({ kid: "prod", args: { free: "form" } });
  expect(await call("bare", {})).toEqual({ kid: "prod", args: {} });
  expect(await nonces(t)).toHaveLength(5);

  // Each form still refuses a changed or unsigned call with callsign's codes, not a
  // validator error: the envelope is callsign's to check.
  for (const name of ["record", "object", "any", "none", "bare"]) {
    const signed = signer.sign(`shapes:${name}`, { a: 3 });
    expect(await codeOf(t.mutation((api.shapes as any)[name], { ...signed, a: 4 })), name).toBe("bad_signature");
    expect(await codeOf(t.mutation((api.shapes as any)[name], { a: 3 })), name).toBe("malformed");
  }
  // The declared validators still apply to the args.
  await expect(t.mutation(api.shapes.record, signer.sign("shapes:record", { a: "one" }))).rejects.toThrow(/Validator/);
  expect(await nonces(t)).toHaveLength(5);
});

test("customMutation(cs.signed(mutation), customCtx(...)): the customization sees ctx.callsign", async () => {
  const t = newApp();
  const args = signer.sign("composed:outside", { body: "hi" });
  expect(await t.mutation(api.composed.outside, args)).toEqual({ caller: "caller:prod", kid: "prod", body: "hi" });
  expect(await codeOf(t.mutation(api.composed.outside, args))).toBe("replayed");
  expect(await codeOf(t.mutation(api.composed.outside, { ...args, body: "changed" }))).toBe("bad_signature");
  expect(await t.run(async (ctx) => (await ctx.db.query("messages").collect()).map((m) => m.body))).toEqual(["hi"]);
});

test("a customization's own args are signed too: callsign, inside, sees every arg", async () => {
  const t = newApp();
  const args = signer.sign("composed:withSession", { body: "b", sessionId: "s1" });
  expect(await t.mutation(api.composed.withSession, args)).toEqual({ session: "s1@prod", args: { body: "b" } });
  // Another session id with the same signature is not the signed call.
  const other = signer.sign("composed:withSession", { body: "b", sessionId: "s1" });
  expect(await codeOf(t.mutation(api.composed.withSession, { ...other, sessionId: "s2" }))).toBe("bad_signature");
});

test("zCustomMutation(cs.signed(mutation), ...): zod checks the args after callsign verified them", async () => {
  const t = newApp();
  expect(await t.mutation(api.composed.zodded, signer.sign("composed:zodded", { n: 2, tag: "ok" }))).toEqual({
    kid: "prod",
    args: { n: 2, tag: "ok" },
  });
  // A valid signature over args zod refuses: zod's error, and the nonce is not used.
  const refusedByZod = signer.sign("composed:zodded", { n: 0, tag: "x" });
  await expect(t.mutation(api.composed.zodded, refusedByZod)).rejects.toThrow(/ZodError|too_small|>=1/);
  expect(await codeOf(t.mutation(api.composed.zodded, { ...refusedByZod, n: 5 }))).toBe("bad_signature");
  expect(await nonces(t)).toHaveLength(1);
});

test("cs.signed(customQuery(query, customCtx(...))): the customized ctx and the claims", async () => {
  const t = newApp();
  expect(await t.query(api.composed.inside, signer.sign("composed:inside", { q: "x" }))).toEqual({
    tenant: "t1",
    kid: "prod",
    q: "x",
  });
});

test("cs.signed(builder, { window }) sets the window of functions a customization defines", async () => {
  const t = newApp();
  const now = Date.now();
  expect(await t.query(api.composed.shortWindow, signer.sign("composed:shortWindow", {}))).toBe(10_000);
  const old = signer.sign("composed:shortWindow", {}, { now: now - 20_000 });
  expect(await codeOf(t.query(api.composed.shortWindow, old))).toBe("expired");
});

test("mistakes are refused where the function is defined, not on a call", () => {
  const cs = new Callsign(components.callsign);
  const handler = async () => null;
  // Top-level unions cannot be deployed (Convex: "Args validator must be an object or any").
  const union = v.union(v.object({ kind: v.literal("a") }), v.object({ kind: v.literal("b") }));
  expect(() => cs.signed(mutation)({ args: union as never, handler })).toThrow(
    /Args validator must be an object or any/,
  );
  expect(() => cs.signed(mutation)({ args: v.string() as never, handler })).toThrow(/not v.string/);
  // The envelope's field is reserved, in every args form.
  expect(() => cs.signed(mutation)({ args: { _callsign: v.string() }, handler })).toThrow(/envelope's field/);
  expect(() => cs.signed(query)({ args: v.object({ _callsign: v.any() }), handler })).toThrow(/envelope's field/);
  // Signed functions are public: internal ones are reached through the gateway.
  expect(() => (cs.signed as any)(internalMutation)({ args: {}, handler })).toThrow(/cs.gateway/);
  expect(() => (cs.signed as any)((d: unknown) => d)({ args: {}, handler })).toThrow(/query, mutation or action/);
  // A customized builder whose customization takes args would keep them out of the signature.
  const withSession = customMutation(mutation, {
    args: { sessionId: v.string() },
    input: async (_ctx, { sessionId }) => ({ ctx: { sessionId }, args: {} }),
  });
  expect(() => cs.signed(withSession)({ args: { a: v.number() }, handler })).toThrow(/takes args of its own \(sessionId\)/);
  // One that only adds to ctx is fine.
  expect(() => cs.signed(customMutation(mutation, customCtx(async () => ({ x: 1 }))))({ args: {}, handler })).not.toThrow();
  expect(() => cs.signed(action)({ args: {}, handler })).not.toThrow();
  // Gateway entries are references.
  expect(() => cs.gateway({ query, mutation, action }, { mutations: ["settings:store" as never] })).toThrow(
    /references like internal.file.fn/,
  );
});
