// What the signed HTTP actions' handlers record (http.js): a test can tell whether one ran.
import { v } from "convex/values";
import { internalMutation } from "./_generated/server.js";

export const record = internalMutation({
  args: { body: v.string() },
  handler: async (ctx, { body }) => await ctx.db.insert("messages", { body }),
});
