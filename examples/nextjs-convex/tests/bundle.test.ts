// Level 2: the bundles the Convex CLI would push, run. No real backend can run here, so:
//
// * `convex deploy --push-all-modules --write-push-request` writes the request `deploy` would
//   send — the app's modules and the callsign component's, each bundled by the CLI's real
//   bundler (esbuild, Convex's settings; the component from convex-callsign's dist/component
//   through the package's exports) — and returns without any network call;
// * `convex dev --once --debug-bundle-path`, against a loopback stand-in answering `{}`, writes
//   what `dev` would push: the app's modules only (it leaves component code out), which must be
//   the push request's byte for byte.
//
// Both bundles (app and component) then run a signed session under convex-test, in this edge
// runtime and under Deno: the wasm inlined by Convex's bundler, each bundle with its own copy of
// convex.
import { execFile, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, test } from "vitest";
import { session } from "./bundle-harness.mjs";

const APP = new URL("..", import.meta.url).pathname;
const EXPECTED = {
  accepted: "accepted",
  replayed: "replayed",
  changed: "bad_signature",
  action: "bundle: 1 message(s)",
  gateway: true,
  notAllowed: "not_allowed",
  report: { for: "server key reporting", counts: { bundled: 1 } },
  outOfScope: "not_allowed",
  stored: ["bundled"],
  claimed: ["bundled", "bundled", "bundled"],
  cleanup: { deleted: 0, more: false },
};

type Module = { path: string; source: string; sourceMap?: string | null };
type PushRequest = {
  appDefinition: { schema: Module; changedModules: Module[]; dependencies: string[] };
  componentDefinitions: { definitionPath: string; schema: Module; functions: Module[] }[];
};

let dir: string;
let push: PushRequest;
let stub: Server;
const run = promisify(execFile);

/** Writes bundled modules (and their source maps) under `to`, as ES modules (named .js). */
function writeModules(to: string, modules: Module[]) {
  for (const m of modules) {
    mkdirSync(dirname(join(to, m.path)), { recursive: true });
    writeFileSync(join(to, m.path), m.source);
    if (m.sourceMap) writeFileSync(join(to, `${m.path}.map`), m.sourceMap);
  }
  writeFileSync(join(to, "package.json"), '{ "type": "module" }\n');
}

/** A port nothing listens on: the push request must not need a deployment. */
async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The CLI in the project copy, pointed at a self-hosted deployment at `url`. */
const cli = (project: string, url: string, args: string[]) =>
  run(join(APP, "node_modules/.bin/convex"), args, {
    cwd: project,
    env: {
      ...process.env,
      CI: "1",
      CONVEX_DEPLOYMENT: "",
      CONVEX_DEPLOY_KEY: "",
      CONVEX_SELF_HOSTED_URL: url,
      CONVEX_SELF_HOSTED_ADMIN_KEY: "bundle-check",
    },
    timeout: 120_000,
  });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "callsign-example-bundle-"));
  // A copy of the project: `convex dev` writes .env.local (the deployment URL), which must
  // not touch the app's own.
  const project = join(dir, "project");
  mkdirSync(project);
  cpSync(join(APP, "convex"), join(project, "convex"), { recursive: true });
  cpSync(join(APP, "package.json"), join(project, "package.json"));
  symlinkSync(join(APP, "node_modules"), join(project, "node_modules"));

  await cli(project, `http://127.0.0.1:${await unusedPort()}`, [
    "deploy", "-y", "--push-all-modules", "--write-push-request", join(dir, "push"),
    "--codegen", "disable", "--typecheck", "disable",
  ]);
  push = JSON.parse(readFileSync(join(dir, "push.json"), "utf8"));
  const [component] = push.componentDefinitions;
  writeModules(join(dir, "bundle/app"), [push.appDefinition.schema, ...push.appDefinition.changedModules]);
  writeModules(join(dir, "bundle/component"), [component!.schema, ...component!.functions]);

  // All the CLI needs from a deployment for `dev`'s bundle is an answer.
  stub = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.setHeader("content-type", "application/json");
      res.end("{}");
    });
  });
  await new Promise<void>((resolve) => stub.listen(0, "127.0.0.1", resolve));
  await cli(project, `http://127.0.0.1:${(stub.address() as { port: number }).port}`, [
    "dev", "--once", "--codegen", "disable", "--typecheck", "disable", "--tail-logs", "disable",
    "--debug-bundle-path", join(dir, "debug"),
  ]);
}, 240_000);

afterAll(() => {
  stub?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("the push request holds the app's modules and the component's, bundled from dist/component", () => {
  const app = push.appDefinition.changedModules.map((m) => m.path).filter((p) => !p.startsWith("_deps/"));
  expect(app.sort()).toEqual(["admin.js", "callsign.js", "messages.js", "reports.js"]);
  expect(push.componentDefinitions).toHaveLength(1);
  const [component] = push.componentDefinitions;
  expect(component!.definitionPath).toMatch(/node_modules\/convex-callsign\/dist\/component$/);
  expect(push.appDefinition.dependencies).toEqual([component!.definitionPath]);
  const functions = component!.functions.map((m) => m.path).filter((p) => !p.startsWith("_deps/"));
  expect(functions.sort()).toEqual(["crons.js", "store.js"]);
  // The component is only the store: no wasm, no verifier in it.
  for (const m of component!.functions) expect(m.source).not.toMatch(/WasmVerifier|callsign_wasm/);
});

test("`convex dev` pushes the same app modules, and leaves the component out", () => {
  const debug = join(dir, "debug/isolate");
  const files = readdirSync(debug, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(".js"))
    .sort();
  const app = push.appDefinition.changedModules;
  expect(files).toEqual(app.map((m) => m.path).sort());
  for (const m of app) expect(readFileSync(join(debug, m.path), "utf8"), m.path).toBe(m.source);
});

test("the pushed bundles run a signed session under convex-test (edge runtime)", async () => {
  const outcome = await session(`${join(dir, "bundle")}/`, (name: string, value: string) => {
    process.env[name] = value;
  });
  expect(outcome).toEqual(EXPECTED);
});

test("the pushed bundles run the same session under Deno", () => {
  const deno = spawnSync(
    join(APP, "node_modules/.bin/deno"),
    ["run", "--no-check", "--no-prompt", "--allow-read", "--allow-env", "tests/deno/bundle.mjs", join(dir, "bundle")],
    { cwd: APP, encoding: "utf8", timeout: 60_000 },
  );
  expect(deno.status, `deno failed:\n${deno.stdout}\n${deno.stderr}`).toBe(0);
  expect(JSON.parse(deno.stdout.trim().split("\n").at(-1)!)).toEqual(EXPECTED);
});
