// The differential test of the one-walk encoder (src/encode.ts) against the reference it
// replaced (the same module's referenceArgsToJson: checkPlain, then convexToJson and
// JSON.stringify, the package's previous values path, verbatim), on fuzzed Convex values.
//
// For each value, with E = the encoder (encodeConvexJson) and R = the reference:
//   1. E writes text and R writes text: the two must be equal, and so must their UTF-8 bytes
//      (TextEncoder; E's text goes into wasm memory with encodeInto, the same encoding).
//   2. E refuses (returns undefined) and R throws: "both refuse". The package then runs R, so
//      the caller gets R's error, code and message unchanged.
//   3. E writes text and R throws: allowed only where the rule is the core's, not the
//      encoder's: R's error must be convexToJson's field-name check (a name over 1024
//      characters, or with a character outside printable ASCII), and the core must refuse E's
//      text as `malformed` (canonicalize). Anything else fails.
//   4. E refuses and R writes text: allowed only for a value nested deeper than the walk goes
//      (130 levels, where checkPlain stops too); the package then writes R's text, which the
//      core refuses for its depth. Anything else fails.
// A refusal by R means a CallsignError with code `malformed`; any other exception fails.
//
// Usage: node test/encoder-diff.mjs [count] [seed]   (npm run diff:encoder -- 100000)
//        node --test test/encoder.test.mjs           (npm test: a short seeded sample)
import { mkdirSync } from "node:fs";
import { buildSync } from "esbuild";
import { canonicalize } from "convex-callsign";

const here = new URL(".", import.meta.url);
const out = new URL("../node_modules/.cache/callsign-test/encode.mjs", here);

/** Bundles src/encode.ts (the source dist/index.js bundles) into a module this test imports. */
export async function loadEncoder() {
  mkdirSync(new URL(".", out), { recursive: true });
  buildSync({
    entryPoints: [new URL("../src/encode.ts", here).pathname],
    bundle: true,
    format: "esm",
    platform: "neutral",
    external: ["convex/values"],
    outfile: out.pathname,
    logLevel: "warning",
  });
  return import(`${out.href}?${Date.now()}`);
}

/** mulberry32: a small seeded PRNG. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Thing {
  constructor() {
    this.a = 1;
  }
}
// A prototype convexToJson accepts (its constructor is named "Object") and checkPlain refuses.
const objectLookalike = Object.create({ constructor: { name: "Object" } });

/** A random Convex value, valid or not; `depth` bounds the nesting. */
export function generator(rand) {
  const int = (n) => Math.floor(rand() * n);
  const pick = (xs) => xs[int(xs.length)];
  const chance = (p) => rand() < p;

  const CHARS = [
    () => String.fromCharCode(0x61 + int(26)),
    () => String.fromCharCode(0x20 + int(95)), // printable ASCII: quotes, backslash, space
    () => String.fromCharCode(int(0x20)), // control characters: escapes
    () => String.fromCharCode(0x7f + int(0x80)), // DEL and Latin-1
    () => String.fromCharCode(0x100 + int(0xd700)), // BMP below the surrogates
    () => String.fromCharCode(0xe000 + int(0x2000)), // BMP above them
    () => String.fromCodePoint(0x10000 + int(0x100000)), // astral: a surrogate pair
    () => String.fromCharCode(0xd800 + int(0x400)), // lone high surrogate
    () => String.fromCharCode(0xdc00 + int(0x400)), // lone low surrogate
    () => pick(["\u2028", "\u2029", "\ufeff", "\ufffd", "\u0000", '"', "\\", "/", "é", "😀"]),
  ];
  const string = (max = 12, kinds = CHARS.length) => {
    let s = "";
    for (let n = int(max + 1); n > 0; n--) s += CHARS[int(kinds)]();
    return s;
  };
  const key = () => {
    const r = rand();
    if (r < 0.7) return string(8, 2); // ASCII, as Convex field names are
    if (r < 0.77) return String(int(20)); // integer-like: Object.keys puts them first
    if (r < 0.8) return "";
    if (r < 0.815) return `$${string(5, 1)}`;
    if (r < 0.825) return pick(["$integer", "$float", "$bytes", "$commitTs", "$set", "$map"]);
    if (r < 0.835) return "__proto__";
    if (r < 0.87) return pick(["constructor", "toString", "hasOwnProperty", "__proto__x", "_callsign"]);
    if (r < 0.88) return "k".repeat(pick([1023, 1024, 1025]));
    return string(6); // anything: non-ASCII, control characters, surrogates
  };
  const number = () =>
    pick([
      () => int(1000) - 500,
      () => (rand() - 0.5) * 10 ** (int(40) - 20),
      () => pick([0, -0, NaN, Infinity, -Infinity, 1e21, 1e-7, 5e-324, -5e-324, 2 ** 53, -(2 ** 53) - 2]),
      () => pick([Number.MAX_VALUE, Number.MIN_VALUE, Number.MAX_SAFE_INTEGER, 0.1 + 0.2, 1 / 3]),
      () => new Float64Array(new BigUint64Array([BigInt.asUintN(64, BigInt(int(2 ** 30)) << 34n)]).buffer)[0],
    ])();
  const bigint = () =>
    pick([
      () => BigInt(int(2000) - 1000),
      () => pick([2n ** 63n - 1n, -(2n ** 63n), 2n ** 63n, -(2n ** 63n) - 1n, 0n, -1n, 2n ** 64n]),
      () => BigInt.asIntN(64, BigInt(int(2 ** 32)) * BigInt(int(2 ** 32))),
      () => BigInt(int(2 ** 32)) ** 3n * (chance(0.5) ? 1n : -1n), // often beyond int64
    ])();
  const bytes = () => {
    const b = new Uint8Array(pick([0, 1, 2, 3, 4, 8, 16, int(64)]));
    for (let i = 0; i < b.length; i++) b[i] = int(256);
    return b.buffer;
  };
  const invalid = () =>
    pick([
      () => undefined,
      () => () => 1,
      () => Symbol("s"),
      () => new Map([["a", 1]]),
      () => new Set([1]),
      () => new Date(0),
      () => new Thing(),
      () => new Uint8Array(2),
      () => new String("boxed"),
      () => /re/,
      () => objectLookalike,
      () => Object.create({ inherited: true }),
      () => Object.setPrototypeOf([1, 2], Object.prototype),
      () => Object.setPrototypeOf({ a: 1 }, Array.prototype),
      () => JSON.parse('{"__proto__":{"isAdmin":true},"a":1}'), // an own "__proto__" member
      () => {
        const o = { a: 1 };
        Object.defineProperty(o, "__proto__", { value: 2, enumerable: false });
        return o;
      },
    ])();

  function value(depth) {
    const r = rand();
    if (depth <= 0 || r < 0.45) {
      const p = rand();
      if (p < 0.12) return null;
      if (p < 0.2) return chance(0.5);
      if (p < 0.45) return number();
      if (p < 0.75) return string();
      if (p < 0.86) return bigint();
      if (p < 0.975) return bytes();
      return invalid();
    }
    if (r < 0.7) return array(depth - 1);
    return object(depth - 1);
  }
  function array(depth) {
    const n = int(6);
    const a = [];
    for (let i = 0; i < n; i++) a.push(value(depth));
    const r = rand();
    if (r < 0.05) a.length += 2; // trailing holes
    else if (r < 0.1 && n > 1) delete a[int(n)]; // a hole
    else if (r < 0.13) a.extra = "ignored"; // a non-index property
    return a;
  }
  function object(depth) {
    const o = chance(0.05) ? Object.create(null) : {};
    for (let n = int(7); n > 0; n--) {
      const k = key();
      if (k === "__proto__") {
        if (chance(0.5)) continue;
        Object.defineProperty(o, k, { value: value(depth), enumerable: true, writable: true, configurable: true });
      } else {
        o[k] = chance(0.05) ? undefined : value(depth);
      }
    }
    if (chance(0.03)) o[Symbol("s")] = 1; // symbol keys: ignored by both
    if (chance(0.03)) Object.defineProperty(o, "hidden", { value: 1, enumerable: false });
    if (chance(0.03)) o[int(5)] = 1; // a number key: a string key in JS
    return o;
  }
  /** An args object (mostly), or any value. */
  return () => (chance(0.9) ? object(int(5)) : value(int(4)));
}

/** Values built by hand for the rules above, each run once per test run. */
export function fixedCases() {
  const deep = (n, leaf) => {
    let v = leaf;
    for (let i = 0; i < n; i++) v = i % 2 ? [v] : { a: v };
    return v;
  };
  const sparse = [1, , 3]; // eslint-disable-line no-sparse-arrays
  return [
    {},
    { a: 1, b: "x" },
    { b: 1, a: 2, 10: 3, 9: 4, A: 5, _: 6, "~": 7, " ": 8, "": 9 },
    { n: -0, nan: NaN, inf: Infinity, ninf: -Infinity, big: 1e21, tiny: 5e-324 },
    { i: 0n, max: 2n ** 63n - 1n, min: -(2n ** 63n) },
    { over: 2n ** 63n },
    { under: -(2n ** 63n) - 1n },
    { b: new ArrayBuffer(0), c: new Uint8Array([0, 255, 128]).buffer },
    { s: "\ud800", t: "\udfff", u: "a\ud83d\ude00b", v: "\u2028\u2029\u0000\u001f\u007f" },
    { "é": 1 },
    { "\u0000": 1 },
    { $a: 1 },
    { $a: undefined, b: 1 },
    { $integer: "AAAAAAAAAAA=" },
    { a: undefined },
    { a: [undefined] },
    { a: sparse },
    { a: new Array(3) },
    undefined,
    null,
    "text",
    [1, 2],
    JSON.parse('{"__proto__":{"isAdmin":true}}'),
    { a: JSON.parse('{"__proto__":1}') },
    Object.create(null),
    Object.assign(Object.create(null), { a: 1 }),
    { d: new Date(0) },
    { m: new Map() },
    { f() {} },
    { s: Symbol("x") },
    { c: new Thing() },
    { o: objectLookalike },
    { k: "k".repeat(1025) },
    { ["k".repeat(1025)]: 1 },
    { ["k".repeat(1024)]: 1 },
    deep(60, 1),
    deep(129, 1),
    deep(131, 1),
    deep(140, new Date(0)),
    deep(140, JSON.parse('{"__proto__":1}')),
  ];
}

const encoder = new TextEncoder();
/** A CallsignError (from the package, or from the test's own bundle of src/) with `code`. */
const refused = (e, code) => e instanceof Error && e.name === "CallsignError" && e.code === code;
const equalBytes = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const show = (v) => {
  try {
    return JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? `${x}n` : x))?.slice(0, 300);
  } catch {
    return String(v);
  }
};

/** Runs `values` through both; returns counts per outcome, throws at the first failure. */
export function differential(mod, values) {
  const counts = { equal: 0, bothRefuse: 0, coreRefuses: 0, deeperThanWalk: 0 };
  const fail = (v, why) => {
    throw new Error(`encoder differs from the reference: ${why}\n  value: ${show(v)}`);
  };
  for (const v of values) {
    const ours = mod.encodeConvexJson(v);
    let ref;
    let refError;
    try {
      ref = mod.referenceArgsToJson(v);
    } catch (e) {
      if (!refused(e, "malformed")) fail(v, `the reference threw ${e}`);
      refError = e;
    }
    if (ours !== undefined && ref !== undefined) {
      if (ours !== ref) fail(v, `text ${show(ours)} vs ${show(ref)}`);
      if (!equalBytes(encoder.encode(ours), encoder.encode(ref))) fail(v, "bytes");
      counts.equal++;
    } else if (ours === undefined && ref === undefined) {
      counts.bothRefuse++;
    } else if (ours !== undefined) {
      // convexToJson's validateObjectField: the name's length or a character (the message may
      // be cut before the reason); the `$` rule is the encoder's and never gets here.
      const m = refError.message;
      if (!m.startsWith("args are not Convex values: Field name ") || /starts with a '\$'/.test(m)) {
        fail(v, `the encoder wrote ${show(ours)}; the reference refused: ${refError.message}`);
      }
      let coreError;
      try {
        canonicalize(ours, { maxDepth: 128 });
      } catch (e) {
        coreError = e;
      }
      if (!refused(coreError, "malformed")) {
        fail(v, `the core accepted ${show(ours)}, which the reference refused: ${refError.message}`);
      }
      counts.coreRefuses++;
    } else {
      let deepest = 0;
      const walk = (x, d) => {
        deepest = Math.max(deepest, d);
        if (x !== null && typeof x === "object" && d < 200) for (const k of Object.keys(x)) walk(x[k], d + 1);
      };
      walk(v, 0);
      if (deepest <= 130) fail(v, `the encoder refused; the reference wrote ${show(ref)}`);
      counts.deeperThanWalk++;
    }
  }
  return counts;
}

/** `count` fuzzed values from `seed`, then the fixed cases. */
export function* values(count, seed) {
  const next = generator(prng(seed));
  for (let i = 0; i < count; i++) yield next();
  yield* fixedCases();
}
