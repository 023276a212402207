// The package's Convex-facing entry points as an installed app reaches them: isCallsignError
// (the same guard from ".", "/convex" and "/client"), and "/test"'s module map, which must
// list every module of the built component.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { ConvexError } from "convex/values";
import { CallsignError, ERROR_CODES, isCallsignError } from "convex-callsign";
import * as convexEntry from "convex-callsign/convex";
import * as clientEntry from "convex-callsign/client";
import * as testEntry from "convex-callsign/test";

test("isCallsignError: a ConvexError with a callsign code and a message, and nothing else", () => {
  for (const code of ERROR_CODES) {
    assert.equal(isCallsignError(new ConvexError({ code, message: "m" })), true, code);
  }
  const not = [
    new ConvexError({ code: "closed", message: "the app's own code" }),
    new ConvexError({ code: "replayed" }),
    new ConvexError({ code: "replayed", message: 1 }),
    new ConvexError("replayed"),
    new ConvexError(null),
    new Error("replayed"),
    new CallsignError("replayed", "a core error is not a Convex one"),
    { data: { code: "replayed", message: "m" } },
    "replayed",
    null,
    undefined,
  ];
  for (const e of not) assert.equal(isCallsignError(e), false, String(e?.data ?? e));
  // A ConvexError from another copy of convex (a bundle has its own) carries the same marker.
  const foreign = Object.assign(new Error("x"), {
    name: "ConvexError",
    data: { code: "not_allowed", message: "m" },
    [Symbol.for("ConvexError")]: true,
  });
  assert.equal(isCallsignError(foreign), true);
});

test("isCallsignError is exported from the root, /convex and /client", () => {
  assert.equal(convexEntry.isCallsignError, isCallsignError);
  assert.equal(clientEntry.isCallsignError, isCallsignError);
});

test("/test registers every module of the built component", () => {
  const dir = new URL("../dist/component/", import.meta.url);
  const built = readdirSync(dir, { recursive: true })
    .filter((f) => f.endsWith(".js") && f !== "convex.config.js")
    .map((f) => `./component/${f.replaceAll("\\", "/")}`)
    .sort();
  assert.deepEqual(Object.keys(testEntry.modules).sort(), built);
  for (const load of Object.values(testEntry.modules)) assert.equal(typeof load, "function");
  // register() is what convex-test's registerComponent gets, under the name app.use() gives.
  const calls = [];
  const refs = testEntry.register({ registerComponent: (...args) => (calls.push(args), "refs") });
  assert.equal(refs, "refs");
  assert.deepEqual(calls, [["callsign", testEntry.schema, testEntry.modules]]);
  assert.equal(testEntry.register({ registerComponent: (name) => name }, "other"), "other");
});

test("/convex loads the verifier-only module, not the root bundle", async () => {
  const { readFileSync } = await import("node:fs");
  const source = readFileSync(new URL("../dist/convex.js", import.meta.url), "utf8");
  assert.doesNotMatch(source, /from "\.\/index\.js"/);
  assert.match(source, /from "\.\/verifier\.js"/);
  const verifierOnly = await import("../dist/wasm-verifier/callsign_wasm.js");
  const whole = await import("../dist/wasm/callsign_wasm.js");
  // One wasm module in the verifier bundle: the verifier-only one, for calls and requests alike
  // (its request wrappers once pulled the whole module in beside it).
  const bundle = readFileSync(new URL("../dist/verifier.js", import.meta.url), "utf8");
  assert.doesNotMatch(bundle, /dist\/wasm\/|"\.\/wasm\/callsign_wasm\.js"/);
  const root = readFileSync(new URL("../dist/index.js", import.meta.url), "utf8");
  assert.ok(bundle.length < root.length, `dist/verifier.js (${bundle.length} B) is not smaller than dist/index.js (${root.length} B)`);
  // Both verifiers (calls, and HTTP actions' requests); nothing that signs or makes keys.
  for (const name of ["WasmVerifier", "WasmRequestVerifier"]) assert.equal(typeof verifierOnly[name], "function", name);
  for (const name of ["WasmSigner", "WasmRequestSigner", "generateKey", "deriveKey"]) {
    assert.equal(verifierOnly[name], undefined, name);
    assert.equal(typeof whole[name], "function", name);
  }
});
