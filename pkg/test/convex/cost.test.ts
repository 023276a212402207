// The Convex cost of a signed mutation: the reads and writes that verifying and claiming the
// nonce add to the caller's transaction, through the component. Counted by Convex itself:
// the handler reads ctx.meta.getTransactionMetrics() (convex-test implements it as a
// deployment does: a nested ctx.runMutation's reads and writes fold into the caller's
// transaction when it commits), signed and unsigned, and the test takes the difference.
import { expect, test } from "vitest";
import { Signer, generateKey } from "convex-callsign";
import { api } from "./_generated/api.js";
import { AUDIENCE, newApp } from "./helpers.js";

const root = generateKey("prod");

test("a signed mutation adds the watermark read, one indexed read and one insert", async () => {
  process.env.CALLSIGN_KEYS = root;
  process.env.CONVEX_CLOUD_URL = AUDIENCE;
  const t = newApp();
  const signer = new Signer(root, { audience: AUDIENCE });
  const base = await t.mutation(api.cost.unsigned, { body: "x" });
  expect(base.databaseQueries).toBe(0);
  const added = (m: Record<string, number>) => ({
    databaseQueries: m.databaseQueries - base.databaseQueries,
    documentsRead: m.documentsRead - base.documentsRead,
    documentsWritten: m.documentsWritten - base.documentsWritten,
    functionsScheduled: m.functionsScheduled - base.functionsScheduled,
  });

  // The first claim ever also creates the watermark row: one more write, once per deployment.
  const first = await t.mutation(api.cost.signed, signer.sign("cost:signed", { body: "x" }));
  expect(added(first)).toEqual({ databaseQueries: 2, documentsRead: 0, documentsWritten: 2, functionsScheduled: 0 });

  // Every later claim: the watermark query (one row read), the (kid, nonce) index lookup (no
  // row: a new nonce) and the nonce's insert.
  for (let i = 0; i < 3; i++) {
    const next = await t.mutation(api.cost.signed, signer.sign("cost:signed", { body: "x" }));
    expect(added(next)).toEqual({ databaseQueries: 2, documentsRead: 1, documentsWritten: 1, functionsScheduled: 0 });
  }

  // Not counted here: a claim whose window is longer than any before it also patches the
  // watermark's retention (once per longer window; every function here has the same window).
});
