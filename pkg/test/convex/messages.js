// A signed mutation: it runs only for a call signed for `messages:send` on this deployment,
// once (the nonce is recorded in its own transaction), and stores the args without the
// envelope.
import { v } from "convex/values";
import { signedMutation } from "./callsign.js";

export const send = signedMutation({
  args: { body: v.string() },
  handler: async (ctx, args) => await ctx.db.insert("messages", args),
});
