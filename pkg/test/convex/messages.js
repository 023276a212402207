// The README's Convex quick start, verbatim but for the ".js" in an import and the
// `export` of acceptSigned (failing.js reuses it): a signed mutation that verifies,
// rejects replays in its own transaction, and only then does its work.
import { ConvexError, v } from "convex/values";
import { mutation } from "./_generated/server.js";
import { CallsignError, Verifier } from "callsign";

export const envelope = v.object({ kid: v.string(), nonce: v.string(), sig: v.string(), ts: v.number(), v: v.number() });

// Built once per isolate, and again if the keys change (key rotation).
let verifier, builtFor;
function callsign() {
  const keys = process.env.CALLSIGN_KEYS;
  if (builtFor !== keys) {
    verifier = new Verifier(keys, { audience: process.env.CONVEX_CLOUD_URL });
    builtFor = keys;
  }
  return verifier;
}

/** Verifies a call signed for `functionName` and records its nonce; returns the args without the envelope. */
export async function acceptSigned(ctx, functionName, args) {
  let claims;
  try {
    claims = callsign().verify(functionName, args);
  } catch (e) {
    if (e instanceof CallsignError) throw new ConvexError({ code: e.code, message: e.message });
    throw e;
  }
  // Replays: the nonce is stored in this mutation's own transaction, so a handler that
  // throws leaves it unused, and two concurrent replays cannot both commit.
  const seen = await ctx.db.query("callsignNonces")
    .withIndex("by_kid_nonce", (q) => q.eq("kid", claims.kid).eq("nonce", claims.nonce))
    .unique();
  if (seen !== null) throw new ConvexError({ code: "replayed", message: "call already accepted" });
  await ctx.db.insert("callsignNonces", { kid: claims.kid, nonce: claims.nonce, expiresAt: claims.rememberUntil });
  const { _callsign, ...rest } = args;
  return rest;
}

export const send = mutation({
  args: { body: v.string(), _callsign: envelope },
  handler: async (ctx, args) => {
    const message = await acceptSigned(ctx, "messages:send", args); // this function's own name
    return await ctx.db.insert("messages", message);
  },
});
