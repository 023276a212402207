import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
import { callsignTables } from "convex-callsign/convex";

export default defineSchema({
  // Replay store: each (kid, nonce) accepted once, kept until its window has passed.
  ...callsignTables,
  messages: defineTable({ body: v.string() }),
});
