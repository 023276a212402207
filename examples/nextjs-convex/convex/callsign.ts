// callsign's setup for this app: the signed-function builders, the replay store's two
// internal mutations, and the gateway that lets a key holder run these internal functions
// (and no others). Every name below must be exported from this file: actions and the
// cleanup call `callsign:recordNonce` and `callsign:cleanupNonces` by name.
import { callsign, type CallsignFunctions } from "convex-callsign/convex";
import { internal } from "./_generated/api";
import type { DataModel } from "./_generated/dataModel";
import { action, internalMutation, mutation, query } from "./_generated/server";

// The annotation is needed: the gateway's allow-list names functions of this app, whose
// types depend on these exports.
const functions: CallsignFunctions<DataModel> = callsign(
  { query, mutation, action, internalMutation },
  {
    gateway: {
      queries: [internal.admin.stats],
      mutations: [internal.admin.setOpen],
      actions: [internal.admin.digest],
    },
  },
);

export const {
  signedQuery,
  signedMutation,
  signedAction,
  recordNonce,
  cleanupNonces,
  runQuery,
  runMutation,
  runAction,
} = functions;
