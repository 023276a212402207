// callsign's setup for this app: one Callsign over the component, the signed builders the
// other modules use, and the gateway that lets a key holder run these internal functions (and
// no others). SignedConvexHttpClient calls the gateway as `callsign:runQuery` etc., so it is
// exported from this file.
import { claimsOf, Callsign, type Gateway } from "convex-callsign/convex";
import { customCtx, customQuery } from "convex-helpers/server/customFunctions";
import { api, components, internal } from "./_generated/api";
import { action, mutation, query } from "./_generated/server";

// Keys from CALLSIGN_KEYS, audience CONVEX_CLOUD_URL, window ±60 s: the defaults. (The
// annotation is needed because the scopes name functions of this app, whose types in
// ./_generated/api depend on this module; "reports:byKey" as a string would need none.)
const cs: Callsign = new Callsign(components.callsign, {
  // The reporting key (a dashboard's server, say) may read this report and nothing else;
  // every other key may call every signed function.
  scopes: { reporting: [api.reports.byKey] },
});

export const signedQuery = cs.signed(query);
export const signedMutation = cs.signed(mutation);
export const signedAction = cs.signed(action);

/**
 * A customized signed builder (convex-helpers): callsign verifies the call first, then the
 * customization runs and can use it; here it names the caller.
 */
export const reportQuery = customQuery(
  cs.signed(query, { window: { maxAgeMs: 30_000 } }),
  customCtx(async (ctx) => ({ caller: `server key ${claimsOf(ctx).kid}` })),
);

// The annotation is needed: the allow-lists name functions of this app, whose types (in
// ./_generated/api) include these exports.
const gateway: Gateway = cs.gateway(
  { query, mutation, action },
  {
    queries: [internal.admin.stats],
    mutations: [internal.admin.setOpen],
    actions: [internal.admin.digest],
  },
);
export const { runQuery, runMutation, runAction } = gateway;
