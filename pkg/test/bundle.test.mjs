// The package through the Convex CLI's own bundler, with no configuration: a throwaway
// Convex project whose functions import "convex-callsign" is pushed with
// `convex dev --once --debug-bundle-path` against a loopback stub of the deployment API (no
// real backend can run here), and the bundle the CLI would upload is then run under Deno:
// a signed call verifies and a changed one is rejected, inside the bundled code.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { execFile } from "node:child_process";

const PKG = fileURLToPath(new URL("../", import.meta.url));
const run = promisify(execFile);

/** A stand-in deployment: answers every request with `{}` (all the CLI needs for a bundle). */
async function stubDeployment() {
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.setHeader("content-type", "application/json");
      res.end("{}");
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

test("the Convex CLI bundles the package and the bundle verifies calls under Deno", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "callsign-bundle-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const project = join(dir, "project");
  const modules = join(project, "node_modules");
  mkdirSync(join(project, "convex"), { recursive: true });
  mkdirSync(modules);
  // The package as an app would have it installed, next to pkg/'s own convex.
  symlinkSync(PKG.replace(/\/$/, ""), join(modules, "convex-callsign"));
  for (const name of readdirSync(join(PKG, "node_modules"))) {
    symlinkSync(join(PKG, "node_modules", name), join(modules, name));
  }
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({
      name: "bundle-check",
      private: true,
      type: "module",
      dependencies: { callsign: "*", convex: "*" },
    }),
  );
  cpSync(join(PKG, "test/convex/calls.js"), join(project, "convex/calls.js"));

  const server = await stubDeployment();
  t.after(() => server.close());
  const bundle = join(dir, "bundle");
  await run(
    join(modules, ".bin/convex"),
    ["dev", "--once", "--typecheck", "disable", "--tail-logs", "disable", "--debug-bundle-path", bundle],
    {
      cwd: project,
      env: {
        ...process.env,
        CONVEX_DEPLOYMENT: "",
        CONVEX_SELF_HOSTED_URL: `http://127.0.0.1:${server.address().port}`,
        CONVEX_SELF_HOSTED_ADMIN_KEY: "bundle-check",
      },
      timeout: 120_000,
    },
  );
  const bundled = join(bundle, "isolate/calls.js");

  const deno = spawnSync(
    join(PKG, "node_modules/.bin/deno"),
    ["run", "--no-check", "--no-prompt", "--allow-read", "--allow-env", join(PKG, "test/deno/bundle.mjs"), bundled],
    { cwd: dir, encoding: "utf8", timeout: 60_000 },
  );
  assert.equal(deno.status, 0, `deno failed:\n${deno.stdout}\n${deno.stderr}`);
  assert.deepEqual(JSON.parse(deno.stdout.trim().split("\n").at(-1)), {
    accepted: { ok: true, kid: "bundled", function: "calls:echo", body: "hi" },
    changed: { ok: false, code: "bad_signature" },
    inside: "inside",
  });
});
