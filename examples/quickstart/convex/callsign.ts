// convex/callsign.ts: callsign's setup, and the gateway (SignedConvexHttpClient calls it as
// callsign:runQuery, callsign:runMutation and callsign:runAction, so it lives in this file).
import { Callsign, type Gateway } from "convex-callsign/convex";
import { components, internal } from "./_generated/api";
import { action, mutation, query } from "./_generated/server";

// Keys from CALLSIGN_KEYS, audience CONVEX_CLOUD_URL, window ±60 s: the defaults.
const cs = new Callsign(components.callsign);

export const signedQuery = cs.signed(query);
export const signedMutation = cs.signed(mutation);
export const signedAction = cs.signed(action);

// Internal functions a key holder may run, unchanged. (The annotation breaks a type cycle:
// ./_generated/api includes this file's exports.)
const gateway: Gateway = cs.gateway(
  { query, mutation, action },
  { queries: [internal.admin.stats], mutations: [internal.admin.setOpen] },
);
export const { runQuery, runMutation, runAction } = gateway;
