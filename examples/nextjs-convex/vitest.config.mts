import { defineConfig } from "vitest/config";

// convex-test runs the functions in the edge runtime, close to Convex's own V8 isolate.
export default defineConfig({
  test: {
    environment: "edge-runtime",
    include: ["tests/**/*.test.ts"],
    server: { deps: { inline: ["convex-test"] } },
  },
  resolve: {
    alias: {
      // lib/ marks its modules server-only; Next.js resolves that to nothing on the server, and
      // the tests run on the server's side too.
      "server-only": new URL("./tests/server-only.ts", import.meta.url).pathname,
      "@/": new URL("./", import.meta.url).pathname,
    },
  },
});
