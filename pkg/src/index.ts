/**
 * callsign: signed server-to-server calls into Convex.
 *
 * A server holding a key signs a call (function name, args, target deployment,
 * timestamp, nonce) with HMAC-SHA256 and sends the signature in one extra args
 * field; the Convex function verifies it. Everything here runs the Rust core
 * compiled to WebAssembly: JS never canonicalizes or hashes. The wire format is
 * SPEC.md in the repository.
 *
 * ```ts
 * import { Signer, Verifier } from "convex-callsign";
 *
 * const signer = new Signer(process.env.CALLSIGN_KEY!, { audience: CONVEX_URL });
 * const args = signer.sign("messages:send", { body: "hello" });
 * // args = { body: "hello", _callsign: { kid, nonce, sig, ts, v: 1 } }
 *
 * const verifier = new Verifier(process.env.CALLSIGN_KEYS!, { audience: CONVEX_URL });
 * const claims = verifier.verify("messages:send", args); // throws CallsignError
 * ```
 *
 * @module
 */
import { convexToJson, type Value } from "convex/values";
import { withCore } from "./engine.js";
import { CallsignError, type ErrorCode } from "./errors.js";

export {
  CallsignError,
  ERROR_CODES,
  isCallsignError,
  type CallsignErrorData,
  type ErrorCode,
} from "./errors.js";
export * from "./request.js";

/** The default name of the args field that carries the envelope. */
export const DEFAULT_ENVELOPE_FIELD = "_callsign";

/** Size and depth limits on args (SPEC.md §2.1, §10). Absent fields keep the defaults. */
export interface Limits {
  /** Maximum UTF-8 length of the args' Convex JSON text. Default 1 MiB. */
  maxBytes?: number;
  /** Maximum nesting of objects and arrays, the args object being 1. Default 63. */
  maxDepth?: number;
}

/** The accepted time window around a call's timestamp (SPEC.md §7). */
export interface Window {
  /** How old a call may be, in ms. Default 60 000. */
  maxAgeMs?: number;
  /** How far in the future a call may be (clock skew), in ms. Default 60 000. */
  maxFutureMs?: number;
}

/**
 * What a signer adds to the args under the envelope field (SPEC.md §5). (A type alias, not
 * an interface, so that it is a Convex `Value`.)
 */
export type Envelope = {
  /** Key id of the signing key. */
  kid: string;
  /** Single-use random value, lowercase hex. */
  nonce: string;
  /** HMAC-SHA256 of the signing message, 64 lowercase hex digits. */
  sig: string;
  /** Signing time, ms since the Unix epoch. */
  ts: number;
  /** Envelope version: 1. */
  v: 1;
};

/** Convex function args: an object of Convex values. */
export type Args = Record<string, Value>;

/** `A` with the envelope added under field `F`. */
export type SignedArgs<A extends Args, F extends string = typeof DEFAULT_ENVELOPE_FIELD> = A & {
  [K in F]: Envelope;
};

/** How a {@link Signer} is set up. */
export interface SignerOptions<F extends string = typeof DEFAULT_ENVELOPE_FIELD> {
  /** The target deployment, exactly as its `CONVEX_CLOUD_URL` reads (no trailing slash). */
  audience: string;
  /** The args field for the envelope. Default `_callsign`. */
  envelopeField?: F;
  /** Limits the signed args must respect (a verifier with the same limits accepts them). */
  limits?: Limits;
}

/** Per-call inputs of {@link Signer.sign}; normally none. */
export interface SignOptions {
  /** The signing time in ms. Default `Date.now()`. */
  now?: number;
  /**
   * A fixed nonce (32–64 lowercase hex digits), to reproduce a known signature in tests.
   * Default: 128 random bits from `crypto.getRandomValues`. A reused nonce is a replay.
   */
  nonce?: string;
}

/** How a {@link Verifier} is set up. */
export interface VerifierOptions {
  /** This deployment, exactly as `CONVEX_CLOUD_URL` reads. */
  audience: string;
  /** The accepted time window. */
  window?: Window;
  /** Limits checked before and while parsing the args. */
  limits?: Limits;
  /** The args field holding the envelope. Default `_callsign`. */
  envelopeField?: string;
}

/** Per-call inputs of {@link Verifier.verify}; normally none. */
export interface VerifyOptions {
  /** The current time in ms. Default `Date.now()`. */
  now?: number;
}

/**
 * What a verified call proves (SPEC.md §7). To reject replays, store
 * (`kid`, `nonce`) until `rememberUntil` and refuse a pair already stored.
 */
export interface Verified {
  /** Key id that signed. */
  kid: string;
  /** The function the call was signed for, canonical (`dir/file:fn`). */
  function: string;
  /** Signing time, ms since the Unix epoch. */
  ts: number;
  /** The call's nonce. */
  nonce: string;
  /** Until when (ms) the nonce must be remembered: `ts + window.maxAgeMs`. */
  rememberUntil: number;
  /** The canonical args (without the envelope) that the signature covers. */
  canonicalArgs: string;
}

/**
 * What a key string holds, without its secret. A derived key's audience is named by its
 * length and fingerprint, never its text (SPEC.md §6.5): a mangled key string can put secret
 * digits there. `printf %s "$URL" | sha256sum | cut -c1-8` gives a URL's fingerprint.
 */
export interface KeyInfo {
  /** The key id. */
  kid: string;
  /** Whether this is a root key (`csk1_…`) rather than a derived one (`csk1d_…@audience`). */
  root: boolean;
  /** The audience a derived key is bound to, by length and fingerprint; `null` for a root key. */
  audience: { bytes: number; fingerprint: string } | null;
}

/** Signs calls with one key for one audience. Holds the key inside the wasm module. */
export class Signer<F extends string = typeof DEFAULT_ENVELOPE_FIELD> {
  /** The key id calls are signed with. */
  readonly kid: string;
  /** The deployment calls are signed for. */
  readonly audience: string;
  /** The args field the envelope goes in. */
  readonly envelopeField: F;
  readonly #core: import("./wasm/callsign_wasm.js").WasmSigner;

  /**
   * @param key A root key (`csk1_…`) or a key derived for `options.audience`
   *   (`csk1d_…@audience`), e.g. `process.env.CALLSIGN_KEY`.
   * @throws {CallsignError} `invalid_key` or `malformed` on bad configuration.
   */
  constructor(key: string, options: SignerOptions<F>) {
    const { audience, envelopeField, limits } = options;
    given(key, "invalid_key", "no key given (is CALLSIGN_KEY set?)");
    given(audience, "malformed", "no audience given (the deployment URL)");
    this.#core = withCore(
      (c) => new c.WasmSigner(key, audience, envelopeField, limits?.maxBytes, limits?.maxDepth),
    );
    this.kid = this.#core.kid;
    this.audience = this.#core.audience;
    this.envelopeField = (envelopeField ?? DEFAULT_ENVELOPE_FIELD) as F;
  }

  /**
   * Signs a call to `functionName` (e.g. `"messages:send"`, or `getFunctionName(api.messages.send)`)
   * with `args`, and returns the args to send: `args` plus the envelope field.
   * @throws {CallsignError} `malformed` (args not Convex values, bad name, envelope field taken)
   *   or `too_large`.
   */
  sign<A extends Args>(functionName: string, args: A, options: SignOptions = {}): SignedArgs<A, F> {
    const json = argsToJson(args);
    const envelope = withCore(() =>
      this.#core.sign(functionName, utf8(json), options.now ?? Date.now(), options.nonce),
    );
    return { ...args, [this.envelopeField]: JSON.parse(envelope) as Envelope } as SignedArgs<A, F>;
  }

  /**
   * Signs args given as Convex JSON text; returns the signed args as canonical Convex JSON
   * text, e.g. for a raw `POST /api/mutation` with `"format": "json"`.
   * @throws {CallsignError}
   */
  signJson(functionName: string, argsJson: string, options: SignOptions = {}): string {
    checkWellFormed(argsJson);
    return withCore(() =>
      this.#core.signArgsJson(functionName, utf8(argsJson), options.now ?? Date.now(), options.nonce),
    );
  }

  /** Frees the key inside the wasm module now rather than at garbage collection. */
  free(): void {
    this.#core.free();
  }
}

/** Verifies calls for one audience against a key set. Holds the keys inside the wasm module. */
export class Verifier {
  /** The deployment this verifier accepts calls for. */
  readonly audience: string;
  /** The args field holding the envelope. */
  readonly envelopeField: string;
  readonly #core: import("./wasm/callsign_wasm.js").WasmVerifier;
  readonly #maxBytes: number;

  /**
   * @param keys The key set: keys separated by commas or whitespace, e.g.
   *   `process.env.CALLSIGN_KEYS` (SPEC.md §6.4).
   * @throws {CallsignError} `invalid_key` or `malformed` on bad configuration.
   */
  constructor(keys: string, options: VerifierOptions) {
    const { audience, window, limits, envelopeField } = options;
    given(keys, "invalid_key", "no keys given (is CALLSIGN_KEYS set?)");
    given(audience, "malformed", "no audience given (in Convex, CONVEX_CLOUD_URL)");
    this.#core = withCore(
      (c) =>
        new c.WasmVerifier(
          keys,
          audience,
          envelopeField,
          window?.maxAgeMs,
          window?.maxFutureMs,
          limits?.maxBytes,
          limits?.maxDepth,
        ),
    );
    this.#maxBytes = this.#core.maxBytes;
    this.audience = audience;
    this.envelopeField = envelopeField ?? DEFAULT_ENVELOPE_FIELD;
  }

  /**
   * The key ids this verifier holds, in order: for the operator's log. Errors do not list
   * them (an `unknown_key` error may reach the caller, SPEC.md §9).
   */
  get kids(): string[] {
    return this.#core.kids.split(",");
  }

  /**
   * Verifies `signedArgs` (the args a function received, envelope included) as a call to
   * `functionName`. Replays are the caller's to reject (see {@link Verified}).
   * @throws {CallsignError} with the code of the first failed check (SPEC.md §7).
   */
  verify(functionName: string, signedArgs: Args, options: VerifyOptions = {}): Verified {
    // JSON.stringify output is always well-formed: no surrogate check needed.
    return this.#verify(functionName, argsToJson(signedArgs), options);
  }

  /**
   * Verifies signed args given as Convex JSON text.
   * @throws {CallsignError}
   */
  verifyJson(functionName: string, signedArgsJson: string, options: VerifyOptions = {}): Verified {
    checkWellFormed(signedArgsJson);
    return this.#verify(functionName, signedArgsJson, options);
  }

  #verify(functionName: string, json: string, options: VerifyOptions): Verified {
    // Size is the first check (SPEC.md §7). Text longer in UTF-16 units than the limit is
    // longer in UTF-8 bytes too: refuse it here rather than copy it into wasm memory,
    // which never shrinks.
    if (json.length > this.#maxBytes) {
      throw new CallsignError(
        "too_large",
        `the signed args are over the limit of ${this.#maxBytes} bytes (${json.length} UTF-16 code units)`,
      );
    }
    const out = withCore(() => this.#core.verify(functionName, utf8(json), options.now ?? Date.now()));
    // The core returns the claims as JSON, a newline, then the canonical args.
    const split = out.indexOf("\n");
    const claims = JSON.parse(out.slice(0, split)) as Omit<Verified, "canonicalArgs">;
    return { ...claims, canonicalArgs: out.slice(split + 1) };
  }

  /** Frees the keys inside the wasm module now rather than at garbage collection. */
  free(): void {
    this.#core.free();
  }
}

/**
 * Canonicalizes args given as Convex JSON text (SPEC.md §2): what the signature covers.
 * @throws {CallsignError} `malformed` or `too_large`.
 */
export function canonicalize(convexJson: string, limits: Limits = {}): string {
  checkWellFormed(convexJson);
  return withCore((c) => c.canonicalize(utf8(convexJson), limits.maxBytes, limits.maxDepth));
}

/**
 * Canonicalizes args given as Convex values (bigint, ArrayBuffer, -0, NaN included).
 * @throws {CallsignError} `malformed` or `too_large`.
 */
export function canonicalizeArgs(args: Args, limits: Limits = {}): string {
  return canonicalize(argsToJson(args), limits);
}

/**
 * Parses a key string and tells what it is, without its secret.
 * @throws {CallsignError} `invalid_key`.
 */
export function inspectKey(key: string): KeyInfo {
  return JSON.parse(withCore((c) => c.inspectKey(key))) as KeyInfo;
}

/**
 * Parses a key set (e.g. `CALLSIGN_KEYS`) and returns its key ids, in order.
 * @throws {CallsignError} `invalid_key`.
 */
export function inspectKeySet(keys: string): string[] {
  // A key set is never empty (the core refuses one), so the list always has a kid.
  return withCore((c) => c.inspectKeySet(keys)).split(",");
}

/**
 * Derives the key for one deployment from a root key (SPEC.md §6.3): give the deployment
 * only this key, so a leak there cannot sign for any other deployment.
 * @throws {CallsignError} `invalid_key` or `malformed`.
 */
export function deriveKey(rootKey: string, audience: string): string {
  return withCore((c) => c.deriveKey(rootKey, audience));
}

/**
 * Generates a new root key (256 random bits from `crypto.getRandomValues`) with id `kid`.
 * @throws {CallsignError} `invalid_key` for a bad kid.
 */
export function generateKey(kid: string): string {
  return withCore((c) => c.generateKey(kid));
}

/**
 * Configuration often comes from env vars that may be unset; say so instead of letting
 * wasm-bindgen fail on a non-string.
 */
function given(value: unknown, code: ErrorCode, message: string): asserts value is string {
  if (typeof value !== "string") throw new CallsignError(code, message);
}

const encoder = new TextEncoder();

/**
 * JSON text crosses into wasm as UTF-8 bytes: `TextEncoder` plus a copy is several times
 * faster than wasm-bindgen's string passing, which copies in a JS loop. Callers have
 * ruled out lone surrogates (which `TextEncoder` would replace).
 */
function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * The Convex JSON text of `args`, exactly as a Convex client would send them, after
 * checking that every object and array in them is plain (see {@link checkPlain}).
 */
function argsToJson(args: Args): string {
  checkPlain(args);
  let json: unknown;
  try {
    json = convexToJson(args);
  } catch (e) {
    throw new CallsignError("malformed", `args are not Convex values: ${cut((e as Error).message)}`);
  }
  return JSON.stringify(json);
}

/**
 * SPEC.md §2.5: Convex builds args with `jsonToConvex`, which turns a `"__proto__"` member into
 * the object's prototype. `convexToJson`, and so the signature, sees only own members, while a
 * handler reads the prototype's too (`settings.isAdmin`). So every object must have the plain
 * prototype (or none) and no own `__proto__` member, and every array must be a plain array;
 * anything else is `malformed`. (`convexToJson` is laxer: it takes any prototype whose
 * constructor is named "Object", and silently drops an own `__proto__` member.)
 * @throws {CallsignError} `malformed`, naming the first value that is not plain.
 */
function checkPlain(args: unknown): void {
  const at = notPlainAt(args, 0);
  if (at !== undefined) {
    const path = ["args", ...at.reverse()].join(".");
    throw new CallsignError(
      "malformed",
      `args are not plain Convex values: ${cut(path)} is an object or array whose prototype is not the ` +
        `plain one (a "__proto__" member?); the signature could not cover what it inherits`,
    );
  }
}

/**
 * Past this depth the walk stops: the core refuses anything nested deeper than 128 levels
 * (SPEC.md §2.5), so nothing there can verify.
 */
const MAX_WALK_DEPTH = 130;

/** The path (innermost key first) to the first value that is not plain, if any. */
function notPlainAt(value: unknown, depth: number): string[] | undefined {
  if (value === null || typeof value !== "object" || value instanceof ArrayBuffer) return undefined;
  if (depth > MAX_WALK_DEPTH) return undefined;
  const proto = Object.getPrototypeOf(value);
  if (Array.isArray(value)) {
    if (proto !== Array.prototype) return [];
    for (let i = 0; i < value.length; i++) {
      const at = notPlainAt(value[i], depth + 1);
      if (at !== undefined) return (at.push(String(i)), at);
    }
    return undefined;
  }
  // An own "__proto__" (JSON.parse makes one) would be dropped by convexToJson, unsigned.
  if ((proto !== Object.prototype && proto !== null) || Object.hasOwn(value, "__proto__")) return [];
  for (const key of Object.keys(value)) {
    const at = notPlainAt((value as Record<string, unknown>)[key], depth + 1);
    if (at !== undefined) return (at.push(key), at);
  }
  return undefined;
}

/** Messages quote at most a short prefix of any input (SPEC.md §9). */
function cut(text: string): string {
  return text.length <= 160 ? text : `${text.slice(0, 160)}… (${text.length} characters)`;
}

/**
 * JSON text with a lone surrogate cannot be UTF-8; the wasm boundary would silently turn it
 * into U+FFFD. SPEC.md §2.2 requires rejecting it. (Objects never get here with one:
 * `JSON.stringify` escapes lone surrogates, which the core rejects.)
 */
function checkWellFormed(text: string): void {
  const isWellFormed = (text as { isWellFormed?: () => boolean }).isWellFormed;
  const ok = typeof isWellFormed === "function" ? isWellFormed.call(text) : !/\p{Cs}/u.test(text);
  if (!ok) {
    throw new CallsignError("malformed", "the text contains a lone UTF-16 surrogate");
  }
}
