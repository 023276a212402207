/**
 * Signed HTTP requests (SPEC.md §11, an RFC 9421 profile): the core's request signer and
 * verifier, and the replay-store interface that verification records into. Everything here
 * runs the Rust core in wasm; JS never hashes or MACs. The Fetch-API helpers
 * (`signRequest`, `signedFetch`, `verifyRequest`) are in `convex-callsign/client`, the
 * replay stores (memory, Redis) in `convex-callsign/stores`.
 *
 * @module
 */
import { withCore } from "./engine.js";
import { CallsignError } from "./errors.js";

/** The accepted time window around a request's `created` (SPEC.md §7). */
export interface RequestWindow {
  /** How old a request may be, in ms. Default 60 000. */
  maxAgeMs?: number;
  /** How far in the future a request may be stamped, in ms. Default 60 000. */
  maxFutureMs?: number;
}

/** The headers a signer adds, under the names it writes them with. */
export interface SignatureHeaders {
  /** `sha-256=:<base64>:` of the body (RFC 9530). */
  "Content-Digest": string;
  /** `sig1=("@method" "@authority" "@path" "@query" "content-digest");created=…;nonce=…;alg=…;keyid=…;tag="callsign"`. */
  "Signature-Input": string;
  /** `sig1=:<base64 of the MAC>:`. */
  Signature: string;
}

/** Per-request inputs of {@link RequestSigner.sign}; normally none. */
export interface SignRequestAtOptions {
  /** The signing time in ms (`created` is its whole seconds). Default `Date.now()`. */
  now?: number;
  /** A fixed nonce (32–64 lowercase hex digits), to reproduce a known signature in tests. */
  nonce?: string;
}

/** What a verified request proves (SPEC.md §11.4). */
export interface VerifiedRequest {
  /** Key id that signed. */
  kid: string;
  /** Signing time, ms: `created · 1000`. */
  ts: number;
  /** The request's nonce. */
  nonce: string;
  /** Until when (ms) the pair must be remembered: `ts + window.maxAgeMs`. */
  rememberUntil: number;
  /** The signed method. */
  method: string;
  /** The signed path, as sent. */
  path: string;
  /** The signed raw query, without its `?` (empty when there was none). */
  query: string;
}

/** What a replay store records of an accepted call or request (SPEC.md §8). */
export interface NonceRecord {
  /** Key id that signed. */
  kid: string;
  /** The nonce. */
  nonce: string;
  /** Signing time, ms. */
  ts: number;
  /** Until when the record must be kept: `ts + max_age`. */
  rememberUntil: number;
}

/**
 * A replay store: records each (kid, nonce) once. `remember` must check and record in one
 * atomic step and throw a `CallsignError` `replayed` for a pair it holds or may have
 * forgotten (SPEC.md §8), `unavailable` when it cannot answer (never accept then).
 */
export interface NonceStore {
  /** Records `record`, or throws (`replayed`, `unavailable`, `misconfigured`). */
  remember(record: NonceRecord, nowMs: number): void | Promise<void>;
}

/** How a {@link RequestSigner} is set up. */
export interface RequestSignerOptions {
  /** The receiver's origin, e.g. `https://happy-otter-123.convex.site` (its `CONVEX_SITE_URL`). */
  audience: string;
}

/** How a {@link RequestVerifier} is set up. */
export interface RequestVerifierOptions {
  /** This server's own origin (in Convex, `CONVEX_SITE_URL`): never taken from the request. */
  audience: string;
  /** The accepted time window. */
  window?: RequestWindow;
  /** Largest accepted body, in bytes (default 1 MiB); longer is `too_large`, before hashing. */
  maxBodyBytes?: number;
}

/** A received request, as {@link RequestVerifier.verify} takes it. */
export interface ReceivedRequest {
  /** The method, as sent. */
  method: string;
  /** The path and optional `?query`, as sent (`url.pathname + url.search`). */
  target: string;
  /** The received headers: a `Headers` object, or `[name, value]` pairs (repeats kept). */
  headers: HeadersLike | Iterable<readonly [string, string]>;
  /** The body's exact bytes. */
  body: Uint8Array;
}

/** What {@link ReceivedRequest.headers} needs of a Fetch `Headers` object. */
export interface HeadersLike {
  /** Calls `callback` with each header's value and lower-case name. */
  forEach(callback: (value: string, name: string) => void): void;
}

/** The headers the core reads; others are not passed into wasm. */
const SIGNATURE_HEADER_NAMES = new Set(["content-digest", "signature-input", "signature", "content-encoding"]);

/** Signs HTTP requests to one origin with one key, held inside the wasm module. */
export class RequestSigner {
  /** The key id requests are signed with. */
  readonly kid: string;
  /** The origin requests are signed for. */
  readonly audience: string;
  readonly #core: import("./wasm/callsign_wasm.js").WasmRequestSigner;

  /**
   * @param key A root key, or a key derived for `options.audience`.
   * @throws {CallsignError} `malformed` (an audience that is no origin) or `invalid_key`.
   */
  constructor(key: string, options: RequestSignerOptions) {
    if (typeof key !== "string") throw new CallsignError("invalid_key", "no key given (is CALLSIGN_KEY set?)");
    if (typeof options?.audience !== "string") {
      throw new CallsignError("malformed", "no audience given (the receiver's origin, e.g. its CONVEX_SITE_URL)");
    }
    this.#core = withCore((c) => new c.WasmRequestSigner(key, options.audience));
    this.kid = this.#core.kid;
    this.audience = this.#core.audience;
  }

  /**
   * The headers that sign `method` `target` (path and `?query` exactly as they will be sent)
   * with `body`.
   * @throws {CallsignError} `malformed` for a method or target not of the profile's form.
   */
  sign(method: string, target: string, body: Uint8Array, options: SignRequestAtOptions = {}): SignatureHeaders {
    const out = withCore(() => this.#core.sign(method, target, body, options.now ?? Date.now(), options.nonce));
    const [digest, input, signature] = out.split("\n");
    return { "Content-Digest": digest, "Signature-Input": input, Signature: signature };
  }

  /** Frees the key inside the wasm module now rather than at garbage collection. */
  free(): void {
    this.#core.free();
  }
}

/** Verifies signed HTTP requests to one origin against a key set held inside the wasm module. */
export class RequestVerifier {
  /** The origin this verifier accepts requests for. */
  readonly audience: string;
  /** The body size limit, in bytes. */
  readonly maxBodyBytes: number;
  readonly #core: import("./wasm/callsign_wasm.js").WasmRequestVerifier;

  /**
   * @param keys The key set, e.g. `process.env.CALLSIGN_SITE_KEYS`: keys derived for this origin.
   * @throws {CallsignError} `malformed` (an audience that is no origin) or `invalid_key`.
   */
  constructor(keys: string, options: RequestVerifierOptions) {
    if (typeof keys !== "string") throw new CallsignError("invalid_key", "no keys given (is CALLSIGN_SITE_KEYS set?)");
    if (typeof options?.audience !== "string") {
      throw new CallsignError("malformed", "no audience given (this server's origin, e.g. CONVEX_SITE_URL)");
    }
    const { audience, window, maxBodyBytes } = options;
    this.#core = withCore(
      (c) => new c.WasmRequestVerifier(keys, audience, window?.maxAgeMs, window?.maxFutureMs, maxBodyBytes),
    );
    this.audience = audience;
    this.maxBodyBytes = this.#core.maxBodyBytes;
  }

  /** The key ids held, in order: for the operator's log. */
  get kids(): string[] {
    return this.#core.kids.split(",");
  }

  /**
   * Verifies a received request (steps 1–6 of SPEC.md §11.4); replays are the caller's, or
   * use {@link RequestVerifier.verifyOnce}.
   * @throws {CallsignError} with the code of the first failed check.
   */
  verify(request: ReceivedRequest, options: { now?: number } = {}): VerifiedRequest {
    if (request.body.length > this.maxBodyBytes) {
      throw new CallsignError(
        "too_large",
        `the body has ${request.body.length} bytes, over the limit of ${this.maxBodyBytes} bytes`,
      );
    }
    const flat: string[] = [];
    const add = (name: string, value: string) => {
      if (SIGNATURE_HEADER_NAMES.has(name.toLowerCase())) flat.push(name, value);
    };
    const { headers } = request;
    if (!Array.isArray(headers) && typeof (headers as HeadersLike).forEach === "function") {
      (headers as HeadersLike).forEach((value, name) => add(name, value));
    } else {
      for (const [name, value] of headers as Iterable<readonly [string, string]>) add(name, value);
    }
    const out = withCore(() =>
      this.#core.verify(request.method, request.target, flat, request.body, options.now ?? Date.now()),
    );
    return JSON.parse(out) as VerifiedRequest;
  }

  /**
   * {@link RequestVerifier.verify}, then records (kid, nonce) in `store` (SPEC.md §8):
   * `replayed` if it is there.
   */
  async verifyOnce(
    store: NonceStore,
    request: ReceivedRequest,
    options: { now?: number } = {},
  ): Promise<VerifiedRequest> {
    const now = options.now ?? Date.now();
    const claims = this.verify(request, { now });
    await store.remember(
      { kid: claims.kid, nonce: claims.nonce, ts: claims.ts, rememberUntil: claims.rememberUntil },
      now,
    );
    return claims;
  }

  /** Frees the keys inside the wasm module now rather than at garbage collection. */
  free(): void {
    this.#core.free();
  }
}
