// convex/admin.ts: internal functions. Clients cannot call them; the gateway lets a key holder
// run the ones on its allow-list (setOpen, stats).
import { v } from "convex/values";
import { internalMutation, internalQuery } from "./_generated/server";

export const setOpen = internalMutation({
  args: { open: v.boolean() },
  handler: async (ctx, { open }) => {
    const settings = await ctx.db.query("settings").first();
    if (settings === null) await ctx.db.insert("settings", { open });
    else await ctx.db.patch(settings._id, { open });
    return open;
  },
});

export const stats = internalQuery({
  args: {},
  handler: async (ctx) => ({ messages: (await ctx.db.query("messages").collect()).length }),
});
