// Level 2 under Deno: the bundles the Convex CLI would push (the directory in argv, holding
// app/ and component/) run a signed session through convex-test. Prints the outcomes as one
// JSON line.
import { session } from "../bundle-harness.mjs";

const bundle = Deno.args[0].replace(/\/?$/, "/");
console.log(JSON.stringify(await session(bundle, (name, value) => Deno.env.set(name, value))));
