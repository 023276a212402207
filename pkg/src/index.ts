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
import { argsToJson } from "./encode.js";
import { input, withCore } from "./engine.js";
import {
  checkWellFormed,
  DEFAULT_ENVELOPE_FIELD,
  given,
  type Args,
  type Limits,
} from "./verifier.js";

export {
  CallsignError,
  DEFAULT_ENVELOPE_FIELD,
  ERROR_CODES,
  isCallsignError,
  Verifier,
  type Args,
  type CallsignErrorData,
  type ErrorCode,
  type Limits,
  type Verified,
  type VerifierOptions,
  type VerifyOptions,
  type Window,
} from "./verifier.js";
export * from "./request.js";



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
      this.#core.signInput(functionName, input(json), options.now ?? Date.now(), options.nonce),
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
      this.#core.signArgsInput(functionName, input(argsJson), options.now ?? Date.now(), options.nonce),
    );
  }

  /** Frees the key inside the wasm module now rather than at garbage collection. */
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
  return withCore((c) => c.canonicalizeInput(input(convexJson), limits.maxBytes, limits.maxDepth));
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
