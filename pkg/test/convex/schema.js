import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  messages: defineTable({ body: v.string() }),
  // Replay store: each (kid, nonce) accepted once, kept until its window has passed.
  callsignNonces: defineTable({ kid: v.string(), nonce: v.string(), expiresAt: v.number() })
    .index("by_kid_nonce", ["kid", "nonce"]),
});
