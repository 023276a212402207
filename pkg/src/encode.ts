// Convex values → Convex JSON text in one walk: the values path of Signer.sign and
// Verifier.verify. It writes exactly the text `JSON.stringify(convexToJson(value))` writes
// (test/encoder-diff.mjs compares them byte for byte on fuzzed values), and in the same walk
// makes the prototype check of SPEC.md §2.5 (`checkPlain`).
//
// It only encodes. The core parses and validates what it writes: field names (ASCII,
// length, `__proto__`), depth, size, special forms. The one rule checked here is the `$`
// prefix of a field name, because `{"$integer": …}` would read as a special form, not as
// the object it came from.
//
// Whatever it does not write, it refuses, and the caller runs the reference instead
// (`referenceArgsToJson`: checkPlain, then convexToJson and JSON.stringify), so every refused
// value ends exactly as before: the same error code and message, or, where the reference
// writes text (a non-plain value nested deeper than the walk goes), the same text.
import { Base64, convexToJson } from "convex/values";
import { CallsignError } from "./errors.js";

const MIN_INT64 = -(2n ** 63n);
const MAX_INT64 = 2n ** 63n - 1n;

/**
 * Past this depth both walks stop: the core refuses anything nested deeper than 128 levels
 * (SPEC.md §2.5), so nothing there can verify.
 */
const MAX_WALK_DEPTH = 130;

/** Thrown inside the walk for a value it does not write; never escapes this module. */
const REFUSED: unique symbol = Symbol("refused");

const scratch = new DataView(new ArrayBuffer(8));
const scratchBytes = new Uint8Array(scratch.buffer);

function write(value: unknown, depth: number): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      if (Number.isFinite(value) && !Object.is(value, -0)) return "" + value;
      scratch.setFloat64(0, value, true);
      return `{"$float":"${Base64.fromByteArray(scratchBytes)}"}`;
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      if (value < MIN_INT64 || value > MAX_INT64) throw REFUSED;
      scratch.setBigInt64(0, value, true);
      return `{"$integer":"${Base64.fromByteArray(scratchBytes)}"}`;
    case "object":
      break;
    default:
      throw REFUSED; // undefined, function, symbol
  }
  if (value === null) return "null";
  if (value instanceof ArrayBuffer) return `{"$bytes":"${Base64.fromByteArray(new Uint8Array(value))}"}`;
  if (depth > MAX_WALK_DEPTH) throw REFUSED;
  const proto = Object.getPrototypeOf(value);
  if (Array.isArray(value)) {
    if (proto !== Array.prototype) throw REFUSED;
    const n = value.length;
    if (n === 0) return "[]";
    let out = "[";
    for (let i = 0; i < n; i++) {
      if (i > 0) out += ",";
      const item: unknown = value[i];
      // A hole: convexToJson's `map` keeps it, JSON.stringify writes null. An undefined
      // element is refused.
      if (item === undefined) {
        if (i in value) throw REFUSED;
        out += "null";
      } else {
        out += write(item, depth + 1);
      }
    }
    return out + "]";
  }
  // The prototype check (SPEC.md §2.5; index.ts): the plain prototype or none, and no own
  // "__proto__" member (JSON.parse makes one; convexToJson would drop it, unsigned).
  if ((proto !== Object.prototype && proto !== null) || Object.hasOwn(value, "__proto__")) {
    throw REFUSED;
  }
  let keys = Object.keys(value);
  // The order JSON.stringify(convexToJson(…)) writes: convexToJson inserts the members sorted
  // by UTF-16 code units into a new object, which puts array-index names ("0", "17") first,
  // in numeric order, as Object.keys lists them here too; the rest stay sorted. Objects Convex
  // hands to a function are in that order already (it decodes sorted JSON): check first.
  let first = 0;
  while (first < keys.length && isIndex(keys[first]!)) first++;
  for (let i = first + 1; i < keys.length; i++) {
    if (keys[i - 1]! > keys[i]!) {
      keys = first === 0 ? keys.sort() : keys.slice(0, first).concat(keys.slice(first).sort());
      break;
    }
  }
  let out = "{";
  for (const k of keys) {
    const v: unknown = (value as Record<string, unknown>)[k];
    if (v === undefined) continue; // convexToJson skips undefined members
    if (k.charCodeAt(0) === 36 /* $ */) throw REFUSED;
    if (out.length > 1) out += ",";
    out += JSON.stringify(k) + ":" + write(v, depth + 1);
  }
  return out + "}";
}

/** Whether `k` is an array index ("0" to "4294967294", no leading zero): JS orders those first. */
function isIndex(k: string): boolean {
  const c = k.charCodeAt(0);
  if (c < 48 || c > 57) return false;
  if (c === 48) return k.length === 1;
  if (k.length > 10) return false;
  for (let i = 1; i < k.length; i++) {
    const d = k.charCodeAt(i);
    if (d < 48 || d > 57) return false;
  }
  return Number(k) < 4294967295;
}

/**
 * The Convex JSON text of `value`, or `undefined` where the one walk does not write it
 * (invalid, or not plain). Exported for the differential test.
 * @internal
 */
export function encodeConvexJson(value: unknown): string | undefined {
  try {
    return write(value, 0);
  } catch {
    // REFUSED, or anything a getter or a proxy threw: the reference decides.
    return undefined;
  }
}

/**
 * The Convex JSON text of `args`, exactly as a Convex client would send them, after
 * checking that every object and array in them is plain (see {@link checkPlain}).
 * @throws {CallsignError} `malformed`.
 */
export function argsToJson(args: unknown): string {
  return encodeConvexJson(args) ?? referenceArgsToJson(args);
}

/**
 * The reference for {@link argsToJson}, and its path for every value the walk refuses:
 * checkPlain, then convexToJson and JSON.stringify.
 * @internal
 */
export function referenceArgsToJson(args: unknown): string {
  checkPlain(args);
  let json: unknown;
  try {
    json = convexToJson(args as never);
  } catch (e) {
    throw new CallsignError("malformed", `args are not Convex values: ${cut((e as Error).message)}`);
  }
  return JSON.stringify(json);
}

/**
 * SPEC.md §2.5: Convex builds args with `jsonToConvex`, which turns a `"__proto__"` member into
 * the object's prototype. `convexToJson`, and so the signature, sees only own members, while a
 * handler reads the prototype's too (`settings.isAdmin`). So every object must have the plain
 * prototype (or none) and no own `__proto__` member, and every array must be a plain array;
 * anything else is `malformed`. (`convexToJson` is laxer: it takes any prototype whose
 * constructor is named "Object", and silently drops an own `__proto__` member.)
 * @throws {CallsignError} `malformed`, naming the first value that is not plain.
 */
function checkPlain(args: unknown): void {
  const at = notPlainAt(args, 0);
  if (at !== undefined) {
    const path = ["args", ...at.reverse()].join(".");
    throw new CallsignError(
      "malformed",
      `args are not plain Convex values: ${cut(path)} is an object or array whose prototype is not the ` +
        `plain one (a "__proto__" member?); the signature could not cover what it inherits`,
    );
  }
}

/** The path (innermost key first) to the first value that is not plain, if any. */
function notPlainAt(value: unknown, depth: number): string[] | undefined {
  if (value === null || typeof value !== "object" || value instanceof ArrayBuffer) return undefined;
  if (depth > MAX_WALK_DEPTH) return undefined;
  const proto = Object.getPrototypeOf(value);
  if (Array.isArray(value)) {
    if (proto !== Array.prototype) return [];
    for (let i = 0; i < value.length; i++) {
      const at = notPlainAt(value[i], depth + 1);
      if (at !== undefined) return (at.push(String(i)), at);
    }
    return undefined;
  }
  // An own "__proto__" (JSON.parse makes one) would be dropped by convexToJson, unsigned.
  if ((proto !== Object.prototype && proto !== null) || Object.hasOwn(value, "__proto__")) return [];
  for (const key of Object.keys(value)) {
    const at = notPlainAt((value as Record<string, unknown>)[key], depth + 1);
    if (at !== undefined) return (at.push(key), at);
  }
  return undefined;
}

/** Messages quote at most a short prefix of any input (SPEC.md §9). */
export function cut(text: string): string {
  return text.length <= 160 ? text : `${text.slice(0, 160)}… (${text.length} characters)`;
}
