import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
import { callsignTables } from "convex-callsign/convex";

export default defineSchema({
  // The replay store: accepted (kid, nonce) pairs, kept until their window has passed.
  ...callsignTables,
  messages: defineTable({ body: v.string(), author: v.string(), kid: v.string() }),
  settings: defineTable({ open: v.boolean() }),
});
