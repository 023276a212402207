// A signed mutation (messages.js, built with cs.signed(mutation)) under convex-test: accepted
// once, a replay or a changed call is rejected with a ConvexError carrying the code, and
// nothing is written; a throwing handler leaves the nonce unused.
import { beforeEach, expect, test } from "vitest";
import { Signer, generateKey } from "convex-callsign";
import { api } from "./_generated/api.js";
import { AUDIENCE, codeOf, newApp, nonces, type App } from "./helpers.js";

const root = generateKey("prod");

beforeEach(() => {
  process.env.CALLSIGN_KEYS = root;
  process.env.CONVEX_CLOUD_URL = AUDIENCE;
  delete process.env.FAIL_AFTER_ACCEPT;
});

const messages = (t: App) => t.run(async (ctx) => (await ctx.db.query("messages").collect()).length);

test("a signed call is accepted once; its replay is rejected and writes nothing", async () => {
  const t = newApp();
  const args = new Signer(root, { audience: AUDIENCE }).sign("messages:send", { body: "hello" });
  await t.mutation(api.messages.send, args);
  expect(await messages(t)).toBe(1);

  expect(await codeOf(t.mutation(api.messages.send, args))).toBe("replayed");
  expect(await messages(t)).toBe(1);
  expect((await nonces(t)).map((n) => n.nonce)).toEqual([args._callsign.nonce]);
});

test("a changed call, or one signed for another deployment, writes nothing", async () => {
  const t = newApp();
  const signed = new Signer(root, { audience: AUDIENCE }).sign("messages:send", { body: "hello" });
  expect(await codeOf(t.mutation(api.messages.send, { ...signed, body: "HELLO" }))).toBe("bad_signature");
  const elsewhere = new Signer(root, { audience: "https://other-456.convex.cloud" });
  expect(await codeOf(t.mutation(api.messages.send, elsewhere.sign("messages:send", { body: "x" })))).toBe(
    "bad_signature",
  );
  expect(await messages(t)).toBe(0);
  expect(await nonces(t)).toHaveLength(0);
});

test("a handler that throws leaves the nonce unused: the component's write rolls back with it", async () => {
  const t = newApp();
  const args = new Signer(root, { audience: AUDIENCE }).sign("failing:send", { body: "retry me" });
  process.env.FAIL_AFTER_ACCEPT = "1";
  await expect(t.mutation(api.failing.send, args)).rejects.toThrow("the handler failed");
  expect(await nonces(t)).toHaveLength(0);
  expect(await messages(t)).toBe(0);

  delete process.env.FAIL_AFTER_ACCEPT;
  await t.mutation(api.failing.send, args);
  expect(await messages(t)).toBe(1);
  expect(await codeOf(t.mutation(api.failing.send, args))).toBe("replayed");
});

test("the same call submitted concurrently commits once", async () => {
  // convex-test serializes transactions, so this shows the claim's check-then-insert inside
  // one transaction, not a race: on a deployment, OCC on the (kid, nonce) index read does
  // (SECURITY.md).
  const t = newApp();
  const args = new Signer(root, { audience: AUDIENCE }).sign("messages:send", { body: "race" });
  const outcomes = await Promise.allSettled(Array.from({ length: 8 }, () => t.mutation(api.messages.send, args)));
  expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
  const refused = await Promise.all(
    outcomes.flatMap((o) => (o.status === "rejected" ? [codeOf(Promise.reject(o.reason))] : [])),
  );
  expect(refused).toEqual(Array(7).fill("replayed"));
  expect(await messages(t)).toBe(1);
  expect(await nonces(t)).toHaveLength(1);
});
