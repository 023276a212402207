// Functions a scoped key may call ("reports:*" and internal reports:totals, see callsign.js),
// and internal ones the gateway runs for any key allowed to.
import { v } from "convex/values";
import { internalAction, internalMutation, internalQuery } from "./_generated/server.js";
import { signedQuery } from "./callsign.js";

/** A signed query: the number of messages. */
export const summary = signedQuery({
  args: {},
  handler: async (ctx) => ({ messages: (await ctx.db.query("messages").collect()).length, kid: ctx.callsign.kid }),
});

/** On the gateway's query allow-list, and in the reporting key's scope. */
export const totals = internalQuery({
  args: {},
  handler: async (ctx) => ({ messages: (await ctx.db.query("messages").collect()).length }),
});

/** On the gateway's mutation allow-list, not in the reporting key's scope. */
export const reset = internalMutation({
  args: {},
  handler: async (ctx) => {
    for (const row of await ctx.db.query("messages").collect()) await ctx.db.delete(row._id);
    return null;
  },
});

/** On the gateway's action allow-list, not in the reporting key's scope. */
export const digest = internalAction({
  args: { title: v.string() },
  handler: async (_ctx, { title }) => `digest: ${title}`,
});
