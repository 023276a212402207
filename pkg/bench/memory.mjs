// Run in a fresh process by run.mjs (node --expose-gc): N verifications of a small call, then
// how much the wasm linear memory and the JS heap grew. Wasm memory never shrinks, so any leak
// or high-water mark in the core shows as growth of memory.buffer.byteLength; the JS heap is
// measured after a full GC. Prints one JSON object.
import { Signer, Verifier, generateKey } from "convex-callsign";
// The package's own glue module instance (same URL as dist/engine.js imports): initSync
// returns the already-instantiated exports, memory included, once the wrapper has run.
import * as glue from "../dist/wasm/callsign_wasm.js";

const n = Number(process.argv[2] ?? 1_000_000);
const AUD = "https://happy-otter-123.convex.cloud";
const key = generateKey("mem");
const signer = new Signer(key, { audience: AUD });
const verifier = new Verifier(key, { audience: AUD });
const args = { body: "hello wörld", n: 1n, tags: ["a", "b"] };
const now = Date.now();
const signed = signer.sign("messages:send", args, { now });
const signedJson = signer.signJson("messages:send", '{"body":"hello wörld","n":{"$integer":"AQAAAAAAAAA="},"tags":["a","b"]}', { now });
verifier.verify("messages:send", signed, { now });
verifier.verifyJson("messages:send", signedJson, { now });

const memory = glue.initSync().memory;
const state = () => {
  globalThis.gc();
  return { wasm: memory.buffer.byteLength, heap: process.memoryUsage().heapUsed };
};
const before = state();
const t = performance.now();
let ok = 0;
let peakWasm = before.wasm;
for (let i = 0; i < n; i++) {
  // Alternate the two entry points: Convex values (the Convex-function path) and JSON text.
  const claims =
    i & 1
      ? verifier.verifyJson("messages:send", signedJson, { now })
      : verifier.verify("messages:send", signed, { now });
  if (claims.kid === "mem") ok++;
  if ((i & 0xffff) === 0) peakWasm = Math.max(peakWasm, memory.buffer.byteLength);
}
const seconds = (performance.now() - t) / 1000;
const after = state();
console.log(
  JSON.stringify({
    verifications: n,
    verified: ok,
    seconds,
    wasm_before: before.wasm,
    wasm_after: after.wasm,
    wasm_peak: Math.max(peakWasm, after.wasm),
    heap_before: before.heap,
    heap_after: after.heap,
  }),
);
