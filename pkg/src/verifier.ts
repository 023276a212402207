// The verifier alone: what a Convex function needs (convex-callsign/convex imports this, not
// index.ts). pkg/build bundles it into dist/verifier.js with the verifier-only wasm module
// (crates/callsign-wasm with only its `http` feature: no signing or key management), which is smaller
// and compiles faster on a cold start; dist/index.js bundles it with the whole module.
import type { Value } from "convex/values";
import { argsToJson } from "./encode.js";
import { input, withCore } from "./engine.js";
import { CallsignError, type ErrorCode } from "./errors.js";

export {
  CallsignError,
  ERROR_CODES,
  isCallsignError,
  type CallsignErrorData,
  type ErrorCode,
} from "./errors.js";

// Signed HTTP actions verify requests (cs.httpAction); RequestSigner stays out of this bundle.
export {
  RequestVerifier,
  type NonceRecord,
  type NonceStore,
  type ReceivedRequest,
  type RequestVerifierOptions,
  type RequestWindow,
  type VerifiedRequest,
} from "./request.js";

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

/** Convex function args: an object of Convex values. */
export type Args = Record<string, Value>;

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
    // The encoder writes well-formed text (JSON.stringify escapes lone surrogates): no check.
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
    const out = withCore(() => this.#core.verifyInput(functionName, input(json), options.now ?? Date.now()));
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
 * Configuration often comes from env vars that may be unset; say so instead of letting
 * wasm-bindgen fail on a non-string.
 * @internal
 */
export function given(value: unknown, code: ErrorCode, message: string): asserts value is string {
  if (typeof value !== "string") throw new CallsignError(code, message);
}

/**
 * JSON text with a lone surrogate cannot be UTF-8; the wasm boundary would silently turn it
 * into U+FFFD. SPEC.md §2.2 requires rejecting it. (Objects never get here with one:
 * `JSON.stringify` escapes lone surrogates, which the core rejects.)
 * @internal
 */
export function checkWellFormed(text: string): void {
  const isWellFormed = (text as { isWellFormed?: () => boolean }).isWellFormed;
  const ok = typeof isWellFormed === "function" ? isWellFormed.call(text) : !/\p{Cs}/u.test(text);
  if (!ok) {
    throw new CallsignError("malformed", "the text contains a lone UTF-16 surrogate");
  }
}
