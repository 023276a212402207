// Shared by the tests of this fixture app (not a Convex module: vitest's glob below takes .js).
import { convexTest } from "convex-test";
import { isCallsignError, type ErrorCode } from "convex-callsign";
import { register } from "convex-callsign/test";
import schema from "./schema.js";

export const modules = import.meta.glob("./**/*.js");
export const AUDIENCE = "https://happy-otter-123.convex.cloud";

/** The fixture app with the callsign component registered, as `app.use(callsign)` installs it. */
export function newApp() {
  const t = convexTest(schema, modules);
  register(t);
  return t;
}
export type App = ReturnType<typeof newApp>;

type Row = { _id: string; kid: string; nonce: string; ts: number; rememberUntil: number };
type StoreCtx = { db: { query(table: string): { collect(): Promise<any[]>; first(): Promise<any> }; insert(table: string, doc: object): Promise<string>; patch(id: string, doc: object): Promise<void> } };
// convex-test runs a function inside a registered component with runInComponent (not in its
// published types): how a test reads and seeds the component's own tables.
const inStore = <T>(t: App, f: (ctx: StoreCtx) => Promise<T>): Promise<T> =>
  (t as unknown as { runInComponent(name: string, f: (ctx: StoreCtx) => Promise<T>): Promise<T> }).runInComponent("callsign", f);

/** The component's nonces table. */
export const nonces = (t: App): Promise<Row[]> => inStore(t, (ctx) => ctx.db.query("nonces").collect());
/** The component's watermark row (null before the first claim). */
export const watermark = (t: App): Promise<{ _id: string; watermarkTs: number | null; retentionMs: number } | null> =>
  inStore(t, (ctx) => ctx.db.query("watermark").first());
/** Runs `f` with the component's database. */
export { inStore };

/** The callsign code `promise` rejects with; fails if it resolves or rejects otherwise. */
export async function codeOf(promise: Promise<unknown>): Promise<ErrorCode> {
  try {
    await promise;
  } catch (e) {
    if (isCallsignError(e)) return e.data.code;
    throw e;
  }
  throw new Error("expected a callsign error, but the call succeeded");
}
