// RedisNonceStore (convex-callsign/stores) against a real redis-server: scripts/test starts
// one on a free loopback port and sets CALLSIGN_REDIS_URL (scripts/redis-for-tests).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { createClient } from "redis";
import { CallsignError } from "convex-callsign";
import { signRequest, verifyRequest } from "convex-callsign/client";
import { MemoryNonceStore, RedisNonceStore } from "convex-callsign/stores";

const URL_ = process.env.CALLSIGN_REDIS_URL;
if (!URL_) throw new Error("CALLSIGN_REDIS_URL is not set: these tests need a redis-server (scripts/test starts one)");
const KEY = "csk1_k1_000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const SITE = "https://happy-otter-123.convex.site";
let n = 0;
const prefix = (name) => `test:node:${process.pid}:${name}:${n++}:`;
const rejectsWith = (promise, code) =>
  assert.rejects(promise, (e) => {
    assert.ok(e instanceof CallsignError, `not a CallsignError: ${e?.stack ?? e}`);
    assert.equal(e.code, code, e.message);
    return true;
  });

async function withClient(run, url = URL_) {
  const client = await createClient({ url }).connect();
  try {
    return await run(client);
  } finally {
    await client.quit().catch(() => {});
  }
}

const signed = (path = "/api/send") =>
  signRequest(new Request(`${SITE}${path}`, { method: "POST", body: "{}" }), { key: KEY });

test("the store runs the core's script, byte for byte", () => {
  const lua = readFileSync(new URL("../../../crates/callsign/src/replay/redis.lua", import.meta.url), "utf8");
  assert.equal(RedisNonceStore.script, lua);
});

test("a signed request is accepted once; its replay, respelled or not, is refused", async () => {
  await withClient(async (client) => {
    const store = new RedisNonceStore(client, { prefix: prefix("once") });
    const request = await signed();
    const options = { keys: KEY, audience: SITE, store };
    assert.equal((await verifyRequest(request.clone(), options)).kid, "k1");
    await rejectsWith(verifyRequest(request.clone(), options), "replayed");
    const headers = new Headers(request.headers);
    headers.set("x-extra", "1");
    await rejectsWith(verifyRequest(new Request(request.url, { method: "POST", headers, body: "{}" }), options), "replayed");
  });
});

test("expired records stay refused: the watermark runs on Redis's clock", async () => {
  await withClient(async (client) => {
    const store = new RedisNonceStore(client, { prefix: prefix("watermark"), retentionMs: 1000 });
    const [s, us] = (await client.sendCommand(["TIME"])).map(Number);
    const t = s * 1000 + Math.floor(us / 1000);
    const record = { kid: "k1", nonce: "0".repeat(32), ts: t, rememberUntil: t + 1000 };
    await store.remember(record, 0);
    await rejectsWith(store.remember({ ...record, nonce: "1".repeat(32), ts: t - 1500, rememberUntil: t - 500 }, 0), "replayed");
    await new Promise((r) => setTimeout(r, 1300));
    // The key is gone, the pair still refused: by the same window, a shorter one, any clock.
    for (const [rememberUntil, now] of [[t + 1000, t], [t + 500, 0]]) {
      await rejectsWith(store.remember({ ...record, rememberUntil }, now), "replayed");
    }
    await rejectsWith(store.remember({ ...record, nonce: "2".repeat(32), rememberUntil: t + 60_000 }, t), "misconfigured");
  });
});

test("two processes, eight concurrent verifications each, one request: exactly one is accepted", async () => {
  const request = await signed("/api/race");
  const race = JSON.stringify({
    keys: KEY,
    audience: SITE,
    target: "/api/race",
    headers: Object.fromEntries(request.headers),
    body: "{}",
  });
  const env = { ...process.env, RACE_PREFIX: prefix("race"), RACE_START_AT: String(Date.now() + 1500), RACE_REQUEST: race };
  const runs = [0, 1].map(
    () =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [new URL("./racer.mjs", import.meta.url).pathname], { env });
        let out = "";
        child.stdout.on("data", (d) => (out += d));
        child.stderr.on("data", (d) => process.stderr.write(d));
        child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`racer exited ${code}`))));
      }),
  );
  const results = await Promise.all(runs);
  const total = (k) => results.reduce((sum, r) => sum + r[k], 0);
  assert.deepEqual([total("accepted"), total("replayed"), total("other")], [1, 15, 0], JSON.stringify(results));
});

test("an unreachable or stopped Redis fails closed with unavailable, never accepts", async () => {
  const record = { kid: "k1", nonce: "3".repeat(32), ts: Date.now(), rememberUntil: Date.now() + 60_000 };
  // A client that never connected: every command throws at once.
  const closed = createClient({ url: "redis://127.0.0.1:9" });
  await rejectsWith(new RedisNonceStore(closed).remember(record, Date.now()), "unavailable");
  // A server that stops while in use: the client retries, the store gives up after timeoutMs.
  const port = await new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
  const server = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]);
  try {
    let client;
    for (let i = 0; i < 50 && client === undefined; i++) {
      client = await createClient({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: 50 } })
        .on("error", () => {})
        .connect()
        .catch(() => new Promise((r) => setTimeout(r, 100)).then(() => undefined));
    }
    assert.ok(client, "the second redis-server did not start");
    const store = new RedisNonceStore(client, { prefix: prefix("stopped"), timeoutMs: 500 });
    const request = await signed();
    const options = { keys: KEY, audience: SITE, store };
    await verifyRequest(request.clone(), { ...options, store: new MemoryNonceStore() }); // verifies as such
    await client.sendCommand(["SHUTDOWN", "NOSAVE"]).catch(() => {});
    const started = Date.now();
    await rejectsWith(verifyRequest(request, options), "unavailable");
    assert.ok(Date.now() - started < 3000, "gave up within its timeout");
    client.destroy();
  } finally {
    server.kill();
  }
});

test("a Rust-signed request recorded by Node's store is a replay for the same store", async () => {
  // The CLI (the Rust core, natively) signs; the npm package verifies and records in Redis.
  const cli = new URL("../../../target/debug/callsign", import.meta.url).pathname;
  assert.ok(existsSync(cli), `${cli} is missing: cargo build -p callsign-cli (scripts/test builds it first)`);
  const out = execFileSync(cli, ["sign-request", "--key", KEY, "--audience", SITE, "--method", "GET", "--path", "/api/x"], {
    encoding: "utf8",
  });
  const headers = out.trim().split("\n").map((line) => [line.slice(0, line.indexOf(": ")), line.slice(line.indexOf(": ") + 2)]);
  await withClient(async (client) => {
    const store = new RedisNonceStore(client, { prefix: prefix("cli") });
    const make = () => new Request(`${SITE}/api/x`, { headers });
    await verifyRequest(make(), { keys: KEY, audience: SITE, store });
    await rejectsWith(verifyRequest(make(), { keys: KEY, audience: SITE, store }), "replayed");
  });
});
