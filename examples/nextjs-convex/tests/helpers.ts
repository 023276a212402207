// Shared by the tests (not a Convex function module: it exports no functions).
import { convexTest } from "convex-test";
import { ConvexError } from "convex/values";
import schema from "../convex/schema";

export const AUDIENCE = "https://happy-otter-123.convex.cloud";
export const modules = import.meta.glob("../convex/**/*.*s");

export function newApp() {
  return convexTest(schema, modules);
}
export type App = ReturnType<typeof newApp>;

/** The stable code of the ConvexError `promise` rejects with (fails if it resolves). */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof ConvexError) return (e.data as { code: string }).code;
    throw e;
  }
  throw new Error("expected a ConvexError, but the call succeeded");
}

export async function count(t: App, table: "messages" | "callsignNonces" | "callsignWatermark") {
  return await t.run(async (ctx) => (await ctx.db.query(table).collect()).length);
}
