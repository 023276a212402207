// The README's Convex quick start shows examples/quickstart file for file: every code block
// that starts with `// <path>: ` is that file of the app, whole, and every file of the app's
// own code is shown. CI runs the app (from the package tarball), so the README's code runs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(fileURLToPath(new URL(".", import.meta.url)), "..", "..");
const app = join(root, "examples", "quickstart");
const readme = readFileSync(join(root, "README.md"), "utf8");

/** The app's own code: what a user writes (not codegen output, not config from `npm create`). */
const SHOWN = [
  "convex/convex.config.ts",
  "convex/schema.ts",
  "convex/callsign.ts",
  "convex/messages.ts",
  "convex/admin.ts",
  "vitest.config.mts",
  "tests/messages.test.ts",
  "tests/http.test.ts",
];

test("every README block naming a quick-start file is that file, whole", () => {
  const blocks = [...readme.matchAll(/```ts\n(\/\/ ([\w./-]+): [^\n]*\n[\s\S]*?)```\n/g)];
  const shown = new Set();
  for (const [, text, path] of blocks) {
    if (!existsSync(join(app, path))) continue; // a snippet of another example
    assert.equal(text, readFileSync(join(app, path), "utf8"), `README's ${path} differs from examples/quickstart/${path}`);
    shown.add(path);
  }
  assert.deepEqual([...shown].sort(), [...SHOWN].sort(), "the README shows every file of the quick start");
});
