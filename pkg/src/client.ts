/**
 * callsign on the calling server (Node, Next.js): sign calls to a deployment's signed
 * functions, or to its internal functions through the signed gateway, from Convex function
 * references, with the args checked against each function's type.
 *
 * ```ts
 * import { CallSigner, SignedConvexHttpClient } from "convex-callsign/client";
 * import { fetchMutation } from "convex/nextjs";
 * import { api, internal } from "@/convex/_generated/api";
 *
 * // Next.js: key from CALLSIGN_KEY, audience from NEXT_PUBLIC_CONVEX_URL.
 * const signer = new CallSigner();
 * await fetchMutation(...signer.signed(api.messages.send, { body: "hello" }));
 *
 * // Any Node server:
 * const client = new SignedConvexHttpClient(process.env.CONVEX_URL!, process.env.CALLSIGN_KEY!);
 * await client.mutation(api.messages.send, { body: "hello" });
 * await client.runMutation(internal.admin.resetCounter, {}); // through the gateway
 * ```
 *
 * Signed HTTP requests (to HTTP actions, route handlers, any server): `signRequest`,
 * `signedFetch` and `verifyRequest`, from `./http.js`.
 *
 * @module
 */
import { ConvexHttpClient } from "convex/browser";
import {
  getFunctionName,
  makeFunctionReference,
  type FunctionArgs,
  type FunctionReference,
  type FunctionReturnType,
} from "convex/server";
import type { GatewayArgs } from "./convex.js";
import {
  DEFAULT_ENVELOPE_FIELD,
  Signer,
  type Args,
  type Envelope,
  type Limits,
  type SignOptions,
} from "./index.js";

export {
  signRequest,
  signedFetch,
  verifyRequest,
  type SignRequestOptions,
  type VerifiedHttpRequest,
  type VerifyRequestOptions,
} from "./http.js";
export { isCallsignError, type CallsignErrorData } from "./index.js";

/** The args a signed function takes, minus the envelope: what a caller supplies. */
export type UnsignedArgs<Ref extends FunctionReference<any, any>> = Omit<
  FunctionArgs<Ref>,
  typeof DEFAULT_ENVELOPE_FIELD
>;

/** How a {@link CallSigner} is set up. */
export interface CallSignerOptions {
  /**
   * The deployment the calls are for, exactly as its `CONVEX_CLOUD_URL` reads. Default:
   * `NEXT_PUBLIC_CONVEX_URL`, else `CONVEX_URL` (what `convex/nextjs` and most servers call).
   */
  audience?: string;
  /** Limits the signed args must respect; match the deployment's. */
  limits?: Limits;
}

/**
 * Signs calls from function references. Holds one key for one deployment; the key never
 * leaves the process and is never part of the args.
 */
export class CallSigner {
  /** The underlying signer (key id, audience). */
  readonly signer: Signer;

  /**
   * @param key A root key or a key derived for this deployment. Default: `CALLSIGN_KEY`.
   * @throws {CallsignError} `invalid_key` or `malformed` on bad configuration (e.g. unset).
   */
  constructor(key: string | undefined = env("CALLSIGN_KEY"), options: CallSignerOptions = {}) {
    const audience = options.audience ?? env("NEXT_PUBLIC_CONVEX_URL") ?? env("CONVEX_URL");
    this.signer = new Signer(key as string, {
      // An unset audience goes through as is: the Signer refuses it with a clear error.
      audience: (audience === undefined ? audience : withoutTrailingSlash(audience)) as string,
      limits: options.limits,
    });
  }

  /** The deployment calls are signed for. */
  get audience(): string {
    return this.signer.audience;
  }

  /**
   * The args to send to the signed function `ref`: `args` plus the envelope, signed for
   * `getFunctionName(ref)`.
   * @throws {CallsignError} `malformed` or `too_large`.
   */
  args<Ref extends FunctionReference<any, "public">>(
    ref: Ref,
    args: UnsignedArgs<Ref>,
    options?: SignOptions,
  ): FunctionArgs<Ref> {
    return this.signer.sign(getFunctionName(ref), args as Args, options) as FunctionArgs<Ref>;
  }

  /**
   * `[ref, signedArgs]`, to spread into `fetchQuery` / `fetchMutation` / `fetchAction` of
   * `convex/nextjs` (or any `(ref, args)` call): `fetchMutation(...signer.signed(ref, args))`.
   */
  signed<Ref extends FunctionReference<any, "public">>(
    ref: Ref,
    args: UnsignedArgs<Ref>,
    options?: SignOptions,
  ): [Ref, FunctionArgs<Ref>] {
    return [ref, this.args(ref, args, options)];
  }

  /**
   * The args for the gateway (`runQuery` / `runMutation` / `runAction` exported from
   * `convex/callsign.ts`) to run the internal function `ref` with `args`, signed for `ref`'s
   * own name.
   */
  gatewayArgs<Ref extends FunctionReference<any, "internal">>(
    ref: Ref,
    args: FunctionArgs<Ref>,
    options?: SignOptions,
  ): GatewayArgs {
    const name = getFunctionName(ref);
    const signed = this.signer.sign(name, args as Args, options);
    return {
      function: name,
      args: args as Record<string, unknown>,
      [DEFAULT_ENVELOPE_FIELD]: signed[DEFAULT_ENVELOPE_FIELD] as Envelope,
    };
  }
}

/** How a {@link SignedConvexHttpClient} is set up. */
export interface SignedClientOptions extends CallSignerOptions {
  /** The module exporting the gateway (`runQuery`, `runMutation`, `runAction`). Default `"callsign"`. */
  gatewayModule?: string;
}

/**
 * `ConvexHttpClient` for signed calls: every call is signed for the function it names, with
 * the client's URL as the audience unless told otherwise.
 */
export class SignedConvexHttpClient {
  /** The wrapped client, for unsigned calls. */
  readonly http: ConvexHttpClient;
  /** The signer every call goes through. */
  readonly signer: CallSigner;
  readonly #gateway: string;

  /**
   * @param url The deployment URL, e.g. `https://happy-otter-123.convex.cloud`.
   * @param key A root key or a key derived for this deployment (e.g. `process.env.CALLSIGN_KEY`).
   */
  constructor(url: string, key: string, options: SignedClientOptions = {}) {
    this.http = new ConvexHttpClient(url);
    this.signer = new CallSigner(key, { audience: options.audience ?? url, limits: options.limits });
    this.#gateway = options.gatewayModule ?? "callsign";
  }

  /** Calls the signed query `ref`. */
  query<Ref extends FunctionReference<"query", "public">>(
    ref: Ref,
    args: UnsignedArgs<Ref>,
  ): Promise<FunctionReturnType<Ref>> {
    return this.http.query(ref, ...([this.signer.args(ref, args)] as never));
  }

  /** Calls the signed mutation `ref`. */
  mutation<Ref extends FunctionReference<"mutation", "public">>(
    ref: Ref,
    args: UnsignedArgs<Ref>,
  ): Promise<FunctionReturnType<Ref>> {
    return this.http.mutation(ref, ...([this.signer.args(ref, args)] as never));
  }

  /** Calls the signed action `ref`. */
  action<Ref extends FunctionReference<"action", "public">>(
    ref: Ref,
    args: UnsignedArgs<Ref>,
  ): Promise<FunctionReturnType<Ref>> {
    return this.http.action(ref, ...([this.signer.args(ref, args)] as never));
  }

  /** Runs the internal query `ref` through the gateway (it must be on its allow-list). */
  runQuery<Ref extends FunctionReference<"query", "internal">>(
    ref: Ref,
    args: FunctionArgs<Ref>,
  ): Promise<FunctionReturnType<Ref>> {
    const gateway = makeFunctionReference<"query">(`${this.#gateway}:runQuery`);
    return this.http.query(gateway, this.signer.gatewayArgs(ref, args));
  }

  /** Runs the internal mutation `ref` through the gateway (it must be on its allow-list). */
  runMutation<Ref extends FunctionReference<"mutation", "internal">>(
    ref: Ref,
    args: FunctionArgs<Ref>,
  ): Promise<FunctionReturnType<Ref>> {
    const gateway = makeFunctionReference<"mutation">(`${this.#gateway}:runMutation`);
    return this.http.mutation(gateway, this.signer.gatewayArgs(ref, args));
  }

  /** Runs the internal action `ref` through the gateway (it must be on its allow-list). */
  runAction<Ref extends FunctionReference<"action", "internal">>(
    ref: Ref,
    args: FunctionArgs<Ref>,
  ): Promise<FunctionReturnType<Ref>> {
    const gateway = makeFunctionReference<"action">(`${this.#gateway}:runAction`);
    return this.http.action(gateway, this.signer.gatewayArgs(ref, args));
  }
}

/** An environment variable, where there is an environment (not in browsers). */
function env(name: string): string | undefined {
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return proc?.env?.[name];
}

/** `CONVEX_CLOUD_URL` has no trailing slash; a configured URL sometimes does. */
function withoutTrailingSlash(url: string): string {
  return url.endsWith("/") ? url.slice(0, -1) : url;
}
