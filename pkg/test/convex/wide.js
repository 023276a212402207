// A signed mutation with its own window (10 minutes), next to functions with the default one,
// sharing one replay store.
import { v } from "convex/values";
import { signedMutation } from "./callsign.js";

export const send = signedMutation({
  args: { body: v.string() },
  window: { maxAgeMs: 600_000 },
  handler: async (ctx, args) => await ctx.db.insert("messages", args),
});
