// Internal functions: not callable from outside the deployment. The gateway in
// callsign.ts lets a key holder run setOpen, stats and digest; purge stays unreachable.
import { v } from "convex/values";
import { internal } from "./_generated/api";
import { internalAction, internalMutation, internalQuery } from "./_generated/server";

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

export const digest = internalAction({
  args: { title: v.string() },
  handler: async (ctx, { title }): Promise<string> => {
    const { messages } = await ctx.runQuery(internal.admin.stats, {});
    return `${title}: ${messages} message(s)`;
  },
});

/** Not on the gateway's allow-list: a signed call to it is refused with `not_allowed`. */
export const purge = internalMutation({
  args: {},
  handler: async (ctx) => {
    for (const row of await ctx.db.query("messages").collect()) await ctx.db.delete(row._id);
    return null;
  },
});
