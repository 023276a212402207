// A signed mutation whose handler fails after its call was accepted: Convex rolls the
// whole transaction back, the stored nonce included, so the same call can be retried.
import { v } from "convex/values";
import { signedMutation } from "./callsign.js";

export const send = signedMutation({
  args: { body: v.string() },
  handler: async (ctx, args) => {
    if (process.env.FAIL_AFTER_ACCEPT === "1") throw new Error("the handler failed");
    return await ctx.db.insert("messages", args);
  },
});
