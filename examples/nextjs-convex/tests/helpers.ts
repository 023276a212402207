// Shared by the tests (not a Convex function module: it exports no functions).
import { convexTest } from "convex-test";
import { isCallsignError, type ErrorCode } from "convex-callsign";
import { register } from "convex-callsign/test";
import schema from "../convex/schema";

export const AUDIENCE = "https://happy-otter-123.convex.cloud";
export const modules = import.meta.glob("../convex/**/*.*s");

/** The app under convex-test, with the callsign component as `app.use(callsign)` installs it. */
export function newApp() {
  const t = convexTest(schema, modules);
  register(t);
  return t;
}
export type App = ReturnType<typeof newApp>;

/** The callsign code the ConvexError `promise` rejects with (fails if it resolves). */
export async function codeOf(promise: Promise<unknown>): Promise<ErrorCode> {
  try {
    await promise;
  } catch (e) {
    if (isCallsignError(e)) return e.data.code;
    throw e;
  }
  throw new Error("expected a callsign error, but the call succeeded");
}

export async function count(t: App, table: "messages" | "settings") {
  return await t.run(async (ctx) => (await ctx.db.query(table).collect()).length);
}

/** A row of the component's `nonces` table. */
export type NonceRow = { _id: string; kid: string; nonce: string; ts: number; rememberUntil: number };
type StoreDb = {
  query(table: "nonces" | "watermark"): { collect(): Promise<any[]>; first(): Promise<any> };
  insert(table: "nonces" | "watermark", doc: object): Promise<string>;
  patch(id: string, doc: object): Promise<void>;
};

/**
 * Runs `f` with the component's database: how a test reads and seeds the replay store's
 * tables (convex-test's runInComponent, which its published types do not declare).
 */
export function inStore<T>(t: App, f: (ctx: { db: StoreDb }) => Promise<T>): Promise<T> {
  const withComponents = t as unknown as { runInComponent(name: string, f: (ctx: { db: StoreDb }) => Promise<T>): Promise<T> };
  return withComponents.runInComponent("callsign", f);
}

/** The nonces the replay store holds. */
export const nonces = (t: App): Promise<NonceRow[]> => inStore(t, (ctx) => ctx.db.query("nonces").collect());
