// The package's own numbers (issue: WASM face): wasm size, cold start to first verify in a
// fresh Node process, and sign/verify time for ~1 KB args. Side-by-side peers belong to the
// performance bench. Run: npm run bench (after ./build).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { gzipSync } from "node:zlib";
import { convexToJson } from "convex/values";
import { Signer, Verifier, generateKey } from "callsign";
import { payload } from "./payload.mjs";

const AUD = "https://happy-otter-123.convex.cloud";
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** µs per call of f, after warm-up, as the median of 7 timed batches. */
function perOp(f, batch) {
  for (let i = 0; i < batch; i++) f();
  const runs = [];
  for (let r = 0; r < 7; r++) {
    const t = performance.now();
    for (let i = 0; i < batch; i++) f();
    runs.push(((performance.now() - t) * 1000) / batch);
  }
  return median(runs);
}

// What inlining the module costs at startup, and what compiling it costs (fresh each time).
const b64 = readFileSync(new URL("../dist/wasm/bytes.js", import.meta.url), "utf8").match(/"([^"]+)"/)[1];
const wasm = Buffer.from(b64, "base64");
const atobDecode = (text) => {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
};
const timeMs = (f, n = 20) => median(Array.from({ length: n }, () => {
  const t = performance.now();
  f();
  return performance.now() - t;
}));
const fresh = (script, ...args) =>
  JSON.parse(
    execFileSync(process.execPath, [new URL(script, import.meta.url).pathname, ...args], {
      encoding: "utf8",
    }),
  );
const phases = Array.from({ length: 15 }, () => fresh("./compile.mjs"));
const startup = {
  decode_buffer_ms: timeMs(() => Buffer.from(b64, "base64")),
  decode_atob_ms: timeMs(() => atobDecode(b64)),
  cold_load_module_js_ms: median(phases.map((p) => p.load)),
  cold_compile_ms: median(phases.map((p) => p.compile)),
  cold_instantiate_ms: median(phases.map((p) => p.instantiate)),
};

const key = generateKey("bench");
const signer = new Signer(key, { audience: AUD });
const verifier = new Verifier(key, { audience: AUD });

const small = signer.signJson("messages:send", '{"body":"hello"}');
const cold = Array.from({ length: 15 }, () => fresh("./startup.mjs", key, small));

const args = payload(1024);
const argsJson = JSON.stringify(convexToJson(args));
const signed = signer.sign("messages:send", args);
const signedJson = JSON.stringify(convexToJson(signed));
const now = signed._callsign.ts;

const results = {
  machine: `${cpus()[0].model} (${cpus().length} cores), Node ${process.version}`,
  wasm_bytes: wasm.length,
  wasm_gzip_bytes: gzipSync(wasm, { level: 9 }).length,
  ...startup,
  cold_convex_values_import_ms: median(cold.map((c) => c.convex)),
  cold_import_ms: median(cold.map((c) => c.import)),
  cold_first_verify_ms: median(cold.map((c) => c.firstVerify)),
  cold_total_ms: median(cold.map((c) => c.total)),
  args_json_bytes: argsJson.length,
  verify_values_us: perOp(() => verifier.verify("messages:send", signed, { now }), 2000),
  verify_json_us: perOp(() => verifier.verifyJson("messages:send", signedJson, { now }), 2000),
  sign_values_us: perOp(() => signer.sign("messages:send", args), 2000),
  sign_json_us: perOp(() => signer.signJson("messages:send", argsJson), 2000),
};

const rows = [
  ["wasm size", `${results.wasm_bytes} B raw, ${results.wasm_gzip_bytes} B gzipped`],
  ["base64 decode (Buffer / atob)", `${results.decode_buffer_ms.toFixed(3)} ms / ${results.decode_atob_ms.toFixed(3)} ms`],
  ["cold: load glue + inlined bytes", `${results.cold_load_module_js_ms.toFixed(2)} ms`],
  ["cold: WebAssembly.Module compile", `${results.cold_compile_ms.toFixed(2)} ms`],
  ["cold: instantiate", `${results.cold_instantiate_ms.toFixed(2)} ms`],
  ["cold: import convex/values (not ours)", `${results.cold_convex_values_import_ms.toFixed(2)} ms`],
  ["cold: import callsign", `${results.cold_import_ms.toFixed(2)} ms`],
  ["cold: init + first verify", `${results.cold_first_verify_ms.toFixed(2)} ms`],
  ["cold: import to first verify", `${results.cold_total_ms.toFixed(2)} ms`],
  [`verify ${results.args_json_bytes} B args (values)`, `${results.verify_values_us.toFixed(2)} µs`],
  [`verify ${results.args_json_bytes} B args (JSON text)`, `${results.verify_json_us.toFixed(2)} µs`],
  [`sign ${results.args_json_bytes} B args (values)`, `${results.sign_values_us.toFixed(2)} µs`],
  [`sign ${results.args_json_bytes} B args (JSON text)`, `${results.sign_json_us.toFixed(2)} µs`],
];
console.log(results.machine);
for (const [k, v] of rows) console.log(`${k.padEnd(36)} ${v}`);
console.log(JSON.stringify(results));
