// The review's findings, attacked through signed Convex functions under convex-test: a
// `"__proto__"` member in the JSON a deployment receives, keys run together in CALLSIGN_KEYS,
// a window widened after the store dropped a call, a caller probing for the kids held.
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { Signer, deriveKey, generateKey, isCallsignError } from "convex-callsign";
import { api, components } from "./_generated/api.js";
import { AUDIENCE, newApp, nonces } from "./helpers.js";

const root = generateKey("prod");
const signer = new Signer(root, { audience: AUDIENCE });

beforeEach(() => {
  process.env.CALLSIGN_KEYS = root;
  process.env.CONVEX_CLOUD_URL = AUDIENCE;
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

/** The `{ code, message }` of the callsign error `promise` rejects with. */
async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (e) {
    if (isCallsignError(e)) return e.data;
    throw e;
  }
  throw new Error("expected a callsign error");
}

/** The attacker's edit of a signed call's JSON: a `__proto__` member nobody signed. */
const smuggle = (signed: object) =>
  JSON.stringify(signed).replace('"settings":{', '"settings":{"__proto__":{"isAdmin":true},');

const deliver = {
  mutation: api.raw.deliverMutation,
  query: api.raw.deliverQuery,
  action: api.raw.deliverAction,
} as const;

test("__proto__: the review's repro is refused by a signed mutation, query and action", async () => {
  const t = newApp();
  for (const [kind, name] of [["mutation", "save"], ["query", "read"], ["action", "apply"]] as const) {
    const ref = deliver[kind];
    const fn = `raw:deliver${kind[0]!.toUpperCase()}${kind.slice(1)}`;
    const call = (text: string) =>
      kind === "query"
        ? t.query(ref, { module: "settings", name, text })
        : kind === "mutation"
          ? t.mutation(ref, { module: "settings", name, text })
          : t.action(ref, { module: "settings", name, text });
    // The signed call, delivered as Convex delivers it: the handler sees exactly what was signed.
    const signed = signer.sign(fn, { settings: { theme: "dark" } });
    expect(await call(JSON.stringify(signer.sign(fn, { settings: { theme: "dark" } })))).toEqual({
      theme: "dark",
      isAdmin: false,
    });
    // The attacker's copy: without the check the handler would read settings.isAdmin === true.
    expect(await refusal(call(smuggle(signed)))).toMatchObject({ code: "malformed" });
  }
  // Nothing was recorded for the refused calls: two accepted calls (the query records none).
  expect(await nonces(t)).toHaveLength(2);
});

test("__proto__: the gateway refuses it at the top of the inner args and inside them", async () => {
  const t = newApp();
  const gateway = (args: object) => signer.sign("settings:store", args);
  const run = (inner: string, envelope: object) =>
    t.mutation(deliver.mutation, {
      module: "callsign",
      name: "runMutation",
      text: `{"function":"settings:store","args":${inner},"_callsign":${JSON.stringify(envelope)}}`,
    });
  // The signed call reaches the internal function with exactly what was signed.
  const clean = gateway({ settings: { theme: "dark" } })._callsign;
  expect(await run('{"settings":{"theme":"dark"}}', clean)).toEqual({ theme: "dark", isAdmin: false });
  for (const inner of [
    '{"__proto__":{"isAdmin":true},"settings":{"theme":"dark"}}',
    '{"settings":{"__proto__":{"isAdmin":true},"theme":"dark"}}',
  ]) {
    const data = await refusal(run(inner, gateway({ settings: { theme: "dark" } })._callsign));
    expect(data.code).toBe("malformed");
  }
});

test("keys run together in CALLSIGN_KEYS: the caller gets `misconfigured`, the log gets the detail", async () => {
  const t = newApp();
  const old = deriveKey(generateKey("old"), AUDIENCE);
  const next = deriveKey(root, AUDIENCE);
  process.env.CALLSIGN_KEYS = old + next; // the comma forgotten while rotating
  const logged = vi.spyOn(console, "error").mockImplementation(() => {});
  const data = await refusal(t.mutation(api.messages.send, signer.sign("messages:send", { body: "hi" })));
  expect(data).toEqual({
    code: "misconfigured",
    message: "callsign is not set up correctly on this deployment; its logs say why",
  });
  const log = logged.mock.calls.map((c) => c.join(" ")).join("\n");
  expect(log).toMatch(/invalid_key: .*run together/);
  for (const key of [old, next]) {
    const secret = key.split("_")[2]!.split("@")[0]!;
    for (let i = 0; i + 16 <= secret.length; i++) {
      expect(JSON.stringify(data)).not.toContain(secret.slice(i, i + 16));
      expect(log).not.toContain(secret.slice(i, i + 16));
    }
  }
  // With the comma, the same call is accepted.
  process.env.CALLSIGN_KEYS = `${old},${next}`;
  await t.mutation(api.messages.send, signer.sign("messages:send", { body: "hi" }));
});

test("an unset CALLSIGN_KEYS or audience is `misconfigured` for the caller too", async () => {
  const t = newApp();
  vi.spyOn(console, "error").mockImplementation(() => {});
  delete process.env.CALLSIGN_KEYS;
  expect((await refusal(t.mutation(api.messages.send, signer.sign("messages:send", { body: "x" })))).code).toBe(
    "misconfigured",
  );
  process.env.CALLSIGN_KEYS = root;
  delete process.env.CONVEX_CLOUD_URL;
  expect((await refusal(t.mutation(api.messages.send, signer.sign("messages:send", { body: "x" })))).code).toBe(
    "misconfigured",
  );
});

test("unknown_key tells the caller its own kid only; the deployment log lists the kids held", async () => {
  const t = newApp();
  const warned = vi.spyOn(console, "warn").mockImplementation(() => {});
  const stranger = new Signer(generateKey("stranger"), { audience: AUDIENCE });
  const data = await refusal(t.mutation(api.messages.send, stranger.sign("messages:send", { body: "x" })));
  expect(data.code).toBe("unknown_key");
  expect(data.message).toContain('"stranger"');
  expect(data.message).not.toContain("prod");
  expect(warned.mock.calls.flat().join(" ")).toContain("this deployment holds prod");
});

test("a window widened after the cleanup dropped a call does not let that call in again", async () => {
  const signedAt = Date.now();
  vi.useFakeTimers({ toFake: ["Date"], now: signedAt });
  const t = newApp();
  const call = signer.sign("messages:send", { body: "once" });
  await t.mutation(api.messages.send, call);
  // Past the 60 s window the cleanup drops it...
  vi.setSystemTime(signedAt + 60_001);
  expect(await t.mutation(components.callsign.store.cleanup, {})).toEqual({ deleted: 1, more: false });
  // ...and a function with a 10-minute window would take the same call again: the watermark,
  // in ts terms, refuses it (a watermark in rememberUntil terms would not: ts + 600 000 is past it).
  const wide = signer.sign("wide:send", { body: "once" }, { now: signedAt, nonce: call._callsign.nonce });
  expect((await refusal(t.mutation(api.wide.send, wide))).code).toBe("replayed");
  // A fresh call to it, signed 2 minutes ago, is inside its window and accepted.
  vi.setSystemTime(signedAt + 120_000);
  await t.mutation(api.wide.send, signer.sign("wide:send", { body: "fresh" }, { now: signedAt + 1 }));
});

test("errors quote at most a short prefix of what the caller sent", async () => {
  const t = newApp();
  // A 1000-character member name in the envelope (Convex allows 1024): callsign refuses it.
  const name = "n".repeat(1000);
  const text = JSON.stringify(signer.sign("raw:deliverMutation", { settings: { theme: "x" } })).replace(
    '"_callsign":{',
    `"_callsign":{"${name}":1,`,
  );
  const data = await refusal(t.mutation(deliver.mutation, { module: "settings", name: "save", text }));
  expect(data.code).toBe("malformed");
  expect(data.message.length < 400 ? "short" : `${data.message.length} characters`).toBe("short");
  expect(data.message).toContain("(1000 bytes)");
});
