import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

// The app's own tables only: callsign's replay store lives in its component (convex.config.ts).
export default defineSchema({
  messages: defineTable({ body: v.string(), author: v.string(), kid: v.string() }),
  settings: defineTable({ open: v.boolean() }),
});
