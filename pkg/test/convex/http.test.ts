// Signed HTTP actions (cs.httpAction, SPEC.md §11) under convex-test, through t.fetch: the
// router of http.js, a request signed by the package's signRequest, and each refusal with its
// code and status, before the handler runs and before the nonce is claimed; then every
// http.json vector through an HTTP action.
import { readFileSync } from "node:fs";
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { convexTest } from "convex-test";
import { RequestSigner, RequestVerifier, deriveKey, generateKey } from "convex-callsign";
import { Callsign, HTTP_ACTION_MAX_BODY_BYTES } from "convex-callsign/convex";
import { signRequest } from "convex-callsign/client";
import { register } from "convex-callsign/test";
import { components } from "./_generated/api.js";
import schema from "./schema.js";
import { modules, newApp, nonces, type App } from "./helpers.js";

/** The origin convex-test's t.fetch serves (it builds every request's URL on it). */
const SITE = "https://some.convex.site";
const CLOUD = "https://some-deployment.convex.cloud";
const root = generateKey("site");
const hooks = generateKey("hooks");

beforeEach(() => {
  process.env.CONVEX_SITE_URL = SITE;
  process.env.CALLSIGN_SITE_KEYS = [root, hooks].map((k) => deriveKey(k, SITE)).join(",");
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

/** Signs a request to `path` on the site as signedFetch would send it. */
async function signed(path: string, init: RequestInit = {}, options: Parameters<typeof signRequest>[1] = {}) {
  return await signRequest(new Request(`${SITE}${path}`, { method: "POST", ...init }), { key: root, ...options });
}

/** Sends `request` through t.fetch (path, method, headers as sent, body) and reads the answer. */
async function send(t: App, request: Request, change: { method?: string; path?: string; headers?: [string, string][]; body?: BodyInit | null } = {}) {
  const url = new URL(request.url);
  const headers = change.headers ?? [...request.headers];
  const body = change.body !== undefined ? change.body : request.body === null ? null : new Uint8Array(await request.clone().arrayBuffer());
  const response = await t.fetch(change.path ?? url.pathname + url.search, {
    method: change.method ?? request.method,
    headers,
    body,
    // A stream body needs this in Node's Request.
    ...(body instanceof ReadableStream ? { duplex: "half" } : {}),
  } as RequestInit);
  return { status: response.status, json: await response.json(), headers: response.headers };
}

/** How many times the handlers ran (each records its body). */
const ran = (t: App) => t.run(async (ctx) => (await ctx.db.query("messages").collect()).map((m) => m.body));

test("a signed request is verified with the site origin, its nonce claimed, the handler given claims and body", async () => {
  const t = newApp();
  const request = await signed("/api/echo?b=2&a=%7e1", { body: '{"text":"hi"}' });
  const { status, json } = await send(t, request);
  expect(status).toBe(200);
  expect(json.body).toBe('{"text":"hi"}');
  expect(json.bodyUsed).toBe(true); // read once, by callsign: the handler uses `body`
  expect(json.claims).toMatchObject({ kid: "site", method: "POST", path: "/api/echo", query: "b=2&a=%7e1" });
  expect(json.claims.rememberUntil).toBe(json.claims.ts + 60_000);
  expect(await ran(t)).toEqual(['{"text":"hi"}']);
  expect((await nonces(t)).map(({ kid, nonce }) => ({ kid, nonce }))).toEqual([{ kid: "site", nonce: json.claims.nonce }]);
  // A GET with no body, and a DELETE.
  for (const method of ["GET", "DELETE"]) {
    const plain = await send(t, await signed("/api/echo", { method }));
    expect(plain.status).toBe(200);
    expect(plain.json.claims).toMatchObject({ method, path: "/api/echo", query: "" });
  }
});

test("each signed component changed in transit is refused with 401, before the handler and the claim", async () => {
  const t = newApp();
  const request = await signed("/api/echo?a=1", { body: '{"n":1}' });
  const headers = [...request.headers];
  const without = (name: string) => headers.filter(([n]) => n !== name);
  const digest = request.headers.get("content-digest")!;
  const cases: [string, Parameters<typeof send>[2], string][] = [
    ["method", { method: "PUT" }, "bad_signature"],
    ["path", { path: "/api/other?a=1" }, "bad_signature"],
    ["query", { path: "/api/echo?a=2" }, "bad_signature"],
    ["query dropped", { path: "/api/echo" }, "bad_signature"],
    ["body", { body: '{"n":2}' }, "bad_signature"],
    ["body and its digest", { body: "{}", headers: [...without("content-digest"), ["content-digest", "sha-256=:RBNvo1WzZ4oRRq0W9+hknpT7T8If536DEMBg9hyq/4o=:"]] }, "bad_signature"],
    ["digest header missing", { headers: without("content-digest") }, "malformed"],
    ["digest header duplicated", { headers: [...headers, ["content-digest", digest]] }, "malformed"],
    ["signature header missing", { headers: without("signature") }, "malformed"],
    ["signature-input duplicated", { headers: [...headers, ["signature-input", request.headers.get("signature-input")!]] }, "malformed"],
    ["content-encoding added", { headers: [...headers, ["content-encoding", "gzip"]] }, "malformed"],
  ];
  for (const [what, change, code] of cases) {
    const { status, json, headers: answered } = await send(t, request, change);
    expect({ what, status, code: json.code }).toEqual({ what, status: 401, code });
    expect(typeof json.message).toBe("string");
    expect(answered.get("content-type")).toBe("application/json");
  }
  expect(await ran(t)).toEqual([]);
  expect(await nonces(t)).toEqual([]);
  // Unchanged, it is still accepted (nothing above used its nonce).
  expect((await send(t, request)).status).toBe(200);
});

test("the audience is CONVEX_SITE_URL, never the request's URL", async () => {
  const t = newApp();
  const custom = "https://api.example.com";
  process.env.CONVEX_SITE_URL = custom;
  process.env.CALLSIGN_SITE_KEYS = deriveKey(root, custom);
  // Sent to some.convex.site (t.fetch's URL), signed for the configured origin: accepted.
  const forCustom = await signed("/api/echo", { body: "x" }, { audience: custom });
  expect((await send(t, forCustom)).status).toBe(200);
  // Signed for the URL it arrives at, which is not this deployment's configured origin.
  process.env.CALLSIGN_SITE_KEYS = root;
  const forUrl = await signed("/api/echo", { body: "x" });
  expect((await send(t, forUrl)).json.code).toBe("bad_signature");
});

test("expired and future requests are refused; a route's own window applies", async () => {
  const t = newApp();
  const old = await signed("/api/echo", { body: "x" }, { now: Date.now() - 61_000 });
  expect(await send(t, old)).toMatchObject({ status: 401, json: { code: "expired" } });
  const future = await signed("/api/echo", { body: "x" }, { now: Date.now() + 62_000 });
  expect(await send(t, future)).toMatchObject({ status: 401, json: { code: "not_yet_valid" } });
  // /api/short: 5 s past, nothing in the future (created is whole seconds, so 1 s ahead is future).
  const six = await signed("/api/short", { body: "x" }, { now: Date.now() - 6_000 });
  expect((await send(t, six)).json.code).toBe("expired");
  const ahead = await signed("/api/short", { body: "x" }, { now: Date.now() + 2_000 });
  expect((await send(t, ahead)).json.code).toBe("not_yet_valid");
  expect(await ran(t)).toEqual([]);
});

test("a replay is refused through the component, and the handler ran once", async () => {
  const t = newApp();
  const request = await signed("/api/echo", { body: "once" });
  const body = new Uint8Array(await request.clone().arrayBuffer());
  expect((await send(t, request, { body })).status).toBe(200);
  expect(await send(t, request, { body })).toMatchObject({ status: 401, json: { code: "replayed" } });
  expect(await ran(t)).toEqual(["once"]);
});

/** A body of `chunks` chunks of 8 bytes, counting how many were pulled. */
function counted(chunks: number) {
  const pulled = { count: 0 };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled.count === chunks) return controller.close();
      pulled.count++;
      controller.enqueue(new Uint8Array(8).fill(0x61));
    },
  }, { highWaterMark: 0 }); // pulled only when read
  return { stream, pulled };
}

test("too large is 413, refused from Content-Length before reading, or as soon as the stream passes the limit", async () => {
  const t = newApp();
  // /api/small takes 16 bytes. 17, signed: refused as too large, not as a bad signature.
  const big = await signed("/api/small", { body: "x".repeat(17) });
  expect(await send(t, big)).toMatchObject({ status: 413, json: { code: "too_large" } });
  expect((await send(t, await signed("/api/small", { body: "x".repeat(16) }))).status).toBe(200);

  // Content-Length over the limit: not one chunk is read.
  const declared = counted(1000);
  const headers: [string, string][] = [...big.headers, ["content-length", "8000"]];
  expect(await send(t, big, { headers, body: declared.stream })).toMatchObject({ status: 413, json: { code: "too_large" } });
  expect(declared.pulled.count).toBe(0);
  // No Content-Length: reading stops at the chunk that passes 16 bytes.
  const streamed = counted(1000);
  expect(await send(t, big, { headers: [...big.headers], body: streamed.stream })).toMatchObject({ status: 413 });
  expect(streamed.pulled.count).toBe(3);

  // The default limit is Convex's 20 MiB.
  const huge = counted(1000);
  const over = [...big.headers, ["content-length", String(HTTP_ACTION_MAX_BODY_BYTES + 1)]] as [string, string][];
  expect(await send(t, big, { path: "/api/echo", headers: over, body: huge.stream })).toMatchObject({ status: 413 });
  expect(huge.pulled.count).toBe(0);
  expect(await ran(t)).toEqual(["x".repeat(16)]);
});

test("maxBodyBytes over Convex's 20 MiB, or not a positive integer, is refused where the action is defined", () => {
  const cs = new Callsign(components.callsign);
  const handler = async () => new Response();
  for (const maxBodyBytes of [HTTP_ACTION_MAX_BODY_BYTES + 1, 0, 1.5, -1]) {
    expect(() => cs.httpAction(handler, { maxBodyBytes })).toThrow(/maxBodyBytes/);
  }
  expect(() => cs.httpAction(handler, { maxBodyBytes: HTTP_ACTION_MAX_BODY_BYTES })).not.toThrow();
});

test("an unknown key is 401 unknown_key; the kids held go to the log, not to the caller", async () => {
  const t = newApp();
  const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
  const stranger = generateKey("stranger");
  const { status, json } = await send(t, await signed("/api/echo", { body: "x" }, { key: stranger }));
  expect(status).toBe(401);
  expect(json.code).toBe("unknown_key");
  expect(json.message).not.toMatch(/site|hooks/);
  expect(warn.mock.calls.flat().join(" ")).toMatch(/site, hooks/);
  // Nothing of any key's secret anywhere.
  for (const key of [root, hooks, stranger]) {
    const secret = key.split("_").at(-1)!;
    expect(JSON.stringify(json) + warn.mock.calls.flat().join(" ")).not.toContain(secret.slice(0, 16));
  }
});

test("a setup error is 500 misconfigured with a generic message; the detail goes to the log", async () => {
  const t = newApp();
  const error = vi.spyOn(console, "error").mockImplementation(() => {});
  const request = await signed("/api/echo", { body: "x" });
  const body = new Uint8Array(await request.clone().arrayBuffer());
  const attempt = async () => send(t, request, { body });
  const generic = "callsign is not set up correctly on this deployment; its logs say why";

  delete process.env.CALLSIGN_SITE_KEYS; // no fallback to CALLSIGN_KEYS
  process.env.CALLSIGN_KEYS = root;
  expect(await attempt()).toEqual(expect.objectContaining({ status: 500, json: { code: "misconfigured", message: generic } }));
  expect(error.mock.calls.at(-1)!.join(" ")).toMatch(/CALLSIGN_SITE_KEYS .*is not set/);

  // The function-call key (derived for .convex.cloud) cannot verify the site's requests.
  process.env.CALLSIGN_SITE_KEYS = deriveKey(root, CLOUD);
  expect((await attempt()).json).toEqual({ code: "misconfigured", message: generic });
  expect(error.mock.calls.at(-1)!.join(" ")).toMatch(/invalid_key/);

  process.env.CALLSIGN_SITE_KEYS = root;
  delete process.env.CONVEX_SITE_URL;
  expect((await attempt()).json.code).toBe("misconfigured");
  process.env.CONVEX_SITE_URL = `${SITE}/`; // not an origin
  expect((await attempt()).json.code).toBe("misconfigured");
  expect(error.mock.calls.flat().join(" ")).not.toContain(root.split("_").at(-1)!.slice(0, 16));
  expect(await ran(t)).toEqual([]);

  // Fixed, the same request is accepted: nothing above claimed its nonce.
  process.env.CONVEX_SITE_URL = SITE;
  expect((await attempt()).status).toBe(200);
});

test("siteScopes: a scoped key reaches only its paths (403 not_allowed, nonce not claimed)", async () => {
  const t = newApp();
  const asHooks = (path: string) => signed(path, { body: "h" }, { key: hooks });
  expect((await send(t, await asHooks("/hooks/github"))).status).toBe(200);
  expect((await send(t, await asHooks("/api/exact"))).status).toBe(200);
  const refused = await send(t, await asHooks("/api/echo"));
  expect(refused).toMatchObject({ status: 403, json: { code: "not_allowed" } });
  expect(await ran(t)).toEqual(["h", "h"]);
  expect(await nonces(t)).toHaveLength(2);
  // Unlisted kids reach every route.
  expect((await send(t, await signed("/hooks/x", { body: "r" }))).status).toBe(200);
  expect(() => new Callsign(components.callsign, { siteScopes: { hooks: ["hooks/*"] } })).toThrow(/not a path/);
  expect(() => new Callsign(components.callsign, { siteScopes: { "bad kid": [] } })).toThrow(/key id/);
});

// --- http.json through an HTTP action ---------------------------------------------------

type Case = {
  name: string; keys: string; audience: string; method: string; target: string; body?: string; body_hex?: string;
  headers: [string, string][]; window: { max_age_ms: number; max_future_ms: number }; max_body_bytes: number;
  now: number; error?: string; verified?: Record<string, unknown>;
};
const doc = JSON.parse(readFileSync(new URL("../../../tests/vectors/http.json", import.meta.url), "utf8")) as {
  cases: Case[]; sequences: { name: string; steps: Case[] }[];
};
const bodyOf = (c: Case) =>
  c.body_hex !== undefined ? Uint8Array.from(c.body_hex.match(/../g) ?? [], (h) => parseInt(h, 16)) : new TextEncoder().encode(c.body);

/** Whether t.fetch can carry the case unchanged (as pkg/test/http-vectors.mjs decides for Fetch). */
function fetchable(c: Case): boolean {
  const body = bodyOf(c);
  if (!/^[A-Z]+$/.test(c.method) || !c.target.startsWith("/")) return false;
  if (["GET", "HEAD"].includes(c.method) && body.length > 0) return false;
  let url: URL;
  try {
    url = new URL(`${SITE}${c.target}`);
    new Headers(c.headers);
  } catch {
    return false;
  }
  const target = url.pathname + url.search;
  return target === c.target || (c.target.endsWith("?") && target === c.target.slice(0, -1));
}

/** The code the HTTP action should answer: the case's, or misconfigured where its setup does not build. */
function expected(c: Case): string | undefined {
  try {
    new RequestVerifier(c.keys, { audience: c.audience, window: settingsOf(c).window, maxBodyBytes: c.max_body_bytes }).free();
  } catch {
    return "misconfigured";
  }
  return c.error;
}
const settingsOf = (c: Case) => ({ window: { maxAgeMs: c.window.max_age_ms, maxFutureMs: c.window.max_future_ms }, maxBodyBytes: c.max_body_bytes });

function vectorApp() {
  const t = convexTest(schema, { ...modules, "./http.js": () => import("./http_vectors.js") });
  register(t);
  return t;
}

async function runCase(t: App, c: Case, failures: string[], what: string) {
  vi.useFakeTimers({ toFake: ["Date"], now: c.now });
  process.env.CONVEX_SITE_URL = c.audience;
  process.env.CALLSIGN_SITE_KEYS = c.keys;
  process.env.CALLSIGN_TEST_HTTP_SETTINGS = JSON.stringify(settingsOf(c));
  const body = bodyOf(c);
  const response = await t.fetch(c.target, { method: c.method, headers: c.headers, body: body.length > 0 ? body : null });
  const json = await response.json();
  vi.useRealTimers();
  const want = expected(c);
  if (want !== undefined) {
    const status = { too_large: 413, misconfigured: 500 }[want] ?? 401;
    if (json.code !== want || response.status !== status) failures.push(`${what}: ${response.status} ${json.code}, want ${status} ${want}`);
    return;
  }
  const v = c.verified!;
  const got = json.claims ?? {};
  const claims = { kid: got.kid, ts: got.ts, nonce: got.nonce, remember_until: got.rememberUntil, method: got.method, path: got.path, query: got.query };
  const sorted = (o: object) => JSON.stringify(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
  if (response.status !== 200 || sorted(claims) !== sorted(v)) {
    failures.push(`${what}: ${response.status} ${JSON.stringify(json)}, want ${JSON.stringify(v)}`);
  }
}

test("every http.json case and sequence that a Fetch request can carry gives Rust's result through an HTTP action", async () => {
  vi.spyOn(console, "warn").mockImplementation(() => {});
  vi.spyOn(console, "error").mockImplementation(() => {});
  const failures: string[] = [];
  const counts = { cases: 0, steps: 0, skipped: 0, misconfigured: 0, accepted: 0 };
  for (const c of doc.cases) {
    if (!fetchable(c)) {
      counts.skipped++;
      continue;
    }
    counts.cases++;
    if (expected(c) === "misconfigured") counts.misconfigured++;
    if (expected(c) === undefined) counts.accepted++;
    await runCase(vectorApp(), c, failures, `case ${c.name}`);
  }
  for (const s of doc.sequences) {
    const t = vectorApp(); // one store per sequence
    for (const [i, step] of s.steps.entries()) {
      if (!fetchable(step)) {
        counts.skipped++;
        continue;
      }
      counts.steps++;
      await runCase(t, step, failures, `sequence ${s.name} step ${i + 1}`);
    }
  }
  expect(failures).toEqual([]);
  expect(counts.cases).toBeGreaterThanOrEqual(60);
  expect(counts.steps).toBeGreaterThanOrEqual(8);
  expect(counts.accepted).toBeGreaterThanOrEqual(10);
  console.log(`http.json through cs.httpAction: ${JSON.stringify(counts)}`);
}, 120_000);
