import { ConvexError, v } from "convex/values";
import { internal } from "./_generated/api";
import { internalMutation, internalQuery, type MutationCtx } from "./_generated/server";
import { signedAction, signedMutation, signedQuery } from "./callsign";

/** Posts a message. Only a server holding a key can call it, once per signed call. */
export const send = signedMutation({
  args: { body: v.string(), author: v.string() },
  // ctx.callsign is the verified call: which key signed it, when.
  handler: async (ctx, { body, author }) => await post(ctx, { body, author, kid: ctx.callsign.kid }),
});

/** Posts a message for a signed HTTP request (convex/http.ts), by the same rule as `send`. */
export const postSigned = internalMutation({
  args: { body: v.string(), author: v.string(), kid: v.string() },
  handler: async (ctx, message) => await post(ctx, message),
});

async function post(ctx: MutationCtx, message: { body: string; author: string; kid: string }) {
  const settings = await ctx.db.query("settings").first();
  if (settings !== null && !settings.open) {
    // Throwing rolls back the whole transaction, the nonce included: the same signed
    // call can be sent again once the board is open.
    throw new ConvexError({ code: "closed", message: "the board is closed" });
  }
  return await ctx.db.insert("messages", message);
}

/** Deletes a message. A call signed for `messages:send` cannot be used here. */
export const remove = signedMutation({
  args: { id: v.id("messages") },
  handler: async (ctx, { id }) => {
    await ctx.db.delete(id);
    return null;
  },
});

/** The latest messages. Signed queries check signature and window but cannot reject replays. */
export const list = signedQuery({
  args: { limit: v.optional(v.number()) },
  handler: async (ctx, { limit }) => {
    const rows = await ctx.db.query("messages").order("desc").take(limit ?? 20);
    return rows.map(({ body, author }) => ({ body, author }));
  },
});

/** An action: e.g. a server asks for a digest that would call an external API. */
export const digest = signedAction({
  args: { title: v.string() },
  handler: async (ctx, { title }): Promise<string> => {
    const count: number = await ctx.runQuery(internal.messages.count, {});
    return `${title}: ${count} message(s)`;
  },
});

export const count = internalQuery({
  args: {},
  handler: async (ctx) => (await ctx.db.query("messages").collect()).length,
});
