// callsign's setup, as an app's convex/callsign.ts has it (here in JS, with the hand-written
// _generated stand-in): signed-function builders, the replay store and the gateway.
import { callsign } from "convex-callsign/convex";
import { internal } from "./_generated/api.js";
import { action, internalMutation, mutation, query } from "./_generated/server.js";

export const {
  signedQuery,
  signedMutation,
  signedAction,
  recordNonce,
  cleanupNonces,
  runQuery,
  runMutation,
  runAction,
} = callsign(
  { query, mutation, action, internalMutation },
  { gateway: { mutations: [internal.settings.store] } },
);
