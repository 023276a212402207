// The package in Deno, unmodified: imported from dist/ with Deno's own npm resolution
// (convex from node_modules), and every shared vector run through it.
import * as convex from "convex/values";
import * as lib from "../../dist/index.js";
import { readFileSync } from "node:fs";
import { runVectors } from "../vectors.mjs";

Deno.test("the package loads in Deno and every shared vector passes", () => {
  const { counts, failures } = runVectors(lib, convex, (name) =>
    JSON.parse(readFileSync(new URL(`../../../tests/vectors/${name}`, import.meta.url), "utf8")),
  );
  if (failures.length > 0) throw new Error(`${failures.length} failures:\n${failures.join("\n")}`);
  console.log(`vectors through wasm in Deno ${Deno.version.deno}: ${JSON.stringify(counts)}`);
});

Deno.test("sign and verify with Deno's clock and crypto.getRandomValues", () => {
  const key = lib.generateKey("deno");
  const audience = "https://happy-otter-123.convex.cloud";
  const signed = new lib.Signer(key, { audience }).sign("messages:send", { n: 1n });
  const claims = new lib.Verifier(key, { audience }).verify("messages:send", signed);
  if (claims.kid !== "deno" || claims.canonicalArgs !== '{"n":{"$integer":"AQAAAAAAAAA="}}') {
    throw new Error(`unexpected claims ${JSON.stringify(claims)}`);
  }
});
