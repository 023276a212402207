// The replay store (SPEC.md §8): each (kid, nonce) is accepted once, kept until its window has
// passed, and forgotten in `ts` order behind a watermark that refuses whatever may have been
// forgotten.
//
// Verification is not here: a component cannot read the app's environment variables (the key
// set), so the app verifies (convex-callsign/convex) and asks the store only to claim the
// nonce of a call it has verified. An app mutation claims through `ctx.runMutation`, which runs
// this mutation inside the app mutation's transaction: if the app's handler then throws, the
// claim is rolled back with everything else.
import { v, type Infer } from "convex/values";
import { api } from "./_generated/api.js";
import { mutation } from "./_generated/server.js";

/** How many nonces one cleanup run deletes before it schedules the next run. */
export const CLEANUP_BATCH = 256;

/**
 * What `claim` answers for a pair it refuses: the `data` of the `ConvexError` the app throws
 * (callsign's stable code `replayed`, SPEC.md §9). A value rather than an exception, so the
 * app-side wrapper throws its own error and nothing here depends on how errors cross the
 * component boundary.
 */
export const refusal = v.object({ code: v.literal("replayed"), message: v.string() });
export type Refusal = Infer<typeof refusal>;

/**
 * Accepts (kid, nonce) once: refuses a pair signed at or before the watermark (the cleanup may
 * have dropped it, whatever the window), or one already recorded; otherwise records it, and
 * raises the retention if this call's window is the longest yet. Returns `null` when accepted.
 */
export const claim = mutation({
  args: { kid: v.string(), nonce: v.string(), ts: v.number(), rememberUntil: v.number() },
  returns: v.union(v.null(), refusal),
  handler: async (ctx, call): Promise<Refusal | null> => {
    const watermark = await ctx.db.query("watermark").first();
    if (watermark !== null && watermark.watermarkTs !== null && call.ts <= watermark.watermarkTs) {
      return {
        code: "replayed",
        message: "the call is older than what the replay store still remembers: it may already have been used",
      };
    }
    const seen = await ctx.db
      .query("nonces")
      .withIndex("by_kid_nonce", (q) => q.eq("kid", call.kid).eq("nonce", call.nonce))
      .first();
    if (seen !== null) {
      return { code: "replayed", message: `the call with nonce ${call.nonce} (key ${call.kid}) was already accepted` };
    }
    await ctx.db.insert("nonces", call);
    const window = call.rememberUntil - call.ts;
    if (watermark === null) {
      await ctx.db.insert("watermark", { watermarkTs: null, retentionMs: window });
    } else if (watermark.retentionMs < window) {
      await ctx.db.patch(watermark._id, { retentionMs: window });
    }
    return null;
  },
});

/**
 * Deletes nonces whose window has passed, oldest first, at most {@link CLEANUP_BATCH} per run,
 * and schedules itself again while more remain. The component's cron runs it every 10 minutes;
 * an app may also run it (`ctx.runMutation(components.callsign.store.cleanup, {})`).
 *
 * Only nonces with `ts < now - retentionMs` go, retention being the longest window any accepted
 * call had: so the watermark (raised to the latest `ts` dropped) stays behind every call that
 * some function could still accept (SPEC.md §8).
 */
export const cleanup = mutation({
  args: {},
  returns: v.object({ deleted: v.number(), more: v.boolean() }),
  handler: async (ctx): Promise<{ deleted: number; more: boolean }> => {
    const watermark = await ctx.db.query("watermark").first();
    if (watermark === null) return { deleted: 0, more: false }; // nothing accepted yet
    const before = Date.now() - watermark.retentionMs;
    const expired = await ctx.db
      .query("nonces")
      .withIndex("by_ts", (q) => q.lt("ts", before))
      .take(CLEANUP_BATCH + 1);
    const doomed = expired.slice(0, CLEANUP_BATCH);
    for (const row of doomed) await ctx.db.delete(row._id);
    if (doomed.length > 0) {
      // The index is ordered: the last deleted row has the latest ts.
      const latest = doomed[doomed.length - 1]!.ts;
      if (watermark.watermarkTs === null || watermark.watermarkTs < latest) {
        await ctx.db.patch(watermark._id, { watermarkTs: latest });
      }
    }
    const more = expired.length > CLEANUP_BATCH;
    if (more) await ctx.scheduler.runAfter(0, api.store.cleanup, {});
    return { deleted: doomed.length, more };
  },
});
