// A Convex module that uses the package the way a deployment would: verify a signed call
// on the first line of a function, and sign one (drawing randomness) inside a function.
import { v } from "convex/values";
import { action, query } from "./_generated/server.js";
import { CallsignError, Signer, Verifier, generateKey, inspectKey } from "convex-callsign";

const AUDIENCE = "https://happy-otter-123.convex.cloud";

function verifier() {
  return new Verifier(process.env.CALLSIGN_KEYS, { audience: AUDIENCE });
}

/** Verifies its own args as a call to `calls:echo` and reports the outcome. */
export const echo = query({
  args: { body: v.string(), count: v.int64(), _callsign: v.any() },
  handler: async (_ctx, args) => {
    try {
      const claims = verifier().verify("calls:echo", args);
      const { _callsign, ...rest } = args;
      return { ok: true, kid: claims.kid, function: claims.function, body: rest.body };
    } catch (e) {
      if (e instanceof CallsignError) return { ok: false, code: e.code };
      throw e;
    }
  },
});

/** Makes a key and signs a call inside the Convex runtime, then verifies it. */
export const signInside = action({
  args: {},
  handler: async () => {
    const key = generateKey("inside");
    const signed = new Signer(key, { audience: AUDIENCE }).sign("calls:echo", {
      body: "from inside",
      count: 7n,
    });
    const claims = new Verifier(key, { audience: AUDIENCE }).verify("calls:echo", signed);
    return { kid: inspectKey(key).kid, verified: claims.kid, nonce: claims.nonce };
  },
});
