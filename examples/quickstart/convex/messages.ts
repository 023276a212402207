// convex/messages.ts: functions that run only for calls signed by a key holder.
import { v } from "convex/values";
import { internal } from "./_generated/api";
import { signedAction, signedMutation, signedQuery } from "./callsign";

export const send = signedMutation({
  args: { body: v.string() },
  // The envelope is verified and stripped; ctx.callsign is the verified call.
  handler: async (ctx, { body }) => await ctx.db.insert("messages", { body, kid: ctx.callsign.kid }),
});

export const list = signedQuery({
  args: {},
  window: { maxAgeMs: 10_000 }, // a query's call can be replayed while valid: keep it short
  handler: async (ctx) => (await ctx.db.query("messages").collect()).map((m) => m.body),
});

export const summarize = signedAction({
  args: { title: v.string() },
  handler: async (ctx, { title }): Promise<string> => {
    const { messages } = await ctx.runQuery(internal.admin.stats, {});
    return `${title}: ${messages} message(s)`;
  },
});
