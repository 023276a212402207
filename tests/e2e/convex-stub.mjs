// A loopback deployment for the end-to-end tests of the runtimes that are not Node: the Python
// package (crates/callsign-py/tests), the Rust `convex` client support (crates/callsign-convex),
// `callsign call` (crates/callsign-cli) and the closing-note run (tests/e2e/beyond_node.py).
// It is `serveConvex` from `convex-callsign/test` (the stand-in for Convex's HTTP API) in front
// of convex-test running a Convex app with the callsign component registered (`register`), as
// pkg/test/level3.test.mjs and examples/quickstart/tests/http.test.ts do for the npm clients.
//
//   CALLSIGN_TEST_ROOT_KEY=csk1_… node tests/e2e/convex-stub.mjs [APP_DIR]
//   → one JSON line on stdout: {"url": "http://127.0.0.1:<port>", "control": "http://127.0.0.1:<port>"}
//
// The app: without APP_DIR, the package's own test app, pkg/test/convex (JavaScript: signed
// `messages:send`, `settings:save` taking any value, the gateway with `settings:store` on its
// mutation allow-list), with convex-test and convex-callsign from pkg/. With APP_DIR, the
// Convex app there, TypeScript as users write it (e.g. examples/quickstart, or its copy that
// scripts/test installs from the package tarball): its `convex/` folder, with convex-test and
// convex-callsign from APP_DIR's node_modules. Plain Node imports no TypeScript, so a loader
// hook (ts-hooks.mjs) strips the types with the app's own `typescript` and resolves the
// extensionless relative imports the Convex bundler allows.
//
// The deployment holds only the key derived from CALLSIGN_TEST_ROOT_KEY for its own URL (as
// `npx convex env set CALLSIGN_KEYS "$(callsign derive …)"` would set it), and its
// CONVEX_CLOUD_URL is `url`. `control` answers GET /state with what the tests check:
// {"messages": [<body of each stored message, in order>], "requests": [{endpoint, body}, …]}.
// The process exits when its stdin closes, so a test that dies takes it along.
//
// Needs pkg/build (pkg/dist, pkg/node_modules), or an installed APP_DIR.
import { createServer } from "node:http";
import { createRequire, register as registerHooks } from "node:module";
import { readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = process.env.CALLSIGN_TEST_ROOT_KEY;
if (!root) {
  console.error("convex-stub: set CALLSIGN_TEST_ROOT_KEY to the signers' root key");
  process.exit(2);
}

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const appDir = process.argv[2] === undefined ? undefined : resolve(process.argv[2]);
// Where packages resolve from, and the app's convex/ folder.
const base = appDir ?? join(REPO, "pkg");
const convexDir = appDir === undefined ? join(REPO, "pkg", "test", "convex") : join(appDir, "convex");
const require = createRequire(join(base, "package.json"));
const load = (name) => import(pathToFileURL(require.resolve(name)).href);

if (appDir !== undefined) {
  registerHooks(new URL("ts-hooks.mjs", import.meta.url), {
    data: { typescript: pathToFileURL(require.resolve("typescript")).href, root: pathToFileURL(convexDir).href },
  });
}

const { convexTest } = await load("convex-test");
const { deriveKey } = await load("convex-callsign");
const { register, serveConvex } = await load("convex-callsign/test");
const modules = await appModules(convexDir);
const schemaFile = Object.keys(modules).find((file) => /\/schema\.[mc]?[jt]s$/.test(file));
const { default: schema } = await modules[schemaFile]();

const t = convexTest(schema, modules);
register(t);
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

/**
 * The app's modules as convex-test's second argument (what `import.meta.glob("./convex/**")`
 * gives under vitest): every .js/.mjs file under `dir` (and .ts for an APP_DIR, whose hooks load
 * it) but type declarations and tests, loaded lazily.
 */
async function appModules(dir) {
  const map = {};
  const source = appDir === undefined ? /\.m?js$/ : /\.(m?js|ts)$/;
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !source.test(entry.name) || entry.name.endsWith(".d.ts")) continue;
    const file = join(entry.parentPath ?? entry.path, entry.name);
    if (file.includes("/node_modules/") || /\.test\.[mc]?[jt]s$/.test(file)) continue;
    map[file] = () => import(pathToFileURL(file).href);
  }
  return map;
}
