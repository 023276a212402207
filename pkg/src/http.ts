/**
 * Signed HTTP requests with the Fetch API (SPEC.md §11): sign a `Request` or `fetch` a signed
 * one, and verify a received `Request` in a Next.js route handler, Hono, Deno, Bun, Convex or
 * anything with a `Request`. Uses only Fetch-API globals (`Request`, `Headers`, `URL`,
 * `fetch`), no Node-only API, so signing also works inside Convex actions; the MAC is the Rust
 * core's, in wasm.
 *
 * ```ts
 * import { signedFetch, verifyRequest } from "convex-callsign/client";
 * import { MemoryNonceStore } from "convex-callsign/stores";
 *
 * // Caller: key from CALLSIGN_KEY, audience = the URL's origin.
 * await signedFetch("https://happy-otter-123.convex.site/api/send", { method: "POST", body: "{}" });
 *
 * // Receiver (e.g. app/api/send/route.ts):
 * const store = new MemoryNonceStore(); // one process; RedisNonceStore for several
 * export async function POST(request: Request) {
 *   const verified = await verifyRequest(request, {
 *     keys: process.env.CALLSIGN_SITE_KEYS!, audience: "https://my-app.example", store,
 *   });
 *   const args = JSON.parse(new TextDecoder().decode(verified.body));
 *   …
 * }
 * ```
 *
 * Next.js rewrites the query of a request before a route handler sees it (`%7e` → `%7E`, `~` →
 * `%7E`, `%20` → `+`, empty pairs dropped, repeated keys grouped, integer-like keys first): put
 * arguments in the body, or send only queries that `URLSearchParams` writes unchanged (built with
 * `new URLSearchParams(…)`, unique keys, none integer-like). Others fail as `bad_signature`.
 *
 * @module
 */
import {
  CallsignError,
  RequestSigner,
  RequestVerifier,
  type NonceStore,
  type RequestWindow,
  type SignRequestAtOptions,
  type VerifiedRequest,
} from "./index.js";

/** How {@link signRequest} and {@link signedFetch} sign. */
export interface SignRequestOptions extends SignRequestAtOptions {
  /** A root key or a key derived for the audience. Default: `CALLSIGN_KEY`. */
  key?: string;
  /** The receiver's origin. Default: the origin of the request's URL (where it is sent). */
  audience?: string;
}

/** How {@link verifyRequest} verifies. */
export interface VerifyRequestOptions {
  /** The key set: keys derived for `audience` (e.g. `process.env.CALLSIGN_SITE_KEYS`). */
  keys: string;
  /** This server's own origin (`https://host[:port]`; in Convex `CONVEX_SITE_URL`), never the request's. */
  audience: string;
  /**
   * Where (kid, nonce) pairs are recorded: `MemoryNonceStore` (one process) or `RedisNonceStore`
   * (many), from `convex-callsign/stores`. `null` skips replay protection: a captured request
   * can then be replayed while it is in its window.
   */
  store: NonceStore | null;
  /** The accepted time window (default ±60 s). */
  window?: RequestWindow;
  /** Largest accepted body (default 1 MiB): refused as `too_large` before it is read in full. */
  maxBodyBytes?: number;
  /** The current time in ms. Default `Date.now()`. */
  now?: number;
}

/** A verified request: its claims and the body's bytes (the request's body has been read). */
export interface VerifiedHttpRequest extends VerifiedRequest {
  /** The body's exact bytes, as verified. */
  body: Uint8Array;
}

const FETCH_UPPERCASED = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]);
const signers = new Map<string, RequestSigner>();
const verifiers = new Map<string, RequestVerifier>();
const CACHE_SIZE = 16;

/** One signer or verifier per configuration, so that keys are derived once, not per request. */
function cached<T extends { free(): void }>(cache: Map<string, T>, id: string, make: () => T): T {
  let hit = cache.get(id);
  if (hit === undefined) {
    hit = make();
    if (cache.size >= CACHE_SIZE) {
      const [oldest, value] = cache.entries().next().value as [string, T];
      cache.delete(oldest);
      value.free();
    }
    cache.set(id, hit);
  }
  return hit;
}

/**
 * A copy of `request` with `Content-Digest`, `Signature-Input` and `Signature` added, signed for
 * its method, path, query and body (which is read: the original cannot be sent afterwards).
 * `fetch` the result as it is: it sends exactly what was signed.
 * @throws {CallsignError} `malformed` (a method not in upper case, e.g. `patch`; a
 *   `Content-Encoding` header; an audience that is no origin) or `invalid_key`.
 */
export async function signRequest(request: Request, options: SignRequestOptions = {}): Promise<Request> {
  const url = new URL(request.url);
  signerFor(url, request.headers, options); // configuration errors before the body is read
  const body = new Uint8Array(await request.arrayBuffer());
  // Taken again after the await: the cache may have evicted (and freed) it meanwhile.
  const added = signerFor(url, request.headers, options).sign(request.method, url.pathname + url.search, body, options);
  const headers = new Headers(request.headers);
  for (const [name, value] of Object.entries(added)) headers.set(name, value);
  return new Request(url, {
    method: request.method,
    headers,
    body: body.length > 0 ? body : null,
    redirect: request.redirect,
    signal: request.signal,
    cache: request.cache,
    credentials: request.credentials,
    referrerPolicy: request.referrerPolicy,
  });
}

/**
 * `fetch(input, init)` with the request signed first ({@link signRequest}).
 * @throws {CallsignError} as {@link signRequest}; network errors as `fetch`.
 */
export async function signedFetch(
  input: string | URL,
  init: RequestInit = {},
  options: SignRequestOptions = {},
): Promise<Response> {
  // The common case, a body given as text or bytes (or none), is signed without building a
  // Request and reading it back: the same bytes, a fraction of the cost.
  const { body } = init;
  const bytes =
    body === undefined || body === null
      ? new Uint8Array(0)
      : typeof body === "string"
        ? new TextEncoder().encode(body)
        : body instanceof Uint8Array
          ? body
          : body instanceof ArrayBuffer
            ? new Uint8Array(body)
            : undefined;
  if (bytes === undefined) return fetch(await signRequest(new Request(input, init), options));
  const url = new URL(input);
  const headers = new Headers(init.headers);
  // As Fetch normalizes methods: these six to upper case, any other kept as given.
  const given = init.method ?? "GET";
  const method = FETCH_UPPERCASED.has(given.toUpperCase()) ? given.toUpperCase() : given;
  const signer = signerFor(url, headers, options);
  for (const [name, value] of Object.entries(signer.sign(method, url.pathname + url.search, bytes, options))) {
    headers.set(name, value);
  }
  return fetch(url, { ...init, method, headers, body: bytes.length > 0 ? bytes : null });
}

/** The cached signer for a request to `url`, after the checks every signed request passes. */
function signerFor(url: URL, headers: Headers, options: SignRequestOptions): RequestSigner {
  if (headers.has("content-encoding")) {
    throw new CallsignError(
      "malformed",
      "a signed request carries no Content-Encoding: the digest covers the body's bytes as sent",
    );
  }
  const key = options.key ?? env("CALLSIGN_KEY");
  if (key === undefined) throw new CallsignError("invalid_key", "no key given (is CALLSIGN_KEY set?)");
  const audience = options.audience ?? url.origin;
  return cached(signers, `${audience}\n${key}`, () => new RequestSigner(key, { audience }));
}

/**
 * Verifies a received signed request (SPEC.md §11.4) and records it in `options.store`: the size
 * limit first (before the body is read in full), then the headers (each of the three exactly once:
 * a repeated header is `malformed`), the key id, the body against `Content-Digest`, the MAC with
 * this server's own origin, the window, the replay. Reads the body once and returns it.
 * @throws {CallsignError} with the code of the first failed check.
 */
export async function verifyRequest(request: Request, options: VerifyRequestOptions): Promise<VerifiedHttpRequest> {
  const { keys, audience, window, maxBodyBytes, store } = options;
  const id = JSON.stringify([audience, window?.maxAgeMs, window?.maxFutureMs, maxBodyBytes, keys]);
  const verifierFor = () => cached(verifiers, id, () => new RequestVerifier(keys, { audience, window, maxBodyBytes }));
  // The configuration is checked before the body is read, and the limit applies while reading it.
  const body = await readBody(request, verifierFor().maxBodyBytes);
  // Taken again after the await: the cache may have evicted (and freed) it meanwhile. From here
  // on it is used synchronously (verifyOnce verifies before it awaits the store).
  const verifier = verifierFor();
  const url = new URL(request.url);
  const now = options.now ?? Date.now();
  const received = { method: request.method, target: url.pathname + url.search, headers: request.headers, body };
  const claims =
    store === null ? verifier.verify(received, { now }) : await verifier.verifyOnce(store, received, { now });
  return { ...claims, body };
}

/** The body's bytes, refusing more than `max` as `too_large` without reading further. */
async function readBody(request: Request, max: number): Promise<Uint8Array> {
  const tooLarge = (what: string) =>
    new CallsignError("too_large", `the body has ${what} bytes, over the limit of ${max} bytes`);
  const declared = request.headers.get("content-length");
  if (declared !== null && /^[0-9]{1,16}$/.test(declared) && Number(declared) > max) throw tooLarge(declared);
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > max) {
      await reader.cancel().catch(() => {});
      throw tooLarge(`more than ${max}`);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** An environment variable, where there is an environment. */
function env(name: string): string | undefined {
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return proc?.env?.[name];
}
