// Every shared vector through the package in Node (ESM, imported by its package name).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as convex from "convex/values";
import * as lib from "convex-callsign";
import { readFileSync } from "node:fs";
import { runVectors } from "./vectors.mjs";

test("every shared vector gives Rust's result through the wasm package", () => {
  const { counts, failures } = runVectors(lib, convex, (name) =>
    JSON.parse(readFileSync(new URL(`../../tests/vectors/${name}`, import.meta.url), "utf8")),
  );
  assert.deepEqual(failures, []);
  console.log(`vectors through wasm: ${JSON.stringify(counts)}`);
});
