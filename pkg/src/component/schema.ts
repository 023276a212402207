// The replay store's tables (SPEC.md §8). They belong to the component, not to the app: the
// app's schema stays its own, and only the component's functions can read or write them.
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  /** Every accepted (kid, nonce), kept until its call's window has passed. */
  nonces: defineTable({
    kid: v.string(),
    nonce: v.string(),
    /** When the call was signed (ms): the unit of the watermark. */
    ts: v.number(),
    /** Until when (ms) the pair must be kept: the call's `ts` plus its window's `maxAgeMs`. */
    rememberUntil: v.number(),
  })
    // The claim's lookup. Its read of this index range is what makes two concurrent claims
    // of one pair conflict on a deployment (see SECURITY.md).
    .index("by_kid_nonce", ["kid", "nonce"])
    // The cleanup's order: oldest first, so that the watermark only ever rises.
    .index("by_ts", ["ts"]),
  /** One row, created by the first claim. */
  watermark: defineTable({
    /** The latest `ts` among dropped nonces: calls signed at or before it are refused. */
    watermarkTs: v.union(v.number(), v.null()),
    /** The longest window (`rememberUntil - ts`) of any accepted nonce: how long nonces are kept. */
    retentionMs: v.number(),
  }),
});
