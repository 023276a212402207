// The demo: a server calls this app's signed functions, and forged, replayed or misdirected
// calls are refused, each with its stable code. Exits 1 if any outcome is not the expected one.
//
//   npm run demo                                   locally, no deployment needed
//   CONVEX_URL=https://<name>.convex.cloud CALLSIGN_KEY=csk1_… npm run demo
//                                                  against your deployment (after `npx convex dev`
//                                                  and `npx convex env set CALLSIGN_KEYS …`)
//
// Locally, esbuild compiles convex/ into .demo/, convex-test runs it, and a loopback server
// speaking Convex's HTTP API (the one the tests use) stands in for the deployment, so the calls
// below go over HTTP exactly as they would to a real one.
import { rmSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { ConvexHttpClient } from "convex/browser";
import { ConvexError } from "convex/values";
import { CallSigner, SignedConvexHttpClient } from "convex-callsign/client";
import { deriveKey, generateKey } from "convex-callsign";
import { api, internal } from "../convex/_generated/api.js";

const APP = new URL("../", import.meta.url);

/** Serves the app on loopback; returns its URL, the key to sign with, and a stop function. */
async function local() {
  const { build } = await import("esbuild");
  const { convexTest } = await import("convex-test");
  const { register, serveConvex } = await import("convex-callsign/test");
  const out = new URL(".demo/", APP).pathname;
  rmSync(out, { recursive: true, force: true });
  const sources = (await readdir(new URL("convex/", APP), { recursive: true }))
    .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith(".d.ts"))
    .map((f) => new URL(`convex/${f}`, APP).pathname);
  // One self-contained file per module (npm packages stay imports), as Convex bundles them.
  await build({ entryPoints: sources, outdir: out, bundle: true, packages: "external", format: "esm", platform: "neutral", logLevel: "error", outbase: new URL("convex/", APP).pathname });
  const modules = Object.fromEntries(
    sources
      .map((f) => `${out}${f.slice(new URL("convex/", APP).pathname.length).replace(/\.ts$/, ".js")}`)
      .map((f) => [f, () => import(f)]),
  );
  const schema = (await import(`${out}schema.js`)).default;
  const t = convexTest(schema, modules);
  register(t); // the callsign component, as convex/convex.config.ts installs it
  const deployment = await serveConvex({ t, modules });
  // The deployment's setup: its own URL, and only a key derived for it.
  const key = generateKey("demo");
  process.env.CONVEX_CLOUD_URL = deployment.url;
  process.env.CALLSIGN_KEYS = deriveKey(key, deployment.url);
  return {
    url: deployment.url,
    key,
    stop: async () => {
      await deployment.close();
      rmSync(out, { recursive: true, force: true });
    },
  };
}

const target = process.env.CONVEX_URL
  ? { url: process.env.CONVEX_URL.replace(/\/$/, ""), key: process.env.CALLSIGN_KEY, stop: async () => {} }
  : await local();
console.log(`callsign demo against ${target.url}${process.env.CONVEX_URL ? "" : " (local stand-in, convex-test)"}\n`);

const client = new SignedConvexHttpClient(target.url, target.key);
const plain = new ConvexHttpClient(target.url);
const signer = client.signer;
let unexpected = 0;

/** Runs `call`, prints what happened, and checks it against `expected` (a code, or "accepted"). */
async function step(what, expected, call) {
  let got;
  let detail = "";
  try {
    const value = await call();
    got = "accepted";
    detail = value === undefined || value === null ? "" : ` → ${JSON.stringify(value)}`;
  } catch (e) {
    if (!(e instanceof ConvexError)) throw e;
    got = e.data.code;
    detail = `: ${e.data.message}`;
  }
  const ok = got === expected;
  if (!ok) unexpected++;
  console.log(`${ok ? "✓" : "✗"} ${what}\n    ${got}${detail}${ok ? "" : `   (expected ${expected})`}`);
}

const body = { body: `hello at ${new Date().toISOString()}`, author: "demo" };
const signed = signer.args(api.messages.send, body);
let id;
await step("a signed call to messages:send", "accepted", async () => (id = await plain.mutation(api.messages.send, signed)));
await step("the same request sent again (a replay)", "replayed", () => plain.mutation(api.messages.send, signed));
await step("the args changed after signing", "bad_signature", () =>
  plain.mutation(api.messages.send, { ...signed, body: "something else" }),
);
await step("its signature presented to messages:remove (for the message it created)", "bad_signature", () =>
  plain.mutation(api.messages.remove, { id, _callsign: signed._callsign }),
);
await step("a call signed two minutes ago", "expired", () =>
  plain.mutation(api.messages.send, signer.args(api.messages.send, body, { now: Date.now() - 120_000 })),
);
await step("a call signed for another deployment", "bad_signature", () =>
  plain.mutation(
    api.messages.send,
    new CallSigner(target.key, { audience: "https://some-other-123.convex.cloud" }).args(api.messages.send, body),
  ),
);
await step("a call signed with a key the deployment does not hold", "unknown_key", () =>
  new SignedConvexHttpClient(target.url, generateKey("stranger")).mutation(api.messages.send, body),
);
await step("a signed query (messages:list)", "accepted", () => client.query(api.messages.list, { limit: 3 }));
await step("the gateway runs internal admin:setOpen (on its allow-list)", "accepted", () =>
  client.runMutation(internal.admin.setOpen, { open: true }),
);
await step("the gateway refuses internal admin:purge (not on it)", "not_allowed", () =>
  client.runMutation(internal.admin.purge, {}),
);

await target.stop();
console.log(unexpected === 0 ? "\nevery outcome as expected" : `\n${unexpected} unexpected outcome(s)`);
process.exit(unexpected === 0 ? 0 : 1);
