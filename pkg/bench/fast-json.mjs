// A PROTOTYPE, measured by run.mjs and not used by the package: Convex values → Convex JSON
// text in one pass, as a candidate replacement for the wrapper's
// `JSON.stringify(convexToJson(args))` (pkg/src/index.ts, argsToJson). It is equal to that
// text byte for byte (run.mjs checks it on every payload). What it saves over convexToJson: a
// copy of every object and array, Object.entries pairs for sorting, a path string built per
// value for error messages, and the second walk that JSON.stringify makes over the copy.
// Members stay sorted as convexToJson writes them: the core verifies sorted text faster than
// text it must sort itself.
//
// It must refuse everything convexToJson refuses, because the core would read some of it
// differently: above all a field named `$integer`/`$float`/`$bytes`, which the core would take
// as a special form. Other field-name rules (ASCII, length) and depth are the core's (SPEC.md
// §2.5) and fail there with the same `malformed` code.
import { Base64 } from "convex/values";

const MIN_INT64 = -(2n ** 63n);
const MAX_INT64 = 2n ** 63n - 1n;
const scratch = new DataView(new ArrayBuffer(8));
const scratchBytes = new Uint8Array(scratch.buffer);

function isSimpleObject(value) {
  const proto = Object.getPrototypeOf(value);
  return proto === null || proto === Object.prototype || proto?.constructor?.name === "Object";
}

function write(value) {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (Number.isFinite(value) && !Object.is(value, -0)) return JSON.stringify(value);
      scratch.setFloat64(0, value, true);
      return `{"$float":"${Base64.fromByteArray(scratchBytes)}"}`;
    case "bigint":
      if (value < MIN_INT64 || value > MAX_INT64) throw new Error(`BigInt ${value} does not fit into int64`);
      scratch.setBigInt64(0, value, true);
      return `{"$integer":"${Base64.fromByteArray(scratchBytes)}"}`;
    case "object": {
      if (value === null) return "null";
      if (value instanceof ArrayBuffer) return `{"$bytes":"${Base64.fromByteArray(new Uint8Array(value))}"}`;
      if (Array.isArray(value)) {
        let out = "[";
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ",";
          if (value[i] === undefined) throw new Error("undefined is not a valid Convex value");
          out += write(value[i]);
        }
        return `${out}]`;
      }
      if (!isSimpleObject(value)) throw new Error("not a supported Convex type");
      let out = "{";
      // convexToJson's order (UTF-16 code units; names are ASCII). Objects Convex hands to a
      // function are already in it (it decodes sorted JSON), so check before sorting.
      const keys = Object.keys(value);
      for (let i = 1; i < keys.length; i++) {
        if (keys[i - 1] > keys[i]) {
          keys.sort();
          break;
        }
      }
      for (const k of keys) {
        const v = value[k];
        if (v === undefined) continue;
        // `$`-names must never reach the core (special forms); the core checks the rest.
        if (k.charCodeAt(0) === 36) throw new Error(`Field name ${k} starts with a '$'`);
        if (out.length > 1) out += ",";
        out += `${JSON.stringify(k)}:${write(v)}`;
      }
      return `${out}}`;
    }
    default:
      throw new Error(`${typeof value} is not a supported Convex type`);
  }
}

/** Convex JSON text of `args`, as `JSON.stringify(convexToJson(args))` writes it. */
export function convexJsonText(args) {
  return write(args);
}
