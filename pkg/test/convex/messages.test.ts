// A signed mutation (messages.js, built with callsign/convex) under convex-test: accepted once, a replay
// or a changed call is rejected with a ConvexError carrying the code, and nothing is written.
import { convexTest } from "convex-test";
import { ConvexError } from "convex/values";
import { beforeEach, expect, test } from "vitest";
import { Signer, generateKey } from "convex-callsign";
import { api } from "./_generated/api.js";
import schema from "./schema.js";

const modules = import.meta.glob("./**/*.js");
const AUDIENCE = "https://happy-otter-123.convex.cloud";
const root = generateKey("prod");

beforeEach(() => {
  process.env.CALLSIGN_KEYS = root;
  process.env.CONVEX_CLOUD_URL = AUDIENCE;
  delete process.env.FAIL_AFTER_ACCEPT;
});

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof ConvexError) return (e.data as { code: string }).code;
    throw e;
  }
  throw new Error("expected a ConvexError");
}

const count = (t: ReturnType<typeof convexTest>, table: "messages" | "callsignNonces") =>
  t.run(async (ctx) => (await ctx.db.query(table).collect()).length);

test("a signed call is accepted once; its replay is rejected and writes nothing", async () => {
  const t = convexTest(schema, modules);
  const args = new Signer(root, { audience: AUDIENCE }).sign("messages:send", { body: "hello" });
  await t.mutation(api.messages.send, args);
  expect(await count(t, "messages")).toBe(1);

  expect(await codeOf(t.mutation(api.messages.send, args))).toBe("replayed");
  expect(await count(t, "messages")).toBe(1);
  expect(await count(t, "callsignNonces")).toBe(1);
});

test("a changed call, or one signed for another deployment, writes nothing", async () => {
  const t = convexTest(schema, modules);
  const signed = new Signer(root, { audience: AUDIENCE }).sign("messages:send", { body: "hello" });
  expect(await codeOf(t.mutation(api.messages.send, { ...signed, body: "HELLO" }))).toBe(
    "bad_signature",
  );
  const elsewhere = new Signer(root, { audience: "https://other-456.convex.cloud" });
  expect(
    await codeOf(t.mutation(api.messages.send, elsewhere.sign("messages:send", { body: "x" }))),
  ).toBe("bad_signature");
  expect(await count(t, "messages")).toBe(0);
  expect(await count(t, "callsignNonces")).toBe(0);
});

test("a handler that throws leaves the nonce unused: the same call then succeeds once", async () => {
  const t = convexTest(schema, modules);
  const args = new Signer(root, { audience: AUDIENCE }).sign("failing:send", { body: "retry me" });
  process.env.FAIL_AFTER_ACCEPT = "1";
  await expect(t.mutation(api.failing.send, args)).rejects.toThrow("the handler failed");
  expect(await count(t, "callsignNonces")).toBe(0);
  expect(await count(t, "messages")).toBe(0);

  delete process.env.FAIL_AFTER_ACCEPT;
  await t.mutation(api.failing.send, args);
  expect(await count(t, "messages")).toBe(1);
  expect(await codeOf(t.mutation(api.failing.send, args))).toBe("replayed");
});
