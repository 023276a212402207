// The README's Convex quick start, verbatim but for the ".js" in an import: a signed mutation that
// verifies, rejects replays in its own transaction, and only then does its work.
import { ConvexError, v } from "convex/values";
import { mutation } from "./_generated/server.js";
import { CallsignError, Verifier } from "callsign";

const envelope = v.object({
  kid: v.string(),
  nonce: v.string(),
  sig: v.string(),
  ts: v.number(),
  v: v.number(),
});

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

export const send = mutation({
  args: { body: v.string(), _callsign: envelope },
  handler: async (ctx, args) => {
    let claims;
    try {
      claims = callsign().verify("messages:send", args);
    } catch (e) {
      if (e instanceof CallsignError) throw new ConvexError({ code: e.code, message: e.message });
      throw e;
    }
    const seen = await ctx.db
      .query("callsignNonces")
      .withIndex("by_kid_nonce", (q) => q.eq("kid", claims.kid).eq("nonce", claims.nonce))
      .unique();
    if (seen !== null) throw new ConvexError({ code: "replayed", message: "call already accepted" });
    await ctx.db.insert("callsignNonces", {
      kid: claims.kid,
      nonce: claims.nonce,
      expiresAt: claims.rememberUntil,
    });

    const { _callsign, ...message } = args;
    return await ctx.db.insert("messages", message);
  },
});
