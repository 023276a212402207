// Signed mutations with every form of args Convex can deploy, each returning what its
// handler saw.
import { v } from "convex/values";
import { signedMutation } from "./callsign.js";

const seen = async (ctx, args) => ({ kid: ctx.callsign.kid, args });

export const record = signedMutation({ args: { a: v.number() }, handler: seen });
export const object = signedMutation({ args: v.object({ a: v.number(), b: v.optional(v.string()) }), handler: seen });
export const any = signedMutation({ args: v.any(), handler: seen });
export const none = signedMutation({ handler: seen });
export const bare = signedMutation(seen);
