// The shared vectors through the package inside a Convex function (convex-test, edge
// runtime): the same cases and codes as Rust, Node and Deno.
import { readFileSync } from "node:fs";
import { convexTest } from "convex-test";
import { expect, test } from "vitest";
import { api } from "./_generated/api.js";

const modules = import.meta.glob("./**/*.js");
const read = (name: string) =>
  readFileSync(new URL(`../../../tests/vectors/${name}.json`, import.meta.url), "utf8");

test("every shared vector gives Rust's result inside a Convex action", async () => {
  const t = convexTest(undefined, modules);
  const files = Object.fromEntries(
    ["canonical", "keys", "signing", "verify"].map((name) => [name, read(name)]),
  );
  const { counts, failures } = await t.action(api.vectors.run, { files });
  expect(failures).toEqual([]);
  console.log(`vectors inside a Convex action: ${JSON.stringify(counts)}`);
});
