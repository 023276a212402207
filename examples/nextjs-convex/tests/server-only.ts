// What `server-only` is on the server (Next.js resolves it so): nothing. See vitest.config.mts.
export {};
