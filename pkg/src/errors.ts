import type { ConvexError } from "convex/values";

/**
 * The stable error codes, the same strings in Rust, WASM/JS and Convex (SPEC.md §9).
 */
export type ErrorCode =
  | "malformed"
  | "too_large"
  | "invalid_key"
  | "unknown_key"
  | "bad_signature"
  | "expired"
  | "not_yet_valid"
  | "replayed"
  | "unsupported"
  | "not_allowed"
  | "misconfigured"
  | "unavailable";

/** Every {@link ErrorCode}, in SPEC.md §9 order. */
export const ERROR_CODES: readonly ErrorCode[] = Object.freeze([
  "malformed",
  "too_large",
  "invalid_key",
  "unknown_key",
  "bad_signature",
  "expired",
  "not_yet_valid",
  "replayed",
  "unsupported",
  "not_allowed",
  "misconfigured",
  "unavailable",
]);

const CODES: ReadonlySet<string> = new Set(ERROR_CODES);

/**
 * What every callsign operation throws on bad input or a rejected call. Branch on
 * `.code`; `.message` says what to fix and never contains key material.
 */
export class CallsignError extends Error {
  /** The stable code, e.g. `"bad_signature"`. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = "CallsignError";
    this.code = code;
  }
}

/** What a callsign refusal inside Convex carries as its `ConvexError`'s `data`. */
export type CallsignErrorData = { code: ErrorCode; message: string };

/**
 * Whether `e` is a callsign refusal from a Convex function: a `ConvexError` whose `data` is
 * `{ code, message }` with one of callsign's codes (`e.data.code === "replayed"`, ...). Works on
 * what a client (`ConvexHttpClient`, `fetchMutation`, convex-test) rethrows, and on a
 * `ConvexError` from another copy of `convex` (a bundle carries its own): the test is Convex's
 * own marker, not `instanceof`.
 */
export function isCallsignError(e: unknown): e is ConvexError<CallsignErrorData> {
  if (typeof e !== "object" || e === null) return false;
  if ((e as Record<symbol, unknown>)[Symbol.for("ConvexError")] !== true) return false;
  const data = (e as { data?: unknown }).data;
  if (typeof data !== "object" || data === null) return false;
  const { code, message } = data as { code?: unknown; message?: unknown };
  return typeof code === "string" && CODES.has(code) && typeof message === "string";
}

/**
 * The Rust core throws `Error("<code>: <message>")`; this gives it its type.
 * Anything else (a trap would be a bug) passes through unchanged.
 * @internal
 */
export function fromCore(thrown: unknown): unknown {
  if (thrown instanceof Error && !(thrown instanceof CallsignError)) {
    const at = thrown.message.indexOf(": ");
    const code = at > 0 ? thrown.message.slice(0, at) : "";
    if (CODES.has(code)) {
      return new CallsignError(code as ErrorCode, thrown.message.slice(at + 2));
    }
  }
  return thrown;
}
