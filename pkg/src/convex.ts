/**
 * callsign inside Convex: functions that run only for calls signed by a holder of a key.
 *
 * The replay store is a Convex component (`convex-callsign/convex.config`); verification
 * stays in the app, which alone can read its key set (`CALLSIGN_KEYS`):
 *
 * ```ts
 * // convex/convex.config.ts
 * import { defineApp } from "convex/server";
 * import callsign from "convex-callsign/convex.config";
 * const app = defineApp();
 * app.use(callsign);
 * export default app;
 *
 * // convex/callsign.ts
 * import { Callsign } from "convex-callsign/convex";
 * import { components, internal } from "./_generated/api";
 * import { action, mutation, query } from "./_generated/server";
 *
 * const cs = new Callsign(components.callsign);
 * export const signedQuery = cs.signed(query);
 * export const signedMutation = cs.signed(mutation);
 * export const signedAction = cs.signed(action);
 * export const { runQuery, runMutation, runAction } = cs.gateway(
 *   { query, mutation, action },
 *   { mutations: [internal.admin.resetCounter] },
 * );
 *
 * // convex/messages.ts
 * export const send = signedMutation({
 *   args: { body: v.string() },
 *   handler: async (ctx, { body }) => ctx.db.insert("messages", { body, kid: ctx.callsign.kid }),
 * });
 * ```
 *
 * A signed function verifies the envelope against its **own** name (from
 * `ctx.meta.getFunctionMetadata()`), this deployment (`CONVEX_CLOUD_URL`) and the key set in
 * `CALLSIGN_KEYS`, strips the envelope before the handler sees the args, and claims the nonce
 * in the component. Failures throw a `ConvexError` whose `data` is `{ code, message }` with
 * callsign's stable codes ({@link isCallsignError}), before the handler runs.
 *
 * @module
 */
import {
  getFunctionName,
  httpActionGeneric,
  makeFunctionReference,
  type ActionBuilder,
  type ArgsArrayForOptionalValidator,
  type ArgsArrayToObject,
  type DefaultArgsForOptionalValidator,
  type FunctionReference,
  type FunctionVisibility,
  type GenericActionCtx,
  type GenericDataModel,
  type GenericMutationCtx,
  type GenericQueryCtx,
  type MutationBuilder,
  type PublicHttpAction,
  type QueryBuilder,
  type RegisteredAction,
  type RegisteredMutation,
  type RegisteredQuery,
  type ReturnValueForOptionalValidator,
} from "convex/server";
import {
  ConvexError,
  v,
  type GenericValidator,
  type PropertyValidators,
  type VAny,
  type Validator,
  type VObject,
} from "convex/values";
import type { ComponentApi } from "./component/_generated/component.js";
// The verifier alone (verifier.ts), with its smaller wasm module: a Convex function only verifies.
import type { Envelope } from "./index.js";
import {
  CallsignError,
  DEFAULT_ENVELOPE_FIELD,
  RequestVerifier,
  Verifier,
  type Args,
  type Limits,
  type NonceRecord,
  type RequestWindow,
  type Verified,
  type VerifiedRequest,
  type Window,
} from "./verifier.js";
import { readBody } from "./body.js";
import type { CallsignErrorData, ErrorCode } from "./errors.js";

// Convex functions see their environment variables (and CONVEX_CLOUD_URL) in process.env.
declare const process: { env: Record<string, string | undefined> };

const FIELD = DEFAULT_ENVELOPE_FIELD;

/**
 * The installed component, as the app's generated `components.callsign` is typed (its
 * `ComponentApi`, from `convex-callsign/_generated/component.js`).
 */
export type CallsignComponent = ComponentApi;

/**
 * A function a scoped key may call: a reference (`api.reports.summary`,
 * `internal.admin.stats` for the gateway), a canonical name (`"reports:summary"`), or every
 * export of one module (`"reports:*"`).
 */
export type ScopeEntry = FunctionReference<"query" | "mutation" | "action", FunctionVisibility> | `${string}:${string}`;

/** How signed functions are set up. Every field has a default. */
export interface CallsignOptions {
  /**
   * The verifier's key set (SPEC.md §6.4). Default: the `CALLSIGN_KEYS` environment variable,
   * read on every call, so that `npx convex env set CALLSIGN_KEYS ...` takes effect at once.
   */
  keys?: () => string | undefined;
  /**
   * This deployment, as signers name it. Default: the built-in `CONVEX_CLOUD_URL` variable.
   * Set it when signers call through another URL (e.g. a custom domain).
   */
  audience?: () => string | undefined;
  /**
   * The accepted time window. Default ±60 s. A signed function may set its own (e.g. a
   * shorter one for a query, whose calls can be replayed while they are valid).
   */
  window?: Window;
  /** Limits on the signed args. Default 1 MiB, depth 63. */
  limits?: Limits;
  /**
   * Keys that may call only some functions, by kid: `{ reporting: [api.reports.summary] }`. A
   * call signed with a listed kid for any other function (signed, or internal through the
   * gateway) is refused as `not_allowed`, after its signature has been checked. Kids not
   * listed may call every signed function and everything on the gateway's allow-lists.
   */
  scopes?: Record<string, ScopeEntry[]>;
  /**
   * The key set of signed HTTP actions ({@link Callsign.httpAction}): keys derived for the site
   * origin (`callsign derive --audience https://<name>.convex.site`), not the ones in `keys`,
   * which are derived for the `.convex.cloud` URL (SPEC.md §11.1). Default: the
   * `CALLSIGN_SITE_KEYS` environment variable, read on every request.
   */
  siteKeys?: () => string | undefined;
  /**
   * The origin signed HTTP actions are verified for. Default: the built-in `CONVEX_SITE_URL`
   * (`https://<name>.convex.site`, or the custom domain it names). Never the request's URL or
   * `Host`, which the client chooses.
   */
  siteAudience?: () => string | undefined;
  /**
   * Keys that may call only some signed HTTP routes, by kid: `{ webhooks: ["/hooks/*"] }`.
   * Entries are paths, exact (`/api/send`) or a prefix ending in `/*` (`/hooks/*`), compared with
   * the signed path. A request signed with a listed kid for any other path is `not_allowed`,
   * after its signature has been checked and before its nonce is claimed. Kids not listed may
   * call every signed HTTP action. (`scopes` are for function calls and do not apply here.)
   */
  siteScopes?: Record<string, string[]>;
}

/** Convex's own limit on an HTTP action's request body (20 MiB), the largest `maxBodyBytes`. */
export const HTTP_ACTION_MAX_BODY_BYTES = 20 << 20;

/** How one signed HTTP action verifies. Every field has a default. */
export interface HttpActionOptions {
  /** The accepted time window around `created`. Default ±60 s. */
  window?: RequestWindow;
  /**
   * The largest body accepted, in bytes: refused as `too_large` (status 413) before it is read in
   * full or hashed. Default and maximum {@link HTTP_ACTION_MAX_BODY_BYTES}, Convex's own limit.
   */
  maxBodyBytes?: number;
}

/** What a signed HTTP action's handler gets besides ctx and the request. */
export interface SignedHttpRequest {
  /** The verified request: kid, ts, nonce, rememberUntil, method, path, query (frozen). */
  claims: Readonly<VerifiedRequest>;
  /**
   * The body's exact bytes, as verified. The request's own body has been read: use this
   * (`JSON.parse(new TextDecoder().decode(body))`), not `request.json()`.
   */
  body: Uint8Array;
}

/** A signed HTTP action's handler: Convex's, plus the verified request. */
export type SignedHttpHandler<DataModel extends GenericDataModel = GenericDataModel> = (
  ctx: GenericActionCtx<DataModel>,
  request: Request,
  signed: SignedHttpRequest,
) => Promise<Response>;

/** What a signed function's handler sees in `ctx.callsign`: the verified call. */
export type CallsignClaims = Omit<Verified, "canonicalArgs">;

/** A signed function's ctx: the builder's, plus the verified call in `callsign`. */
export type SignedCtx<Ctx> = Ctx & { callsign: CallsignClaims };

/**
 * `A` plus the envelope field: what the registered function takes, so that a caller's
 * `CallSigner.signed(ref, args)` is typed by the function. (No args at all is Convex's
 * `Record<string, never>`, which cannot be intersected with a field.)
 */
export type WithEnvelope<A> = string extends keyof A
  ? [A[string]] extends [never]
    ? { [FIELD]: Envelope }
    : A & { [FIELD]: Envelope }
  : A & { [FIELD]: Envelope };

type Kind = "query" | "mutation" | "action";

/** The registered function of a kind, as Convex's own builders type it. */
export type Registered<K extends Kind, Visibility extends FunctionVisibility, A extends Args | Record<string, unknown>, Output> = {
  query: RegisteredQuery<Visibility, A, Output>;
  mutation: RegisteredMutation<Visibility, A, Output>;
  action: RegisteredAction<Visibility, A, Output>;
}[K];

/** The args a signed function may declare: what Convex can deploy (an object, or any). */
type SignedArgsValidator = PropertyValidators | VObject<any, any, "required"> | VAny<any, "required"> | void;

/**
 * A builder of signed functions, made by {@link Callsign.signed}: it takes what Convex's
 * builders take (`{ args?, returns?, handler }`, or a bare handler) plus an optional `window`
 * for this function, and its handler's ctx has `callsign`.
 */
export type SignedBuilder<K extends Kind, Visibility extends FunctionVisibility, Ctx> = {
  <
    ArgsValidator extends SignedArgsValidator,
    ReturnsValidator extends PropertyValidators | Validator<any, "required", any> | void,
    ReturnValue extends ReturnValueForOptionalValidator<ReturnsValidator> = any,
    OneOrZeroArgs extends ArgsArrayForOptionalValidator<ArgsValidator> = DefaultArgsForOptionalValidator<ArgsValidator>,
  >(
    definition:
      | {
          /** Validators of the args, as in a Convex function (the envelope field is added). */
          args?: ArgsValidator;
          /** Validator of the return value, as in a Convex function. */
          returns?: ReturnsValidator;
          /** This function's time window, instead of the default. */
          window?: Window;
          /** Runs once the call is verified (and, for mutations and actions, its nonce claimed). */
          handler: (ctx: SignedCtx<Ctx>, ...args: OneOrZeroArgs) => ReturnValue;
        }
      | ((ctx: SignedCtx<Ctx>, ...args: OneOrZeroArgs) => ReturnValue),
  ): Registered<K, Visibility, WithEnvelope<ArgsArrayToObject<OneOrZeroArgs>>, ReturnValue>;
};

/**
 * A builder of public Convex functions: `query`, `mutation`, `action` from
 * `./_generated/server`, or a customized one. (Internal functions cannot be called from
 * outside; the gateway reaches them.)
 */
export type PublicBuilder = (definition: never) => { isConvexFunction: true; isPublic: true };

type RegisteredOf<B> = B extends (definition: never) => infer R ? R : never;
type KindOf<B> = RegisteredOf<B> extends { isQuery: true }
  ? "query"
  : RegisteredOf<B> extends { isMutation: true }
    ? "mutation"
    : "action";
type VisibilityOf<B> = RegisteredOf<B> extends { isPublic: true } ? "public" : "internal";
/** The ctx a builder gives its handlers (for a customized builder, the customized ctx). */
type CtxOf<B> = B extends (definition: infer D) => unknown
  ? Extract<D, { handler: unknown }> extends { handler: (ctx: infer C, ...args: never) => unknown }
    ? C
    : never
  : never;

/**
 * What {@link Callsign.signed} returns for builder `B`. It is also `B` itself, to the type
 * checker, so that a customization can wrap it (`customMutation(cs.signed(mutation), ...)`
 * needs a `MutationBuilder`); its handlers then run with `ctx.callsign` set (read it with
 * {@link claimsOf}).
 */
export type SignedBuilderOf<B> = SignedBuilder<KindOf<B>, VisibilityOf<B>, CtxOf<B>> & B;

/** The builders the gateway is made with: pass the ones from `./_generated/server`. */
export interface GatewayBuilders<DataModel extends GenericDataModel> {
  query: QueryBuilder<DataModel, "public">;
  mutation: MutationBuilder<DataModel, "public">;
  action: ActionBuilder<DataModel, "public">;
}

/** Internal functions the gateway may run, by kind. */
export interface GatewayAllowList {
  queries?: FunctionReference<"query", "internal">[];
  mutations?: FunctionReference<"mutation", "internal">[];
  actions?: FunctionReference<"action", "internal">[];
}

/** The args of the gateway functions: which internal function, its args, and the envelope. */
export type GatewayArgs = {
  function: string;
  args: Record<string, unknown>;
  [FIELD]: Envelope;
};

/** The gateway's three functions; export them from `convex/callsign.ts`. */
export interface Gateway {
  /** Runs an allowed internal query for a signed call (no replay check, as queries). */
  runQuery: RegisteredQuery<"public", GatewayArgs, Promise<unknown>>;
  /** Runs an allowed internal mutation for a signed call, in this transaction. */
  runMutation: RegisteredMutation<"public", GatewayArgs, Promise<unknown>>;
  /** Runs an allowed internal action for a signed call, after claiming its nonce. */
  runAction: RegisteredAction<"public", GatewayArgs, Promise<unknown>>;
}

/**
 * The envelope field's validator. Convex checks nothing here: the envelope is callsign's to
 * check, so that a missing or malformed one fails with the stable code `malformed` rather
 * than a generic validation error. Typed as a required envelope for callers.
 */
export const envelopeValidator = v.optional(v.any()) as unknown as Validator<Envelope, "required", string>;

type AnyCtx = {
  meta: { getFunctionMetadata(): Promise<{ name: string }> };
  runMutation?: (ref: FunctionReference<"mutation", "internal">, args: Record<string, unknown>) => Promise<unknown>;
};

/**
 * callsign for one app: wraps Convex's builders into signed ones and makes the signed gateway,
 * with one replay store (the component) and one configuration.
 */
export class Callsign {
  /** The component holding the replay store. */
  readonly component: CallsignComponent;
  readonly #options: CallsignOptions;
  readonly #verifierFor: (window?: Window) => Verifier;
  readonly #scopes: Map<string, Scope>;
  readonly #requestVerifierFor: (options: HttpActionOptions) => RequestVerifier;
  readonly #siteScopes: Map<string, Scope>;

  /**
   * @param component `components.callsign` from `./_generated/api` (after
   *   `app.use(callsign)` in `convex/convex.config.ts`).
   * @throws Error on a malformed `scopes` entry, when the module loads.
   */
  constructor(component: CallsignComponent, options: CallsignOptions = {}) {
    this.component = component;
    this.#options = options;
    this.#verifierFor = cachedVerifiers(options);
    this.#scopes = scopesOf(options.scopes ?? {});
    this.#requestVerifierFor = cachedRequestVerifiers(options);
    this.#siteScopes = siteScopesOf(options.siteScopes ?? {});
  }

  /**
   * Wraps a builder (`query`, `mutation` or `action` from `./_generated/server`, or one made
   * by convex-helpers' `customQuery` / `customMutation` / `customAction`) into one whose
   * functions run only for signed calls:
   *
   * * a **mutation** claims the nonce in the component **inside its own transaction**: a handler
   *   that throws leaves the nonce unused (the same call can then be submitted again, by anyone
   *   who has seen it, until it expires: make handlers that may fail idempotent), and two
   *   concurrent replays conflict, so only one commits;
   * * an **action** claims it before the handler runs; an action cannot roll back, so a handler
   *   that fails has used its nonce;
   * * a **query** cannot write, so it checks the signature and the window but cannot reject
   *   replays: a captured call can be replayed while `ts - maxFutureMs <= now <= ts + maxAgeMs`
   *   (two minutes with the default window). Use it where reading twice is harmless, and
   *   consider a shorter `window`.
   *
   * Wrap the plain builder and customize outside it (`customMutation(cs.signed(mutation), …)`):
   * callsign then verifies first, over every arg the caller sent, and the customization sees
   * `ctx.callsign`. A customized builder can be wrapped too when the customization only adds
   * to ctx; one that takes args of its own is refused, because callsign would not see them.
   *
   * @param options.window The window of every function of this builder (a function's own
   *   `window` wins). With a customization outside, this is how to set one.
   * @throws Error when a function is defined with args Convex cannot deploy, an args field
   *   named like the envelope, or on a builder that is not public.
   */
  signed<B extends PublicBuilder>(builder: B, options: { window?: Window } = {}): SignedBuilderOf<B> {
    const signedBuilder = (definition: unknown) => {
      const def = (typeof definition === "function" ? { handler: definition } : definition) as {
        args?: unknown;
        returns?: unknown;
        window?: Window;
        handler: (ctx: unknown, args: Args) => unknown;
      };
      const { args, window = options.window, handler, ...rest } = def;
      if (typeof handler !== "function") throw new Error("callsign: a signed function needs a handler");
      const declared = withEnvelopeArgs(args);
      let kind: Kind | undefined;
      const registered = (builder as unknown as (definition: object) => unknown)({
        ...rest,
        ...(declared === undefined ? {} : { args: declared }),
        handler: async (ctx: AnyCtx, signedArgs: Args | undefined) => {
          const received = signedArgs ?? {};
          const claims = this.#verify((await ctx.meta.getFunctionMetadata()).name, received, window);
          this.#checkScope(claims);
          if (kind !== "query") await this.#claim(ctx, claims);
          return handler({ ...ctx, [CTX_FIELD]: handedClaims(claims) }, withoutEnvelope(received));
        },
      });
      kind = kindOf(registered);
      checkArgsReachCallsign(registered, declared);
      return registered;
    };
    return signedBuilder as unknown as SignedBuilderOf<B>;
  }

  /**
   * A signed HTTP action (SPEC.md §11), to route in `convex/http.ts`:
   *
   * ```ts
   * http.route({
   *   path: "/api/messages", method: "POST",
   *   handler: cs.httpAction(async (ctx, request, { claims, body }) => {
   *     const { text } = JSON.parse(new TextDecoder().decode(body));
   *     await ctx.runMutation(internal.messages.insert, { text, kid: claims.kid });
   *     return Response.json({ ok: true });
   *   }),
   * });
   * ```
   *
   * Before the handler runs, in this order: the configuration (`siteKeys`, default
   * `CALLSIGN_SITE_KEYS`; `siteAudience`, default `CONVEX_SITE_URL`); the body's size, from
   * `Content-Length` and then while it is read, before anything is hashed; the body, read once;
   * the signature over method, path, raw query and `Content-Digest` with the site origin, the
   * window; `siteScopes`; then the nonce is claimed in the component (its own transaction, as for
   * a signed action: a handler that fails has used its nonce).
   *
   * A refused request gets a JSON response `{ code, message }` with callsign's stable code, and
   * the handler does not run: status 401 for a request that is not validly signed (`malformed`,
   * `unknown_key`, `bad_signature`, `expired`, `not_yet_valid`, `replayed`) or whose key may not
   * call this path (`not_allowed`, 403); 413 for `too_large`; 500 `misconfigured` when this
   * deployment's setup is wrong (the detail is in its log, not in the response).
   *
   * @throws Error when the module loads, for `maxBodyBytes` over Convex's 20 MiB or not a
   *   positive integer.
   */
  httpAction<DataModel extends GenericDataModel = GenericDataModel>(
    handler: SignedHttpHandler<DataModel>,
    options: HttpActionOptions = {},
  ): PublicHttpAction {
    if (typeof handler !== "function") throw new Error("callsign: httpAction needs a handler");
    const settings = httpActionSettings(options);
    return httpActionGeneric(async (ctx, request) => {
      let signed: SignedHttpRequest;
      try {
        signed = await this.#verifyRequest(ctx as unknown as AnyCtx, request, settings);
      } catch (e) {
        const data = refusalOf(e);
        if (data === undefined) throw e;
        return refusalResponse(data);
      }
      return await handler(ctx as unknown as GenericActionCtx<DataModel>, request, signed);
    });
  }

  /** Everything {@link Callsign.httpAction} checks before its handler runs. */
  async #verifyRequest(ctx: AnyCtx, request: Request, settings: HttpActionOptions): Promise<SignedHttpRequest> {
    // The configuration first (its limit applies while the body is read), then the body, then
    // the verifier again: a rotation during the read may have freed the first one.
    const body = await readBody(request, this.#requestVerifierFor(settings).maxBodyBytes);
    const verifier = this.#requestVerifierFor(settings);
    const url = new URL(request.url);
    let claims: VerifiedRequest;
    try {
      claims = verifier.verify({ method: request.method, target: url.pathname + url.search, headers: request.headers, body });
    } catch (e) {
      if (e instanceof CallsignError && e.code === "unknown_key") {
        console.warn(`callsign: ${e.code}: ${e.message}; this deployment's site keys are ${verifier.kids.join(", ")}`);
      }
      throw e;
    }
    const scope = this.#siteScopes.get(claims.kid);
    if (scope !== undefined && !scope.allows(claims.path)) {
      throw new CallsignError("not_allowed", `the key ${claims.kid} may not call ${claims.path}`);
    }
    await this.#claim(ctx, claims);
    return { claims: Object.freeze({ ...claims }), body };
  }

  /**
   * The gateway: three public functions (`runQuery`, `runMutation`, `runAction`, exported from
   * `convex/callsign.ts`, where `SignedConvexHttpClient` calls them) that run existing internal
   * functions for signed calls, unchanged. Each verifies the signature over exactly that
   * internal function's name and args, refuses anything not on its kind's allow-list (or
   * outside the key's scope) as `not_allowed` — after the signature, so callers without a key
   * learn nothing about the list — claims the nonce (in the same transaction for mutations: the
   * internal mutation runs nested, and if it throws, nothing is kept), and runs the function.
   *
   * @throws Error when an allow-list entry is not a function reference (`internal.file.fn`).
   */
  gateway<DataModel extends GenericDataModel>(builders: GatewayBuilders<DataModel>, allow: GatewayAllowList = {}): Gateway {
    const lists: Record<Kind, Set<string>> = {
      query: allowList(allow.queries),
      mutation: allowList(allow.mutations),
      action: allowList(allow.actions),
    };
    const make = (builder: unknown, kind: Kind, run: (ctx: any, name: string, args: Args) => Promise<unknown>) =>
      (builder as (definition: object) => unknown)({
        args: { function: v.string(), args: v.any(), [FIELD]: envelopeValidator },
        handler: async (ctx: AnyCtx, args: GatewayArgs) => {
          const signedArgs = gatewaySignedArgs(args);
          const claims = this.#verify(args.function, signedArgs);
          if (!lists[kind].has(claims.function)) {
            throw rejection("not_allowed", `${kind} \`${claims.function}\` is not on the gateway's allow-list`);
          }
          this.#checkScope(claims);
          if (kind !== "query") await this.#claim(ctx, claims);
          return await run(ctx, claims.function, withoutEnvelope(signedArgs));
        },
      });
    return {
      runQuery: make(builders.query, "query", (ctx: GenericQueryCtx<DataModel>, name, args) =>
        ctx.runQuery(makeFunctionReference<"query">(name), args),
      ),
      // A nested mutation runs in this transaction: if it throws, the claim is undone too.
      runMutation: make(builders.mutation, "mutation", (ctx: GenericMutationCtx<DataModel>, name, args) =>
        ctx.runMutation(makeFunctionReference<"mutation">(name), args),
      ),
      runAction: make(builders.action, "action", (ctx: GenericActionCtx<DataModel>, name, args) =>
        ctx.runAction(makeFunctionReference<"action">(name), args),
      ),
    } as Gateway;
  }

  /**
   * Verifies `signedArgs` as a call to `functionName` under `window` (the function's own, or
   * the default); Convex errors carry the code. What the caller must not learn (the kids held,
   * what is wrong with the configuration) goes to the deployment's log instead (SPEC.md §9).
   */
  #verify(functionName: string, signedArgs: Args, window?: Window): Verified {
    const verifier = this.#verifierFor(window ?? this.#options.window);
    try {
      return verifier.verify(functionName, signedArgs);
    } catch (e) {
      if (e instanceof CallsignError && e.code === "unknown_key") {
        console.warn(`callsign: ${e.code}: ${e.message}; this deployment holds ${verifier.kids.join(", ")}`);
      }
      throw e instanceof CallsignError ? rejection(e.code, e.message) : e;
    }
  }

  /** A scoped key reaches only the functions in its scope (checked after the signature). */
  #checkScope(claims: Verified): void {
    const scope = this.#scopes.get(claims.kid);
    if (scope !== undefined && !scope.allows(claims.function)) {
      throw rejection("not_allowed", `the key ${claims.kid} may not call \`${claims.function}\``);
    }
  }

  /**
   * Claims the call's nonce in the component. From a mutation, `ctx.runMutation` runs the
   * claim inside the caller's transaction (it commits or rolls back with it); from an action,
   * in a transaction of its own.
   */
  async #claim(ctx: AnyCtx, claims: NonceRecord): Promise<void> {
    if (ctx.runMutation === undefined) throw new Error("callsign: this ctx cannot run mutations");
    const refused = (await ctx.runMutation(this.component.store.claim, {
      kid: claims.kid,
      nonce: claims.nonce,
      ts: claims.ts,
      rememberUntil: claims.rememberUntil,
    })) as CallsignErrorData | null;
    if (refused !== null) throw rejection(refused.code, refused.message);
  }
}

/** Where a signed function's ctx holds the claims. */
const CTX_FIELD = "callsign";

/**
 * The verified call of a signed function's ctx, typed: for a customization wrapped around a
 * signed builder, whose ctx the type checker knows without `callsign`:
 *
 * ```ts
 * const reporting = customQuery(cs.signed(query), customCtx(async (ctx) => ({
 *   caller: callers[claimsOf(ctx).kid],
 * })));
 * ```
 * @throws Error if `ctx` is not a signed function's.
 */
export function claimsOf(ctx: object): CallsignClaims {
  const claims = (ctx as { [CTX_FIELD]?: unknown })[CTX_FIELD];
  if (typeof claims !== "object" || claims === null || !CLAIMS.has(claims)) {
    throw new Error("callsign: this ctx is not a signed function's (build the function with cs.signed(...))");
  }
  return claims as CallsignClaims;
}

/** The claims objects handed to handlers: so that claimsOf recognizes only real ones. */
const CLAIMS = new WeakSet<object>();

/** The claims a handler sees: frozen, so no code in the call can change what later code reads. */
function handedClaims({ canonicalArgs: _canonical, ...claims }: Verified): CallsignClaims {
  const frozen = Object.freeze(claims);
  CLAIMS.add(frozen);
  return frozen;
}

/** The failure every signed function throws: a `ConvexError` carrying the stable code. */
export function rejection(code: ErrorCode, message: string): ConvexError<CallsignErrorData> {
  return new ConvexError({ code, message });
}

const isValidator = (x: unknown): x is GenericValidator =>
  typeof x === "object" && x !== null && (x as { isConvexValidator?: unknown }).isConvexValidator === true;

const hasOwn = (o: object, key: string) => Object.prototype.hasOwnProperty.call(o, key);

function reserved(): Error {
  return new Error(`callsign: \`${FIELD}\` is the envelope's field; a signed function's args cannot use it`);
}

/**
 * The definition's args validator plus the envelope field, in whatever form it came: a record
 * of validators (as written by hand), a `v.object` (what convex-helpers' builders pass on), or
 * `v.any()`. No args stay unvalidated: adding the field would make Convex refuse every other
 * arg. (Without a validator for it, the envelope is still required: verification refuses a
 * call without one as `malformed`.)
 */
function withEnvelopeArgs(args: unknown): PropertyValidators | GenericValidator | undefined {
  if (args === undefined) return undefined;
  if (typeof args !== "object" || args === null) {
    throw new Error("callsign: args must be a record of validators, v.object(...) or v.any()");
  }
  if (!isValidator(args)) {
    if (hasOwn(args, FIELD)) throw reserved();
    return { ...(args as PropertyValidators), [FIELD]: envelopeValidator };
  }
  switch (args.kind) {
    case "object": {
      const fields = (args as VObject<any, Record<string, GenericValidator>>).fields;
      if (hasOwn(fields, FIELD)) throw reserved();
      return v.object({ ...fields, [FIELD]: envelopeValidator });
    }
    case "any":
      return args;
    default:
      // Convex refuses these at push ("Args validator must be an object or any"); convex-test
      // refuses them on the first call. Say so where the function is defined.
      throw new Error(
        `callsign: a function's args must be an object (a record of validators or v.object) or v.any(), not ` +
          `v.${args.kind}(...): Convex cannot deploy it ("Args validator must be an object or any"). ` +
          `For alternatives, put the union in a field: args: { request: v.union(...) }`,
      );
  }
}

/** The kind of what a builder made, which must be a public Convex function. */
function kindOf(registered: unknown): Kind {
  const fn = (registered ?? {}) as { isQuery?: boolean; isMutation?: boolean; isAction?: boolean; isPublic?: boolean };
  const kind: Kind | undefined = fn.isQuery ? "query" : fn.isMutation ? "mutation" : fn.isAction ? "action" : undefined;
  if (kind === undefined) throw new Error("callsign: signed() wraps a query, mutation or action builder");
  if (fn.isPublic !== true) {
    throw new Error(
      "callsign: signed functions are public (a server can only call those); reach internal functions through cs.gateway(...)",
    );
  }
  return kind;
}

/**
 * A customized builder wrapped by signed() may take args of its own, which it removes before
 * callsign's handler runs: callsign would verify without them, and so leave args the handler's
 * ctx is built from outside the signature. Refused: the registered function must take exactly
 * the args callsign was given.
 */
function checkArgsReachCallsign(registered: unknown, declared: PropertyValidators | GenericValidator | undefined): void {
  const exportArgs = (registered as { exportArgs?: () => string }).exportArgs;
  if (typeof exportArgs !== "function") return;
  const exported = JSON.parse(exportArgs.call(registered)) as { type: string; value?: Record<string, unknown> };
  const expected =
    declared === undefined
      ? undefined
      : isValidator(declared)
        ? declared.kind === "object"
          ? Object.keys((declared as VObject<any, Record<string, GenericValidator>>).fields)
          : undefined
        : Object.keys(declared);
  const got = exported.type === "object" ? Object.keys(exported.value ?? {}) : undefined;
  const extra = got === undefined ? [] : got.filter((k) => !(expected ?? []).includes(k));
  if ((expected === undefined) !== (got === undefined) || extra.length > 0) {
    throw new Error(
      `callsign: the builder given to signed() takes args of its own${extra.length ? ` (${extra.join(", ")})` : ""}, which ` +
        `callsign would not see, so they would not be signed. Wrap the plain builder and customize outside: ` +
        `customMutation(cs.signed(mutation), ...)`,
    );
  }
}

function withoutEnvelope(args: Args): Args {
  const { [FIELD]: _envelope, ...rest } = args;
  return rest;
}

/** The gateway's signed args: the inner args plus the envelope, which they must not hold. */
function gatewaySignedArgs(args: GatewayArgs): Args {
  const inner = args.args as unknown;
  if (inner === null || typeof inner !== "object" || Array.isArray(inner)) {
    throw rejection("malformed", "the gateway's `args` must be an object");
  }
  // The spread below copies own members only: refuse a prototype here (SPEC.md §2.5), as
  // verify refuses one on every value inside.
  const proto = Object.getPrototypeOf(inner);
  if (proto !== Object.prototype && proto !== null) {
    throw rejection("malformed", "the gateway's `args` have a prototype that is not the plain one (a \"__proto__\" member?)");
  }
  if (hasOwn(inner, FIELD)) {
    throw rejection("malformed", `the gateway's \`args\` must not contain the field \`${FIELD}\``);
  }
  return { ...(inner as Args), [FIELD]: args[FIELD] as unknown as Args[string] };
}

function allowList(refs: FunctionReference<any, "internal">[] | undefined): Set<string> {
  const names = new Set<string>();
  for (const ref of refs ?? []) {
    // References (`internal.file.fn`) always name `module:export`; a bare string would need
    // the core's normalization (SPEC.md §3.3) to compare, so it is refused.
    if (typeof ref === "string") {
      throw new Error(`callsign: gateway entries must be references like internal.file.fn, not ${JSON.stringify(ref)}`);
    }
    names.add(getFunctionName(ref));
  }
  return names;
}

/** The functions one key may call: exact canonical names, and whole modules. */
interface Scope {
  allows(fn: string): boolean;
}

const KID = /^[A-Za-z0-9.-]{1,64}$/;

/**
 * A scope entry as `[module, export]`, if it is a canonical function name (SPEC.md §3.3) as the
 * verifier's claims give it — `dir/file:fn`, or `dir/file:*` — so that it compares with them
 * byte for byte. Spellings the claims never use (`file.js:fn`, `file` for `file:default`) are
 * refused rather than normalized: such an entry would otherwise silently match nothing.
 */
function scopeEntry(name: string): [module: string, fn: string] | undefined {
  if (!/^[\x21-\x7e]{1,512}$/.test(name)) return undefined;
  const colon = name.lastIndexOf(":");
  const module = name.slice(0, Math.max(colon, 0));
  const fn = name.slice(colon + 1);
  if (colon <= 0 || fn === "" || module.endsWith("/") || module.endsWith(".js")) return undefined;
  return [module, fn];
}

function scopesOf(scopes: Record<string, ScopeEntry[]>): Map<string, Scope> {
  const out = new Map<string, Scope>();
  for (const [kid, entries] of Object.entries(scopes)) {
    if (!KID.test(kid)) throw new Error(`callsign: scopes: ${JSON.stringify(kid)} is not a key id (SPEC.md §6.1)`);
    if (!Array.isArray(entries)) throw new Error(`callsign: scopes.${kid} must be a list of functions`);
    const names = new Set<string>();
    const modules = new Set<string>();
    for (const entry of entries) {
      const name = typeof entry === "string" ? entry : getFunctionName(entry);
      const parsed = scopeEntry(name);
      if (parsed === undefined) {
        throw new Error(
          `callsign: scopes.${kid}: ${JSON.stringify(name)} is not a function (a reference, "dir/file:fn" or "dir/file:*")`,
        );
      }
      if (parsed[1] === "*") modules.add(parsed[0]);
      else names.add(name);
    }
    out.set(kid, { allows: (fn) => names.has(fn) || modules.has(fn.slice(0, fn.lastIndexOf(":"))) });
  }
  return out;
}

/** The HTTP statuses of refusals; every other code is 401 (the request is not validly signed). */
const REFUSAL_STATUS: Partial<Record<ErrorCode, number>> = {
  too_large: 413,
  not_allowed: 403,
  misconfigured: 500,
  unavailable: 503,
};

/** The `{ code, message }` of a refusal (a CallsignError, or a rejection from the component). */
function refusalOf(e: unknown): CallsignErrorData | undefined {
  if (e instanceof CallsignError) return { code: e.code, message: e.message };
  if (e instanceof ConvexError && typeof e.data === "object" && e.data !== null && typeof e.data.code === "string") {
    return { code: e.data.code, message: String(e.data.message) } as CallsignErrorData;
  }
  return undefined;
}

function refusalResponse({ code, message }: CallsignErrorData): Response {
  return new Response(JSON.stringify({ code, message }), {
    status: REFUSAL_STATUS[code] ?? 401,
    headers: { "Content-Type": "application/json", "Cache-Control": "no-store" },
  });
}

/** The options of one HTTP action, checked where it is defined. */
function httpActionSettings(options: HttpActionOptions): HttpActionOptions {
  const { window, maxBodyBytes = HTTP_ACTION_MAX_BODY_BYTES } = options;
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 1 || maxBodyBytes > HTTP_ACTION_MAX_BODY_BYTES) {
    throw new Error(
      `callsign: httpAction's maxBodyBytes must be an integer from 1 to ${HTTP_ACTION_MAX_BODY_BYTES} (Convex's limit), not ${maxBodyBytes}`,
    );
  }
  return { window, maxBodyBytes };
}

/** Paths one key may call: exact paths, and prefixes given as `/prefix/*`. */
function siteScopesOf(scopes: Record<string, string[]>): Map<string, Scope> {
  const out = new Map<string, Scope>();
  for (const [kid, entries] of Object.entries(scopes)) {
    if (!KID.test(kid)) throw new Error(`callsign: siteScopes: ${JSON.stringify(kid)} is not a key id (SPEC.md §6.1)`);
    if (!Array.isArray(entries)) throw new Error(`callsign: siteScopes.${kid} must be a list of paths`);
    const exact = new Set<string>();
    const prefixes: string[] = [];
    for (const entry of entries) {
      if (typeof entry !== "string" || !/^\/[\x21-\x7e]*$/.test(entry) || entry.includes("?") || entry.includes("#")) {
        throw new Error(`callsign: siteScopes.${kid}: ${JSON.stringify(entry)} is not a path ("/api/send" or "/hooks/*")`);
      }
      if (entry.endsWith("/*")) prefixes.push(entry.slice(0, -1));
      else exact.add(entry);
    }
    out.set(kid, { allows: (path) => exact.has(path) || prefixes.some((p) => path.startsWith(p)) });
  }
  return out;
}

/**
 * Request verifiers built once per isolate, one per (window, size limit) in use, all rebuilt when
 * the site keys or the site origin change. A configuration that does not build is
 * `misconfigured` for the caller, with the detail in the deployment's log (as for functions).
 */
function cachedRequestVerifiers(options: CallsignOptions): (settings: HttpActionOptions) => RequestVerifier {
  const keysOf = options.siteKeys ?? (() => process.env.CALLSIGN_SITE_KEYS);
  const audienceOf = options.siteAudience ?? (() => process.env.CONVEX_SITE_URL);
  let built: { keys: string | undefined; audience: string | undefined; bySettings: Map<string, RequestVerifier> } | undefined;
  return ({ window, maxBodyBytes }) => {
    const keys = keysOf();
    const audience = audienceOf();
    if (built === undefined || built.keys !== keys || built.audience !== audience) {
      for (const verifier of built?.bySettings.values() ?? []) verifier.free();
      built = { keys, audience, bySettings: new Map() };
    }
    const id = `${window?.maxAgeMs ?? ""}/${window?.maxFutureMs ?? ""}/${maxBodyBytes}`;
    let verifier = built.bySettings.get(id);
    if (verifier === undefined) {
      try {
        if (keys === undefined) throw new CallsignError("invalid_key", "CALLSIGN_SITE_KEYS (or the siteKeys option) is not set");
        if (audience === undefined) throw new CallsignError("malformed", "CONVEX_SITE_URL (or the siteAudience option) is not set");
        verifier = new RequestVerifier(keys, { audience, window, maxBodyBytes });
      } catch (e) {
        if (!(e instanceof CallsignError)) throw e;
        console.error(
          `callsign: this deployment's configuration of signed HTTP actions is invalid (CALLSIGN_SITE_KEYS or its audience): ${e.code}: ${e.message}`,
        );
        throw new CallsignError("misconfigured", "callsign is not set up correctly on this deployment; its logs say why");
      }
      built.bySettings.set(id, verifier);
    }
    return verifier;
  };
}

/**
 * Verifiers built once per isolate, one per window in use, all rebuilt when the keys or the
 * audience change (key rotation with `npx convex env set` takes effect on the next call).
 *
 * A configuration that does not build is the operator's error, not the caller's (SPEC.md §7):
 * the detail (already free of key material) goes to the deployment's log, and the caller gets
 * `misconfigured` with a message that says nothing about the configuration.
 */
function cachedVerifiers(options: CallsignOptions): (window?: Window) => Verifier {
  const keysOf = options.keys ?? (() => process.env.CALLSIGN_KEYS);
  const audienceOf = options.audience ?? (() => process.env.CONVEX_CLOUD_URL);
  let built: { keys: string | undefined; audience: string | undefined; byWindow: Map<string, Verifier> } | undefined;
  return (window) => {
    const keys = keysOf();
    const audience = audienceOf();
    if (built === undefined || built.keys !== keys || built.audience !== audience) {
      for (const verifier of built?.byWindow.values() ?? []) verifier.free();
      built = { keys, audience, byWindow: new Map() };
    }
    const id = `${window?.maxAgeMs ?? ""}/${window?.maxFutureMs ?? ""}`;
    let verifier = built.byWindow.get(id);
    if (verifier === undefined) {
      try {
        verifier = new Verifier(keys as string, { audience: audience as string, window, limits: options.limits });
      } catch (e) {
        if (!(e instanceof CallsignError)) throw e;
        console.error(`callsign: this deployment's configuration is invalid (CALLSIGN_KEYS or its audience): ${e.code}: ${e.message}`);
        throw rejection("misconfigured", "callsign is not set up correctly on this deployment; its logs say why");
      }
      built.byWindow.set(id, verifier);
    }
    return verifier;
  };
}

export { isCallsignError, type CallsignErrorData } from "./verifier.js";
export type { Envelope, Verified } from "./index.js";
