// Server-only: where the route handlers that verify signed requests record (kid, nonce), so
// that each request is accepted once across every instance of this server.
//
// REDIS_URL set: RedisNonceStore on a node-redis client, shared by all instances (Redis >= 6.2).
// REDIS_URL unset: MemoryNonceStore, which holds for one process only: allowed for `next dev`
// and tests, refused in production (NODE_ENV=production), where several instances would each
// accept the same request once.
import "server-only";
import { createClient } from "redis";
import { CallsignError } from "convex-callsign";
import { MemoryNonceStore, RedisNonceStore, type NonceStore } from "convex-callsign/stores";

let opened: Promise<NonceStore> | undefined;

/** The store, opened on first use (a failed open is retried on the next request). */
export function nonceStore(): Promise<NonceStore> {
  opened ??= open().catch((e) => {
    opened = undefined;
    throw e;
  });
  return opened;
}

async function open(): Promise<NonceStore> {
  const url = process.env.REDIS_URL;
  if (url === undefined || url === "") {
    if (process.env.NODE_ENV === "production") {
      throw new CallsignError("misconfigured", "REDIS_URL is not set: a production server needs a shared replay store");
    }
    console.warn("callsign: REDIS_URL is not set; replays are refused within this process only (MemoryNonceStore)");
    return new MemoryNonceStore();
  }
  // Reconnects after a drop; while Redis cannot answer, the store's commands time out and
  // verification fails closed with `unavailable`.
  const client = createClient({ url, socket: { reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 2_000) } });
  client.on("error", (e: Error) => console.error(`callsign: redis: ${e.message}`));
  try {
    await connectWithin(client, 2_000);
  } catch (e) {
    client.destroy();
    throw new CallsignError("unavailable", `the replay store (Redis) cannot be reached: ${(e as Error).message}`);
  }
  return new RedisNonceStore(client);
}

/** client.connect(), given up after `ms` (node-redis would otherwise keep retrying). */
async function connectWithin(client: { connect(): Promise<unknown> }, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no connection within ${ms} ms`)), ms);
  });
  try {
    await Promise.race([client.connect(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
