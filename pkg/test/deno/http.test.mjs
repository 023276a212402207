// Signed HTTP requests in Deno, a Fetch-API runtime with no Node globals in use: every
// http.json vector (through RequestVerifier and, where a Request can carry the case, through
// verifyRequest), and signRequest -> verifyRequest with Deno's own Request, crypto and clock.
import * as lib from "../../dist/index.js";
import * as http from "../../dist/http.js";
import * as stores from "../../dist/stores.js";
import { readFileSync } from "node:fs";
import { runHttpVectors } from "../http-vectors.mjs";

Deno.test("every http.json vector passes in Deno", async () => {
  const load = (name) => JSON.parse(readFileSync(new URL(`../../../tests/vectors/${name}`, import.meta.url), "utf8"));
  const { counts, failures } = await runHttpVectors(lib, http, stores, load);
  if (failures.length > 0) throw new Error(`${failures.length} failures:\n${failures.join("\n")}`);
  console.log(`http vectors in Deno ${Deno.version.deno}: ${JSON.stringify(counts)}`);
});

Deno.test("signRequest then verifyRequest with Deno's Request, clock and randomness", async () => {
  const key = lib.generateKey("deno");
  const site = "https://happy-otter-123.convex.site";
  const signed = await http.signRequest(new Request(`${site}/api/send?x=1`, { method: "POST", body: '{"a":1}' }), { key });
  const store = new stores.MemoryNonceStore();
  const verified = await http.verifyRequest(signed.clone(), { keys: lib.deriveKey(key, site), audience: site, store });
  if (verified.kid !== "deno" || verified.query !== "x=1" || new TextDecoder().decode(verified.body) !== '{"a":1}') {
    throw new Error(`unexpected claims ${JSON.stringify(verified)}`);
  }
  try {
    await http.verifyRequest(signed, { keys: key, audience: site, store });
    throw new Error("a replay was accepted");
  } catch (e) {
    if (e.code !== "replayed") throw e;
  }
});
