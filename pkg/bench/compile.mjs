// In a fresh process (V8 caches compiled modules within one): how long the inlined module
// takes to import, decode, compile and instantiate. Prints ms as JSON.
const t0 = performance.now();
const core = await import("../dist/wasm/callsign_wasm.js");
const { default: b64 } = await import("../dist/wasm/bytes.js");
const t1 = performance.now();
const bytes = Buffer.from(b64, "base64");
const t2 = performance.now();
const module = new WebAssembly.Module(bytes);
const t3 = performance.now();
core.initSync({ module });
const t4 = performance.now();
console.log(JSON.stringify({ load: t1 - t0, decode: t2 - t1, compile: t3 - t2, instantiate: t4 - t3 }));
