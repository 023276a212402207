// Level 2: the bundle the Convex CLI would push. `convex dev --once --debug-bundle-path`
// runs the CLI's real bundler (esbuild, Convex's settings) against a loopback stand-in for
// the deployment API (no real backend can run here) and writes what it would upload. That
// bundle — the wasm inlined by Convex's bundler, its own copy of convex — then runs a signed
// session under convex-test, in this edge runtime and under Deno.
import { execFile, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
  stored: ["bundled"],
};

let dir: string;
let stub: Server;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "callsign-example-bundle-"));
  // A copy of the project: `convex dev` writes .env.local (the deployment URL), which must
  // not touch the app's own.
  const project = join(dir, "project");
  mkdirSync(project);
  cpSync(join(APP, "convex"), join(project, "convex"), { recursive: true });
  cpSync(join(APP, "package.json"), join(project, "package.json"));
  symlinkSync(join(APP, "node_modules"), join(project, "node_modules"));
  // All the CLI needs from a deployment to produce the bundle is an answer.
  stub = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.setHeader("content-type", "application/json");
      res.end("{}");
    });
  });
  await new Promise<void>((resolve) => stub.listen(0, "127.0.0.1", resolve));
  const port = (stub.address() as { port: number }).port;
  await promisify(execFile)(
    join(APP, "node_modules/.bin/convex"),
    ["dev", "--once", "--codegen", "disable", "--typecheck", "disable", "--tail-logs", "disable",
      "--debug-bundle-path", join(dir, "bundle")],
    {
      cwd: project,
      env: {
        ...process.env,
        CONVEX_DEPLOYMENT: "",
        CONVEX_SELF_HOSTED_URL: `http://127.0.0.1:${port}`,
        CONVEX_SELF_HOSTED_ADMIN_KEY: "bundle-check",
      },
      timeout: 120_000,
    },
  );
}, 180_000);

afterAll(() => {
  stub?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("the pushed bundle runs a signed session under convex-test (edge runtime)", async () => {
  const outcome = await session(`${join(dir, "bundle/isolate")}/`, (name: string, value: string) => {
    process.env[name] = value;
  });
  expect(outcome).toEqual(EXPECTED);
});

test("the pushed bundle runs the same session under Deno", () => {
  const deno = spawnSync(
    join(APP, "node_modules/.bin/deno"),
    ["run", "--no-check", "--no-prompt", "--allow-read", "--allow-env", "tests/deno/bundle.mjs", join(dir, "bundle/isolate")],
    { cwd: APP, encoding: "utf8", timeout: 60_000 },
  );
  expect(deno.status, `deno failed:\n${deno.stdout}\n${deno.stderr}`).toBe(0);
  expect(JSON.parse(deno.stdout.trim().split("\n").at(-1)!)).toEqual(EXPECTED);
});
