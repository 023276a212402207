// Runs a Convex CLI bundle of test/convex/calls.js (path in argv) under Deno: the bundled
// query verifies a call signed here with the unbundled package, rejects a changed one,
// and the bundled action signs inside. Prints one JSON line with the outcomes.
import { Signer, generateKey } from "../../dist/index.js";

const bundle = await import(new URL(`file://${Deno.args[0]}`).href);
const key = generateKey("bundled");
Deno.env.set("CALLSIGN_KEYS", key);

const signer = new Signer(key, { audience: "https://happy-otter-123.convex.cloud" });
const args = signer.sign("calls:echo", { body: "hi", count: 3n });
const ctx = {};
const accepted = await bundle.echo._handler(ctx, args);
const changed = await bundle.echo._handler(ctx, { ...args, body: "ho" });
const inside = (await bundle.signInside._handler(ctx, {})).verified;
console.log(JSON.stringify({ accepted, changed, inside }));
