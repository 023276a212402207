// Runs the example app *as the Convex CLI bundled it* — the app's modules and the callsign
// component's, from the push request — under convex-test, and reports the outcomes of a
// scripted session as one JSON object. Shared by the vitest (Node, edge runtime) and Deno runs
// of level 2: tests/bundle.test.ts.
import { convexTest } from "convex-test";
import { makeFunctionReference } from "convex/server";
import { CallSigner } from "convex-callsign/client";
import { deriveKey, generateKey, isCallsignError } from "convex-callsign";
import { components } from "../convex/_generated/api.js";

export const AUDIENCE = "https://happy-otter-123.convex.cloud";

/**
 * `bundle` is the directory (ending in "/") holding `app/` and `component/`, the modules of
 * the push request; `env` sets the deployment's environment variables.
 */
export async function session(bundle, env) {
  const ops = generateKey("bundled");
  const reporting = generateKey("reporting");
  env("CALLSIGN_KEYS", [ops, reporting].map((k) => deriveKey(k, AUDIENCE)).join(","));
  env("CONVEX_CLOUD_URL", AUDIENCE);
  const load = (path) => () => import(`${bundle}${path}`);
  // convex-test finds the functions' root by the "_generated" entry; the bundles have none
  // (esbuild inlined it), so that one entry points at the sources'. Both schemas are the
  // bundled ones.
  const t = convexTest((await import(`${bundle}app/schema.js`)).default, {
    "./app/_generated/api.js": () => import("../convex/_generated/api.js"),
    "./app/messages.js": load("app/messages.js"),
    "./app/admin.js": load("app/admin.js"),
    "./app/callsign.js": load("app/callsign.js"),
    "./app/reports.js": load("app/reports.js"),
  });
  t.registerComponent("callsign", (await import(`${bundle}component/schema.js`)).default, {
    "./component/_generated/api.js": () => import("../node_modules/convex-callsign/dist/component/_generated/api.js"),
    "./component/store.js": load("component/store.js"),
    "./component/crons.js": load("component/crons.js"),
  });
  const ref = (name) => makeFunctionReference(name);
  const signer = new CallSigner(ops, { audience: AUDIENCE });
  const dashboard = new CallSigner(reporting, { audience: AUDIENCE });
  const code = async (p) => {
    try {
      await p;
      return "accepted";
    } catch (e) {
      // The bundle carries its own copy of convex, so its ConvexError is another class:
      // isCallsignError goes by Convex's marker, not instanceof.
      return isCallsignError(e) ? e.data.code : `not a callsign error: ${e.message}`;
    }
  };
  const send = ref("messages:send");
  const args = signer.args(send, { body: "bundled", author: "cli" });
  const gateway = signer.gatewayArgs(ref("admin:setOpen"), { open: true });
  return {
    accepted: await code(t.mutation(send, args)),
    replayed: await code(t.mutation(send, args)),
    changed: await code(t.mutation(send, { ...args, body: "changed" })),
    action: await t.action(ref("messages:digest"), signer.args(ref("messages:digest"), { title: "bundle" })),
    gateway: await t.mutation(ref("callsign:runMutation"), gateway),
    notAllowed: await code(t.mutation(ref("callsign:runMutation"), signer.gatewayArgs(ref("admin:purge"), {}))),
    report: await t.query(ref("reports:byKey"), dashboard.args(ref("reports:byKey"), {})),
    outOfScope: await code(t.mutation(send, dashboard.args(send, { body: "no", author: "dash" }))),
    stored: await t.run(async (ctx) => (await ctx.db.query("messages").collect()).map((m) => m.body)),
    // In the component's own tables: the mutation's, the action's and the gateway's claims.
    claimed: await t.runInComponent("callsign", async (ctx) =>
      (await ctx.db.query("nonces").collect()).map((n) => n.kid),
    ),
    // The component's own cleanup, bundled: nothing has expired yet.
    cleanup: await t.mutation(components.callsign.store.cleanup, {}),
  };
}
