// Key scopes (callsign.js): the reporting key reads reports — a signed query and, through the
// gateway, an internal query — and nothing else; the auditor's "reports:*" covers a module;
// kids not listed are unrestricted. Refusals come after the signature check, and use nothing.
import { beforeEach, expect, test } from "vitest";
import { Signer, deriveKey, generateKey } from "convex-callsign";
import { CallSigner } from "convex-callsign/client";
import { Callsign } from "convex-callsign/convex";
import { api, components, internal } from "./_generated/api.js";
import { AUDIENCE, codeOf, newApp, nonces, type App } from "./helpers.js";

const prod = generateKey("prod");
const reporting = generateKey("reporting");
const auditor = generateKey("auditor");
const as = (key: string) => new CallSigner(key, { audience: AUDIENCE });

beforeEach(() => {
  // The deployment holds only keys derived for it, as in production.
  process.env.CALLSIGN_KEYS = [prod, reporting, auditor].map((k) => deriveKey(k, AUDIENCE)).join(",");
  process.env.CONVEX_CLOUD_URL = AUDIENCE;
});

const messages = (t: App) => t.run(async (ctx) => (await ctx.db.query("messages").collect()).length);

test("a reporting key reads reports and nothing else", async () => {
  const t = newApp();
  await t.mutation(api.messages.send, as(prod).args(api.messages.send, { body: "seed" }));
  const r = as(reporting);
  // In scope: the signed query, and the internal query through the gateway.
  expect(await t.query(api.reports.summary, r.args(api.reports.summary, {}))).toEqual({ messages: 1, kid: "reporting" });
  expect(await t.query(api.callsign.runQuery, r.gatewayArgs(internal.reports.totals, {}))).toEqual({ messages: 1 });
  // Out of scope, though each call is validly signed and the gateway's allow-lists have them.
  expect(await codeOf(t.mutation(api.messages.send, r.args(api.messages.send, { body: "no" })))).toBe("not_allowed");
  expect(await codeOf(t.mutation(api.callsign.runMutation, r.gatewayArgs(internal.reports.reset, {})))).toBe("not_allowed");
  expect(await codeOf(t.action(api.callsign.runAction, r.gatewayArgs(internal.reports.digest, { title: "x" })))).toBe(
    "not_allowed",
  );
  // Nothing written, no nonce used by the refused calls (only prod's seed recorded one).
  expect(await messages(t)).toBe(1);
  expect((await nonces(t)).map((n) => n.kid)).toEqual(["prod"]);
});

test("the scope is checked after the signature: a forgery is bad_signature, not not_allowed", async () => {
  const t = newApp();
  const signed = as(reporting).args(api.messages.send, { body: "meant" });
  expect(await codeOf(t.mutation(api.messages.send, { ...signed, body: "changed" }))).toBe("bad_signature");
  // A stranger claiming the reporting kid without its key fails the same way.
  const impostor = new Signer(generateKey("reporting"), { audience: AUDIENCE });
  expect(await codeOf(t.query(api.reports.summary, impostor.sign("reports:summary", {})))).toBe("bad_signature");
});

test("a module wildcard covers every function of the module, internal ones through the gateway", async () => {
  const t = newApp();
  const a = as(auditor);
  expect(await t.query(api.reports.summary, a.args(api.reports.summary, {}))).toMatchObject({ kid: "auditor" });
  expect(await t.mutation(api.callsign.runMutation, a.gatewayArgs(internal.reports.reset, {}))).toBeNull();
  expect(await t.action(api.callsign.runAction, a.gatewayArgs(internal.reports.digest, { title: "q3" }))).toBe("digest: q3");
  expect(await codeOf(t.mutation(api.messages.send, a.args(api.messages.send, { body: "x" })))).toBe("not_allowed");
  // The gateway's allow-list still applies to scoped keys: settings:store is allowed, but not in scope.
  expect(await codeOf(t.mutation(api.callsign.runMutation, a.gatewayArgs(internal.settings.store, { settings: {} })))).toBe(
    "not_allowed",
  );
});

test("kids not listed are unrestricted", async () => {
  const t = newApp();
  const p = as(prod);
  await t.mutation(api.messages.send, p.args(api.messages.send, { body: "x" }));
  expect(await t.query(api.reports.summary, p.args(api.reports.summary, {}))).toEqual({ messages: 1, kid: "prod" });
  expect(await t.mutation(api.callsign.runMutation, p.gatewayArgs(internal.reports.reset, {}))).toBeNull();
  expect(await messages(t)).toBe(0);
});

test("scopes are checked when the module loads", () => {
  const cs = (scopes: Record<string, unknown[]>) => new Callsign(components.callsign, { scopes: scopes as never });
  expect(() => cs({ "not a kid": [] })).toThrow(/not a key id/);
  expect(() => cs({ ok_no: [] })).toThrow(/not a key id/);
  for (const entry of ["reports", "reports.js:summary", ":summary", "reports:", "dir/:fn", "reports:sum mary", "réports:x"]) {
    expect(() => cs({ k: [entry] }), entry).toThrow(/is not a function/);
  }
  expect(() => cs({ k: "reports:*" as never })).toThrow(/must be a list/);
  expect(() => cs({ k: ["dir/file:fn", "dir/file:*", api.reports.summary, internal.reports.totals] })).not.toThrow();
});
