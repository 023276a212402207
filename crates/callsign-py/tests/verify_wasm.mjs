// Verifies calls with the npm package's wasm Verifier (pkg/dist, the core compiled to
// WebAssembly), for crates/callsign-py/tests/test_interop.py.
//
// stdin: a JSON array of {keys, audience, function, signedArgs, now}, `signedArgs` being Convex
// JSON text. Each is verified twice, as a deployment would see it: as text (verifyJson), and as
// the Convex values a function receives (jsonToConvex, then verify). stdout: a JSON array of
// {text, values}, each the claims or {"error": code}.
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const PKG = new URL("../../../pkg/", import.meta.url);
const require = createRequire(new URL("package.json", PKG));
// convex/values as the package sees it (require.resolve gives its CommonJS build).
const values = await import(pathToFileURL(require.resolve("convex/values")).href);
const jsonToConvex = values.jsonToConvex ?? values.default.jsonToConvex;
const { CallsignError, Verifier } = await import(new URL("dist/index.js", PKG).href);

let input = "";
for await (const chunk of process.stdin) input += chunk;

const outcome = (verify) => {
  try {
    return verify();
  } catch (e) {
    if (e instanceof CallsignError) return { error: e.code };
    throw e;
  }
};

const results = JSON.parse(input).map(({ keys, audience, function: fn, signedArgs, now }) => {
  const verifier = new Verifier(keys, { audience });
  return {
    text: outcome(() => verifier.verifyJson(fn, signedArgs, { now })),
    values: outcome(() => verifier.verify(fn, jsonToConvex(JSON.parse(signedArgs)), { now })),
  };
});
process.stdout.write(JSON.stringify(results));
