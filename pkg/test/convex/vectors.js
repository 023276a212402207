// Every shared vector inside a Convex function: the action runs the same runner as the
// Node and Deno tests (../vectors.mjs), here in convex-test's edge runtime.
import * as values from "convex/values";
import { v } from "convex/values";
import * as lib from "convex-callsign";
import { action } from "./_generated/server.js";
import { runVectors } from "../vectors.mjs";

export const run = action({
  // The vector files' texts, by name without ".json" (a function cannot read files).
  args: { files: v.record(v.string(), v.string()) },
  handler: async (_ctx, { files }) =>
    runVectors(lib, values, (name) => JSON.parse(files[name.replace(/\.json$/, "")])),
});
