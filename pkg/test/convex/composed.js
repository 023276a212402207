// callsign composed with convex-helpers: customizations wrapped around signed builders (which
// then see the verified call), a customization with args of its own, zod, and a customized
// builder wrapped by cs.signed.
import { v } from "convex/values";
import { customCtx, customMutation, customQuery } from "convex-helpers/server/customFunctions";
import { zCustomMutation } from "convex-helpers/server/zod4";
import { z } from "zod/v4";
import { claimsOf } from "convex-callsign/convex";
import { query } from "./_generated/server.js";
import { cs, signedMutation } from "./callsign.js";

// The customization runs after the verification and reads the claims.
const withCaller = customMutation(
  signedMutation,
  customCtx(async (ctx) => ({ caller: `caller:${claimsOf(ctx).kid}` })),
);
export const outside = withCaller({
  args: { body: v.string() },
  handler: async (ctx, { body }) => {
    await ctx.db.insert("messages", { body });
    return { caller: ctx.caller, kid: ctx.callsign.kid, body };
  },
});

// A customization that takes an arg of its own (sessionId) and removes it: callsign, inside,
// verified every arg the caller sent, the session id included.
export const withSession = customMutation(signedMutation, {
  args: { sessionId: v.string() },
  input: async (ctx, { sessionId }) => ({ ctx: { session: `${sessionId}@${claimsOf(ctx).kid}` }, args: {} }),
})({
  args: { body: v.string() },
  handler: async (ctx, args) => ({ session: ctx.session, args }),
});

// zod: convex-helpers turns the zod shape into v.object(...) for the signed builder.
export const zodded = zCustomMutation(
  signedMutation,
  customCtx(async (ctx) => ({ kid: claimsOf(ctx).kid })),
)({
  args: { n: z.number().min(1), tag: z.string() },
  handler: async (ctx, args) => ({ kid: ctx.kid, args }),
});

// A customized builder inside cs.signed: the handler sees both ctx additions.
export const inside = cs.signed(customQuery(query, customCtx(async () => ({ tenant: "t1" }))))({
  args: { q: v.string() },
  handler: async (ctx, { q }) => ({ tenant: ctx.tenant, kid: ctx.callsign.kid, q }),
});

// With a customization outside, the window goes on the signed builder (a `window` in the
// definition would be the customization's extra arg, not callsign's).
export const shortWindow = customQuery(
  cs.signed(query, { window: { maxAgeMs: 10_000 } }),
  customCtx(async (ctx) => ({ claims: claimsOf(ctx) })),
)({
  args: {},
  handler: async (ctx) => ctx.claims.rememberUntil - ctx.claims.ts,
});
