// Level 3: real clients over the wire. The example app runs in convex-test behind a loopback
// stand-in for a deployment's HTTP API (serveConvex from convex-callsign/test); the app's own
// server code calls it: SignedConvexHttpClient, fetchMutation/fetchQuery from convex/nextjs
// with CallSigner.signed, the Node script scripts/send.mjs, and the Rust example.
import { execFileSync, spawn } from "node:child_process";
import { fetchMutation, fetchQuery } from "convex/nextjs";
import { ConvexHttpClient } from "convex/browser";
import { CallSigner, SignedConvexHttpClient } from "convex-callsign/client";
import { deriveKey, generateKey } from "convex-callsign";
import { serveConvex } from "convex-callsign/test";
import { afterAll, beforeAll, expect, test } from "vitest";
import { api, internal } from "../convex/_generated/api";
import { codeOf, modules, newApp, type App } from "./helpers";

const ROOT = new URL("../../../", import.meta.url).pathname;
const APP = new URL("../", import.meta.url).pathname;
const root = generateKey("wire");
const reporting = generateKey("reporting");

let t: App;
let deployment: { url: string; close(): Promise<void> };

beforeAll(async () => {
  t = newApp();
  deployment = await serveConvex({ t, modules });
  // The deployment as a real one is set up: its own URL, and only keys derived for it.
  process.env.CONVEX_CLOUD_URL = deployment.url;
  process.env.CALLSIGN_KEYS = [root, reporting].map((k) => deriveKey(k, deployment.url)).join(",");
});
afterAll(() => deployment?.close());

test("SignedConvexHttpClient: signed functions and the gateway, accepted once", async () => {
  const client = new SignedConvexHttpClient(deployment.url, root);
  const id = await client.mutation(api.messages.send, { body: "over http", author: "node" });
  expect(await t.run(async (ctx) => (await ctx.db.get(id))?.body)).toBe("over http");
  expect(await client.query(api.messages.list, { limit: 1 })).toEqual([{ body: "over http", author: "node" }]);
  expect(await client.action(api.messages.digest, { title: "wire" })).toMatch(/^wire: \d+ message\(s\)$/);
  expect(await client.runMutation(internal.admin.setOpen, { open: true })).toBe(true);
  expect(await client.runQuery(internal.admin.stats, {})).toHaveProperty("messages");
  expect(await client.runAction(internal.admin.digest, { title: "gw" })).toMatch(/^gw: /);
  expect(await codeOf(client.runMutation(internal.admin.purge, {}))).toBe("not_allowed");

  // The same signed args sent again by a plain client are a replay.
  const signed = client.signer.args(api.messages.send, { body: "twice", author: "node" });
  const plain = new ConvexHttpClient(deployment.url);
  await plain.mutation(api.messages.send, signed);
  expect(await codeOf(plain.mutation(api.messages.send, signed))).toBe("replayed");
  expect(await codeOf(plain.mutation(api.messages.send, { ...signed, body: "changed" }))).toBe("bad_signature");
});

test("a dashboard's server with the reporting key reads the report, and only that", async () => {
  const dashboard = new SignedConvexHttpClient(deployment.url, reporting);
  const report = await dashboard.query(api.reports.byKey, {});
  expect(report.for).toBe("server key reporting");
  expect(await codeOf(dashboard.mutation(api.messages.send, { body: "no", author: "dash" }))).toBe("not_allowed");
  expect(await codeOf(dashboard.runQuery(internal.admin.stats, {}))).toBe("not_allowed");
});

test("Next.js: fetchMutation/fetchQuery with CallSigner.signed, as app/actions.ts and app/page.tsx do", async () => {
  const signer = new CallSigner(root, { audience: `${deployment.url}/` });
  const options = { url: deployment.url };
  const [ref, args] = signer.signed(api.messages.send, { body: "from next", author: "next.js" });
  await fetchMutation(ref, args, options);
  expect(await codeOf(fetchMutation(ref, args, options))).toBe("replayed");
  const latest = await fetchQuery(...signer.signed(api.messages.list, { limit: 1 }), options);
  expect(latest).toEqual([{ body: "from next", author: "next.js" }]);
});

/** Runs a program against the stub; resolves with its exit code and output. */
async function run(command: string, args: string[], env: Record<string, string>) {
  const child = spawn(command, args, { cwd: APP, env: { ...process.env, ...env } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  return { code, stdout, stderr };
}

test("the Node script (scripts/send.mjs) posts, lists and uses the gateway", async () => {
  const out = await run(process.execPath, ["scripts/send.mjs", "scripted"], {
    CONVEX_URL: deployment.url,
    CALLSIGN_KEY: root,
  });
  expect(out.code, out.stderr).toBe(0);
  expect(out.stdout).toMatch(/^posted /m);
  expect(out.stdout).toContain("body: 'scripted'");
  expect(out.stdout).toMatch(/^open: true$/m);
});

test("the demo (npm run demo) runs locally with every outcome as expected", async () => {
  const out = await run(process.execPath, ["scripts/demo.mjs"], {});
  expect(out.code, out.stdout + out.stderr).toBe(0);
  expect(out.stdout).toMatch(/every outcome as expected/);
  expect(out.stdout.match(/^✓ /gm)).toHaveLength(10);
});

test("the Rust example signs natively; its call is accepted, and sent twice it is a replay", async () => {
  const binary =
    process.env.CALLSIGN_EXAMPLE_BIN ??
    JSON.parse(
      execFileSync(
        "cargo",
        ["build", "--quiet", "--locked", "-p", "callsign-example-rust", "--message-format=json-render-diagnostics"],
        { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 64 << 20 },
      )
        .split("\n")
        .filter((line) => line.includes('"executable":"') && line.includes("callsign-example-rust"))
        .at(-1)!,
    ).executable;
  const env = { CONVEX_URL: deployment.url, CALLSIGN_KEY: root };
  const once = await run(binary, ["messages:send", '{"body":"from rust","author":"rust"}'], env);
  expect(once.code, once.stderr).toBe(0);
  const twice = await run(binary, ["--send-twice", "messages:send", '{"body":"again","author":"rust"}'], env);
  expect(twice.code).toBe(1);
  expect(twice.stderr).toMatch(/^rejected: replayed: /m);
  const bodies = await t.run(async (ctx) => (await ctx.db.query("messages").collect()).map((m) => m.body));
  expect(bodies.filter((b) => b === "from rust" || b === "again")).toEqual(["from rust", "again"]);
}, 300_000);
