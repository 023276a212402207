// Runs the example app *as the Convex CLI bundled it* under convex-test, and reports the
// outcomes of a scripted session as one JSON object. Shared by the vitest (Node, edge
// runtime) and Deno runs of level 2: tests/bundle.test.ts.
import { convexTest } from "convex-test";
import { makeFunctionReference } from "convex/server";
import { ConvexError } from "convex/values";
import { CallSigner } from "convex-callsign/client";
import { generateKey } from "convex-callsign";
import schema from "../convex/schema.ts";

export const AUDIENCE = "https://happy-otter-123.convex.cloud";

/**
 * `isolate` is the path of the bundle's isolate directory, ending in "/"; `env` sets
 * the deployment's environment variables.
 */
export async function session(isolate, env) {
  const key = generateKey("bundled");
  env("CALLSIGN_KEYS", key);
  env("CONVEX_CLOUD_URL", AUDIENCE);
  const load = (name) => () => import(`${isolate}${name}.js`);
  // convex-test finds the functions' root by the "_generated" entry; the bundle has none
  // (esbuild inlined it), so point that one entry at the sources'.
  const t = convexTest(schema, {
    "./bundle/_generated/api.js": () => import("../convex/_generated/api.js"),
    "./bundle/messages.js": load("messages"),
    "./bundle/admin.js": load("admin"),
    "./bundle/callsign.js": load("callsign"),
  });
  const ref = (type, name) => makeFunctionReference(name);
  const signer = new CallSigner(key, { audience: AUDIENCE });
  const code = async (p) => {
    try {
      await p;
      return "accepted";
    } catch (e) {
      // The bundle carries its own copy of convex, so its ConvexError is another class.
      const data = e instanceof ConvexError || e?.name === "ConvexError" ? e.data : undefined;
      return typeof data?.code === "string" ? data.code : `not a ConvexError: ${e.message}`;
    }
  };
  const send = ref("mutation", "messages:send");
  const args = signer.args(send, { body: "bundled", author: "cli" });
  const gateway = signer.gatewayArgs(ref("mutation", "admin:setOpen"), { open: true });
  return {
    accepted: await code(t.mutation(send, args)),
    replayed: await code(t.mutation(send, args)),
    changed: await code(t.mutation(send, { ...args, body: "changed" })),
    action: await t.action(ref("action", "messages:digest"), signer.args(ref("action", "messages:digest"), { title: "bundle" })),
    gateway: await t.mutation(ref("mutation", "callsign:runMutation"), gateway),
    notAllowed: await code(t.mutation(ref("mutation", "callsign:runMutation"), signer.gatewayArgs(ref("mutation", "admin:purge"), {}))),
    stored: await t.run(async (ctx) => (await ctx.db.query("messages").collect()).map((m) => m.body)),
  };
}
