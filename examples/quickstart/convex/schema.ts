// convex/schema.ts: your tables only; callsign's live in its component.
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  messages: defineTable({ body: v.string(), kid: v.string() }),
  settings: defineTable({ open: v.boolean() }),
});
