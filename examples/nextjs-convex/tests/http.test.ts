// @vitest-environment node
// Signed HTTP requests, both directions, over loopback HTTP:
//
// 1. Next.js server code (lib/convex-site.ts, signedFetch) → the deployment's signed HTTP action
//    (convex/http.ts, cs.httpAction), served by serveConvex at its site URL.
// 2. A Convex action (convex/outbound.ts, signedFetch) → the Next.js route handler
//    app/api/convex-events/route.ts (verifyRequest with RedisNonceStore), behind a node:http server.
//
// The Redis tests need a redis-server: CALLSIGN_REDIS_URL (scripts/test starts one, and sets
// CALLSIGN_REQUIRE_REDIS=1 so that they cannot be skipped there).
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { deriveKey, generateKey } from "convex-callsign";
import { signRequest } from "convex-callsign/client";
import { serveConvex } from "convex-callsign/test";
import { internal } from "../convex/_generated/api";
import { postThroughHttpAction } from "../lib/convex-site";
import { modules, newApp, type App } from "./helpers";
import { serveRoute } from "./route-server";

const server = generateKey("nextjs"); // the Next.js server's root key (CALLSIGN_KEY)
const deploymentKey = generateKey("deployment"); // whoever rotates keys holds this root

let t: App;
let deployment: Awaited<ReturnType<typeof serveConvex>>;

beforeAll(async () => {
  t = newApp();
  deployment = await serveConvex({ t, modules });
  // The deployment as a real one is set up: its URLs, and only keys derived for its site.
  process.env.CONVEX_CLOUD_URL = deployment.url;
  process.env.CONVEX_SITE_URL = deployment.siteUrl;
  process.env.CALLSIGN_SITE_KEYS = deriveKey(server, deployment.siteUrl);
  process.env.CALLSIGN_KEY = server;
});
afterAll(() => deployment?.close());

const bodies = () => t.run(async (ctx) => (await ctx.db.query("messages").collect()).map((m) => `${m.body} (${m.kid})`));

describe("Next.js → a Convex HTTP action", () => {
  test("lib/convex-site.ts posts through the signed HTTP action; the message is stored with the kid", async () => {
    const id = await postThroughHttpAction({ body: "over the site", author: "next.js" });
    expect(typeof id).toBe("string");
    expect(await bodies()).toContain("over the site (nextjs)");
  });

  test("the same request again is a replay; a changed one, another key or another site are refused", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const url = `${deployment.siteUrl}/api/messages`;
    const signed = await signRequest(new Request(url, { method: "POST", body: '{"body":"once","author":"x"}' }));
    const bytes = new Uint8Array(await signed.clone().arrayBuffer());
    const send = (body: Uint8Array | string = bytes, headers: HeadersInit = signed.headers) =>
      fetch(url, { method: "POST", headers, body: body as BodyInit }).then(async (r) => ({ status: r.status, ...(await r.json()) }));
    expect(await send()).toMatchObject({ status: 200 });
    expect(await send()).toMatchObject({ status: 401, code: "replayed" });
    expect(await send('{"body":"twice","author":"x"}')).toMatchObject({ status: 401, code: "bad_signature" });

    const stranger = generateKey("stranger");
    const other = await signRequest(new Request(url, { method: "POST", body: "{}" }), { key: stranger });
    expect(await send(new Uint8Array(await other.clone().arrayBuffer()), other.headers)).toMatchObject({ status: 401, code: "unknown_key" });
    // Signed for another deployment's site: the verifier uses its own CONVEX_SITE_URL.
    const elsewhere = await signRequest(new Request(url, { method: "POST", body: "{}" }), { audience: "https://other-456.convex.site" });
    expect(await send(new Uint8Array(await elsewhere.clone().arrayBuffer()), elsewhere.headers)).toMatchObject({ status: 401, code: "bad_signature" });
    expect(await bodies()).not.toContain("twice (nextjs)");
    // The deployment's log names the kids it holds for the stranger; the caller is not told.
    expect(warn.mock.calls.flat().join(" ")).toMatch(/unknown_key: .*site keys are nextjs/);
    warn.mockRestore();
  });

  test("the route's own limit (64 KiB) is 413 before the body is hashed; a body that is not the route's JSON is 400", async () => {
    await expect(postThroughHttpAction({ body: "x".repeat(70_000), author: "big" })).rejects.toThrow(/413 too_large/);
    const url = `${deployment.siteUrl}/api/messages`;
    const signed = await signRequest(new Request(url, { method: "POST", body: "not json" }));
    const r = await fetch(url, { method: "POST", headers: signed.headers, body: "not json" });
    expect(r.status).toBe(400);
  });
});

const REDIS = process.env.CALLSIGN_REDIS_URL;
if (!REDIS && process.env.CALLSIGN_REQUIRE_REDIS === "1") throw new Error("CALLSIGN_REQUIRE_REDIS=1 but CALLSIGN_REDIS_URL is not set");

/** A fresh instance of the route's modules (its own Redis client and nonce store), served. */
async function instance(env: Record<string, string | undefined>) {
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  vi.resetModules();
  const { POST } = await import("../app/api/convex-events/route");
  return await serveRoute(POST);
}

describe.skipIf(!REDIS)("a Convex action → a Next.js route handler verifying with RedisNonceStore", () => {
  let one: Awaited<ReturnType<typeof serveRoute>>;
  let two: Awaited<ReturnType<typeof serveRoute>>;

  beforeAll(async () => {
    one = await instance({ REDIS_URL: REDIS });
    // A second instance of the server: its own process state, the same Redis, on another port.
    // Both verify for the app's one public origin: APP_ORIGIN, not the port a request reached.
    two = await instance({ REDIS_URL: REDIS });
    process.env.APP_ORIGIN = one.origin;
    process.env.CALLSIGN_APP_KEY = deriveKey(deploymentKey, one.origin); // on the deployment
    process.env.CALLSIGN_APP_KEYS = deriveKey(deploymentKey, one.origin); // on the server
  });
  afterAll(async () => {
    await one?.close();
    await two?.close();
  });

  test("the action's signed POST is accepted once, across both instances", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const result = await t.action(internal.outbound.notify, { event: "message.posted", data: { id: 7 } });
    expect(result).toEqual({ status: 200, answer: { ok: true, event: "message.posted", kid: "deployment" } });

    // The exact bytes the deployment sent, again: to the same instance and to the other one.
    const [sent] = one.received;
    const resend = (origin: string, body = sent!.body) =>
      fetch(`${origin}${sent!.target}`, { method: sent!.method, headers: sent!.headers.filter(([n]) => !/^(host|connection|content-length)$/i.test(n)), body: new Uint8Array(body) })
        .then(async (r) => ({ status: r.status, ...(await r.json()) }));
    expect(await resend(one.origin)).toMatchObject({ status: 401, code: "replayed" });
    expect(await resend(two.origin)).toMatchObject({ status: 401, code: "replayed" });
    // Changed in transit: refused before the store is asked.
    expect(await resend(two.origin, Buffer.from(sent!.body.toString().replace("7", "8")))).toMatchObject({ status: 401, code: "bad_signature" });
  });

  test("a request not from the deployment's key, or for another origin, is refused", async () => {
    const url = `${one.origin}/api/convex-events`;
    const post = async (options: Parameters<typeof signRequest>[1]) => {
      const signed = await signRequest(new Request(url, { method: "POST", body: '{"event":"x","data":1}' }), options);
      const r = await fetch(url, { method: "POST", headers: signed.headers, body: '{"event":"x","data":1}' });
      return { status: r.status, ...(await r.json()) };
    };
    expect(await post({ key: generateKey("deployment") })).toMatchObject({ status: 401, code: "bad_signature" });
    expect(await post({ key: generateKey("stranger") })).toMatchObject({ status: 401, code: "unknown_key" });
    expect(await post({ key: deploymentKey, audience: "https://elsewhere.example" })).toMatchObject({ status: 401, code: "bad_signature" });
    expect(await post({ key: deploymentKey })).toMatchObject({ status: 200 });
    const unsigned = await fetch(url, { method: "POST", body: "{}" });
    expect([unsigned.status, (await unsigned.json()).code]).toEqual([401, "malformed"]);
  });
});

describe("the route handler's replay store when Redis is absent or unreachable", () => {
  test("no REDIS_URL outside production: MemoryNonceStore (one process), said in the log", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    vi.spyOn(console, "log").mockImplementation(() => {});
    const alone = await instance({ REDIS_URL: undefined });
    process.env.APP_ORIGIN = alone.origin;
    process.env.CALLSIGN_APP_KEY = process.env.CALLSIGN_APP_KEYS = deriveKey(deploymentKey, alone.origin);
    try {
      expect((await t.action(internal.outbound.notify, { event: "e", data: null })).status).toBe(200);
      expect(warn.mock.calls.flat().join(" ")).toMatch(/MemoryNonceStore/);
    } finally {
      await alone.close();
    }
  });

  test("no REDIS_URL in production: 500 misconfigured, nothing accepted", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    vi.stubEnv("NODE_ENV", "production");
    const prod = await instance({ REDIS_URL: undefined });
    process.env.APP_ORIGIN = prod.origin;
    process.env.CALLSIGN_APP_KEY = process.env.CALLSIGN_APP_KEYS = deriveKey(deploymentKey, prod.origin);
    try {
      expect(await t.action(internal.outbound.notify, { event: "e", data: null })).toMatchObject({ status: 500, answer: { code: "misconfigured" } });
    } finally {
      vi.unstubAllEnvs();
      await prod.close();
    }
  });

  test("Redis unreachable: 503 unavailable, never accepted", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    // A port with nothing listening on it.
    const closed = await serveRoute(async () => new Response());
    const port = new URL(closed.origin).port;
    await closed.close();
    const down = await instance({ REDIS_URL: `redis://127.0.0.1:${port}` });
    process.env.APP_ORIGIN = down.origin;
    process.env.CALLSIGN_APP_KEY = process.env.CALLSIGN_APP_KEYS = deriveKey(deploymentKey, down.origin);
    try {
      expect(await t.action(internal.outbound.notify, { event: "e", data: null })).toMatchObject({ status: 503, answer: { code: "unavailable" } });
    } finally {
      await down.close();
    }
  });

  test("the server's own setup wrong (APP_ORIGIN unset): 500 misconfigured, the detail in its log only", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const bare = await instance({ REDIS_URL: undefined });
    process.env.CALLSIGN_APP_KEYS = deriveKey(deploymentKey, bare.origin);
    delete process.env.APP_ORIGIN;
    try {
      const signed = await signRequest(new Request(`${bare.origin}/api/convex-events`, { method: "POST", body: "{}" }), { key: deploymentKey });
      const r = await fetch(`${bare.origin}/api/convex-events`, { method: "POST", headers: signed.headers, body: "{}" });
      expect(r.status).toBe(500);
      expect(await r.json()).toEqual({ code: "misconfigured", message: "this server is not set up to verify signed requests; its logs say why" });
      expect(error.mock.calls.flat().join(" ")).toMatch(/APP_ORIGIN must be set/);
    } finally {
      await bare.close();
    }
  });
});
