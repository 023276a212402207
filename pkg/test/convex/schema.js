// The app's own tables only: the replay store is the callsign component's.
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  messages: defineTable({ body: v.string() }),
});
