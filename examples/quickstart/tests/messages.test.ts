// tests/messages.test.ts: signed calls under convex-test, with the component registered.
import { convexTest } from "convex-test";
import { generateKey, isCallsignError } from "convex-callsign";
import { CallSigner } from "convex-callsign/client";
import { register } from "convex-callsign/test";
import { beforeEach, expect, test } from "vitest";
import { api, internal } from "../convex/_generated/api";
import schema from "../convex/schema";

const modules = import.meta.glob("../convex/**/*.*s");
const AUDIENCE = "https://happy-otter-123.convex.cloud";
const key = generateKey("test"); // a deployment holds a key derived for its URL: deriveKey(key, AUDIENCE)
const signer = new CallSigner(key, { audience: AUDIENCE });

beforeEach(() => {
  process.env.CONVEX_CLOUD_URL = AUDIENCE; // a deployment sets this itself; convex-test does not
  process.env.CALLSIGN_KEYS = key;
});

function newApp() {
  const t = convexTest(schema, modules);
  register(t); // components.callsign, as app.use(callsign) installs it
  return t;
}

/** The callsign code a call was refused with. */
const refusal = (call: Promise<unknown>) =>
  call.then(
    () => "accepted",
    (e) => (isCallsignError(e) ? e.data.code : `not refused by callsign: ${e}`),
  );

test("a signed call runs once; its replay and a changed call are refused", async () => {
  const t = newApp();
  const args = signer.args(api.messages.send, { body: "hello" });
  await t.mutation(api.messages.send, args);
  expect(await refusal(t.mutation(api.messages.send, args))).toBe("replayed");
  expect(await refusal(t.mutation(api.messages.send, { ...args, body: "HELLO" }))).toBe("bad_signature");
  expect(await t.query(api.messages.list, signer.args(api.messages.list, {}))).toEqual(["hello"]);
});

test("unsigned calls and other keys are refused", async () => {
  const t = newApp();
  expect(await refusal(t.mutation(api.messages.send, { body: "x" } as never))).toBe("malformed");
  const stranger = new CallSigner(generateKey("stranger"), { audience: AUDIENCE });
  expect(await refusal(t.mutation(api.messages.send, stranger.args(api.messages.send, { body: "x" })))).toBe(
    "unknown_key",
  );
});

test("a signed action, and internal functions through the gateway", async () => {
  const t = newApp();
  await t.mutation(api.messages.send, signer.args(api.messages.send, { body: "one" }));
  expect(await t.action(api.messages.summarize, signer.args(api.messages.summarize, { title: "today" }))).toBe(
    "today: 1 message(s)",
  );
  expect(await t.mutation(api.callsign.runMutation, signer.gatewayArgs(internal.admin.setOpen, { open: true }))).toBe(true);
  expect(await t.query(api.callsign.runQuery, signer.gatewayArgs(internal.admin.stats, {}))).toEqual({ messages: 1 });
});
