// callsign's setup, as an app's convex/callsign.ts has it (here in JS, with the hand-written
// _generated stand-in): the Callsign instance over the component, the signed builders, and
// the gateway with its allow-list.
import { Callsign } from "convex-callsign/convex";
import { api, components, internal } from "./_generated/api.js";
import { action, mutation, query } from "./_generated/server.js";

export const cs = new Callsign(components.callsign, {
  scopes: {
    // The reporting key reads reports (a signed query, and an internal one through the
    // gateway) and nothing else.
    reporting: [api.reports.summary, internal.reports.totals],
    // The auditor may call anything in reports.js, internal functions through the gateway too.
    auditor: ["reports:*"],
  },
});

export const signedQuery = cs.signed(query);
export const signedMutation = cs.signed(mutation);
export const signedAction = cs.signed(action);

export const { runQuery, runMutation, runAction } = cs.gateway(
  { query, mutation, action },
  {
    queries: [internal.reports.totals],
    mutations: [internal.settings.store, internal.reports.reset],
    actions: [internal.reports.digest],
  },
);
