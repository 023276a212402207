import { defineConfig } from "vitest/config";

// convex-test runs the functions in the edge runtime, close to Convex's own V8 isolate.
export default defineConfig({
  test: {
    environment: "edge-runtime",
    include: ["tests/**/*.test.ts"],
    server: { deps: { inline: ["convex-test"] } },
  },
});
