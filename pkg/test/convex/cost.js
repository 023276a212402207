// What a signed mutation adds to its transaction (cost.test.ts): the same handler, signed and
// not, reports its transaction's metrics (ctx.meta.getTransactionMetrics, which counts what
// nested component calls read and wrote once they commit) when it starts.
import { v } from "convex/values";
import { mutation } from "./_generated/server.js";
import { signedMutation } from "./callsign.js";

const used = async (ctx) => {
  const m = await ctx.meta.getTransactionMetrics();
  return Object.fromEntries(Object.entries(m).map(([k, { used }]) => [k, used]));
};

export const signed = signedMutation({ args: { body: v.string() }, handler: used });
export const unsigned = mutation({ args: { body: v.string() }, handler: used });
