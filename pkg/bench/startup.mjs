// One cold start, run in a fresh process by bench/run.mjs: import convex/values (which any
// Convex app has loaded already), then the package (or its verifier-only bundle), build a verifier and verify one signed
// call. Prints the phases in ms as JSON.
const t0 = performance.now();
await import("convex/values");
const t1 = performance.now();
// "verifier" as a third argument: the verifier-only bundle that convex-callsign/convex loads.
const { Verifier } = await import(process.argv[4] === "verifier" ? "../dist/verifier.js" : "convex-callsign");
const t2 = performance.now();
const [keys, signedJson] = process.argv.slice(2);
const verifier = new Verifier(keys, { audience: "https://happy-otter-123.convex.cloud" });
verifier.verifyJson("messages:send", signedJson);
const t3 = performance.now();
console.log(
  JSON.stringify({ convex: t1 - t0, import: t2 - t1, firstVerify: t3 - t2, total: t3 - t1 }),
);
