// Signed functions whose args take any value (`v.any()`), so nothing but callsign stands
// between an attacker's JSON and the handler. Each returns what its handler saw.
import { v } from "convex/values";
import { internalMutation } from "./_generated/server.js";
import { signedAction, signedMutation, signedQuery } from "./callsign.js";

const args = { settings: v.any() };
const seen = (settings) => ({ theme: settings.theme, isAdmin: settings.isAdmin ?? false });

export const save = signedMutation({ args, handler: async (_ctx, { settings }) => seen(settings) });
export const read = signedQuery({ args, handler: async (_ctx, { settings }) => seen(settings) });
export const apply = signedAction({ args, handler: async (_ctx, { settings }) => seen(settings) });

/** On the gateway's allow-list (callsign.js): reached with `runMutation`. */
export const store = internalMutation({ args, handler: async (_ctx, { settings }) => seen(settings) });
