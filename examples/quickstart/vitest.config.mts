// vitest.config.mts: convex-test runs the functions in the edge runtime, like Convex's isolate.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    environment: "edge-runtime",
    server: { deps: { inline: ["convex-test"] } },
  },
});
