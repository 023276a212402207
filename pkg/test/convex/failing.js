// A signed mutation whose handler fails after its call was accepted: Convex rolls the
// whole transaction back, the stored nonce included, so the same call can be retried.
import { v } from "convex/values";
import { mutation } from "./_generated/server.js";
import { acceptSigned, envelope } from "./messages.js";

export const send = mutation({
  args: { body: v.string(), _callsign: envelope },
  handler: async (ctx, args) => {
    const message = await acceptSigned(ctx, "failing:send", args);
    if (process.env.FAIL_AFTER_ACCEPT === "1") throw new Error("the handler failed");
    return await ctx.db.insert("messages", message);
  },
});
