/**
 * Replay stores outside Convex (SPEC.md §8): `MemoryNonceStore` for one process and
 * `RedisNonceStore` for many processes or instances.
 *
 * ```ts
 * import { createClient } from "redis";
 * import { RedisNonceStore } from "convex-callsign/stores";
 *
 * const redis = await createClient({ url: process.env.REDIS_URL }).connect();
 * const store = new RedisNonceStore(redis);           // node-redis (`redis` on npm) as it is
 * // ioredis: new RedisNonceStore({ sendCommand: (args) => ioredis.call(args[0], ...args.slice(1)) })
 * await verifyRequest(request, { keys, audience, store });
 * ```
 *
 * @module
 */
import REDIS_SCRIPT from "./wasm/redis_script.js";
import { CallsignError, type NonceRecord, type NonceStore } from "./index.js";

export type { NonceRecord, NonceStore } from "./index.js";

/**
 * A replay store for one process (SPEC.md §8), with the rules of the Rust core's
 * `MemoryNonceStore`: a record is forgotten, oldest `ts` first, once `ts + R < now`, R being the
 * longest window (`rememberUntil − ts`) it has accepted; every pair signed at or before the latest
 * forgotten `ts` (the watermark) is refused, whatever window it claims. `remember` is synchronous,
 * so two verifications in one process never interleave inside it. Several processes or instances
 * need a shared store: {@link RedisNonceStore}.
 */
export class MemoryNonceStore implements NonceStore {
  /** `kid nonce` → ts of every pair held. */
  readonly #held = new Map<string, number>();
  /** The held pairs as a binary min-heap by ts: the order they are forgotten in. */
  readonly #heap: { ts: number; id: string }[] = [];
  #watermarkTs: number | null = null;
  #retentionMs = 0;

  /** Records the pair, or throws `replayed`. */
  remember(record: NonceRecord, nowMs: number): void {
    this.#forget(nowMs);
    const { kid, nonce, ts, rememberUntil } = record;
    if (this.#watermarkTs !== null && ts <= this.#watermarkTs) {
      throw new CallsignError(
        "replayed",
        `nonce ${nonce} of key "${kid}" may already have been accepted: it was signed at ${ts}, and records ` +
          `of calls signed as late as ${this.#watermarkTs} have been forgotten`,
      );
    }
    const id = `${kid} ${nonce}`;
    if (this.#held.has(id)) throw new CallsignError("replayed", `nonce ${nonce} of key "${kid}" was already accepted`);
    this.#retentionMs = Math.max(this.#retentionMs, rememberUntil - ts);
    this.#held.set(id, ts);
    this.#push({ ts, id });
  }

  /** How many pairs are held (expired ones may linger until the next `remember`). */
  get size(): number {
    return this.#held.size;
  }

  /** The latest forgotten `ts`, or null. */
  get watermarkTs(): number | null {
    return this.#watermarkTs;
  }

  /** Forgets, oldest first, every record with `ts + R < now`, raising the watermark. */
  #forget(now: number): void {
    const heap = this.#heap;
    while (heap.length > 0 && heap[0].ts + this.#retentionMs < now) {
      const { ts, id } = this.#pop();
      this.#held.delete(id);
      this.#watermarkTs = ts; // forgotten in ts order: the latest so far
    }
  }

  #push(entry: { ts: number; id: string }): void {
    const heap = this.#heap;
    heap.push(entry);
    for (let i = heap.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (heap[parent].ts <= heap[i].ts) break;
      [heap[parent], heap[i]] = [heap[i], heap[parent]];
      i = parent;
    }
  }

  #pop(): { ts: number; id: string } {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      for (let i = 0; ; ) {
        const [l, r] = [2 * i + 1, 2 * i + 2];
        let least = i;
        if (l < heap.length && heap[l].ts < heap[least].ts) least = l;
        if (r < heap.length && heap[r].ts < heap[least].ts) least = r;
        if (least === i) break;
        [heap[least], heap[i]] = [heap[i], heap[least]];
        i = least;
      }
    }
    return top;
  }
}

/**
 * The one thing {@link RedisNonceStore} needs of a Redis client: send a command given as strings
 * and resolve to its reply. A node-redis (`redis`) client has it as is.
 */
export interface RedisCommandSender {
  /** Sends `args` (`["EVAL", script, …]`) and resolves to the reply. */
  sendCommand(args: string[]): Promise<unknown>;
}

/** How a {@link RedisNonceStore} is set up. */
export interface RedisNonceStoreOptions {
  /** Key prefix (default `callsign:`); in a Redis Cluster a hash-tagged one such as `{callsign}:`. */
  prefix?: string;
  /**
   * How long records are kept, R in ms (default 120 000): at least the largest `maxAgeMs` of every
   * verifier using the store. Fresh calls older than R by Redis's clock are refused as `replayed`.
   */
  retentionMs?: number;
  /** How long to wait for Redis before failing closed with `unavailable` (default 2000 ms). */
  timeoutMs?: number;
}

/**
 * A replay store in Redis (≥ 6.2), shared by every process that verifies the same calls or
 * requests (SPEC.md §8.1). Each check-and-record is one Lua script, the same one the Rust store
 * runs: `SET <prefix>n:<kid>:<nonce> NX PXAT ts+R+1`, after refusing pairs signed at or before a
 * watermark that the script raises to `Redis time − R − 1`. So concurrent verifications of one
 * call accept it once, and every pair Redis has expired stays refused, whatever window a
 * verifier uses. When Redis cannot answer (down, unreachable, over `timeoutMs`), `remember`
 * throws `unavailable`: nothing is accepted.
 */
export class RedisNonceStore implements NonceStore {
  readonly #client: RedisCommandSender;
  readonly #prefix: string;
  readonly #retentionMs: number;
  readonly #timeoutMs: number;

  constructor(client: RedisCommandSender, options: RedisNonceStoreOptions = {}) {
    if (typeof client?.sendCommand !== "function") {
      throw new CallsignError("misconfigured", "RedisNonceStore needs a client with sendCommand(args) (node-redis)");
    }
    this.#client = client;
    this.#prefix = options.prefix ?? "callsign:";
    this.#retentionMs = options.retentionMs ?? 120_000;
    this.#timeoutMs = options.timeoutMs ?? 2_000;
  }

  /** The Lua script (SPEC.md §8.1). */
  static get script(): string {
    return REDIS_SCRIPT;
  }

  /** Records the pair, or throws `replayed`, `unavailable` or `misconfigured`. */
  async remember(record: NonceRecord, _nowMs: number): Promise<void> {
    const { kid, nonce, ts, rememberUntil } = record;
    const needed = rememberUntil - ts;
    if (needed > this.#retentionMs) {
      throw new CallsignError(
        "misconfigured",
        `the replay store keeps records ${this.#retentionMs} ms, less than this verifier's window needs ` +
          `(${needed} ms): give it a retentionMs of at least the largest maxAgeMs`,
      );
    }
    const args = [
      "EVAL",
      REDIS_SCRIPT,
      "2",
      `${this.#prefix}n:${kid}:${nonce}`,
      `${this.#prefix}watermark`,
      String(ts),
      String(this.#retentionMs),
    ];
    let timer: ReturnType<typeof setTimeout> | undefined;
    let reply: unknown;
    try {
      reply = await Promise.race([
        this.#client.sendCommand(args),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${this.#timeoutMs} ms`)), this.#timeoutMs);
        }),
      ]);
    } catch (e) {
      const text = String((e as Error)?.message ?? e).slice(0, 64);
      throw new CallsignError("unavailable", `the replay store (Redis) failed, so the call was not accepted: ${text}`);
    } finally {
      clearTimeout(timer);
    }
    const [status, watermark] = Array.isArray(reply) ? reply.map(Number) : [NaN, NaN];
    if (status === 2) return;
    if (status === 1) throw new CallsignError("replayed", `nonce ${nonce} of key "${kid}" was already accepted`);
    if (status === 0) {
      throw new CallsignError(
        "replayed",
        `nonce ${nonce} of key "${kid}" may already have been accepted: it was signed at ${ts}, at or before ` +
          `the store's watermark ${watermark} (records signed that early have expired)`,
      );
    }
    throw new CallsignError("unavailable", "the replay store's script gave an unexpected answer");
  }
}
