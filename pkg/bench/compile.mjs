// In a fresh process (V8 caches compiled modules within one): how long the wasm module takes
// to load, decode, compile and instantiate. Prints ms as JSON. Reads the module the way the
// build ships it: inlined as base64 (pkg/build writes it to src/wasm/bytes.js and bundles it into
// dist/index.js), or a dist/wasm/*.wasm file.
import { existsSync, readFileSync } from "node:fs";

const t0 = performance.now();
const core = await import("../dist/wasm/callsign_wasm.js");
const inlined = new URL("../src/wasm/bytes.js", import.meta.url);
const b64 = existsSync(inlined) ? (await import(inlined.href)).default : null;
const t1 = performance.now();
const bytes =
  b64 !== null
    ? Buffer.from(b64, "base64")
    : readFileSync(new URL("../dist/wasm/callsign_wasm_bg.wasm", import.meta.url));
const t2 = performance.now();
const module = new WebAssembly.Module(bytes);
const t3 = performance.now();
core.initSync({ module });
const t4 = performance.now();
console.log(JSON.stringify({ load: t1 - t0, decode: t2 - t1, compile: t3 - t2, instantiate: t4 - t3 }));
