// A loopback deployment for the end-to-end tests of the runtimes that are not Node: the Python
// package (crates/callsign-py/tests), the Rust `convex` client support (crates/callsign-convex)
// and `callsign call` (crates/callsign-cli). It serves pkg/test/convex (signed `messages:send`,
// the gateway with `settings:store` on its mutation allow-list) in convex-test behind the
// stand-in for Convex's HTTP API (pkg/test/http/convex-http-stub.mjs), the way
// pkg/test/level3.test.mjs does for the npm clients.
//
//   CALLSIGN_TEST_ROOT_KEY=csk1_… node tests/e2e/convex-stub.mjs
//   → one JSON line on stdout: {"url": "http://127.0.0.1:<port>", "control": "http://127.0.0.1:<port>"}
//
// The deployment holds only the key derived from CALLSIGN_TEST_ROOT_KEY for its own URL (as
// `npx convex env set CALLSIGN_KEYS "$(callsign derive …)"` would set it), and its
// CONVEX_CLOUD_URL is `url`. `control` answers GET /state with what the tests check:
// {"messages": [<body of each stored message, in order>], "requests": [{endpoint, body}, …]}.
// The process exits when its stdin closes, so a test that dies takes it along.
//
// Needs pkg/build (pkg/dist, pkg/node_modules): scripts/test runs it first.
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const PKG = new URL("../../pkg/", import.meta.url);
const require = createRequire(new URL("package.json", PKG));
const { convexTest } = await import(pathToFileURL(require.resolve("convex-test")).href);
const { deriveKey } = await import(new URL("dist/index.js", PKG).href);
const { convexModules, serveConvex } = await import(new URL("test/http/convex-http-stub.mjs", PKG).href);
const { default: schema } = await import(new URL("test/convex/schema.js", PKG).href);

const root = process.env.CALLSIGN_TEST_ROOT_KEY;
if (!root) {
  console.error("convex-stub: set CALLSIGN_TEST_ROOT_KEY to the signers' root key");
  process.exit(2);
}

const modules = await convexModules(new URL("test/convex/", PKG));
const t = convexTest(schema, modules);
const deployment = await serveConvex({ t, modules });
// What a deployment has: its own URL, and only the key derived for it.
process.env.CONVEX_CLOUD_URL = deployment.url;
process.env.CALLSIGN_KEYS = deriveKey(root, deployment.url);

const control = createServer((req, res) => {
  const reply = (status, body) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
    res.end(text);
  };
  if (req.method !== "GET" || req.url !== "/state") return reply(404, { error: "GET /state only" });
  t.run(async (ctx) => (await ctx.db.query("messages").collect()).map((m) => m.body))
    .then((messages) => reply(200, { messages, requests: deployment.requests }))
    .catch((e) => reply(500, { error: String(e?.stack ?? e) }));
});
await new Promise((resolve) => control.listen(0, "127.0.0.1", resolve));

process.stdout.write(
  `${JSON.stringify({ url: deployment.url, control: `http://127.0.0.1:${control.address().port}` })}\n`,
);

const stop = async () => {
  control.close();
  control.closeAllConnections();
  await deployment.close();
  process.exit(0);
};
process.stdin.on("end", stop);
process.stdin.on("close", stop);
process.stdin.resume();
process.on("SIGTERM", stop);
