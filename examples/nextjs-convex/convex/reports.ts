// Reports for a dashboard's server. Signed with the reporting key (scoped to this module in
// callsign.ts), a call reaches these and nothing else.
import { v } from "convex/values";
import { reportQuery } from "./callsign";

/** How many messages each key has posted. */
export const byKey = reportQuery({
  args: { limit: v.optional(v.number()) },
  handler: async (ctx, { limit }) => {
    const counts: Record<string, number> = {};
    for (const { kid } of await ctx.db.query("messages").order("desc").take(limit ?? 1000)) {
      counts[kid] = (counts[kid] ?? 0) + 1;
    }
    return { for: ctx.caller, counts };
  },
});
