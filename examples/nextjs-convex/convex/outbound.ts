// Calls out of Convex: an action tells this app's Next.js server about an event, signed, so the
// server's route handler (app/api/convex-events/route.ts) knows the call came from this
// deployment, for these exact bytes, once.
//
// Set on the deployment: APP_ORIGIN, the Next.js server's origin (https://my-app.example), and
// CALLSIGN_APP_KEY, the key derived for it (`callsign derive --audience <APP_ORIGIN>`), which
// the server holds too, in CALLSIGN_APP_KEYS; the root key stays with whoever rotates keys.
// signedFetch runs in Convex's own runtime: the MAC is the wasm core's, the randomness
// crypto.getRandomValues.
import { v } from "convex/values";
import { signedFetch } from "convex-callsign/client";
import { internalAction } from "./_generated/server";

declare const process: { env: Record<string, string | undefined> };

/** POSTs `{event, data}` to the app's /api/convex-events, signed; returns its answer. */
export const notify = internalAction({
  args: { event: v.string(), data: v.any() },
  handler: async (_ctx, args): Promise<{ status: number; answer: unknown }> => {
    const origin = process.env.APP_ORIGIN;
    const key = process.env.CALLSIGN_APP_KEY;
    if (origin === undefined || key === undefined) {
      throw new Error("set APP_ORIGIN and CALLSIGN_APP_KEY on this deployment (npx convex env set ...)");
    }
    const response = await signedFetch(
      `${origin}/api/convex-events`,
      { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(args) },
      { key },
    );
    return { status: response.status, answer: await response.json() };
  },
});
