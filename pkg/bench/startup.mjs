// One cold start, run in a fresh process by bench/run.mjs: import convex/values (which any
// Convex app has loaded already), then the package, build a verifier and verify one signed
// call. Prints the phases in ms as JSON.
const t0 = performance.now();
await import("convex/values");
const t1 = performance.now();
const { Verifier } = await import("convex-callsign");
const t2 = performance.now();
const [keys, signedJson] = process.argv.slice(2);
const verifier = new Verifier(keys, { audience: "https://happy-otter-123.convex.cloud" });
verifier.verifyJson("messages:send", signedJson);
const t3 = performance.now();
console.log(
  JSON.stringify({ convex: t1 - t0, import: t2 - t1, firstVerify: t3 - t2, total: t3 - t1 }),
);
