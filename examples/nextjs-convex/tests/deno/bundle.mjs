// Level 2 under Deno: the bundle the Convex CLI would push (directory in argv) runs a signed
// session through convex-test. Prints the outcomes as one JSON line.
import { session } from "../bundle-harness.mjs";

const isolate = Deno.args[0].replace(/\/?$/, "/");
console.log(JSON.stringify(await session(isolate, (name, value) => Deno.env.set(name, value))));
